// The conformance kit as a city runs it: the real city-conformance program, as a process, over
// mutual TLS with the development PKI (the ctest fixture dev_certs makes it).
//  - Against each of the five mock cities, started as real mock-city processes in their city's
//    dialect (Lüliang over HTTP/JSON) with their certificate signing keys, with sample persons from
//    `mock-city --print_ids`, the settlement person from `--print_ids=settleable-in-city`, a
//    migration and a pension person picked from the synthetic population, and the city's public
//    signing key: every check passes, settlement, migration, pension transfer and certificates
//    included, exit 0, and the migration and pension persons end where they started.
//  - Against BrokenCityBackend (broken_backend.h): exit 1, and the output names each breached check
//    with its reason, while the checks it keeps still pass; the settlement person is picked from the
//    samples, and the kit leaves the backend's ledger as it found it; without a migration or pension
//    person the kit changes no one's registration or pension relationship ("not exercised").
//  - Against Taiyuan's mock city behind FaultyBackendServer (faulty_backend.h), which breaks one rule
//    of migration, pension transfer or certificates: exit 1, naming exactly the checks of that rule.
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "adapters/dialect/dialect.h"
#include "gateway/base/cities.h"
#include "gateway/tls/tls_credentials.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "interop/citybackend/v1/city_backend.grpc.pb.h"
#include "tests/integration/process_harness.h"
#include "tests/tools/conformance/broken_backend.h"
#include "tests/tools/conformance/faulty_backend.h"
#include "tools/conformance/conformance_checks.h"
#include "tools/mock_city/population.h"

namespace interop::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int kSamplePersons = 10;

struct Outcome {
  int exit_code = -1;
  std::string output;
};

std::string Cert(const std::string& file) { return absl::StrCat(INTEROP_TEST_CERTS_DIR, "/", file); }

std::string DialectOf(City city) {
  return absl::StrCat(INTEROP_SOURCE_DIR, "/adapters/", CityName(city), "/dialect.textproto");
}

