// mock-city: plays one city's backend with the deterministic synthetic population.
//
//   mock-city --city=taiyuan --dialect=adapters/taiyuan/dialect.textproto --listen=127.0.0.1:7001
//             --ca=ca.pem --cert=city-taiyuan.pem --key=city-taiyuan.key [--seed=N]
//             [--persons_per_city=N] [--port_file=PATH]
//   mock-city --print_examples [--seed=N] [--persons_per_city=N]
//
// Serves interop.citybackend.v1.CityBackendService and grpc.health.v1 over mutual TLS: the caller
// (the gateway) must present a certificate from the CA given by --ca. Answers in the city's dialect,
// read from --dialect (required; the file must be the dialect of --city and have a local code for
// every national code). Runs until SIGINT/SIGTERM.
//
// With --transport=http it serves HTTP/JSON in the envelope of the national medical-insurance
// interface instead (POST /fsi/api/rsfComIfsService/callService, GET /health), over mutual TLS with
// the same flags: how Lvliang's backend speaks (adapters/lvliang/NATIONAL_INTERFACE.md).
//
// Cross-city medical settlement (accounts, accumulators, settlements, filings) is answered from an
// in-memory MockMedicalLedger (medical_ledger.h): nothing of it survives a restart of the process.
// The ledger refuses a commit that would take the fund past the city's annual cap, read from
// --medical_policy (interop.config.v1.MedicalPolicy, text format), by default
// medical_policy.textproto beside the dialect file if there is one; without a policy there are no
// caps. The seeded year of the accumulators is the current year (China Standard Time).
//
// Fault injection (tools/mock_city/fault_injector.h): --fault_latency_ms and
// --fault_latency_jitter_ms hold every answer after the work, --fault_error_rate refuses that share
// of calls with --fault_error_code (default UNAVAILABLE) before anything is applied, --fault_hang
// never answers before the caller's deadline, --fault_down refuses every call with UNAVAILABLE and
// reports NOT_SERVING on grpc.health.v1; --fault_methods limits all but down to some methods,
// --fault_seed makes the failing calls reproducible. interop.mockcity.v1.MockCityAdminService
// (protos/interop/mockcity/v1/mock_city_admin.proto), on the same port, changes them at run time.
// With --transport=http the same flags apply, --fault_methods naming transaction codes (1101, 2207A,
// L9302, ...); down and injected UNAVAILABLE are HTTP 503 (GET /health too while down), other codes
// envelope errors, hang holds the reply until the caller closes its connection; the admin is
// POST /admin/faults, GET /admin/faults and POST /admin/faults/reset in JSON (http_backend.h).
//
// With --print_examples it serves nothing: it prints, for the population of --seed and
// --persons_per_city, example residents who make good cross-city demos and test cases, one per line
// and per kind and city, then exits 0. The lines are stable for a given seed and size:
//
//   example insured-elsewhere        <id> for=<city> issued=<city> insured=<city> registered=<city>
//           contributions=<city>[,<city>]|none name=<name>              (one line, padded with spaces)
//   example registered-elsewhere     <id> ...the same fields...
//   example contributions-two-cities <id> ...the same fields...
//
// Five lines per kind, one for each city (`for=`), in the order taiyuan, yangquan, jinzhong, xinzhou,
// lvliang; one person may be the example of two cities.
//   insured-elsewhere: insured in the city (active where possible), number issued in another.
//   registered-elsewhere: household registered in the city, number issued in another.
//   contributions-two-cities: paid contributions in the city and exactly one other (the shortest such
//   history, so that it is short to read).
// Cities are named as in --city; "none" where the person has no such record; contributions lists the
// cities in the order the person worked in them. Lines starting with "#" are comments.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "adapters/dialect/dialect.h"
#include "gateway/base/cities.h"
#include "gateway/base/log.h"
#include "gateway/identity/resident_id.h"
#include "gateway/tls/tls_credentials.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "interop/config/v1/medical_rules.pb.h"
#include "tools/mock_city/certificate_signer.h"
#include "tools/mock_city/fault_injector.h"
#include "tools/mock_city/grpc_fault_gate.h"
#include "tools/mock_city/http_backend.h"
#include "tools/mock_city/medical_ledger.h"
#include "tools/mock_city/mock_city_admin.h"
#include "tools/mock_city/mock_city_service.h"

