// Two gateway replicas on one PostgreSQL database (issue 8), with the five mock cities as real
// processes: calls spread over both replicas; a person located by one replica is routed by the other
// (the location index is shared); a caller of both replicas gets half of its rate limit from each
// (they count each other, and who serves each caller, from heartbeats); 64 concurrent settlements
// for one patient, half through each
// replica, never pass the insured city's annual cap nor overdraw the account, and a retry of any of
// them through the other replica answers the very same settlement; a retry on one replica of a key
// whose Settle the other is still committing is told to retry, and replays it once that Settle has
// answered; pension transfers and household
// migrations started on both replicas while settlements flow, one replica killed with SIGKILL while
// its workflows wait for an origin city's reply to a step the city has already applied, after which
// the other replica takes the workflows over once their leases expire and finishes every one (money
// and contribution months conserved, each person registered in exactly one city), replica B restarted
// under its replica id resolves the settlements it had in flight, every acknowledged
// settlement is in the shared ledger once, each city's records reconcile with it, every answered call
// has its access record and the one access-log chain both replicas wrote verifies.
//
// The replicas are told apart as INTEROP_GATEWAY_REPLICA_ID "replica-a" (replica 0) and "replica-b"
// (replica 1); their configuration shortens the workflow leases from 30 s to kLeaseMs
// (workflows.lease_duration_ms) so the takeover comes quickly. The suite's tests share one cluster and run in order;
// the last one kills replica 1.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/store/location_store.h"
#include "gateway/store/postgres/postgres_database.h"
#include "gateway/transfers/pension_funds.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "interop/accesslog/v1/access_log.grpc.pb.h"
#include "interop/config/v1/medical_rules.pb.h"
#include "interop/household/v1/household.grpc.pb.h"
#include "interop/household/v1/migration.grpc.pb.h"
#include "interop/medical/v1/medical.grpc.pb.h"
#include "interop/mockcity/v1/mock_city_admin.grpc.pb.h"
#include "interop/social/v1/pension_transfer.grpc.pb.h"
#include "interop/social/v1/social.grpc.pb.h"
#include "tests/gateway/store/postgres/pg_test_support.h"
#include "tests/integration/settlement_support.h"
#include "tests/integration/transfer_support.h"

namespace interop::testing {
namespace {

using household::v1::HouseholdMigration;
using household::v1::HouseholdMigrationService;
using medical::v1::CrossCitySettlementService;
using mock_city::Population;
using mock_city::SyntheticPerson;
using social::v1::PensionTransfer;
using social::v1::PensionTransferService;

constexpr int kReplicaA = 0;
constexpr int kReplicaB = 1;
constexpr int kReplicas[] = {kReplicaA, kReplicaB};
constexpr char kLeaseMs[] = "3000";
// How long the origin cities hold their answer to the steps that move a person's record out, after
// applying them: the window in which replica B is killed.
constexpr uint32_t kOriginReplyDelayMs = 2500;

const std::map<City, std::string> kCounty = {{City::CITY_TAIYUAN, "140105"},
                                             {City::CITY_YANGQUAN, "140302"},
                                             {City::CITY_JINZHONG, "140702"},
                                             {City::CITY_XINZHOU, "140902"},
                                             {City::CITY_LVLIANG, "141102"}};

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

// The request ids of every call a replica answered (OK or not), from the x-request-id header.
class AnsweredCalls {
 public:
  // Notes the call's request id if the gateway answered it; returns the id ("" if none).
  std::string Note(const grpc::ClientContext& context) {
    auto it = context.GetServerInitialMetadata().find("x-request-id");
    if (it == context.GetServerInitialMetadata().end()) return "";
    std::string id(it->second.data(), it->second.size());
    absl::MutexLock lock(&mu_);
    ids_.push_back(id);
    return id;
  }
  std::vector<std::string> ids() {
    absl::MutexLock lock(&mu_);
    return ids_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
};

struct Holdings {
  int64_t funds_fen = 0;  // personal account + pooled part, over the five cities
  int months = 0;         // pension months
  std::map<City, int> months_by_city;
};

class GatewayReplicasTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    schema_ = new store::pg::TestSchema();
    answered_ = new AnsweredCalls();
    ClusterOptions options;
    options.postgres_conninfo = schema_->conninfo();
    // Above kOriginReplyDelayMs, so a delayed reply is an answer, not a timeout.
    options.city_deadline_ms = 6000;
    options.extra_gateway_config = absl::StrCat("workflows { lease_duration_ms: ", kLeaseMs, " }\n");
    setenv("INTEROP_GATEWAY_REPLICA_ID", "replica-a", 1);
    auto cluster = CityCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = cluster->release();
    setenv("INTEROP_GATEWAY_REPLICA_ID", "replica-b", 1);
    absl::StatusOr<int> replica = cluster_->StartReplica();
    unsetenv("INTEROP_GATEWAY_REPLICA_ID");
    ASSERT_TRUE(replica.ok()) << replica.status();
    ASSERT_EQ(*replica, kReplicaB);
    ASSERT_NE(cluster_->replica(kReplicaA).port(), cluster_->replica(kReplicaB).port());
    mock_city::PopulationOptions population_options;
    population_options.seed = options.seed;
    population_options.persons_per_issuing_city = options.persons_per_city;
    population_ = new Population(Population::Generate(population_options));
  }
  static void TearDownTestSuite() {
    delete cluster_;  // before the schema its gateways use
    delete population_;
    delete answered_;
    delete schema_;
  }
  void SetUp() override { ASSERT_NE(cluster_, nullptr); }

  static std::shared_ptr<grpc::Channel> Channel(int replica, const std::string& caller) {
    return cluster_->ReplicaCallerChannel(replica, caller);
  }

