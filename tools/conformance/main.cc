// city-conformance: the conformance kit a city runs against its own backend before the gateway
// connects to it (docs/JOINING.md).
//
//   city-conformance --city=jinzhong --address=10.14.7.20:7443
//       --dialect=adapters/jinzhong/dialect.textproto [--transport=grpc|http]
//       --ca=ca.pem --cert=gateway.pem --key=gateway.key [--server_name=localhost]
//       [--deadline_ms=2000] --sample_ids=FILE [--unknown_id=ID] [--settlement_person=ID]
//
// Connects exactly as the gateway would: a CityBackendConfig is built from the flags and handed to
// adapters::NewCityAdapter, so the city's real adapter and dialect translation are exercised, over
// mutual TLS with the gateway's client certificate. Then runs the checks of conformance_checks.h and
// prints one line per check, "PASS <check>: <detail>" or "FAIL <check>: <reason>", and a summary.
//
// --sample_ids names a file of the city's own test persons, one identity number per line (18
// characters, or a legacy 15-digit number; blank lines and lines starting with '#' are skipped).
// For a mock city: `mock-city --print_ids=medical-in-city --city=<city> | head > samples.txt`.
//
// The settlement checks commit (and reverse again) a settlement of 1.00 yuan and file (and revoke)
// a filing for one person the backend insures with an active enrolment: --settlement_person, or
// by default the first sample person whose enrolment is active. For a mock city:
// `mock-city --print_ids=settleable-in-city --city=<city> | head -1`.
//
// Exit status: 0 if every check passed, 1 if any failed, 2 for unusable flags or files.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/adapter_factory.h"
#include "gateway/base/cities.h"
#include "gateway/identity/resident_id.h"
#include "tools/conformance/conformance_checks.h"
#include "tools/conformance/contract_probe.h"

ABSL_FLAG(std::string, city, "",
          "The city whose backend this is: taiyuan, yangquan, jinzhong, xinzhou or lvliang.");
ABSL_FLAG(std::string, address, "", "The backend's address, host:port.");
ABSL_FLAG(std::string, dialect, "", "The city's dialect file, normally adapters/<city>/dialect.textproto.");
ABSL_FLAG(
    std::string, transport, "grpc",
    "grpc: the gRPC city backend contract; http: HTTP/JSON in the national medical-insurance interface's "
    "envelope (adapters/lvliang/NATIONAL_INTERFACE.md).");
ABSL_FLAG(std::string, ca, "", "CA certificate the backend's certificate must chain to.");
ABSL_FLAG(std::string, cert, "", "The client certificate to present: the gateway's.");
ABSL_FLAG(std::string, key, "", "The client certificate's private key.");
ABSL_FLAG(std::string, server_name, "",
          "Name expected in the backend's certificate, if not the host of --address (\"localhost\" for the "
          "development PKI).");
ABSL_FLAG(int32_t, deadline_ms, 2000,
          "The longest one call may take, in milliseconds (the gateway's default).");
ABSL_FLAG(std::string, sample_ids, "",
          "File of test persons the backend holds, one identity number per line.");
ABSL_FLAG(std::string, unknown_id, "",
          "A valid identity number the backend does not hold (default: one no mock city holds).");
ABSL_FLAG(
    std::string, settlement_person, "",
    "A person the backend insures with an active enrolment, on whom the settlement checks commit and "
    "reverse a 1.00 yuan settlement and file and revoke a filing (default: the first sample person whose "
    "enrolment is active).");

namespace {

constexpr int kUsageError = 2;

int Usage(const std::string& message) {
  std::fprintf(stderr, "city-conformance: %s\n", message.c_str());
  return kUsageError;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Checks a city backend against the city backend contract, through the city's adapter and dialect.\n"
      "  city-conformance --city=NAME --address=HOST:PORT --dialect=adapters/NAME/dialect.textproto\n"
      "      --ca=ca.pem --cert=gateway.pem --key=gateway.key --sample_ids=FILE [--transport=grpc|http]\n"
      "      [--server_name=localhost] [--deadline_ms=2000] [--unknown_id=ID] [--settlement_person=ID]");
  absl::ParseCommandLine(argc, argv);
  const interop::City city = interop::CityForName(absl::GetFlag(FLAGS_city));
  if (city == interop::City::CITY_UNSPECIFIED) {
    return Usage("--city must be one of taiyuan, yangquan, jinzhong, xinzhou, lvliang");
  }
  if (absl::GetFlag(FLAGS_address).empty()) return Usage("--address is required (host:port)");
  const std::string transport = absl::GetFlag(FLAGS_transport);
  if (transport != "grpc" && transport != "http") return Usage("--transport must be grpc or http");
  if (absl::GetFlag(FLAGS_deadline_ms) <= 0) return Usage("--deadline_ms must be positive");
  const absl::CivilDay today = interop::identity::ChinaCivilDay(absl::Now());