ABSL_FLAG(std::string, city, "", "The city to play: taiyuan, yangquan, jinzhong, xinzhou or lvliang.");
ABSL_FLAG(std::string, dialect, "",
          "The city's dialect file (interop.config.v1.CityDialect, text format), normally "
          "adapters/<city>/dialect.textproto. Required for serving.");
ABSL_FLAG(std::string, listen, "127.0.0.1:0", "Address to serve on; port 0 picks a free port.");
ABSL_FLAG(std::string, ca, "", "CA certificate that callers' client certificates must chain to.");
ABSL_FLAG(std::string, cert, "", "This backend's certificate.");
ABSL_FLAG(std::string, key, "", "This backend's private key.");
ABSL_FLAG(uint64_t, seed, 20261126, "Seed of the synthetic population (all five mock cities must agree).");
ABSL_FLAG(int32_t, persons_per_city, 12000, "Persons whose identity numbers were issued in each city.");
ABSL_FLAG(std::string, medical_policy, "",
          "The city's medical policy (interop.config.v1.MedicalPolicy, text format) whose annual caps the "
          "mock's ledger enforces; default: medical_policy.textproto beside --dialect, if it exists.");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written to this file once serving.");
ABSL_FLAG(std::string, transport, "grpc",
          "grpc: the gRPC city backend contract; http: HTTP/JSON in the national medical-insurance "
          "interface's envelope (Lvliang's backend; adapters/lvliang/NATIONAL_INTERFACE.md).");
ABSL_FLAG(std::string, print_ids, "",
          "Instead of serving, print the identity numbers of every person insured (\"medical\"), "
          "insured in the city named by --city (\"medical-in-city\"), or insured there with an active "
          "enrolment, so that a visit can be settled (\"settleable-in-city\"), one per line: input for load tests.");
ABSL_FLAG(std::string, signing_key, "",
          "The city's own certificate signing key (PEM private key, EC P-256 or SM2; the algorithm follows from "
          "the key). Without it the city cannot sign certificates (SignCertificate answers UNIMPLEMENTED).");
ABSL_FLAG(std::string, signing_key_id, "",
          "Id of --signing_key in the gateway's trust list; default: derived from the key as the gateway "
          "derives it (\"<city>-\" and 16 hex digits of SHA-256 over the public key).");
ABSL_FLAG(bool, print_examples, false,
          "Print example residents for demos and tests (see the top of main.cc) and exit; serves nothing.");
ABSL_FLAG(int32_t, fault_latency_ms, 0,
          "Fault injection: milliseconds added before every answer, after the work is done (a write is applied, "
          "then answered late).");
ABSL_FLAG(int32_t, fault_latency_jitter_ms, 0,
          "Fault injection: up to this many milliseconds more, drawn per call (uniform, reproducible by "
          "--fault_seed).");
ABSL_FLAG(double, fault_error_rate, 0.0,
          "Fault injection: share of calls (0 to 1) refused with --fault_error_code before anything is applied.");
ABSL_FLAG(std::string, fault_error_code, "UNAVAILABLE",
          "Fault injection: status code name of an injected error (UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL, ...).");
ABSL_FLAG(bool, fault_hang, false,
          "Fault injection: never answer a call before the caller's deadline (one hour if it sets none; "
          "over HTTP, until the caller closes its connection, at most 60 s).");
ABSL_FLAG(bool, fault_down, false,
          "Fault injection: refuse every call with UNAVAILABLE and report NOT_SERVING on grpc.health.v1 "
          "(over HTTP: 503, and 503 on GET /health).");
ABSL_FLAG(std::string, fault_methods, "",
          "Fault injection: comma-separated CityBackendService method names (e.g. "
          "CommitSettlement,LocatePerson), or with --transport=http transaction codes (e.g. 2207A,1101), "
          "that latency, errors and hang apply to; empty: every method. --fault_down always applies to all.");