  // A statement on the replicas' database, run from the test.
  static absl::StatusOr<store::pg::Result> Query(const std::string& sql,
                                                 const std::vector<store::pg::Param>& params) {
    absl::StatusOr<std::unique_ptr<store::pg::Connection>> connection =
        store::pg::Connect(schema_->conninfo());
    if (!connection.ok()) return connection.status();
    return (*connection)->Exec(sql, params);
  }

  // ---- reads ----

  static grpc::Status InsuranceStatus(int replica, const std::string& id,
                                      medical::v1::GetInsuranceStatusResponse* response) {
    auto stub = medical::v1::MedicalInsuranceService::NewStub(Channel(replica, kTaiyuanHospitalCaller));
    medical::v1::GetInsuranceStatusRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_TREATMENT);
    grpc::ClientContext context;
    context.set_deadline(In(10));
    grpc::Status status = stub->GetInsuranceStatus(&context, request, response);
    answered_->Note(context);
    return status;
  }

  static grpc::Status Contributions(int replica, const std::string& id,
                                    social::v1::GetContributionHistoryResponse* response) {
    auto stub =
        social::v1::SocialSecurityService::NewStub(Channel(replica, "caller-social-security-bureau-lvliang"));
    social::v1::GetContributionHistoryRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
    request.set_granularity(social::v1::GRANULARITY_MONTH);
    grpc::ClientContext context;
    context.set_deadline(In(10));
    grpc::Status status = stub->GetContributionHistory(&context, request, response);
    answered_->Note(context);
    return status;
  }

  static absl::StatusOr<household::v1::GetHouseholdRecordResponse> HouseholdRecord(int replica,
                                                                                   const std::string& id) {
    auto stub = household::v1::HouseholdRegistrationService::NewStub(
        Channel(replica, "caller-household-office-taiyuan"));
    household::v1::GetHouseholdRecordRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
    household::v1::GetHouseholdRecordResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(10));
    grpc::Status status = stub->GetHouseholdRecord(&context, request, &response);
    answered_->Note(context);
    if (!status.ok())
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    return response;
  }

  // ---- settlements ----

  static grpc::Status Settle(int replica, const medical::v1::SettleRequest& request,
                             medical::v1::SettleResponse* response, int deadline_seconds = 30) {
    auto stub = CrossCitySettlementService::NewStub(Channel(replica, kTaiyuanHospitalCaller));
    grpc::ClientContext context;
    context.set_deadline(In(deadline_seconds));
    grpc::Status status = stub->Settle(&context, request, response);
    answered_->Note(context);
    return status;
  }

  // The patient's account as the insured city holds it, read from the city with the gateway's adapter.
  static absl::StatusOr<adapters::MedicalAccount> CityAccount(City city, const std::string& id) {
    absl::StatusOr<adapters::CityAdapter*> adapter = MockCityAdapter(*cluster_, city);
    if (!adapter.ok()) return adapter.status();
    const int year = static_cast<int>(TodayInChina().year());
    return AwaitCity<adapters::MedicalAccount>([&](adapters::Callback<adapters::MedicalAccount> done) {
      (*adapter)->GetMedicalAccount(id, year, CityCallOptions(), std::move(done));
    });
  }

  // ---- mock-city faults ----

  static void SetFaults(City city, const mockcity::v1::FaultSettings& settings) {
    auto admin = mockcity::v1::MockCityAdminService::NewStub(MockCityChannel(*cluster_, city));
    mockcity::v1::SetFaultsRequest request;
    *request.mutable_settings() = settings;
    mockcity::v1::SetFaultsResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(5));
    grpc::Status status = admin->SetFaults(&context, request, &response);
    ASSERT_TRUE(status.ok()) << CityName(city) << ": " << status.error_message();
  }

  // ---- workflows ----

  static grpc::Status StartMigration(int replica, City destination, const std::string& id) {
    auto stub = HouseholdMigrationService::NewStub(
        Channel(replica, absl::StrCat("caller-household-office-", CityName(destination))));
    household::v1::StartHouseholdMigrationRequest request;
    request.mutable_person()->set_resident_id(id);
    request.set_destination_city(destination);
    request.set_destination_address_code(kCounty.at(destination));
    request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
    household::v1::StartHouseholdMigrationResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(10));
    grpc::Status status = stub->StartHouseholdMigration(&context, request, &response);
    answered_->Note(context);
    return status;
  }

  // The person's only migration, through `replica`, once it has ended (or as last seen).
  static HouseholdMigration MigrationWhenEnded(int replica, City office, const std::string& id,
                                               absl::Duration timeout) {
    auto stub = HouseholdMigrationService::NewStub(
        Channel(replica, absl::StrCat("caller-household-office-", CityName(office))));
    HouseholdMigration last;
    WaitFor(
        [&] {
          household::v1::ListHouseholdMigrationsRequest request;
          request.mutable_person()->set_resident_id(id);
          request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
          household::v1::ListHouseholdMigrationsResponse response;
          grpc::ClientContext context;
          context.set_deadline(In(5));
          grpc::Status status = stub->ListHouseholdMigrations(&context, request, &response);
          answered_->Note(context);
          if (!status.ok() || response.migrations_size() != 1) return false;
          last = response.migrations(0);
          return last.status() != common::v1::WORKFLOW_STATUS_RUNNING &&
                 last.status() != common::v1::WORKFLOW_STATUS_WAITING_RETRY;
        },
        timeout);
    return last;
  }

  static grpc::Status StartTransfer(int replica, City origin, City destination, const std::string& id) {
    auto stub = PensionTransferService::NewStub(
        Channel(replica, absl::StrCat("caller-social-security-bureau-", CityName(destination))));
    social::v1::StartPensionTransferRequest request;
    request.mutable_person()->set_resident_id(id);
    request.set_origin_city(origin);
    request.set_destination_city(destination);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
    social::v1::StartPensionTransferResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(10));
    grpc::Status status = stub->StartPensionTransfer(&context, request, &response);
    answered_->Note(context);
    return status;
  }

  static PensionTransfer TransferWhenEnded(int replica, City office, const std::string& id,
                                           absl::Duration timeout) {
    auto stub = PensionTransferService::NewStub(
        Channel(replica, absl::StrCat("caller-social-security-bureau-", CityName(office))));
    PensionTransfer last;
    WaitFor(
        [&] {
          social::v1::ListPensionTransfersRequest request;
          request.mutable_person()->set_resident_id(id);
          request.mutable_access()->set_purpose(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION);
          social::v1::ListPensionTransfersResponse response;
          grpc::ClientContext context;
          context.set_deadline(In(5));
          grpc::Status status = stub->ListPensionTransfers(&context, request, &response);
          answered_->Note(context);
          if (!status.ok() || response.transfers_size() != 1) return false;
          last = response.transfers(0);
          return last.status() != common::v1::WORKFLOW_STATUS_RUNNING &&
                 last.status() != common::v1::WORKFLOW_STATUS_WAITING_RETRY;
        },
        timeout);
    return last;
  }

  // The person's pension funds and months in each of the five cities, read from the cities.
  static Holdings Held(const std::string& id) {
    Holdings h;
    for (City city : kFiveCities) {
      absl::StatusOr<std::vector<social::v1::ContributionEntry>> entries =
          ContributionsAt(*cluster_, city, id);
      EXPECT_TRUE(entries.ok()) << CityName(city) << ": " << entries.status();
      if (!entries.ok() || entries->empty()) continue;
      const transfers::PensionFunds funds = transfers::ComputePensionFunds(*entries);
      h.funds_fen += funds.personal_contributions_fen + funds.pooled_fund_fen;
      h.months += funds.months;
      h.months_by_city[city] = funds.months;
    }
    return h;
  }

  // Someone who paid pension contributions in `origin`, not in its last months, and never in
  // `destination`; not in `used` (and added to it).
  static const SyntheticPerson& Contributor(City origin, City destination, std::vector<std::string>* used) {
    const absl::CivilMonth recent = absl::CivilMonth(population_->options().today) - 3;
    const SyntheticPerson* p = FindUnused(
        *population_,
        [&](const SyntheticPerson& p) {
          bool in_origin = false;
          for (const mock_city::EmploymentSpell& s : p.employment) {
            if (s.city == destination) return false;
            if (s.city == origin) {
              if (s.last_month >= recent) return false;
              in_origin = true;
            }
          }
          return in_origin;
        },
        used);
    EXPECT_NE(p, nullptr);
    return *p;
  }

  // An adult registered in `origin`, not in `used` (and added to it).
  static const SyntheticPerson& Registered(City origin, std::vector<std::string>* used) {
    const SyntheticPerson* p = FindUnused(
        *population_,
        [origin](const SyntheticPerson& p) {
          return p.household.city == origin && p.birth_date.year() < 2000;
        },
        used);
    EXPECT_NE(p, nullptr);
    return *p;
  }

  static store::pg::TestSchema* schema_;
  static CityCluster* cluster_;
  static Population* population_;
  static AnsweredCalls* answered_;
};