// city-conformance with the gateway's client certificate and `flags`; its output in `dir`.
Outcome RunConformance(const std::string& dir, std::vector<std::string> flags,
                       const std::string& cert = "gateway") {
  std::vector<std::string> argv = {INTEROP_CONFORMANCE_BIN, absl::StrCat("--ca=", Cert("ca.pem")),
                                   absl::StrCat("--cert=", Cert(cert + ".pem")),
                                   absl::StrCat("--key=", Cert(cert + ".key")), "--server_name=localhost"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  const std::string log = dir + "/conformance.log";
  absl::StatusOr<int> exit_code = RunToCompletion(argv, log, absl::Seconds(120));
  EXPECT_TRUE(exit_code.ok()) << exit_code.status();
  return Outcome{exit_code.ok() ? *exit_code : -1, ReadFileOrEmpty(log)};
}

// The output line reporting `check` ("PASS health: ...", "FAIL health: ..." or "SKIP health: ..."),
// or "" if none.
std::string LineOf(const Outcome& outcome, absl::string_view check) {
  for (absl::string_view line : absl::StrSplit(outcome.output, '\n')) {
    for (absl::string_view verdict : {"PASS ", "FAIL ", "SKIP "}) {
      if (absl::StartsWith(line, absl::StrCat(verdict, check, ":"))) return std::string(line);
    }
  }
  return "";
}

// The synthetic population every mock city serves (mock-city's default seed and size).
const mock_city::Population& MockPopulation() {
  static const mock_city::Population* population =
      new mock_city::Population(mock_city::Population::Generate(mock_city::PopulationOptions()));
  return *population;
}

// The kit's persons of a mock city besides the samples: someone registered in `city` (the migration
// person), and someone who paid pension contributions in `city` but not in the last months of the
// population, so that the relationship there can move (the pension person); neither in `taken`.
struct MobilityPersons {
  std::string migration;
  std::string pension;
};
MobilityPersons PickMobilityPersons(City city, const std::vector<std::string>& taken) {
  const mock_city::Population& population = MockPopulation();
  const absl::CivilMonth recent = absl::CivilMonth(population.options().today) - 3;
  const auto is_taken = [&taken](const std::string& id) {
    return std::find(taken.begin(), taken.end(), id) != taken.end();
  };
  MobilityPersons persons;
  for (const mock_city::SyntheticPerson& p : population.persons()) {
    if (is_taken(p.resident_id)) continue;
    if (persons.migration.empty() && p.household.city == city) {
      persons.migration = p.resident_id;
      continue;
    }
    if (persons.pension.empty()) {
      bool here = false;
      bool recently = false;
      for (const mock_city::EmploymentSpell& spell : p.employment) {
        if (spell.city != city) continue;
        here = true;
        recently = recently || spell.last_month >= recent;
      }
      if (here && !recently) persons.pension = p.resident_id;
    }
    if (!persons.migration.empty() && !persons.pension.empty()) break;
  }
  return persons;
}

// A mock city serving in `dir`, and the flags the kit needs for it besides the address: the city,
// its dialect and transport, ten sample persons and the settlement person (as docs/JOINING.md says
// to make them), the migration and pension persons, and the public half of its signing key.
struct RunningMockCity {
  std::unique_ptr<ChildProcess> process;
  std::vector<std::string> kit_flags;
  std::vector<std::string> samples;
  std::string settlement_person;
  MobilityPersons mobility;
};

void StartMockCity(const std::string& dir, City city, RunningMockCity* mock) {
  const std::string name(CityName(city));
  const std::string all_ids = dir + "/insured-in-city.txt";
  absl::StatusOr<int> printed =
      RunToCompletion({INTEROP_MOCK_CITY_BIN, "--print_ids=medical-in-city", absl::StrCat("--city=", name)},
                      all_ids, absl::Seconds(60));
  ASSERT_TRUE(printed.ok()) << printed.status();
  ASSERT_EQ(*printed, 0) << ReadFileOrEmpty(all_ids);
  std::vector<std::string> ids = absl::StrSplit(ReadFileOrEmpty(all_ids), '\n', absl::SkipWhitespace());
  ASSERT_GE(ids.size(), static_cast<size_t>(kSamplePersons));
  ids.resize(kSamplePersons);
  mock->samples = ids;
  const std::string samples = dir + "/samples.txt";
  std::ofstream(samples) << absl::StrJoin(ids, "\n") << "\n";
  const std::string settleable_ids = dir + "/settleable-in-city.txt";
  absl::StatusOr<int> settleable = RunToCompletion(
      {INTEROP_MOCK_CITY_BIN, "--print_ids=settleable-in-city", absl::StrCat("--city=", name)},
      settleable_ids, absl::Seconds(60));
  ASSERT_TRUE(settleable.ok()) << settleable.status();
  ASSERT_EQ(*settleable, 0) << ReadFileOrEmpty(settleable_ids);
  const std::vector<std::string> settlement_persons =
      absl::StrSplit(ReadFileOrEmpty(settleable_ids), '\n', absl::SkipWhitespace());
  ASSERT_FALSE(settlement_persons.empty());
  mock->settlement_person = settlement_persons.front();
  std::vector<std::string> taken = ids;
  taken.push_back(mock->settlement_person);
  mock->mobility = PickMobilityPersons(city, taken);
  ASSERT_FALSE(mock->mobility.migration.empty()) << name;
  ASSERT_FALSE(mock->mobility.pension.empty()) << name;

  std::vector<std::string> argv = {
      INTEROP_MOCK_CITY_BIN,
      absl::StrCat("--city=", name),
      absl::StrCat("--dialect=", DialectOf(city)),
      "--listen=127.0.0.1:0",
      absl::StrCat("--ca=", Cert("ca.pem")),
      absl::StrCat("--cert=", Cert(absl::StrCat("city-", name, ".pem"))),
      absl::StrCat("--key=", Cert(absl::StrCat("city-", name, ".key"))),
      absl::StrCat("--signing_key=", Cert(absl::StrCat("city-", name, "-signing.key"))),
      absl::StrCat("--port_file=", dir, "/mock.port")};
  const bool http = city == City::CITY_LVLIANG;
  if (http) argv.push_back("--transport=http");
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(argv, dir + "/mock.log", dir + "/mock.port");
  ASSERT_TRUE(process.ok()) << process.status();
  mock->process = *std::move(process);
  mock->kit_flags = {
      absl::StrCat("--city=", name), absl::StrCat("--dialect=", DialectOf(city)),
      absl::StrCat("--transport=", http ? "http" : "grpc"), absl::StrCat("--sample_ids=", samples),
      absl::StrCat("--settlement_person=", mock->settlement_person),
      absl::StrCat("--migration_person=", mock->mobility.migration),
      absl::StrCat("--pension_person=", mock->mobility.pension),
      absl::StrCat("--signing_public_key=", Cert(absl::StrCat("city-", name, "-signing.pub.pem"))),
      // The suite runs next to fuzzers and other processes on a small machine: the
      // deadline check is about an answer at all, not about this machine's speed under
      // load.
      "--deadline_ms=10000"};
}

// A gRPC mock city's own answers, asked directly as the gateway would (its certificate, the city's
// identity form), for what the kit left behind.
class MockCityStub {
 public:
  MockCityStub(City city, int port) {
    absl::StatusOr<std::shared_ptr<const adapters::Dialect>> dialect =
        adapters::Dialect::LoadFile(DialectOf(city));
    EXPECT_TRUE(dialect.ok()) << dialect.status();
    dialect_ = *dialect;
    config::v1::TlsFiles files;
    files.set_ca_cert_file(Cert("ca.pem"));
    files.set_cert_file(Cert("gateway.pem"));
    files.set_key_file(Cert("gateway.key"));
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        tls::MakeMutualTlsChannelCredentials(files);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    stub_ = citybackend::v1::CityBackendService::NewStub(
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), *credentials, args));
  }

  // The address the person is registered at, or the error.
  std::string RegisteredAddress(const std::string& id) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    citybackend::v1::GetHouseholdRegistrationRequest request;
    request.set_resident_id(dialect_->BackendResidentId(id));
    citybackend::v1::GetHouseholdRegistrationResponse response;
    grpc::Status status = stub_->GetHouseholdRegistration(&context, request, &response);
    return status.ok() ? response.address_code() : absl::StrCat("error ", status.error_code());
  }

  // The person's pension months here, "YYYYMM:wage base" each, in the order answered.
  std::vector<std::string> PensionMonths(const std::string& id) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    citybackend::v1::GetContributionsRequest request;
    request.set_resident_id(dialect_->BackendResidentId(id));
    citybackend::v1::GetContributionsResponse response;
    grpc::Status status = stub_->GetContributions(&context, request, &response);
    if (!status.ok()) return {absl::StrCat("error ", status.error_code())};
    const std::string* pension = dialect_->table(adapters::CodeTableKind::kContributionKinds).ToLocal("110");
    std::vector<std::string> months;
    for (const citybackend::v1::MonthlyContribution& month : response.months()) {
      if (pension != nullptr && month.kind_code() == *pension) {
        months.push_back(absl::StrCat(month.year_month(), ":", month.wage_base()));
      }
    }
    return months;
  }

 private:
  std::shared_ptr<const adapters::Dialect> dialect_;
  std::unique_ptr<citybackend::v1::CityBackendService::Stub> stub_;
};

