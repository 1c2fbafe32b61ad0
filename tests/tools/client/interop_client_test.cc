// interop-client's settlement commands as a user runs them: the built binary against the five mock
// cities and a gateway as real processes. A Jinzhong bureau files treatment in Taiyuan, a Taiyuan
// hospital pre-settles and settles (then again with the same key: replayed), the Taiyuan bureau reads
// the clearing, the hospital reverses and the Jinzhong records reconcile. Bad usage exits 2 naming
// the flag, before any connection is made.
#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/city_cluster.h"
#include "tests/integration/process_harness.h"
#include "tests/integration/settlement_support.h"

namespace interop::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// What one run of the client did: its exit code, and stdout and stderr together.
struct ClientRun {
  int exit_code = -1;
  std::string output;
};

// Runs interop-client with `args` after the connection flags for certs_dir/<caller>.pem, the
// output in a fresh file under `dir`.
ClientRun RunClient(const std::string& dir, const std::string& certs_dir, const std::string& target,
                    const std::string& caller, const std::vector<std::string>& args) {
  static std::atomic<int> runs{0};
  std::vector<std::string> argv = {INTEROP_CLIENT_BIN,
                                   absl::StrCat("--target=", target),
                                   "--server_name=localhost",
                                   absl::StrCat("--ca=", certs_dir, "/ca.pem"),
                                   absl::StrCat("--cert=", certs_dir, "/", caller, ".pem"),
                                   absl::StrCat("--key=", certs_dir, "/", caller, ".key")};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string log = absl::StrCat(dir, "/interop-client-", runs++, ".log");
  absl::StatusOr<int> exit_code = RunToCompletion(argv, log, absl::Seconds(30));
  ClientRun run;
  run.exit_code = exit_code.ok() ? *exit_code : -1;
  run.output = ReadFileOrEmpty(log);
  if (!exit_code.ok()) run.output += exit_code.status().ToString();
  return run;
}

std::string Day(absl::CivilDay day) { return absl::FormatCivilTime(day); }

// The value of `field: "..."` in text-format output, or "".
std::string QuotedField(const std::string& output, const std::string& field) {
  const std::string start = absl::StrCat(field, ": \"");
  size_t at = output.find(start);
  if (at == std::string::npos) return "";
  at += start.size();
  return output.substr(at, output.find('"', at) - at);
}

class InteropClientSettlementTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ClusterOptions options;
    auto cluster = CityCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
    mock_city::PopulationOptions population_options;
    population_options.seed = options.seed;
    population_options.persons_per_issuing_city = options.persons_per_city;
    population_ = new mock_city::Population(mock_city::Population::Generate(population_options));
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete population_;
  }
  void SetUp() override { ASSERT_NE(cluster_, nullptr); }

  ClientRun Run(const std::string& caller, const std::vector<std::string>& args) {
    return RunClient(cluster_->dir(), cluster_->options().certs_dir, cluster_->gateway_target(), caller,
                     args);
  }

  static CityCluster* cluster_;
  static mock_city::Population* population_;
};

CityCluster* InteropClientSettlementTest::cluster_ = nullptr;
mock_city::Population* InteropClientSettlementTest::population_ = nullptr;