store::pg::TestSchema* GatewayReplicasTest::schema_ = nullptr;
CityCluster* GatewayReplicasTest::cluster_ = nullptr;
Population* GatewayReplicasTest::population_ = nullptr;
AnsweredCalls* GatewayReplicasTest::answered_ = nullptr;

TEST_F(GatewayReplicasTest, BothReplicasAnswerAndShareTheLocationIndex) {
  // The same answers through either replica.
  for (int i = 0; i < 6; ++i) {
    const SyntheticPerson& person = InsuredEmployee(*population_, kAllCities[i % 5], 40 + i);
    medical::v1::GetInsuranceStatusResponse through_a;
    medical::v1::GetInsuranceStatusResponse through_b;
    grpc::Status a = InsuranceStatus(i % 2 == 0 ? kReplicaA : kReplicaB, person.resident_id, &through_a);
    grpc::Status b = InsuranceStatus(i % 2 == 0 ? kReplicaB : kReplicaA, person.resident_id, &through_b);
    ASSERT_TRUE(a.ok()) << a.error_message();
    ASSERT_TRUE(b.ok()) << b.error_message();
    EXPECT_EQ(through_a.personal_account_balance().fen(), through_b.personal_account_balance().fen());
    EXPECT_EQ(through_a.insured_city().city(), person.medical.city);
    EXPECT_EQ(through_b.insured_city().city(), person.medical.city);
  }

  // Someone who paid contributions in Xinzhou only: replica A asks the five cities and remembers
  // where the history is, in the shared index.
  const SyntheticPerson* located = nullptr;
  const SyntheticPerson* unlocated = nullptr;
  for (const SyntheticPerson& p : population_->persons()) {
    bool xinzhou_only = !p.employment.empty();
    for (const mock_city::EmploymentSpell& s : p.employment)
      xinzhou_only = xinzhou_only && s.city == City::CITY_XINZHOU;
    if (!xinzhou_only) continue;
    if (located == nullptr) {
      located = &p;
    } else if (unlocated == nullptr) {
      unlocated = &p;
      break;
    }
  }
  ASSERT_NE(unlocated, nullptr);
  social::v1::GetContributionHistoryResponse through_a;
  grpc::Status status = Contributions(kReplicaA, located->resident_id, &through_a);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GT(through_a.entries_size(), 0);
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<store::pg::Result> row =
            Query("SELECT cities FROM record_locations WHERE resident_id = $1 AND domain = $2",
                  {store::pg::Param::Text(located->resident_id),
                   store::pg::Param::Int(static_cast<int>(store::RecordDomain::kContributionHistory))});
        return row.ok() && row->rows() == 1;
      },
      absl::Seconds(10)))
      << "replica A never wrote the location to the shared index";

  // With Jinzhong down, asking the five cities cannot tell where a history is: replica B must then
  // refuse a person nobody located (UNAVAILABLE naming Jinzhong), but answers for the one replica A
  // located, from the shared index alone.
  mockcity::v1::FaultSettings down;
  down.set_down(true);
  SetFaults(City::CITY_JINZHONG, down);
  social::v1::GetContributionHistoryResponse unknown;
  grpc::Status refused = Contributions(kReplicaB, unlocated->resident_id, &unknown);
  social::v1::GetContributionHistoryResponse through_b;
  grpc::Status routed = Contributions(kReplicaB, located->resident_id, &through_b);
  SetFaults(City::CITY_JINZHONG, mockcity::v1::FaultSettings());
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_THAT(refused.error_message(), ::testing::HasSubstr("jinzhong"));
  ASSERT_TRUE(routed.ok()) << routed.error_message();
  EXPECT_EQ(through_b.entries_size(), through_a.entries_size());
  EXPECT_EQ(through_b.total_pension_months(), through_a.total_pension_months());
}