// Keeps one idle callback server for the whole process. The tests start and stop in-process backends
// (BrokenBackendServer, FaultyBackendServer); gRPC 1.51 shares one callback completion queue among a
// process's callback servers and channels, tears it down when the last one lets go and makes a new
// one for the next, and can abort in between ("assertion failed: prior > 0" in
// grpc_cq_internal_unref). With this server holding the queue, it is never torn down while the tests
// run.
class CallbackQueueKeeper : public ::testing::Environment {
 public:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&idle_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_->Wait();
  }

 private:
  citybackend::v1::CityBackendService::CallbackService idle_;  // answers UNIMPLEMENTED; never called
  std::unique_ptr<grpc::Server> server_;
};
const ::testing::Environment* const kCallbackQueueKeeper =
    ::testing::AddGlobalTestEnvironment(new CallbackQueueKeeper());

class MockCityConformanceTest : public ::testing::TestWithParam<City> {};

TEST_P(MockCityConformanceTest, PassesEveryCheck) {
  const City city = GetParam();
  const std::string name(CityName(city));
  const bool http = city == City::CITY_LVLIANG;
  const std::string dir = MakeTempDir(absl::StrCat("conformance-", name, "-"));
  ASSERT_FALSE(dir.empty());
  RunningMockCity mock;
  StartMockCity(dir, city, &mock);
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  std::string address_before;
  std::vector<std::string> pension_before;
  std::unique_ptr<MockCityStub> stub;
  if (!http) {
    stub = std::make_unique<MockCityStub>(city, mock.process->port());
    address_before = stub->RegisteredAddress(mock.mobility.migration);
    ASSERT_EQ(address_before.size(), 6u) << address_before;
    pension_before = stub->PensionMonths(mock.mobility.pension);
    ASSERT_FALSE(pension_before.empty());
  }

  std::vector<std::string> flags = mock.kit_flags;
  flags.push_back(absl::StrCat("--address=127.0.0.1:", mock.process->port()));
  Outcome outcome = RunConformance(dir, flags);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  for (absl::string_view check : conformance::kCheckNames) {
    EXPECT_THAT(LineOf(outcome, check), StartsWith(absl::StrCat("PASS ", check, ": "))) << outcome.output;
  }
  const size_t checks = conformance::kCheckNames.size();
  EXPECT_THAT(outcome.output,
              HasSubstr(absl::StrCat("CONFORMS: ", checks, " checks, ", checks, " passed, 0 failed\n")));
  // The settlement checks ran on the settlement person and undid what they committed.
  EXPECT_THAT(LineOf(outcome, "account"),
              HasSubstr(absl::StrCat("PASS account: ", mock.settlement_person, "'s account of ")));
  EXPECT_THAT(LineOf(outcome, "settle-reversal"), HasSubstr("balance and accumulators as before the commit"));
  // Signatures were checked with the city's public key.
  EXPECT_THAT(LineOf(outcome, "certificate-signature"), HasSubstr("verifies over the exact payload bytes"));
  if (http) return;  // asked directly over the gRPC contract only
  // The migration and pension checks ran on the persons named, and left them where they were.
  EXPECT_THAT(LineOf(outcome, "migration-move-out"),
              HasSubstr(absl::StrCat("the move-out of ", mock.mobility.migration)));
  EXPECT_THAT(LineOf(outcome, "pension-prepare"),
              HasSubstr(absl::StrCat("the sheet of ", mock.mobility.pension)));
  EXPECT_EQ(stub->RegisteredAddress(mock.mobility.migration), address_before);
  EXPECT_EQ(stub->PensionMonths(mock.mobility.pension), pension_before);
}

