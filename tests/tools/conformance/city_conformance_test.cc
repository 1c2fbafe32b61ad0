// The conformance kit as a city runs it: the real city-conformance program, as a process, over
// mutual TLS with the development PKI (the ctest fixture dev_certs makes it).
//  - Against each of the five mock cities, started as real mock-city processes in their city's
//    dialect (Lüliang over HTTP/JSON), with sample persons from `mock-city --print_ids` and the
//    settlement person from `--print_ids=settleable-in-city`: every check passes, settlement
//    included, exit 0.
//  - Against BrokenCityBackend (broken_backend.h): exit 1, and the output names each breached check
//    with its reason, while the checks it keeps still pass; the settlement person is picked from the
//    samples, and the kit leaves the backend's ledger as it found it.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gateway/base/cities.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/process_harness.h"
#include "tests/tools/conformance/broken_backend.h"
#include "tools/conformance/conformance_checks.h"

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

// The output line reporting `check` ("PASS health: ..." or "FAIL health: ..."), or "" if none.
std::string LineOf(const Outcome& outcome, absl::string_view check) {
  for (absl::string_view line : absl::StrSplit(outcome.output, '\n')) {
    if (absl::StartsWith(line, absl::StrCat("PASS ", check, ":")) ||
        absl::StartsWith(line, absl::StrCat("FAIL ", check, ":"))) {
      return std::string(line);
    }
  }
  return "";
}

class MockCityConformanceTest : public ::testing::TestWithParam<City> {};

TEST_P(MockCityConformanceTest, PassesEveryCheck) {
  const City city = GetParam();
  const std::string name(CityName(city));
  const std::string dir = MakeTempDir(absl::StrCat("conformance-", name, "-"));
  ASSERT_FALSE(dir.empty());

  // The city's test persons, as the kit's documentation says to make them for a mock city.
  const std::string all_ids = dir + "/insured-in-city.txt";
  absl::StatusOr<int> printed =
      RunToCompletion({INTEROP_MOCK_CITY_BIN, "--print_ids=medical-in-city", absl::StrCat("--city=", name)},
                      all_ids, absl::Seconds(60));
  ASSERT_TRUE(printed.ok()) << printed.status();
  ASSERT_EQ(*printed, 0) << ReadFileOrEmpty(all_ids);
  std::vector<std::string> ids = absl::StrSplit(ReadFileOrEmpty(all_ids), '\n', absl::SkipWhitespace());
  ASSERT_GE(ids.size(), static_cast<size_t>(kSamplePersons));
  ids.resize(kSamplePersons);
  const std::string samples = dir + "/samples.txt";
  std::ofstream(samples) << absl::StrJoin(ids, "\n") << "\n";
  // The settlement person, as the kit's documentation says to pick one for a mock city.
  const std::string settleable_ids = dir + "/settleable-in-city.txt";
  absl::StatusOr<int> settleable = RunToCompletion(
      {INTEROP_MOCK_CITY_BIN, "--print_ids=settleable-in-city", absl::StrCat("--city=", name)},
      settleable_ids, absl::Seconds(60));
  ASSERT_TRUE(settleable.ok()) << settleable.status();
  ASSERT_EQ(*settleable, 0) << ReadFileOrEmpty(settleable_ids);
  const std::vector<std::string> settlement_persons =
      absl::StrSplit(ReadFileOrEmpty(settleable_ids), '\n', absl::SkipWhitespace());
  ASSERT_FALSE(settlement_persons.empty());

  std::vector<std::string> mock = {INTEROP_MOCK_CITY_BIN,
                                   absl::StrCat("--city=", name),
                                   absl::StrCat("--dialect=", DialectOf(city)),
                                   "--listen=127.0.0.1:0",
                                   absl::StrCat("--ca=", Cert("ca.pem")),
                                   absl::StrCat("--cert=", Cert(absl::StrCat("city-", name, ".pem"))),
                                   absl::StrCat("--key=", Cert(absl::StrCat("city-", name, ".key"))),
                                   absl::StrCat("--port_file=", dir, "/mock.port")};
  const bool http = city == City::CITY_LVLIANG;
  if (http) mock.push_back("--transport=http");
  absl::StatusOr<std::unique_ptr<ChildProcess>> backend =
      ChildProcess::Start(mock, dir + "/mock.log", dir + "/mock.port");
  ASSERT_TRUE(backend.ok()) << backend.status();

  Outcome outcome = RunConformance(
      dir, {absl::StrCat("--city=", name), absl::StrCat("--address=127.0.0.1:", (*backend)->port()),
            absl::StrCat("--dialect=", DialectOf(city)), absl::StrCat("--transport=", http ? "http" : "grpc"),
            absl::StrCat("--sample_ids=", samples),
            absl::StrCat("--settlement_person=", settlement_persons.front()),
            // The suite runs next to fuzzers and other processes on a small machine: the deadline
            // check is about an answer at all, not about this machine's speed under load.
            "--deadline_ms=10000"});
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  for (absl::string_view check : conformance::kCheckNames) {
    EXPECT_THAT(LineOf(outcome, check), StartsWith(absl::StrCat("PASS ", check, ": "))) << outcome.output;
  }
  EXPECT_THAT(outcome.output,
              HasSubstr(absl::StrCat("CONFORMS: ", conformance::kCheckNames.size(), " checks, ",
                                     conformance::kCheckNames.size(), " passed, 0 failed")));
  // The settlement checks ran on the settlement person and undid what they committed.
  EXPECT_THAT(LineOf(outcome, "account"),
              HasSubstr(absl::StrCat("PASS account: ", settlement_persons.front(), "'s account of ")));
  EXPECT_THAT(LineOf(outcome, "settle-reversal"), HasSubstr("balance and accumulators as before the commit"));
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

  EXPECT_THAT(outcome.output, HasSubstr(absl::StrCat("DOES NOT CONFORM: ", conformance::kCheckNames.size(),
                                                     " checks, 10 passed, 11 failed")));

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
  for (absl::string_view check :
       {"records-claimed", "records-unclaimed", "contributions-order", "contributions-range", "consistency",
        "account", "settle-commit", "settle-replay", "settle-conflict", "settle-stale-version",
        "settle-overdraw", "settle-record", "settle-reversal", "filing", "filing-same-city"}) {
    EXPECT_THAT(LineOf(outcome, check), StartsWith(absl::StrCat("FAIL ", check, ": not exercised: ")))
        << outcome.output;
  }
}

}  // namespace
}  // namespace interop::testing