// Each replica counts the live replicas from their heartbeats in the shared database, and the
// replicas that serve each caller: a caller served by both gets half of its rate limit from each. An
// operator (40 calls at once, 20 a second, in the reference policy) calls both replicas, then gets
// about half of that burst from replica A.
TEST_F(GatewayReplicasTest, ACallerServedByBothReplicasGetsHalfItsRateLimitFromEach) {
  // Whether the replica's /metrics shows a line starting with `line` within 20 s.
  auto metric_shows = [](int replica, const std::string& line) {
    return WaitFor(
        [&] { return MetricsText(cluster_->replica_metrics_port(replica)).find(line) != std::string::npos; },
        absl::Seconds(20));
  };
  for (int replica : kReplicas) {
    // Replica A last beat before B had started: it counts B at its next heartbeat (every 5 s).
    EXPECT_TRUE(metric_shows(replica, "interop_gateway_replicas_live 2\n"))
        << "replica " << replica << ": " << MetricsText(cluster_->replica_metrics_port(replica));
  }

  const std::string person = InsuredEmployee(*population_, City::CITY_TAIYUAN, 1).resident_id;
  auto audit = [&](int replica) {
    auto stub = accesslog::v1::AccessLogService::NewStub(Channel(replica, "caller-operator-taiyuan"));
    accesslog::v1::ListAccessesToPersonRequest request;
    request.mutable_person()->set_resident_id(person);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_AUDIT);
    request.set_page_size(1);
    accesslog::v1::ListAccessesToPersonResponse response;
    grpc::ClientContext context;
    context.set_deadline(In(10));
    grpc::Status status = stub->ListAccessesToPerson(&context, request, &response);
    answered_->Note(context);
    return status;
  };
  for (int replica : kReplicas) ASSERT_TRUE(audit(replica).ok());
  // Replica B keeps serving the operator (once a second) until the burst below is over. A caller
  // counts as shared while both replicas reported it within three heartbeats (15 s); the waits
  // below can take about that long on a loaded machine, and B's one call above could expire first.
  absl::Notification burst_over;
  std::thread keep_b_serving([&] {
    while (!burst_over.WaitForNotificationWithTimeout(absl::Seconds(1))) audit(kReplicaB).IgnoreError();
  });
  struct StopOnExit {
    absl::Notification& over;
    std::thread& thread;
    ~StopOnExit() {
      if (!over.HasBeenNotified()) over.Notify();
      thread.join();
    }
  } stop_on_exit{burst_over, keep_b_serving};
  // Each reports the operator at its next heartbeat; replica A counts it as shared at the heartbeat
  // after both reports, and applies that once the heartbeat is over (so by its next one).
  auto query_text = [](const std::string& sql, const std::vector<store::pg::Param>& params) -> std::string {
    absl::StatusOr<store::pg::Result> rows = Query(sql, params);
    return rows.ok() && rows->rows() == 1 && !rows->IsNull(0, 0) ? rows->Text(0, 0) : "";
  };
  std::string reported_at;
  ASSERT_TRUE(WaitFor(
      [&] {
        reported_at = query_text(
            "SELECT max(seen_at)::text FROM gateway_replica_callers WHERE caller LIKE '%/operator/%' "
            "HAVING count(*) = 2",
            {});
        return !reported_at.empty();
      },
      absl::Seconds(20)))
      << "the replicas did not both report the operator";
  std::string beat_after;
  ASSERT_TRUE(WaitFor(
      [&] {
        beat_after = query_text(
            "SELECT heartbeat_at::text FROM gateway_replicas WHERE replica_id = 'replica-a' AND "
            "heartbeat_at > $1::timestamptz",
            {store::pg::Param::Text(reported_at)});
        return !beat_after.empty();
      },
      absl::Seconds(20)));
  ASSERT_TRUE(WaitFor(
      [&] {
        return !query_text("SELECT heartbeat_at::text FROM gateway_replicas WHERE replica_id = 'replica-a' AND "
                           "heartbeat_at > $1::timestamptz",
                           {store::pg::Param::Text(beat_after)})
                    .empty();
      },
      absl::Seconds(20)));
  // The operator (and perhaps callers of the tests before) counted as shared.
  EXPECT_TRUE(WaitFor(
      [] {
        const std::string text = MetricsText(cluster_->replica_metrics_port(kReplicaA));
        const std::string name = "\ninterop_rate_limit_shared_callers ";
        const size_t at = text.find(name);
        return at != std::string::npos && std::atof(text.c_str() + at + name.size()) >= 1;
      },
      absl::Seconds(20)))
      << MetricsText(cluster_->replica_metrics_port(kReplicaA));

  int admitted = 0;
  int limited = 0;
  std::string refusal;
  for (int i = 0; i < 36; ++i) {
    grpc::Status status = audit(kReplicaA);
    if (status.ok()) {
      ++admitted;
    } else {
      ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
      ++limited;
      refusal = status.error_message();
    }
  }
  burst_over.Notify();
  // A burst of 20 (half of 40), and 10 a second (half of 20) meanwhile.
  EXPECT_GT(limited, 0) << admitted << " admitted: the whole burst of 40, not replica A's share";
  EXPECT_LT(admitted, 36);
  EXPECT_THAT(refusal, ::testing::HasSubstr("share, 1/2, of 20 calls per second"));
}