INSTANTIATE_TEST_SUITE_P(AllCities, MockCityConformanceTest, ::testing::ValuesIn(kAllCities),
                         [](const ::testing::TestParamInfo<City>& info) {
                           return std::string(CityName(info.param));
                         });

class BrokenBackendConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("conformance-broken-");
    ASSERT_FALSE(dir_.empty());
    absl::StatusOr<std::unique_ptr<BrokenBackendServer>> server =
        BrokenBackendServer::Start(INTEROP_TEST_CERTS_DIR);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    samples_ = dir_ + "/samples.txt";
    std::ofstream(samples_) << "# the broken backend's two persons\n"
                            << absl::StrJoin(BrokenBackendServer::SampleIds(), "\n") << "\n";
  }

  Outcome Run(const std::string& cert = "gateway") {
    return RunConformance(
        dir_,
        {"--city=taiyuan", absl::StrCat("--address=127.0.0.1:", server_->port()),
         absl::StrCat("--dialect=", DialectOf(City::CITY_TAIYUAN)), absl::StrCat("--sample_ids=", samples_)},
        cert);
  }

  std::string dir_;
  std::string samples_;
  std::unique_ptr<BrokenBackendServer> server_;
};

TEST_F(BrokenBackendConformanceTest, FailsNamingEachViolatedCheckWithItsReason) {
  const Outcome outcome = Run();
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  const std::string worker = BrokenCityBackend::WorkerId();
  const std::string resident = BrokenCityBackend::ResidentId();

  // Kept: these pass.
  EXPECT_THAT(LineOf(outcome, "health"), StartsWith("PASS health: ")) << outcome.output;
  EXPECT_THAT(LineOf(outcome, "locate-known"), StartsWith("PASS locate-known: 2 of 2 sample persons found"));
  EXPECT_THAT(LineOf(outcome, "deadline"), StartsWith("PASS deadline: "));

  // NOT_FOUND as an error for an unknown person.
  const std::string locate_unknown = LineOf(outcome, "locate-unknown");
  EXPECT_THAT(locate_unknown, StartsWith("FAIL locate-unknown: "));
  EXPECT_THAT(locate_unknown, HasSubstr("answered NOT_FOUND"));
  EXPECT_THAT(locate_unknown, HasSubstr("must be found=false, not an error"));

  // An unmapped code, named with its table and the dialect file.
  const std::string claimed = LineOf(outcome, "records-claimed");
  EXPECT_THAT(claimed,
              StartsWith(absl::StrCat("FAIL records-claimed: ", worker, ": GetMedicalEnrollment: INTERNAL")));
  EXPECT_THAT(claimed, HasSubstr("insurance_type_code: code \"ZZ\" is not in its insurance_types table "
                                 "(adapters/taiyuan/dialect.textproto)"));

  // A record it did not claim, for a sample person and for the unknown person.
  const std::string unclaimed = LineOf(outcome, "records-unclaimed");
  EXPECT_THAT(unclaimed,
              StartsWith(absl::StrCat("FAIL records-unclaimed: ", worker,
                                      ": LocatePerson does not claim the household registration, but "
                                      "GetHouseholdRegistration answered a record")));
  EXPECT_THAT(unclaimed, Not(HasSubstr(resident)));
  const std::string unknown = LineOf(outcome, "unknown-not-found");
  EXPECT_THAT(unknown,
              StartsWith("FAIL unknown-not-found: GetHouseholdRegistration of the unknown person answered "
                         "a household registration record; must be NOT_FOUND"));
  EXPECT_THAT(unknown, Not(HasSubstr("GetMedicalEnrollment")));

  // INTERNAL for malformed numbers, on every method.
  const std::string malformed = LineOf(outcome, "malformed-id");
  EXPECT_THAT(malformed, StartsWith("FAIL malformed-id: LocatePerson(\""));
  EXPECT_THAT(malformed, HasSubstr("answered INTERNAL: java.lang.NumberFormatException"));
  EXPECT_THAT(malformed, HasSubstr("must be INVALID_ARGUMENT"));
  EXPECT_THAT(malformed, HasSubstr("and 2 more"));  // six calls in all

  // Newest first, and to_year ignored.
  EXPECT_THAT(
      LineOf(outcome, "contributions-order"),
      StartsWith(absl::StrCat("FAIL contributions-order: ", worker,
                              ": months are not in ascending order: months[1] (202012, kind_code \"110\") "
                              "comes after months[0] (202012, kind_code \"310\")")));
  EXPECT_THAT(
      LineOf(outcome, "contributions-range"),
      StartsWith(absl::StrCat("FAIL contributions-range: ", worker,
                              ": asked for 2018 to 2018: the backend sent 48 months outside it (first "
                              "202012); from_year and to_year must be honoured")));

  // A balance that changes between two identical calls.
  EXPECT_THAT(LineOf(outcome, "consistency"),
              StartsWith(absl::StrCat("FAIL consistency: two identical calls GetMedicalEnrollment(", resident,
                                      ") answered differently: they differ in personal_account_balance")));

  // Settlement, on the resident (the worker's enrolment does not translate): what it keeps passes.
  for (absl::string_view check : {"account", "settle-commit", "settle-replay", "settle-overdraw",
                                  "settle-record", "settle-reversal", "filing"}) {
    EXPECT_THAT(LineOf(outcome, check), StartsWith(absl::StrCat("PASS ", check, ": "))) << outcome.output;
  }
  EXPECT_THAT(LineOf(outcome, "account"),
              HasSubstr(absl::StrCat("PASS account: ", resident, "'s account of ")));

  // The same settlement_id with other amounts answered as a replay of the stored one, which the
  // adapter refuses.
  const std::string conflict = LineOf(outcome, "settle-conflict");
  EXPECT_THAT(conflict, StartsWith("FAIL settle-conflict: CommitSettlement of CONFORMANCE-"));
  EXPECT_THAT(conflict, HasSubstr("again with other amounts (total 1.01 yuan"));
  EXPECT_THAT(conflict,
              HasSubstr("answered INTERNAL: city taiyuan answered an untranslatable settlement.total: "
                        "it is not the value committed; must be ALREADY_EXISTS"));

  // expected_version ignored: a commit at the version read before the first one applies.
  const std::string stale = LineOf(outcome, "settle-stale-version");
  EXPECT_THAT(stale,
              StartsWith("FAIL settle-stale-version: CommitSettlement of a new settlement CONFORMANCE-"));
  EXPECT_THAT(stale, HasSubstr("at the stale version 1 (the account is at 2) answered OK (replayed=false"));
  EXPECT_THAT(stale, HasSubstr("must be ABORTED (the kit reverses it)"));

  // A filing in the insured city itself accepted.
  EXPECT_THAT(
      LineOf(outcome, "filing-same-city"),
      StartsWith("FAIL filing-same-city: FileTreatment for treatment in taiyuan, the city that insures "
                 "the person, answered a filing (F14010000000002); must be FAILED_PRECONDITION "
                 "(the kit revokes it)"));

  // Without a migration or pension person the kit changes nobody's registration or pension
  // relationship: those checks are not exercised (and fail). The unknown person's move-out and
  // transfer-out, which change nobody, are asked: the backend does not offer them.
  for (absl::string_view check : {"migration-permit", "migration-move-out", "migration-settle-in"}) {
    EXPECT_THAT(
        LineOf(outcome, check),
        StartsWith(absl::StrCat("FAIL ", check,
                                ": not exercised: no migration person; name a test person registered in "
                                "taiyuan whom the kit may move out and settle in again with "
                                "--migration_person")))
        << outcome.output;
  }
  for (absl::string_view check :
       {"pension-apply", "pension-prepare", "pension-complete-out", "pension-confirm-in"}) {
    EXPECT_THAT(LineOf(outcome, check),
                StartsWith(absl::StrCat("FAIL ", check,
                                        ": not exercised: no pension person; name a test person "
                                        "with a pension record in taiyuan that can move")))
        << outcome.output;
  }
  EXPECT_THAT(
      LineOf(outcome, "migration-refusals"),
      StartsWith(absl::StrCat("FAIL migration-refusals: RecordMoveOut of the unknown person ",
                              conformance::DefaultUnknownId(), " to jinzhong answered UNIMPLEMENTED: ")));
  EXPECT_THAT(LineOf(outcome, "migration-refusals"), HasSubstr("; not exercised: no migration person"));
  EXPECT_THAT(LineOf(outcome, "pension-refusals"),
              StartsWith("FAIL pension-refusals: PreparePensionTransferOut of the unknown person "));
  // It cannot sign (no signing key): certificates of its records cannot be issued.
  EXPECT_THAT(
      LineOf(outcome, "certificate-refusals"),
      StartsWith("FAIL certificate-refusals: SignCertificate answered UNIMPLEMENTED: the backend has no "
                 "signing key"));
  EXPECT_THAT(LineOf(outcome, "certificate-signature"),
              StartsWith("SKIP certificate-signature: not run: no --signing_public_key"));

  EXPECT_THAT(outcome.output, HasSubstr(absl::StrCat("DOES NOT CONFORM: ", conformance::kCheckNames.size(),
                                                     " checks, 10 passed, 21 failed, 1 skipped")));

  // The kit left the ledger as it found it: the balance back, every settlement reversed (also
  // the stale commit the backend should have refused), every filing revoked.
  EXPECT_EQ(server_->service().account_balance_fen(), 300000);
  EXPECT_THAT(server_->service().UnreversedSettlements(), ::testing::IsEmpty());
  EXPECT_THAT(server_->service().ValidFilings(), ::testing::IsEmpty());
}