ABSL_FLAG(uint64_t, fault_seed, 0,
          "Fault injection: seed of the error and jitter draws; the k-th call's fate depends only on (seed, k).");

namespace {

using ::interop::mock_city::Population;

// The ledger's options for `city`: the annual caps of the city's medical policy, read from
// `policy_flag`, else from medical_policy.textproto beside `dialect_path` if it exists (no caps if
// not). INVALID_ARGUMENT naming the file if it cannot be parsed or is another city's.
absl::StatusOr<interop::mock_city::MockMedicalLedgerOptions> LedgerOptions(interop::City city,
                                                                           const std::string& dialect_path,
                                                                           const std::string& policy_flag) {
  interop::mock_city::MockMedicalLedgerOptions options;
  options.seeded_year = static_cast<int>(interop::identity::ChinaCivilDay(absl::Now()).year());
  std::string path = policy_flag;
  if (path.empty()) {
    std::filesystem::path beside =
        std::filesystem::path(dialect_path).parent_path() / "medical_policy.textproto";
    std::error_code error;
    if (!std::filesystem::exists(beside, error)) return options;
    path = beside.string();
  }
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read medical policy file \"", path, "\""));
  std::stringstream text;
  text << in.rdbuf();
  interop::config::v1::MedicalPolicy policy;
  google::protobuf::TextFormat::Parser parser;
  parser.AllowUnknownField(true);  // only the caps matter here; the gateway validates the rest
  if (!parser.ParseFromString(text.str(), &policy)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a valid MedicalPolicy in text format"));
  }
  if (policy.city() != city) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is the policy of ", interop::CityName(policy.city()), ", not of ", interop::CityName(city)));
  }
  for (const interop::config::v1::AnnualCap& cap : policy.caps()) {
    options.annual_fund_cap_fen[absl::StrCat(cap.insurance_type())] = cap.fund_cap_per_year_fen();
  }
  return options;
}
using ::interop::mock_city::SyntheticPerson;

// The distinct cities the person paid contributions in, in the order of their employment.
std::vector<interop::City> ContributionCities(const SyntheticPerson& person) {
  std::vector<interop::City> cities;
  for (const auto& spell : person.employment) {
    if (std::find(cities.begin(), cities.end(), spell.city) == cities.end()) cities.push_back(spell.city);
  }
  return cities;
}

int64_t EmploymentMonths(const SyntheticPerson& person) {
  int64_t months = 0;
  for (const auto& spell : person.employment) months += (spell.last_month - spell.first_month) + 1;
  return months;
}

std::string ExampleLine(absl::string_view kind, interop::City example_for, const SyntheticPerson& person) {
  std::vector<std::string> contribution_cities;
  for (interop::City city : ContributionCities(person)) contribution_cities.emplace_back(interop::CityName(city));
  auto name_or_none = [](bool present, interop::City city) {
    return present ? std::string(interop::CityName(city)) : std::string("none");
  };
  return absl::StrFormat(
      "example %-24s %s for=%-8s issued=%-8s insured=%-8s registered=%-8s contributions=%-17s name=%s", kind,
      person.resident_id, interop::CityName(example_for), interop::CityName(person.issuing_city),
                         name_or_none(person.has_medical, person.medical.city),
                         name_or_none(true, person.household.city),
                         contribution_cities.empty() ? "none" : absl::StrJoin(contribution_cities, ","), person.name);
}