TEST_F(InteropClientSettlementTest, FilesSettlesReplaysClearsReversesAndReconciles) {
  const mock_city::SyntheticPerson& patient = InsuredEmployee(*population_, City::CITY_JINZHONG);
  ASSERT_FALSE(patient.resident_id.empty());
  const std::string id = patient.resident_id;
  const absl::CivilDay today = TodayInChina();
  const std::string bureau_jinzhong = "caller-medical-insurance-bureau-jinzhong";
  const std::string bureau_taiyuan = "caller-medical-insurance-bureau-taiyuan";

  ClientRun filed =
      Run(bureau_jinzhong, {"--purpose=medical-insurance-administration", "file-treatment", id,
                            "--treatment_city=taiyuan", absl::StrCat("--valid_from=", Day(today)),
                            absl::StrCat("--valid_to=", Day(today + 90)), "--reason=posted-worker"});
  ASSERT_EQ(filed.exit_code, 0) << filed.output;
  EXPECT_THAT(filed.output,
              AllOf(HasSubstr("reason: FILING_REASON_POSTED_WORKER"), HasSubstr("# x-request-id: ")));

  ClientRun checked =
      Run(kTaiyuanHospitalCaller, {"--purpose=treatment", "check-filing", id, "--treatment_city=taiyuan"});
  ASSERT_EQ(checked.exit_code, 0) << checked.output;
  EXPECT_THAT(checked.output, HasSubstr("filed: true"));

  // 1.5 boxes of amoxicillin at 23.50 yuan (3525 fen) and a blood count at 25 yuan.
  const std::vector<std::string> visit = {
      absl::StrCat("--items=", kAmoxicillin, ":1.5:2350,", kBloodCount, ":1:2500"), "--diagnosis=J02.9",
      "--use_account"};
  std::vector<std::string> presettle = {"--purpose=treatment", "presettle", id};
  presettle.insert(presettle.end(), visit.begin(), visit.end());
  ClientRun quoted = Run(kTaiyuanHospitalCaller, presettle);
  ASSERT_EQ(quoted.exit_code, 0) << quoted.output;
  EXPECT_THAT(quoted.output, AllOf(HasSubstr("state: SETTLEMENT_STATE_PRE_SETTLED"), HasSubstr("fen: 3525")));

  std::vector<std::string> settle = {"--purpose=treatment", "settle", id,
                                     "--idempotency_key=client-test-0001"};
  settle.insert(settle.end(), visit.begin(), visit.end());
  ClientRun settled = Run(kTaiyuanHospitalCaller, settle);
  ASSERT_EQ(settled.exit_code, 0) << settled.output;
  EXPECT_THAT(
      settled.output,
      AllOf(HasSubstr("state: SETTLEMENT_STATE_SETTLED"), HasSubstr("filed: true"), HasSubstr("fen: 3525"),
            HasSubstr("insured_city {\n    city: CITY_JINZHONG"), Not(HasSubstr("replayed: true"))));
  const std::string settlement_id = QuotedField(settled.output, "settlement_id");
  ASSERT_THAT(settlement_id, ::testing::StartsWith("ST")) << settled.output;

  ClientRun replayed = Run(kTaiyuanHospitalCaller, settle);
  ASSERT_EQ(replayed.exit_code, 0) << replayed.output;
  EXPECT_THAT(replayed.output, HasSubstr("replayed: true"));
  EXPECT_EQ(QuotedField(replayed.output, "settlement_id"), settlement_id);

  const std::vector<std::string> period = {absl::StrCat("--from=", Day(today - 1)),
                                           absl::StrCat("--to=", Day(today + 1))};
  std::vector<std::string> clearing = {"clearing"};
  clearing.insert(clearing.end(), period.begin(), period.end());
  ClientRun cleared = Run(bureau_taiyuan, clearing);
  ASSERT_EQ(cleared.exit_code, 0) << cleared.output;
  // One settlement, replayed or not, is one claim of Taiyuan on Jinzhong.
  EXPECT_THAT(
      cleared.output,
      HasSubstr("treatment_city: CITY_TAIYUAN\n    insured_city: CITY_JINZHONG\n    settlements: 1\n"));
  EXPECT_THAT(cleared.output, HasSubstr("positions {"));

  ClientRun reversed = Run(kTaiyuanHospitalCaller, {"--purpose=treatment", "reverse", id,
                                                    absl::StrCat("--settlement_id=", settlement_id)});
  ASSERT_EQ(reversed.exit_code, 0) << reversed.output;
  EXPECT_THAT(reversed.output, HasSubstr("state: SETTLEMENT_STATE_REVERSED"));

  std::vector<std::string> reconcile = {"reconcile", "--city=jinzhong"};
  reconcile.insert(reconcile.end(), period.begin(), period.end());
  ClientRun reconciled = Run(bureau_taiyuan, reconcile);
  ASSERT_EQ(reconciled.exit_code, 0) << reconciled.output;
  EXPECT_THAT(reconciled.output, HasSubstr("balanced: true"));
}

// A refused call exits 1 with the gateway's code, message, reason and field (when it sends one): the
// same key with another bill; a diagnosis that is not ICD-10.
TEST_F(InteropClientSettlementTest, ReportsTheGatewaysReasonAndField) {
  const mock_city::SyntheticPerson& patient = InsuredEmployee(*population_, City::CITY_JINZHONG, 1);
  const std::vector<std::string> settle = {"--purpose=treatment", "settle",
                                           patient.resident_id,   "--idempotency_key=client-test-0002",
                                           "--diagnosis=J02.9",   "--emergency"};
  std::vector<std::string> first = settle;
  first.push_back(absl::StrCat("--items=", kBloodCount, ":1:2500"));
  ClientRun settled = Run(kTaiyuanHospitalCaller, first);
  ASSERT_EQ(settled.exit_code, 0) << settled.output;

  std::vector<std::string> other = settle;
  other.push_back(absl::StrCat("--items=", kBloodCount, ":2:2500"));
  ClientRun refused = Run(kTaiyuanHospitalCaller, other);
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_THAT(refused.output, AllOf(HasSubstr("interop-client: ALREADY_EXISTS: idempotency_key: "),
                                    HasSubstr("interop-client: reason: IDEMPOTENCY_KEY_REUSED")));

  // The client passes the diagnosis as given; the gateway names the field.
  std::vector<std::string> bad_diagnosis = {"--purpose=treatment", "presettle", patient.resident_id,
                                            absl::StrCat("--items=", kBloodCount, ":1:2500"),
                                            "--diagnosis=sore"};
  ClientRun invalid = Run(kTaiyuanHospitalCaller, bad_diagnosis);
  EXPECT_EQ(invalid.exit_code, 1) << invalid.output;
  EXPECT_THAT(invalid.output, AllOf(HasSubstr("interop-client: INVALID_ARGUMENT: "),
                                    HasSubstr("interop-client: field: visit.diagnosis_code")));
}