// The kit connects only as the gateway would: with a client certificate the backend's CA did not
// issue, the backend refuses the handshake and nothing passes but the checks that need no answer.
TEST_F(BrokenBackendConformanceTest, UntrustedClientCertificateFailsHealth) {
  const Outcome outcome = Run("caller-untrusted");
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  EXPECT_THAT(LineOf(outcome, "health"), StartsWith("FAIL health: the backend is not serving: UNAVAILABLE"));
  EXPECT_THAT(LineOf(outcome, "locate-known"), StartsWith("FAIL locate-known: "));
  // Nothing it could not see passes.
  for (absl::string_view check : {"records-claimed",      "records-unclaimed",
                                  "contributions-order",  "contributions-range",
                                  "consistency",          "account",
                                  "settle-commit",        "settle-replay",
                                  "settle-conflict",      "settle-stale-version",
                                  "settle-overdraw",      "settle-record",
                                  "settle-reversal",      "filing",
                                  "filing-same-city",     "migration-permit",
                                  "migration-move-out",   "migration-settle-in",
                                  "pension-apply",        "pension-prepare",
                                  "pension-complete-out", "pension-confirm-in"}) {
    EXPECT_THAT(LineOf(outcome, check), StartsWith(absl::StrCat("FAIL ", check, ": not exercised: ")))
        << outcome.output;
  }
}

