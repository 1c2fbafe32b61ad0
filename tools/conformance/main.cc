// city-conformance: the conformance kit a city runs against its own backend before the gateway
// connects to it (docs/JOINING.md).
//
//   city-conformance --city=jinzhong --address=10.14.7.20:7443
//       --dialect=adapters/jinzhong/dialect.textproto [--transport=grpc|http]
//       --ca=ca.pem --cert=gateway.pem --key=gateway.key [--server_name=localhost]
//       [--deadline_ms=2000] --sample_ids=FILE [--unknown_id=ID] [--settlement_person=ID]
//       [--migration_person=ID] [--pension_person=ID]
//       [--signing_public_key=PEM] [--signing_key_id=ID]
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
// The household-migration checks move --migration_person (a test person registered in the city) out
// to another city and settle them in again at the same address; the pension-transfer checks
// transfer the pension relationship of --pension_person (a test person with a pension record in
// the city who no longer contributes there) out to another city and back in. Only the persons named
// so are changed: without them those checks fail "not exercised". For a mock city, see docs/JOINING.md.
//
// The certificate checks ask the backend to sign: payloads it must refuse, and, with
// --signing_public_key (the public half of the city's signing key, PEM), one it must sign with a
// signature that verifies; its key id is --signing_key_id, or derived from the key as the gateway
// derives it. Without the key that check is skipped.
//
// Exit status: 0 if every check passed or was skipped, 1 if any failed, 2 for unusable flags or files.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
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
#include "gateway/signing/signing.h"
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
ABSL_FLAG(
    std::string, migration_person, "",
    "A test person registered in the city whom the household-migration checks may move out to another city "
    "and settle in again at the same address. Without it those checks fail (not exercised).");
ABSL_FLAG(
    std::string, pension_person, "",
    "A test person with a pension record in the city that can move (they no longer contribute there), whose "
    "relationship the pension-transfer checks may transfer out to another city and back in. Without it those "
    "checks fail (not exercised).");
ABSL_FLAG(
    std::string, signing_public_key, "",
    "PEM file with the public half of the city's certificate signing key, as the gateway's trust list names "
    "it: SignCertificate's signatures must verify with it. Without it that check is skipped.");
ABSL_FLAG(std::string, signing_key_id, "",
          "The id of --signing_public_key in the gateway's trust list (default: derived from the key as "
          "the gateway derives it).");

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
      "      [--server_name=localhost] [--deadline_ms=2000] [--unknown_id=ID] [--settlement_person=ID]\n"
      "      [--migration_person=ID] [--pension_person=ID] [--signing_public_key=PEM] [--signing_key_id=ID]");
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
  const std::pair<const char*, std::string*> persons[] = {{"--migration_person", &options.migration_person},
                                                          {"--pension_person", &options.pension_person}};
  const std::string person_flags[] = {absl::GetFlag(FLAGS_migration_person),
                                      absl::GetFlag(FLAGS_pension_person)};
  for (size_t i = 0; i < 2; ++i) {
    if (person_flags[i].empty()) continue;
    absl::StatusOr<interop::identity::ResidentId> id =
        interop::identity::ParseResidentId(person_flags[i], today);
    if (!id.ok()) return Usage(absl::StrCat(persons[i].first, ": ", id.status().message()));
    *persons[i].second = id->number;
  }
  const std::string public_key_path = absl::GetFlag(FLAGS_signing_public_key);
  if (!public_key_path.empty()) {
    std::ifstream in(public_key_path);
    if (!in) return Usage(absl::StrCat("--signing_public_key: cannot read ", public_key_path));
    options.signing_public_key_pem.assign(std::istreambuf_iterator<char>(in),
                                          std::istreambuf_iterator<char>());
    absl::StatusOr<std::unique_ptr<interop::signing::PublicKey>> key =
        interop::signing::PublicKey::FromPem(options.signing_public_key_pem, public_key_path);
    if (!key.ok()) return Usage(absl::StrCat("--signing_public_key: ", key.status().message()));
  }
  options.signing_key_id = absl::GetFlag(FLAGS_signing_key_id);

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
  size_t failed = 0;
  size_t skipped = 0;
  for (const interop::conformance::CheckResult& result : results) {
    std::printf("%s\n", interop::conformance::FormatCheckResult(result).c_str());
    if (result.skipped) {
      ++skipped;
    } else if (!result.passed) {
      ++failed;
    }
  }
  std::printf("%s: %zu checks, %zu passed, %zu failed%s\n", failed == 0 ? "CONFORMS" : "DOES NOT CONFORM",
              results.size(), results.size() - failed - skipped, failed,
              skipped == 0 ? "" : absl::StrCat(", ", skipped, " skipped").c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  // Ends here, without exit handlers: gRPC may still be finishing the last call on its own threads
  // (the adapter answers before it lets go of the call), and OpenSSL's and the libraries' cleanup at
  // exit racing them crashes now and then. Everything the kit has to say is written.
  std::_Exit(failed == 0 ? 0 : 1);
}