// Bad usage: exit 2, the message names the flag, and nothing is called (the target is unreachable).
class InteropClientUsageTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("interop-client-usage-"); }
  ClientRun Run(const std::vector<std::string>& args) {
    return RunClient(dir_, INTEROP_TEST_CERTS_DIR, "127.0.0.1:1", kTaiyuanHospitalCaller, args);
  }
  std::string dir_;
};

constexpr char kPatient[] = "140112195401031401";

TEST_F(InteropClientUsageTest, SettleWithoutAnIdempotencyKey) {
  ClientRun run = Run({"--purpose=treatment", "settle", kPatient, "--items=XJ01CAA040A001010101445:2:2350",
                       "--diagnosis=J02.9"});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr("interop-client: --idempotency_key=KEY is required"));
}

TEST_F(InteropClientUsageTest, ItemsThatAreNotCodeQuantityPrice) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--items=XJ01CAA040A001010101445:2",
       "item 1 \"XJ01CAA040A001010101445:2\" is not CODE:QUANTITY:UNIT_PRICE_FEN"},
      {"--items=003100000010000:1:2500,XJ01CAA040A001010101445:two:2350", "item 2 "},
      {"--items=XJ01CAA040A001010101445:1.2345:2350", "QUANTITY \"1.2345\" has more than three decimals"},
      {"--items=XJ01CAA040A001010101445:1e3:2350", "QUANTITY \"1e3\" is not a decimal number"},
      {"--items=XJ01CAA040A001010101445:2:23.50", "UNIT_PRICE_FEN \"23.50\" is not a whole number of fen"},
  };
  for (const auto& [items, message] : cases) {
    SCOPED_TRACE(items);
    ClientRun run = Run({"--purpose=treatment", "settle", kPatient, "--idempotency_key=usage-0001",
                         "--diagnosis=J02.9", items});
    EXPECT_EQ(run.exit_code, 2) << run.output;
    EXPECT_THAT(run.output, AllOf(HasSubstr("interop-client: --items: "), HasSubstr(message)));
  }
}

TEST_F(InteropClientUsageTest, ACommandsFlagWithAnotherCommand) {
  ClientRun items =
      Run({"--purpose=treatment", "medical", kPatient, "--items=XJ01CAA040A001010101445:2:2350"});
  EXPECT_EQ(items.exit_code, 2) << items.output;
  EXPECT_THAT(items.output,
              HasSubstr("interop-client: --items applies to the settle and presettle commands only"));

  ClientRun key = Run({"--purpose=treatment", "presettle", kPatient, "--idempotency_key=usage-0001",
                       "--items=XJ01CAA040A001010101445:2:2350", "--diagnosis=J02.9"});
  EXPECT_EQ(key.exit_code, 2) << key.output;
  EXPECT_THAT(key.output, HasSubstr("interop-client: --idempotency_key applies to the settle command only"));

  ClientRun period =
      Run({"--purpose=treatment", "settle", kPatient, "--idempotency_key=usage-0001",
           "--items=XJ01CAA040A001010101445:2:2350", "--diagnosis=J02.9", "--from=2026-01-01"});
  EXPECT_EQ(period.exit_code, 2) << period.output;
  EXPECT_THAT(period.output,
              HasSubstr("interop-client: --from applies to the clearing and reconcile commands only"));

  ClientRun purpose = Run({"--purpose=audit", "clearing", "--from=2026-01-01", "--to=2026-01-31"});
  EXPECT_EQ(purpose.exit_code, 2) << purpose.output;
  EXPECT_THAT(purpose.output, HasSubstr("interop-client: --purpose does not apply to clearing"));
}

TEST_F(InteropClientUsageTest, ClearingAndReconcileTakeNoResidentId) {
  ClientRun run = Run({"clearing", kPatient, "--from=2026-01-01", "--to=2026-01-31"});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_THAT(run.output, HasSubstr("interop-client: the clearing command takes no RESIDENT_ID"));

  ClientRun day = Run({"reconcile", "--city=jinzhong", "--from=2026-02-30", "--to=2026-03-31"});
  EXPECT_EQ(day.exit_code, 2) << day.output;
  EXPECT_THAT(day.output, HasSubstr("interop-client: --from: \"2026-02-30\" is not a day YYYY-MM-DD"));
}

}  // namespace
}  // namespace interop::testing
