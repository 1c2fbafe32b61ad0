// Crash test of settlement: kill -9 the gateway during a stream of settlements, restart it, and
// check that every acknowledged settlement is in the ledger exactly once (a retry with its key
// answers the very same settlement), that retrying the unacknowledged ones settles each exactly
// once, that the clearing matrix equals the sum of the settlements, and that each city's records
// reconcile with the ledger (nothing applied twice, nothing committed but unrecorded). Before any
// retry, the restarted gateway (on SQLite, the ledger's only user) resolves the intents the kill
// left behind with their cities at start-up.
#include <sqlite3.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gateway/base/cities.h"
#include "gateway/settlement/ledger.h"
#include "gtest/gtest.h"
#include "tests/integration/city_cluster.h"
#include "tests/gateway/settlement/ledger_write.h"
#include "tests/integration/settlement_support.h"

namespace interop::testing {
namespace {

using medical::v1::CrossCitySettlementService;
using mock_city::Population;

struct Attempt {
  medical::v1::SettleRequest request;
  bool acknowledged = false;
  medical::v1::Settlement acknowledged_settlement;
};

// The number of settlement intents in the gateway's SQLite file, -1 if it cannot be read.
int CountIntents(const std::string& path) {
  sqlite3* db = nullptr;
  int count = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 2000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM settlement_intents", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      count = sqlite3_column_int(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return count;
}

TEST(GatewaySettlementCrashTest, AcknowledgedSettlementsSurviveKillNineExactlyOnce) {
  ClusterOptions options;
  auto started = CityCluster::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<CityCluster> cluster = std::move(*started);
  mock_city::PopulationOptions population_options;
  population_options.seed = options.seed;
  population_options.persons_per_issuing_city = options.persons_per_city;
  Population population = Population::Generate(population_options);

  // 40 patients insured in the four other cities; emergency visits need no filing.
  std::vector<std::string> patients;
  for (City city : {City::CITY_YANGQUAN, City::CITY_JINZHONG, City::CITY_XINZHOU, City::CITY_LVLIANG}) {
    for (int i = 0; i < 10; ++i) patients.push_back(InsuredEmployee(population, city, 20 + i).resident_id);
  }

  absl::Mutex mu;
  std::vector<Attempt> attempts;
  std::atomic<int> next{0};
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      auto stub = CrossCitySettlementService::NewStub(cluster->CallerChannel(kTaiyuanHospitalCaller));
      int failures_in_a_row = 0;
      while (!stop.load() && failures_in_a_row < 3) {
        int i = next.fetch_add(1);
        Attempt attempt;
        attempt.request = SettleRequestFor(
            patients[i % patients.size()], absl::StrCat("crash-test-", i),
            TaiyuanVisit({{kBloodCount, 1000, 2500 + i % 7}, {kAmoxicillin, 1000 + 500 * (i % 3), 2350}},
                         /*emergency=*/true));
        medical::v1::SettleResponse response;
        grpc::ClientContext context;
        SetDeadline(&context, 5);
        grpc::Status status = stub->Settle(&context, attempt.request, &response);
        if (status.ok()) {
          attempt.acknowledged = true;
          attempt.acknowledged_settlement = response.settlement();
          ++acknowledged;
          failures_in_a_row = 0;
        } else {
          ++failures_in_a_row;
        }
        absl::MutexLock lock(&mu);
        attempts.push_back(std::move(attempt));
      }
    });
  }
  // Let the stream run, then kill the gateway in the middle of it.
  while (acknowledged.load() < 150) absl::SleepFor(absl::Milliseconds(10));
  cluster->gateway().Kill();
  absl::SleepFor(absl::Milliseconds(300));
  stop = true;
  for (auto& caller : callers) caller.join();
  const std::string ledger_file = absl::StrCat(cluster->dir(), "/gateway.db");
  const int left_by_the_kill = CountIntents(ledger_file);
  ASSERT_GE(left_by_the_kill, 0);
  {
    // The kill may have left none: one more, of a settlement Jinzhong never saw, written (while the
    // gateway is down) a second ago, so that the start-up recovery has at least one to abandon.
    absl::StatusOr<std::unique_ptr<settlement::SettlementLedger>> ledger =
        settlement::OpenSqliteSettlementLedger(ledger_file);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    settlement::LedgerEntry planted;
    planted.settlement.set_settlement_id("S-planted-by-the-crash-test");
    planted.settlement.set_state(medical::v1::SETTLEMENT_STATE_SETTLED);
    planted.settlement.set_resident_id(patients[10]);  // insured in Jinzhong
    *planted.settlement.mutable_insured_city() = MakeCityInfo(City::CITY_JINZHONG);
    *planted.settlement.mutable_treatment_city() = MakeCityInfo(City::CITY_TAIYUAN);
    planted.settlement.set_settled_at_unix(absl::ToUnixSeconds(absl::Now()) - 1);
    planted.caller_organization = "crash-test";
    planted.idempotency_key = "planted";
    planted.request_digest = std::string(32, 'p');
    absl::Status status = settlement::testing::IntentAndWait(**ledger, planted);
    ASSERT_TRUE(status.ok()) << status;
  }
  ASSERT_TRUE(cluster->RestartGateway().ok());
  // Resolved at start-up, whatever their age, before anyone retries.
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (CountIntents(ledger_file) != 0 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(CountIntents(ledger_file), 0) << left_by_the_kill << " intents were left by the kill, and one planted";
  std::cout << left_by_the_kill << " settlement intents left by the kill, and one planted\n";

  // Retry every attempt with its own key and request.
  auto stub = CrossCitySettlementService::NewStub(cluster->CallerChannel(kTaiyuanHospitalCaller));
  std::map<std::pair<int, int>, int64_t> expected_claims;
  int unacknowledged = 0;
  for (const Attempt& attempt : attempts) {
    SCOPED_TRACE(attempt.request.idempotency_key());
    medical::v1::SettleResponse response;
    grpc::ClientContext context;
    SetDeadline(&context, 10);
    grpc::Status status = stub->Settle(&context, attempt.request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (attempt.acknowledged) {
      EXPECT_TRUE(response.replayed());
      EXPECT_EQ(response.settlement().SerializeAsString(), attempt.acknowledged_settlement.SerializeAsString());
    } else {
      ++unacknowledged;
    }
    const medical::v1::Settlement& s = response.settlement();
    expected_claims[{s.treatment_city().city(), s.insured_city().city()}] +=
        s.fund_pay().fen() + s.personal_account_pay().fen();
  }
  EXPECT_GE(acknowledged.load(), 150);
  std::cout << attempts.size() << " settlements attempted, " << acknowledged.load() << " acknowledged before the kill, "
            << unacknowledged << " not\n";

  // The clearing matrix is the sum of the ledger, and the ledger is the sum of the settlements.
  auto bureau = CrossCitySettlementService::NewStub(cluster->CallerChannel("caller-medical-insurance-bureau-taiyuan"));
  medical::v1::GetClearingMatrixRequest clearing_request;
  *clearing_request.mutable_period()->mutable_from() = DateOf(TodayInChina() - 1);
  *clearing_request.mutable_period()->mutable_to() = DateOf(TodayInChina() + 1);
  medical::v1::GetClearingMatrixResponse clearing;
  grpc::ClientContext clearing_context;
  SetDeadline(&clearing_context);
  ASSERT_TRUE(bureau->GetClearingMatrix(&clearing_context, clearing_request, &clearing).ok());
  int64_t net_sum = 0;
  for (const auto& cell : clearing.matrix().cells()) {
    auto it = expected_claims.find({cell.treatment_city(), cell.insured_city()});
    EXPECT_EQ(cell.amount().fen(), it == expected_claims.end() ? 0 : it->second)
        << CityName(cell.treatment_city()) << " <- " << CityName(cell.insured_city());
  }
  for (const auto& position : clearing.matrix().positions()) net_sum += position.net().fen();
  EXPECT_EQ(net_sum, 0);

  // Every city's records agree with the ledger: nothing applied twice, nothing left unrecorded.
  for (City city : kAllCities) {
    SCOPED_TRACE(CityName(city));
    medical::v1::ReconcileRequest request;
    request.set_city(city);
    *request.mutable_period() = clearing_request.period();
    medical::v1::ReconcileResponse reconciled;
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(bureau->Reconcile(&context, request, &reconciled).ok());
    EXPECT_TRUE(reconciled.balanced()) << reconciled.DebugString();
  }
}

}  // namespace
}  // namespace interop::testing