// Taiyuan's mock city behind a backend that breaks one rule of migration, pension transfer or
// certificates (faulty_backend.h): the kit fails exactly the checks of that rule, naming the call and
// what the contract wants, and passes the rest.
class FaultyBackendConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("conformance-faulty-");
    ASSERT_FALSE(dir_.empty());
    StartMockCity(dir_, City::CITY_TAIYUAN, &mock_);
  }

  // Runs the kit against the mock city behind `breach`.
  Outcome Run(Breach breach) {
    absl::StatusOr<std::shared_ptr<const adapters::Dialect>> dialect =
        adapters::Dialect::LoadFile(DialectOf(City::CITY_TAIYUAN));
    EXPECT_TRUE(dialect.ok()) << dialect.status();
    if (!dialect.ok()) return Outcome();
    absl::StatusOr<std::unique_ptr<FaultyBackendServer>> faulty =
        FaultyBackendServer::Start(INTEROP_TEST_CERTS_DIR, *dialect, mock_.process->port(), breach);
    EXPECT_TRUE(faulty.ok()) << faulty.status();
    if (!faulty.ok()) return Outcome();
    std::vector<std::string> flags = mock_.kit_flags;
    flags.push_back(absl::StrCat("--address=127.0.0.1:", (*faulty)->port()));
    return RunConformance(dir_, flags);
  }

  // Every check but `failing` passes; those fail; the summary says so.
  void ExpectOnlyFailing(const Outcome& outcome, const std::vector<absl::string_view>& failing) {
    EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
    for (absl::string_view check : conformance::kCheckNames) {
      const bool fails = std::find(failing.begin(), failing.end(), check) != failing.end();
      EXPECT_THAT(LineOf(outcome, check), StartsWith(absl::StrCat(fails ? "FAIL " : "PASS ", check, ": ")))
          << outcome.output;
    }
    EXPECT_THAT(outcome.output,
                HasSubstr(absl::StrCat("DOES NOT CONFORM: ", conformance::kCheckNames.size(), " checks, ",
                                       conformance::kCheckNames.size() - failing.size(), " passed, ",
                                       failing.size(), " failed\n")));
  }

  std::string dir_;
  RunningMockCity mock_;
};