TEST_F(GatewayReplicasTest, ConcurrentSettlementsForOnePatientOnBothReplicasNeverPassTheCap) {
  // Big inpatient emergency bills for one Yangquan employee, half through each replica at once: a
  // few of them reach the annual cap of the fund.
  const SyntheticPerson& patient = InsuredEmployee(*population_, City::CITY_YANGQUAN, 6);
  ASSERT_FALSE(patient.resident_id.empty());
  absl::StatusOr<adapters::MedicalAccount> before = CityAccount(City::CITY_YANGQUAN, patient.resident_id);
  ASSERT_TRUE(before.ok()) << before.status();

  constexpr int kSettlements = 64;
  auto request_for = [&](int i) {
    return SettleRequestFor(patient.resident_id, absl::StrCat("replicas-cap-", i),
                            TaiyuanVisit({{kAppendectomy, 1000, 12'000'000}}, /*emergency=*/true,
                                         config::v1::VISIT_TYPE_INPATIENT));
  };
  std::vector<medical::v1::SettleResponse> responses(kSettlements);
  std::vector<grpc::Status> statuses(kSettlements);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSettlements; ++i) {
    threads.emplace_back(
        [&, i] { statuses[i] = Settle(kReplicas[i % 2], request_for(i), &responses[i], 60); });
  }
  for (auto& thread : threads) thread.join();

  int64_t fund_sum = 0;
  int64_t account_sum = 0;
  int64_t lowest_balance_after = INT64_MAX;
  int settled_by[2] = {0, 0};
  int zero_fund = 0;
  for (int i = 0; i < kSettlements; ++i) {
    // Every call settles (the cap limits the fund's share, it does not refuse the visit) or is
    // ABORTED after too much contention; nothing else.
    if (!statuses[i].ok()) {
      EXPECT_EQ(statuses[i].error_code(), grpc::StatusCode::ABORTED) << statuses[i].error_message();
      continue;
    }
    const medical::v1::Settlement& s = responses[i].settlement();
    EXPECT_EQ(SplitInconsistency(s), "");
    EXPECT_FALSE(responses[i].replayed());
    ++settled_by[i % 2];
    fund_sum += s.fund_pay().fen();
    account_sum += s.personal_account_pay().fen();
    lowest_balance_after = std::min(lowest_balance_after, s.balance_after().fen());
    zero_fund += s.fund_pay().fen() == 0 ? 1 : 0;
  }
  ASSERT_GT(settled_by[0] + settled_by[1], kSettlements / 2);
  EXPECT_GT(settled_by[0], 0) << "replica A settled nothing";
  EXPECT_GT(settled_by[1], 0) << "replica B settled nothing";

  config::v1::MedicalPolicy policy;
  std::ifstream file(cluster_->options().adapters_dir + "/yangquan/medical_policy.textproto");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &policy));
  int64_t cap = 0;
  for (const auto& entry : policy.caps()) {
    if (entry.insurance_type() == 310) cap = entry.fund_cap_per_year_fen();
  }
  ASSERT_GT(cap, 0);

  // The city's own account: the fund paid exactly what the settlements say, up to the cap and not
  // beyond; the personal account paid what they say and is not overdrawn.
  absl::StatusOr<adapters::MedicalAccount> after = CityAccount(City::CITY_YANGQUAN, patient.resident_id);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->fund_paid_fen, cap) << "64 bills of 120,000 yuan reach any employee cap";
  EXPECT_EQ(after->fund_paid_fen - before->fund_paid_fen, fund_sum)
      << "a settlement applied twice or not recorded";
  EXPECT_EQ(before->balance_fen - after->balance_fen, account_sum);
  EXPECT_GE(after->balance_fen, 0);
  EXPECT_GE(lowest_balance_after, 0);
  EXPECT_GT(zero_fund, 0) << "the cap was reached: later settlements get nothing from the fund";

  // A retry of each settlement through the OTHER replica answers the same settlement, and the city
  // applies nothing more.
  for (int i = 0; i < kSettlements; ++i) {
    if (!statuses[i].ok()) continue;
    SCOPED_TRACE(absl::StrCat("settlement ", i));
    medical::v1::SettleResponse retried;
    grpc::Status status = Settle(kReplicas[(i + 1) % 2], request_for(i), &retried);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(retried.replayed());
    EXPECT_EQ(retried.settlement().SerializeAsString(), responses[i].settlement().SerializeAsString());
  }
  absl::StatusOr<adapters::MedicalAccount> after_retries =
      CityAccount(City::CITY_YANGQUAN, patient.resident_id);
  ASSERT_TRUE(after_retries.ok()) << after_retries.status();
  EXPECT_EQ(after_retries->version, after->version);
  EXPECT_EQ(after_retries->fund_paid_fen, after->fund_paid_fen);
  EXPECT_EQ(after_retries->balance_fen, after->balance_fen);
}