// Prints the example table described at the top of this file, and a fourth kind:
//   settle-patient: insured in the city with an active employee enrolment (310), so with a personal
//   account, holding at least 100 yuan: a patient whose cross-city visit can be settled with the
//   account paying part (tools/dev demo settles one).
void PrintExamples(const Population& population) {
  // Per city: the first person (in population order) of each kind; for insured-elsewhere the first
  // with an active enrolment wins over an earlier inactive one; for contributions-two-cities the one
  // with the fewest months of contributions, so that its history is short enough to read.
  constexpr int64_t kSettlePatientMinBalanceFen = 10000;
  std::map<interop::City, const SyntheticPerson*> insured, registered, two_cities, settle_patients;
  for (const SyntheticPerson& person : population.persons()) {
    if (person.has_medical && person.medical.status_code == "1" && person.medical.insurance_type_code == "310" &&
        person.medical.balance_fen >= kSettlePatientMinBalanceFen) {
      settle_patients.emplace(person.medical.city, &person);  // keeps the first
    }
    if (person.has_medical && person.medical.city != person.issuing_city) {
      const SyntheticPerson*& best = insured[person.medical.city];
      if (best == nullptr || (best->medical.status_code != "1" && person.medical.status_code == "1")) {
        best = &person;
      }
    }
    if (person.household.city != person.issuing_city) {
      const SyntheticPerson*& best = registered[person.household.city];
      if (best == nullptr) best = &person;
    }
    const std::vector<interop::City> cities = ContributionCities(person);
    if (cities.size() == 2) {
      for (interop::City city : cities) {
        const SyntheticPerson*& best = two_cities[city];
        if (best == nullptr || EmploymentMonths(person) < EmploymentMonths(*best)) best = &person;
      }
    }
  }
  std::printf("# mock-city examples: seed=%llu persons_per_city=%d (valid only for mock cities run with these)\n",
              static_cast<unsigned long long>(population.options().seed),
              population.options().persons_per_issuing_city);
  const std::pair<const char*, const std::map<interop::City, const SyntheticPerson*>*> kinds[] = {
      {"insured-elsewhere", &insured},
      {"registered-elsewhere", &registered},
      {"contributions-two-cities", &two_cities},
      {"settle-patient", &settle_patients}};
  for (const auto& [kind, examples] : kinds) {
    for (interop::City city : interop::kAllCities) {
      auto it = examples->find(city);
      if (it == examples->end()) {
        std::printf("# no %s example for %s in this population\n", kind, std::string(interop::CityName(city)).c_str());
        continue;
      }
      std::printf("%s\n", ExampleLine(kind, city, *it->second).c_str());
    }
  }
}