// A repeated request_key applied again: every idempotency check of migration and pension transfer
// fails, naming the second answer; the refusals (new keys each) still pass.
TEST_F(FaultyBackendConformanceTest, ARepeatedKeyAppliedAgainFailsTheIdempotencyChecks) {
  const Outcome outcome = Run(Breach::kRepeatedKeyAppliedAgain);
  ExpectOnlyFailing(outcome,
                    {"migration-permit", "migration-move-out", "migration-settle-in", "pension-apply",
                     "pension-prepare", "pension-complete-out", "pension-confirm-in"});

  // A second permit on the same key, and a permit for another request on it.
  const std::string permit = LineOf(outcome, "migration-permit");
  EXPECT_THAT(
      permit,
      StartsWith("FAIL migration-permit: the same IssueMoveInPermit again (request_key CONFORMANCE-"));
  EXPECT_THAT(
      permit,
      HasSubstr("replayed=false); a repeated request_key is applied once and answered replayed=true"));
  EXPECT_THAT(permit, HasSubstr("answered other than the first time (differs in permit_number)"));
  EXPECT_THAT(permit, HasSubstr("again but from yangquan answered a permit ("));
  EXPECT_THAT(permit, HasSubstr("must be ALREADY_EXISTS (the same key with a different request)"));
  // The move-out applied again finds the person gone.
  const std::string move_out = LineOf(outcome, "migration-move-out");
  EXPECT_THAT(move_out, StartsWith("FAIL migration-move-out: the same RecordMoveOut again (request_key "));
  EXPECT_THAT(move_out, HasSubstr("answered NOT_FOUND: city taiyuan holds no household registration for this "
                                  "person; a repeated request_key is answered with the first answer, "
                                  "replayed=true"));
  EXPECT_THAT(LineOf(outcome, "migration-settle-in"),
              StartsWith("FAIL migration-settle-in: the same SettleIn again (request_key "));
  EXPECT_THAT(LineOf(outcome, "pension-prepare"),
              StartsWith("FAIL pension-prepare: the same PreparePensionTransferOut again (request_key "));
  EXPECT_THAT(
      LineOf(outcome, "pension-complete-out"),
      StartsWith("FAIL pension-complete-out: the same CompletePensionTransferOut again (request_key "));
  EXPECT_THAT(LineOf(outcome, "pension-apply"),
              StartsWith("FAIL pension-apply: the same ApplyPensionTransfer again (request_key "));
  EXPECT_THAT(LineOf(outcome, "pension-confirm-in"),
              StartsWith("FAIL pension-confirm-in: the same ConfirmPensionTransferIn again (request_key "));
  // The kit still left the persons where they were.
  MockCityStub stub(City::CITY_TAIYUAN, mock_.process->port());
  EXPECT_EQ(stub.RegisteredAddress(mock_.mobility.migration),
            MockPopulation().Find(mock_.mobility.migration)->household.address_code);
}