// A retry on replica B of a key whose Settle is still committing through replica A is told to retry
// (SETTLEMENT_IN_PROGRESS, with a retry delay) and asks no city for it: B cannot know whether A's
// commit has reached the city yet, and must not resolve A's intent under it. Once A has answered,
// the same retry on B replays A's settlement, and the city applied it once.
TEST_F(GatewayReplicasTest, ARetryOnOneReplicaWhileTheOtherIsCommittingTheKeyIsToldToRetry) {
  const SyntheticPerson& patient = InsuredEmployee(*population_, City::CITY_JINZHONG, 7);
  ASSERT_FALSE(patient.resident_id.empty());
  absl::StatusOr<adapters::MedicalAccount> before = CityAccount(City::CITY_JINZHONG, patient.resident_id);
  ASSERT_TRUE(before.ok()) << before.status();
  const medical::v1::SettleRequest request = SettleRequestFor(
      patient.resident_id, "replicas-in-progress", TaiyuanVisit({{kBloodCount, 1000, 2500}}, /*emergency=*/true));

  // Jinzhong holds its answer to commits for 3 s, after applying them.
  mockcity::v1::FaultSettings slow_commits;
  slow_commits.set_latency_ms(3000);
  slow_commits.add_methods("CommitSettlement");
  SetFaults(City::CITY_JINZHONG, slow_commits);
  medical::v1::SettleResponse first;
  grpc::Status first_status;
  std::thread through_a([&] { first_status = Settle(kReplicaA, request, &first); });
  // Replica A's intent for the key is written before it asks the city.
  bool intent_written = false;
  for (int i = 0; i < 200 && !intent_written; ++i) {
    absl::StatusOr<store::pg::Result> rows = Query(
        "SELECT owner FROM settlement_intents WHERE idempotency_key = $1", {store::pg::Param::Text("replicas-in-progress")});
    ASSERT_TRUE(rows.ok()) << rows.status();
    intent_written = rows->rows() == 1;
    if (intent_written) {
      EXPECT_EQ(rows->Text(0, 0), "replica-a");
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ASSERT_TRUE(intent_written) << "replica A wrote no intent";

  medical::v1::SettleResponse retried;
  grpc::Status status = Settle(kReplicaB, request, &retried);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(ReasonOf(status), "SETTLEMENT_IN_PROGRESS") << status.error_message();
  EXPECT_GT(RetryDelayOf(status).count(), 0);
  EXPECT_THAT(MetricsText(cluster_->replica_metrics_port(kReplicaB)), ::testing::HasSubstr("interop_settlement_in_progress_total 1\n"));

  through_a.join();
  SetFaults(City::CITY_JINZHONG, mockcity::v1::FaultSettings());
  ASSERT_TRUE(first_status.ok()) << first_status.error_message();
  EXPECT_FALSE(first.replayed());
  status = Settle(kReplicaB, request, &retried);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(retried.replayed());
  EXPECT_EQ(retried.settlement().SerializeAsString(), first.settlement().SerializeAsString());
  absl::StatusOr<adapters::MedicalAccount> after = CityAccount(City::CITY_JINZHONG, patient.resident_id);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->fund_paid_fen - before->fund_paid_fen, first.settlement().fund_pay().fen());
  EXPECT_EQ(before->balance_fen - after->balance_fen, first.settlement().personal_account_pay().fen());
}

struct SettlementAttempt {
  int replica = 0;
  medical::v1::SettleRequest request;
  bool acknowledged = false;
  medical::v1::Settlement settlement;
};

struct MigrationCase {
  int replica;
  City origin;
  City destination;
  std::string resident_id;
};

struct TransferCase {
  int replica;
  City origin;
  City destination;
  std::string resident_id;
  Holdings before;
};

// Runs last: it kills replica B.
TEST_F(GatewayReplicasTest, KillNineOfOneReplicaMidRunTheOtherFinishesEverything) {
  std::vector<std::string> used;
  // Settlement patients: 16 employees insured in the four cities other than Taiyuan.
  std::vector<std::string> patients;
  for (City city : {City::CITY_YANGQUAN, City::CITY_JINZHONG, City::CITY_XINZHOU, City::CITY_LVLIANG}) {
    for (int i = 0; i < 4; ++i) patients.push_back(InsuredEmployee(*population_, city, 20 + i).resident_id);
  }
  used = patients;

  // Six pension transfers and six household migrations, half started on each replica; the origins
  // are the four cities whose mocks speak gRPC (their fault injection is set below).
  std::vector<TransferCase> transfers;
  std::vector<MigrationCase> migrations;
  for (int k = 0; k < 6; ++k) {
    const City origin = kFiveCities[k % 4];
    const City transfer_destination = kFiveCities[(k % 4 + 1 + k / 4) % 5];
    const City migration_destination = kFiveCities[(k % 4 + 3) % 5];
    const SyntheticPerson& contributor = Contributor(origin, transfer_destination, &used);
    transfers.push_back({kReplicas[k % 2], origin, transfer_destination, contributor.resident_id,
                         Held(contributor.resident_id)});
    ASSERT_GT(transfers.back().before.months_by_city.count(origin), 0u);
    migrations.push_back(
        {kReplicas[(k + 1) % 2], origin, migration_destination, Registered(origin, &used).resident_id});
  }

  // The origins hold their answer to the steps that move a record out, after applying them.
  mockcity::v1::FaultSettings slow_out;
  slow_out.set_latency_ms(kOriginReplyDelayMs);
  slow_out.add_methods("CompletePensionTransferOut");
  slow_out.add_methods("RecordMoveOut");
  for (City city : kGrpcCities) SetFaults(city, slow_out);

  // Settlements flow through both replicas the whole time.
  absl::Mutex mu;
  std::vector<SettlementAttempt> attempts;
  std::atomic<int> next{0};
  std::atomic<int> acknowledged_by_b{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      int failures_in_a_row = 0;
      while (!stop.load() && failures_in_a_row < 3) {
        const int i = next.fetch_add(1);
        SettlementAttempt attempt;
        attempt.replica = kReplicas[t % 2];
        attempt.request = SettleRequestFor(
            patients[i % patients.size()], absl::StrCat("replicas-kill-", i),
            TaiyuanVisit({{kBloodCount, 1000, 2500 + i % 7}, {kAmoxicillin, 1000 + 500 * (i % 3), 2350}},
                         /*emergency=*/true));
        medical::v1::SettleResponse response;
        grpc::Status status = Settle(attempt.replica, attempt.request, &response, 5);
        if (status.ok()) {
          attempt.acknowledged = true;
          attempt.settlement = response.settlement();
          if (attempt.replica == kReplicaB) ++acknowledged_by_b;
          failures_in_a_row = 0;
        } else {
          ++failures_in_a_row;
        }
        absl::MutexLock lock(&mu);
        attempts.push_back(std::move(attempt));
      }
    });
  }

  for (const TransferCase& c : transfers) {
    grpc::Status status = StartTransfer(c.replica, c.origin, c.destination, c.resident_id);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  for (const MigrationCase& c : migrations) {
    grpc::Status status = StartMigration(c.replica, c.destination, c.resident_id);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // Kill replica B once every origin has applied its move-out step and (the replies being held)
  // the steps are still in flight.
  const bool all_out = WaitFor(
      [&] {
        for (const TransferCase& c : transfers) {
          absl::StatusOr<std::vector<social::v1::ContributionEntry>> left =
              ContributionsAt(*cluster_, c.origin, c.resident_id);
          if (!left.ok() || transfers::ComputePensionFunds(*left).months != 0) return false;
        }
        for (const MigrationCase& c : migrations) {
          absl::StatusOr<adapters::PersonLocation> at = LocateAt(*cluster_, c.origin, c.resident_id);
          if (!at.ok() || at->holds_household_registration) return false;
        }
        return true;
      },
      absl::Seconds(20));
  cluster_->replica(kReplicaB).Kill();
  ASSERT_TRUE(all_out) << "the workflows did not reach their move-out steps";
  ASSERT_GT(acknowledged_by_b.load(), 0) << "replica B acknowledged no settlement before it was killed";

  // What replica B held when it died: workflows leased by it and unfinished.
  absl::StatusOr<store::pg::Result> held =
      Query("SELECT workflow_id FROM workflows WHERE lease_owner = 'replica-b' AND status IN (1, 2)", {});
  ASSERT_TRUE(held.ok()) << held.status();
  std::vector<std::string> orphaned;
  for (int row = 0; row < held->rows(); ++row) orphaned.push_back(held->Text(row, 0));
  EXPECT_FALSE(orphaned.empty()) << "replica B was killed with no workflow in flight";

  for (City city : kGrpcCities) SetFaults(city, mockcity::v1::FaultSettings());
  absl::SleepFor(absl::Milliseconds(300));  // let the callers to B see it gone
  stop = true;
  for (auto& caller : callers) caller.join();

  // Replica A finishes every workflow, B's included, once their leases expire.
  for (const TransferCase& c : transfers) {
    SCOPED_TRACE(absl::StrCat("pension transfer ", CityName(c.origin), " -> ", CityName(c.destination),
                              " started on replica ", c.replica));
    PensionTransfer done = TransferWhenEnded(kReplicaA, c.destination, c.resident_id, absl::Seconds(40));
    EXPECT_EQ(done.status(), common::v1::WORKFLOW_STATUS_SUCCEEDED) << done.DebugString();
    EXPECT_EQ(done.state(), social::v1::TRANSFER_STATE_CONFIRMED);
    EXPECT_FALSE(done.funds_in_flight());
    // Money and months conserved; every month left the origin and arrived once at the destination.
    const Holdings after = Held(c.resident_id);
    EXPECT_EQ(after.funds_fen, c.before.funds_fen);
    EXPECT_EQ(after.months, c.before.months);
    EXPECT_EQ(after.months_by_city.count(c.origin) ? after.months_by_city.at(c.origin) : 0, 0);
    const int moved = c.before.months_by_city.at(c.origin);
    EXPECT_EQ(done.months_transferred(), moved);
    const int destination_before =
        c.before.months_by_city.count(c.destination) ? c.before.months_by_city.at(c.destination) : 0;
    EXPECT_EQ(after.months_by_city.count(c.destination) ? after.months_by_city.at(c.destination) : 0,
              destination_before + moved);
  }
  for (const MigrationCase& c : migrations) {
    SCOPED_TRACE(absl::StrCat("household migration ", CityName(c.origin), " -> ", CityName(c.destination),
                              " started on replica ", c.replica));
    HouseholdMigration done = MigrationWhenEnded(kReplicaA, c.destination, c.resident_id, absl::Seconds(40));
    EXPECT_EQ(done.status(), common::v1::WORKFLOW_STATUS_SUCCEEDED) << done.DebugString();
    EXPECT_EQ(done.state(), household::v1::MIGRATION_STATE_SETTLED);
    // Registered in exactly one city, the destination, as the surviving replica answers too.
    EXPECT_EQ(RegisteringCities(*cluster_, c.resident_id), std::vector<City>{c.destination});
    absl::StatusOr<household::v1::GetHouseholdRecordResponse> record =
        HouseholdRecord(kReplicaA, c.resident_id);
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(record->registered_city().city(), c.destination);
    EXPECT_EQ(record->household_number(), done.household_number());
  }
  // Replica A took over what B held: it wrote history for each of them.
  for (const std::string& id : orphaned) {
    absl::StatusOr<store::pg::Result> by_a =
        Query("SELECT count(*) FROM workflow_history WHERE workflow_id = $1 AND replica = 'replica-a'",
              {store::pg::Param::Text(id)});
    ASSERT_TRUE(by_a.ok()) << by_a.status();
    EXPECT_GT(by_a->Int(0, 0), 0) << id << " was not taken over by replica A";
  }

  // Replica B comes back on the same store, under its replica id. At start-up it resolves the
  // settlement intents of its Settles that were in flight when it died, at once: without it, replica
  // A would leave them alone (answering a retry of their keys SETTLEMENT_IN_PROGRESS) until they
  // are 2 minutes old, for B's commits might still be on their way to the cities.
  setenv("INTEROP_GATEWAY_REPLICA_ID", "replica-b", 1);
  absl::Status restarted = cluster_->RestartReplica(kReplicaB);
  unsetenv("INTEROP_GATEWAY_REPLICA_ID");
  ASSERT_TRUE(restarted.ok()) << restarted;

  // Every settlement, retried through replica A with its key (after the delay it is told, while
  // B's recovery is still at work): the acknowledged ones answer as they were (replayed), the
  // others settle now, once.
  int acknowledged = 0;
  int told_to_wait = 0;
  for (const SettlementAttempt& attempt : attempts) {
    SCOPED_TRACE(attempt.request.idempotency_key());
    medical::v1::SettleResponse response;
    grpc::Status status = Settle(kReplicaA, attempt.request, &response, 10);
    for (int tries = 0; tries < 30 && ReasonOf(status) == "SETTLEMENT_IN_PROGRESS"; ++tries) {
      ++told_to_wait;
      std::this_thread::sleep_for(RetryDelayOf(status));
      status = Settle(kReplicaA, attempt.request, &response, 10);
    }
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (attempt.acknowledged) {
      ++acknowledged;
      EXPECT_TRUE(response.replayed());
      EXPECT_EQ(response.settlement().SerializeAsString(), attempt.settlement.SerializeAsString());
    }
  }
  std::cout << attempts.size() << " settlements during the run, " << acknowledged << " acknowledged ("
            << acknowledged_by_b.load() << " by replica B; " << told_to_wait
            << " retries told to wait for replica B's recovery); " << orphaned.size()
            << " workflows in flight on replica B when it was killed\n";
  // Each city's records agree with the shared ledger: nothing applied twice, nothing unrecorded.
  auto bureau =
      CrossCitySettlementService::NewStub(Channel(kReplicaA, "caller-medical-insurance-bureau-taiyuan"));
  for (City city : kAllCities) {
    SCOPED_TRACE(CityName(city));
    medical::v1::ReconcileRequest request;
    request.set_city(city);
    *request.mutable_period()->mutable_from() = DateOf(TodayInChina() - 1);
    *request.mutable_period()->mutable_to() = DateOf(TodayInChina() + 1);
    medical::v1::ReconcileResponse reconciled;
    grpc::ClientContext context;
    context.set_deadline(In(10));
    grpc::Status status = bureau->Reconcile(&context, request, &reconciled);
    answered_->Note(context);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(reconciled.balanced()) << reconciled.DebugString();
  }

  // Replica B serves again.
  for (int replica : kReplicas) {
    medical::v1::GetInsuranceStatusResponse response;
    grpc::Status status = InsuranceStatus(replica, patients[0], &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  // Every call a replica answered, in the whole suite, has its access record in the one chain.
  absl::StatusOr<store::pg::Result> stored = Query("SELECT request_id FROM access_records", {});
  ASSERT_TRUE(stored.ok()) << stored.status();
  std::set<std::string> stored_ids;
  for (int row = 0; row < stored->rows(); ++row) stored_ids.insert(stored->Bytes(row, 0));
  const std::vector<std::string> answered = answered_->ids();
  ASSERT_GT(answered.size(), 200u);
  int missing = 0;
  for (const std::string& id : answered) missing += stored_ids.count(id) == 0 ? 1 : 0;
  EXPECT_EQ(missing, 0) << "of " << answered.size() << " answered calls";

  // The chain verifies, with the public certificate only, read straight from PostgreSQL: one order
  // (sequences 1..n without gap or duplicate, each record linked to the one before), whichever
  // replica wrote each record.
  store::pg::PostgresDatabase::Options db_options;
  db_options.conninfo = schema_->conninfo();
  db_options.pool_size = 2;
  absl::StatusOr<std::unique_ptr<store::pg::PostgresDatabase>> db =
      store::pg::PostgresDatabase::Open(db_options);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<accesslog::VerificationResult> verified =
      accesslog::VerifyPostgresAccessLog(**db, cluster_->CertPath("gateway.pem"), 1, 0);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->ok) << verified->problem;
  EXPECT_GE(verified->records_checked, stored_ids.size());
  absl::StatusOr<store::pg::Result> head = Query("SELECT max(sequence), count(*) FROM access_records", {});
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->Int(0, 0), head->Int(0, 1));
  EXPECT_EQ(static_cast<uint64_t>(head->Int(0, 1)), verified->records_checked);

  // And through each replica's verify RPC.
  for (int replica : kReplicas) {
    SCOPED_TRACE(absl::StrCat("replica ", replica));
    auto stub = accesslog::v1::AccessLogService::NewStub(Channel(replica, "caller-operator-taiyuan"));
    grpc::ClientContext context;
    context.set_deadline(In(30));
    accesslog::v1::VerifyAccessLogRequest request;
    accesslog::v1::VerifyAccessLogResponse response;
    grpc::Status status = stub->VerifyAccessLog(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.intact()) << response.problem();
    EXPECT_GE(response.records_checked(), verified->records_checked);
  }
}

}  // namespace
}  // namespace interop::testing