// The fault settings of the --fault_* flags (not yet validated), or INVALID_ARGUMENT naming the flag.
absl::StatusOr<interop::mock_city::FaultSettings> FaultSettingsFromFlags() {
  interop::mock_city::FaultSettings settings;
  settings.latency = absl::Milliseconds(absl::GetFlag(FLAGS_fault_latency_ms));
  settings.latency_jitter = absl::Milliseconds(absl::GetFlag(FLAGS_fault_latency_jitter_ms));
  settings.error_rate = absl::GetFlag(FLAGS_fault_error_rate);
  absl::StatusOr<absl::StatusCode> code =
      interop::mock_city::FaultInjector::ParseStatusCode(absl::GetFlag(FLAGS_fault_error_code));
  if (!code.ok()) return absl::InvalidArgumentError(absl::StrCat("--fault_error_code: ", code.status().message()));
  settings.error_code = *code;
  settings.hang = absl::GetFlag(FLAGS_fault_hang);
  settings.down = absl::GetFlag(FLAGS_fault_down);
  settings.methods = absl::StrSplit(absl::GetFlag(FLAGS_fault_methods), ',', absl::SkipWhitespace());
  for (std::string& method : settings.methods) method = std::string(absl::StripAsciiWhitespace(method));
  settings.seed = absl::GetFlag(FLAGS_fault_seed);
  return settings;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "A mock city backend for the five-city interop gateway.\n\n"
      "Fault injection: --fault_latency_ms, --fault_latency_jitter_ms, --fault_error_rate with "
      "--fault_error_code, --fault_hang, --fault_down, limited to --fault_methods, reproducible with "
      "--fault_seed. Injected errors, down and hang refuse a call before anything is applied; latency holds "
      "the answer after the work. interop.mockcity.v1.MockCityAdminService (SetFaults, GetFaults, "
      "ResetFaults) on the same port changes them while the mock runs; with --transport=http, --fault_methods "
      "names transaction codes and the admin is POST /admin/faults, GET /admin/faults and "
      "POST /admin/faults/reset (JSON).");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks every lock order for cycles (a debugging aid); in the mock's hot path that
  // was about 9% of its CPU, which the benchmarks would otherwise charge to the cities. Tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (!absl::GetFlag(FLAGS_print_ids).empty()) {
    interop::mock_city::PopulationOptions options;
    options.seed = absl::GetFlag(FLAGS_seed);
    options.persons_per_issuing_city = absl::GetFlag(FLAGS_persons_per_city);
    const std::string which = absl::GetFlag(FLAGS_print_ids);
    interop::City only = interop::CityForName(absl::GetFlag(FLAGS_city));
    const bool in_city = which == "medical-in-city" || which == "settleable-in-city";
    if (which != "medical" && !(in_city && only != interop::City::CITY_UNSPECIFIED)) {
      std::fprintf(stderr,
                   "mock-city: --print_ids must be medical, or medical-in-city or settleable-in-city with --city\n");
      return 2;
    }
    // Named, so that it outlives the loop (a temporary's persons() would dangle).
    const Population population = Population::Generate(options);
    for (const auto& person : population.persons()) {
      if (!person.has_medical || (in_city && person.medical.city != only)) continue;
      if (which == "settleable-in-city" && person.medical.status_code != "1") continue;
      std::printf("%s\n", person.resident_id.c_str());
    }
    return 0;
  }
  if (absl::GetFlag(FLAGS_print_examples)) {
    interop::mock_city::PopulationOptions options;
    options.seed = absl::GetFlag(FLAGS_seed);
    options.persons_per_issuing_city = absl::GetFlag(FLAGS_persons_per_city);
    PrintExamples(Population::Generate(options));
    return 0;
  }
  interop::City city = interop::CityForName(absl::GetFlag(FLAGS_city));
  if (city == interop::City::CITY_UNSPECIFIED) {
    std::fprintf(stderr, "mock-city: --city must be one of taiyuan, yangquan, jinzhong, xinzhou, lvliang\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_dialect).empty()) {
    std::fprintf(stderr, "mock-city: --dialect is required (normally adapters/%s/dialect.textproto)\n",
                 std::string(interop::CityName(city)).c_str());
    return 2;
  }
  absl::StatusOr<std::shared_ptr<const interop::adapters::Dialect>> dialect =
      interop::adapters::Dialect::LoadFile(absl::GetFlag(FLAGS_dialect));
  absl::Status usable = dialect.ok() ? (*dialect)->CheckCoversEveryNationalCode() : dialect.status();
  if (usable.ok() && (*dialect)->city() != city) {
    usable = absl::InvalidArgumentError(absl::StrCat((*dialect)->source(), " is the dialect of ",
                                                     interop::CityName((*dialect)->city()), ", not of ",
                                                     interop::CityName(city)));
  }
  if (!usable.ok()) {
    std::fprintf(stderr, "mock-city: --dialect: %s\n", std::string(usable.message()).c_str());
    return 2;
  }
  absl::StatusOr<interop::mock_city::MockMedicalLedgerOptions> ledger_options =
      LedgerOptions(city, absl::GetFlag(FLAGS_dialect), absl::GetFlag(FLAGS_medical_policy));
  if (!ledger_options.ok()) {
    std::fprintf(stderr, "mock-city: --medical_policy: %s\n",
                 std::string(ledger_options.status().message()).c_str());
    return 2;
  }
  const std::string transport = absl::GetFlag(FLAGS_transport);
  if (transport != "grpc" && transport != "http") {
    std::fprintf(stderr, "mock-city: --transport must be grpc or http\n");
    return 2;
  }
  absl::StatusOr<interop::mock_city::FaultSettings> fault_settings = FaultSettingsFromFlags();
  if (fault_settings.ok()) {
    // The method names of --fault_methods: the contract's methods over gRPC, transaction codes over HTTP.
    absl::Status valid =
        interop::mock_city::FaultInjector(
            transport == "http" ? interop::mock_city::NationalInterfacePlatform::TransactionCodes()
                                : interop::mock_city::CityBackendMethodNames())
            .Validate(*fault_settings, "--fault_");
    if (!valid.ok()) fault_settings = valid;
  }
  if (!fault_settings.ok()) {
    std::fprintf(stderr, "mock-city: %s\n", std::string(fault_settings.status().message()).c_str());
    return 2;
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  interop::config::v1::TlsFiles files;
  files.set_ca_cert_file(absl::GetFlag(FLAGS_ca));
  files.set_cert_file(absl::GetFlag(FLAGS_cert));
  files.set_key_file(absl::GetFlag(FLAGS_key));
  auto credentials = interop::tls::MakeMutualTlsServerCredentials(files);
  if (!credentials.ok()) {
    std::fprintf(stderr, "mock-city: %s (--ca, --cert and --key are required)\n",
                 std::string(credentials.status().message()).c_str());
    return 2;
  }

  absl::Time started = absl::Now();
  interop::mock_city::PopulationOptions population_options;
  population_options.seed = absl::GetFlag(FLAGS_seed);
  population_options.persons_per_issuing_city = absl::GetFlag(FLAGS_persons_per_city);
  interop::mock_city::Population population = interop::mock_city::Population::Generate(population_options);
  const size_t caps = ledger_options->annual_fund_cap_fen.size();
  interop::mock_city::MockMedicalLedger ledger(population, city, *std::move(ledger_options));
  std::unique_ptr<interop::mock_city::MockCertificateSigner> signer;
  if (!absl::GetFlag(FLAGS_signing_key).empty()) {
    auto loaded = interop::mock_city::MockCertificateSigner::FromPemFile(city, absl::GetFlag(FLAGS_signing_key),
                                                                         absl::GetFlag(FLAGS_signing_key_id));
    if (!loaded.ok()) {
      std::fprintf(stderr, "mock-city: --signing_key: %s\n", std::string(loaded.status().message()).c_str());
      return 2;
    }
    signer = *std::move(loaded);
  }
  if (transport == "http") {
    interop::mock_city::HttpBackendOptions http;
    http.listen = absl::GetFlag(FLAGS_listen);
    http.ca_cert_file = absl::GetFlag(FLAGS_ca);
    http.cert_file = absl::GetFlag(FLAGS_cert);
    http.key_file = absl::GetFlag(FLAGS_key);
    http.certificate_signer = signer.get();
    http.faults = *fault_settings;
    return interop::mock_city::ServeHttpUntilSignal(*dialect, population, ledger, http,
                                                    absl::GetFlag(FLAGS_port_file), stop_signals);
  }
  interop::mock_city::MockCityBackend backend(*dialect, population, interop::Clock::Real(), ledger);
  backend.SetCertificateSigner(signer.get());
  if (absl::Status set = backend.faults().Set(*fault_settings); !set.ok()) {
    std::fprintf(stderr, "mock-city: --fault_*: %s\n", std::string(set.message()).c_str());
    return 2;
  }
  interop::mock_city::MockCityAdmin admin(backend.faults());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), *credentials, &port);
  builder.RegisterService(&backend);
  builder.RegisterService(&admin);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "mock-city: cannot listen on %s\n", absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  interop::mock_city::ReportDownToHealth(backend.faults(), *server);
  interop::LogInfo("mock city serving",
                   {{"city", std::string(interop::CityName(city))},
                    {"dialect", (*dialect)->source()},
                    {"port", absl::StrCat(port)},
                    {"persons_held", absl::StrCat(backend.HeldPersonCount())},
                    {"seed", absl::StrCat(population_options.seed)},
                    {"annual_caps", absl::StrCat(caps)},
                    {"signing_key_id", signer != nullptr ? signer->key_id() : "none"},
                    {"faults", *fault_settings == interop::mock_city::FaultSettings{} ? "none" : "injected"},
                    {"startup_ms", absl::StrCat(absl::ToInt64Milliseconds(absl::Now() - started))}});
  if (!absl::GetFlag(FLAGS_port_file).empty()) {
    std::string tmp = absl::GetFlag(FLAGS_port_file) + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), absl::GetFlag(FLAGS_port_file).c_str());
  }
  int signal = 0;
  sigwait(&stop_signals, &signal);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  backend.faults().SetDownObserver(nullptr);
  return 0;
}