// OK where NOT_FOUND is due: a move-out of a person not registered here and a transfer out of a
// person without a pension record are answered; the refusal checks fail, naming them.
TEST_F(FaultyBackendConformanceTest, OkWhereNotFoundIsDueFailsTheRefusalChecks) {
  const Outcome outcome = Run(Breach::kOkWhereNotFound);
  ExpectOnlyFailing(outcome, {"migration-refusals", "pension-refusals"});
  const std::string unknown = conformance::DefaultUnknownId();
  const std::string migration = LineOf(outcome, "migration-refusals");
  EXPECT_THAT(migration,
              StartsWith(absl::StrCat("FAIL migration-refusals: RecordMoveOut of the unknown person ",
                                      unknown, " to jinzhong answered a move-out (from 140101 on ")));
  EXPECT_THAT(migration, HasSubstr("must be NOT_FOUND (the person is not registered here)"));
  EXPECT_THAT(migration, HasSubstr(absl::StrCat("RecordMoveOut of ", mock_.mobility.migration,
                                                " once moved out (a new request_key) answered a move-out")));
  EXPECT_THAT(LineOf(outcome, "pension-refusals"),
              StartsWith(absl::StrCat(
                  "FAIL pension-refusals: PreparePensionTransferOut of the unknown person ", unknown,
                  " to jinzhong answered a sheet (0 months, personal account 0.00 "
                  "yuan, pooled fund 0.00 yuan, replayed=false); must be NOT_FOUND (the person "
                  "has no pension record here)")));
}

// A backend that leaves the name out of SettleIn's key-reuse check replays where it must refuse.
TEST_F(FaultyBackendConformanceTest, SettleInThatIgnoresTheNameFailsTheSettleInCheck) {
  const Outcome outcome = Run(Breach::kSettleInIgnoresName);
  ExpectOnlyFailing(outcome, {"migration-settle-in"});
  const std::string settle_in = LineOf(outcome, "migration-settle-in");
  EXPECT_THAT(settle_in, StartsWith("FAIL migration-settle-in: SettleIn with request_key "));
  EXPECT_THAT(settle_in, HasSubstr("again but another name"));
  EXPECT_THAT(settle_in, HasSubstr("must be ALREADY_EXISTS (the same key with a different request)"));
}

// Signatures the city must refuse, and signatures that do not verify.
TEST_F(FaultyBackendConformanceTest, BadSignaturesFailTheCertificateChecks) {
  const Outcome outcome = Run(Breach::kBadSignatures);
  ExpectOnlyFailing(outcome, {"certificate-refusals", "certificate-signature"});
  const std::string refusals = LineOf(outcome, "certificate-refusals");
  EXPECT_THAT(refusals,
              StartsWith("FAIL certificate-refusals: SignCertificate of a payload naming jinzhong as its "
                         "issuer answered a signature (key taiyuan-0000000000000000, ecdsa-p256-sha256); "
                         "must be FAILED_PRECONDITION (a city signs only certificates it issues)"));
  EXPECT_THAT(refusals, HasSubstr("must be FAILED_PRECONDITION (the key id is not taiyuan's)"));
  EXPECT_THAT(LineOf(outcome, "certificate-signature"),
              HasSubstr(": the signature does not verify over the payload with taiyuan's public key "
                        "(ecdsa-p256-sha256)"));
}

}  // namespace
}  // namespace interop::testing