  interop::conformance::ConformanceOptions options;
  options.deadline = absl::Milliseconds(absl::GetFlag(FLAGS_deadline_ms));
  options.today = today;
  const std::string samples_path = absl::GetFlag(FLAGS_sample_ids);
  if (samples_path.empty()) {
    return Usage(absl::StrCat(
        "--sample_ids is required: a file of test persons your backend holds, one identity number per line "
        "(for a mock city: mock-city --print_ids=medical-in-city --city=",
        interop::CityName(city), " | head > samples.txt)"));
  }
  std::ifstream samples(samples_path);
  if (!samples) return Usage(absl::StrCat("--sample_ids: cannot read ", samples_path));
  std::string line;
  for (int number = 1; std::getline(samples, line); ++number) {
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text.front() == '#') continue;
    absl::StatusOr<interop::identity::ResidentId> id = interop::identity::ParseResidentId(text, today);
    if (!id.ok())
      return Usage(absl::StrCat("--sample_ids: ", samples_path, ":", number, ": ", id.status().message()));
    options.sample_ids.push_back(id->number);
  }
  if (options.sample_ids.empty())
    return Usage(absl::StrCat("--sample_ids: ", samples_path, " holds no numbers"));
  options.unknown_id = interop::conformance::DefaultUnknownId();
  if (!absl::GetFlag(FLAGS_unknown_id).empty()) {
    absl::StatusOr<interop::identity::ResidentId> id =
        interop::identity::ParseResidentId(absl::GetFlag(FLAGS_unknown_id), today);
    if (!id.ok()) return Usage(absl::StrCat("--unknown_id: ", id.status().message()));
    options.unknown_id = id->number;
  }
  if (!absl::GetFlag(FLAGS_settlement_person).empty()) {
    absl::StatusOr<interop::identity::ResidentId> id =
        interop::identity::ParseResidentId(absl::GetFlag(FLAGS_settlement_person), today);
    if (!id.ok()) return Usage(absl::StrCat("--settlement_person: ", id.status().message()));
    options.settlement_person = id->number;
  }

  // The city's entry of the gateway's configuration, as the gateway would read it.
  interop::config::v1::CityBackendConfig config;
  config.set_city(city);
  config.set_address(absl::GetFlag(FLAGS_address));
  config.mutable_tls()->set_ca_cert_file(absl::GetFlag(FLAGS_ca));
  config.mutable_tls()->set_cert_file(absl::GetFlag(FLAGS_cert));
  config.mutable_tls()->set_key_file(absl::GetFlag(FLAGS_key));
  config.set_tls_server_name(absl::GetFlag(FLAGS_server_name));
  config.set_deadline_ms(static_cast<uint32_t>(absl::GetFlag(FLAGS_deadline_ms)));
  config.set_dialect_file(absl::GetFlag(FLAGS_dialect));
  config.set_transport(transport == "http" ? interop::config::v1::TRANSPORT_HTTP_NATIONAL_INTERFACE
                                           : interop::config::v1::TRANSPORT_GRPC);

  absl::StatusOr<std::shared_ptr<const interop::adapters::Dialect>> dialect =
      interop::adapters::LoadCityDialect(config);
  if (!dialect.ok()) return Usage(std::string(dialect.status().message()));
  absl::StatusOr<std::unique_ptr<interop::adapters::CityAdapter>> adapter =
      interop::adapters::NewCityAdapter(config);
  if (!adapter.ok()) return Usage(std::string(adapter.status().message()));
  absl::StatusOr<std::unique_ptr<interop::conformance::ContractProbe>> probe =
      interop::conformance::NewContractProbe(config, *dialect);
  if (!probe.ok()) return Usage(std::string(probe.status().message()));

  std::printf("city-conformance: %s at %s over %s, dialect %s, %zu sample persons, deadline %d ms\n",
              std::string(interop::CityName(city)).c_str(), config.address().c_str(), transport.c_str(),
              (*dialect)->source().c_str(), options.sample_ids.size(), absl::GetFlag(FLAGS_deadline_ms));
  const std::vector<interop::conformance::CheckResult> results =
      interop::conformance::RunConformanceChecks(**adapter, **probe, **dialect, options);
  int failed = 0;
  for (const interop::conformance::CheckResult& result : results) {
    std::printf("%s\n", interop::conformance::FormatCheckResult(result).c_str());
    if (!result.passed) ++failed;
  }
  std::printf("%s: %zu checks, %zu passed, %d failed\n", failed == 0 ? "CONFORMS" : "DOES NOT CONFORM",
              results.size(), results.size() - failed, failed);
  std::fflush(stdout);
  return failed == 0 ? 0 : 1;
}
