// Household migration (户口迁移) end to end, with real mock-city and gateway processes: a migration
// between each pair of the five cities (Lüliang's mock speaks HTTP/JSON in the national interface's
// envelope: the origin of two pairs, the destination of two); kill -9 of the gateway (the test-only
// crash hook exits without cleanup) at every step boundary of the workflow, with the origin and the
// destination rotating over the five cities, after which it finishes, with the person registered in
// exactly one of the five cities, or in none only while the migration is in flight at moved_out; and
// the origin city down during its step: the workflow waits and finishes when the city returns.
//
// The mock cities keep their records in memory. The city-down test therefore stops the ORIGIN before
// it has been changed (the workflow is at permit_issued: the gateway is stopped by the crash hook
// before the move-out step), so the restarted origin, which starts again from the population, is the
// city as it was; the destination, which issued the permit, stays up.
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "interop/household/v1/household.grpc.pb.h"
#include "interop/household/v1/migration.grpc.pb.h"
#include "sqlite3.h"
#include "tests/integration/transfer_support.h"

namespace interop::testing {
namespace {

using household::v1::HouseholdMigration;
using household::v1::HouseholdMigrationService;
using mock_city::Population;
using mock_city::SyntheticPerson;

const std::map<City, std::string> kCounty = {{City::CITY_TAIYUAN, "140105"}, {City::CITY_YANGQUAN, "140302"},
                                              {City::CITY_JINZHONG, "140702"}, {City::CITY_XINZHOU, "140902"},
                                              {City::CITY_LVLIANG, "141102"}};

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetGatewayCrashPoint("");
    ClusterOptions options;
    options.city_deadline_ms = 1000;
    auto cluster = CityCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = std::move(*cluster);
    mock_city::PopulationOptions population_options;
    population_options.seed = options.seed;
    population_options.persons_per_issuing_city = options.persons_per_city;
    population_ = std::make_unique<Population>(Population::Generate(population_options));
  }
  void TearDown() override { SetGatewayCrashPoint(""); }

  std::unique_ptr<HouseholdMigrationService::Stub> Stub(City destination) {
    return HouseholdMigrationService::NewStub(
        cluster_->CallerChannel(absl::StrCat("caller-household-office-", CityName(destination))));
  }

  // An adult registered in `origin` (and not elsewhere changed by this test). Registered in Lüliang:
  // one whose number Lüliang issued, the usual case there.
  const SyntheticPerson& Registered(City origin) {
    const SyntheticPerson* p = FindUnused(
        *population_,
        [origin](const SyntheticPerson& p) {
          return p.household.city == origin && p.birth_date.year() < 2000 &&
                 (origin != City::CITY_LVLIANG || p.issuing_city == City::CITY_LVLIANG);
        },
        &used_);
    EXPECT_NE(p, nullptr);
    return *p;
  }

  grpc::Status Start(City destination, const std::string& id, HouseholdMigration* migration) {
    household::v1::StartHouseholdMigrationRequest request;
    request.mutable_person()->set_resident_id(id);
    request.set_destination_city(destination);
    request.set_destination_address_code(kCounty.at(destination));
    request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
    household::v1::StartHouseholdMigrationResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status status = Stub(destination)->StartHouseholdMigration(&context, request, &response);
    *migration = response.migration();
    return status;
  }

  // The person's migrations as the gateway lists them (empty if it does not answer).
  std::vector<HouseholdMigration> List(City office, const std::string& id) {
    household::v1::ListHouseholdMigrationsRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
    household::v1::ListHouseholdMigrationsResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!Stub(office)->ListHouseholdMigrations(&context, request, &response).ok()) return {};
    return {response.migrations().begin(), response.migrations().end()};
  }

  absl::StatusOr<HouseholdMigration> Get(City office, const std::string& id, const std::string& migration_id) {
    household::v1::GetHouseholdMigrationRequest request;
    request.mutable_person()->set_resident_id(id);
    request.set_migration_id(migration_id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
    household::v1::GetHouseholdMigrationResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Status status = Stub(office)->GetHouseholdMigration(&context, request, &response);
    if (!status.ok()) return absl::UnavailableError(status.error_message());
    return response.migration();
  }

  // Waits for the person's only migration to end; returns it.
  HouseholdMigration WaitForEnd(City office, const std::string& id, absl::Duration timeout = absl::Seconds(30)) {
    HouseholdMigration last;
    WaitFor(
        [&] {
          std::vector<HouseholdMigration> all = List(office, id);
          if (all.size() != 1) return false;
          absl::StatusOr<HouseholdMigration> m = Get(office, id, all[0].migration_id());
          if (!m.ok()) return false;
          last = *m;
          return last.status() != common::v1::WORKFLOW_STATUS_RUNNING &&
                 last.status() != common::v1::WORKFLOW_STATUS_WAITING_RETRY;
        },
        timeout);
    return last;
  }

  // The registration as the gateway answers it.
  absl::StatusOr<household::v1::GetHouseholdRecordResponse> Record(const std::string& id) {
    auto stub = household::v1::HouseholdRegistrationService::NewStub(
        cluster_->CallerChannel("caller-household-office-taiyuan"));
    household::v1::GetHouseholdRecordRequest request;
    request.mutable_person()->set_resident_id(id);
    request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
    household::v1::GetHouseholdRecordResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status status = stub->GetHouseholdRecord(&context, request, &response);
    if (!status.ok()) return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
    return response;
  }

  // The person's unfinished migration's state in the gateway's store, read directly ("" if none).
  std::string StoredState(const std::string& id) {
    sqlite3* db = nullptr;
    std::string state;
    if (sqlite3_open_v2((cluster_->dir() + "/gateway.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      const std::string sql = "SELECT state, status FROM workflows WHERE subject = ?1 ORDER BY created_at_unix_us DESC LIMIT 1";
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
        const std::string subject = absl::StrCat("household:", id);
        sqlite3_bind_text(stmt, 1, subject.c_str(), -1, SQLITE_TRANSIENT);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
          state = absl::StrCat(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "/",
                               sqlite3_column_int(stmt, 1));
        }
        sqlite3_finalize(stmt);
      }
    }
    sqlite3_close(db);
    return state;
  }

  void ExpectSettled(const SyntheticPerson& person, City destination, const HouseholdMigration& m) {
    EXPECT_EQ(m.status(), common::v1::WORKFLOW_STATUS_SUCCEEDED) << m.reason();
    EXPECT_EQ(m.state(), household::v1::MIGRATION_STATE_SETTLED);
    EXPECT_EQ(m.resident_id(), person.resident_id);
    EXPECT_FALSE(m.permit_number().empty());
    EXPECT_EQ(RegisteringCities(*cluster_, person.resident_id), std::vector<City>{destination});
    absl::StatusOr<household::v1::GetHouseholdRecordResponse> record = Record(person.resident_id);
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(record->registered_city().city(), destination);
    EXPECT_EQ(record->address_code(), kCounty.at(destination));
    EXPECT_EQ(record->resident_id(), person.resident_id);  // the number never changes
    EXPECT_EQ(record->household_number(), m.household_number());
  }

  std::unique_ptr<CityCluster> cluster_;
  std::unique_ptr<Population> population_;
  std::vector<std::string> used_;
};

TEST_F(MigrationTest, MigratesBetweenEachPairOfTheFiveCities) {
  for (size_t i = 0; i < std::size(kFiveCities); ++i) {
    for (size_t j = i + 1; j < std::size(kFiveCities); ++j) {
      // Alternate the direction: Lüliang (last) is the destination from Taiyuan and Jinzhong and the
      // origin to Yangquan and Xinzhou.
      const City origin = (i + j) % 2 == 0 ? kFiveCities[i] : kFiveCities[j];
      const City destination = origin == kFiveCities[i] ? kFiveCities[j] : kFiveCities[i];
      SCOPED_TRACE(absl::StrCat(CityName(origin), " -> ", CityName(destination)));
      const SyntheticPerson& person = Registered(origin);
      // The gateway learns where the person is registered before the move.
      absl::StatusOr<household::v1::GetHouseholdRecordResponse> before = Record(person.resident_id);
      ASSERT_TRUE(before.ok()) << before.status();
      ASSERT_EQ(before->registered_city().city(), origin);

      HouseholdMigration started;
      grpc::Status status = Start(destination, person.resident_id, &started);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(started.origin_city().city(), origin);
      EXPECT_NE(started.state(), household::v1::MIGRATION_STATE_UNSPECIFIED);  // the first step may have run already
      HouseholdMigration done = WaitForEnd(destination, person.resident_id);
      ExpectSettled(person, destination, done);
      EXPECT_GE(done.history_size(), 4);  // created, permit_issued, moved_out, settled
    }
  }
}

TEST_F(MigrationTest, RefusesAMoveToTheCityOfRegistrationAndASecondMigrationInFlight) {
  const SyntheticPerson& person = Registered(City::CITY_TAIYUAN);
  HouseholdMigration m;
  grpc::Status status = Start(City::CITY_TAIYUAN, person.resident_id, &m);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("destination_city"));

  household::v1::StartHouseholdMigrationRequest request;
  request.mutable_person()->set_resident_id(person.resident_id);
  request.set_destination_city(City::CITY_JINZHONG);
  request.set_destination_address_code("140105");  // a Taiyuan county
  request.mutable_access()->set_purpose(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION);
  household::v1::StartHouseholdMigrationResponse response;
  grpc::ClientContext context;
  status = Stub(City::CITY_JINZHONG)->StartHouseholdMigration(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("destination_address_code"));
}

// kill -9 at every step boundary: the gateway exits there (no cleanup), restarts, and the migration
// finishes; the person is registered in exactly one city, or none only at moved_out. The origin and
// destination rotate over the five cities, so Lüliang's steps are crashed around too.
TEST_F(MigrationTest, FinishesAfterAGatewayCrashAtEveryStepBoundary) {
  const std::vector<std::string> states = {"applied", "permit_issued", "moved_out"};
  const std::vector<std::string> boundaries = {"before_step", "after_step", "after_commit"};
  int n = 0;
  for (const std::string& state : states) {
    for (const std::string& boundary : boundaries) {
      const City origin = kFiveCities[n % 5];
      const City destination = kFiveCities[(n + 1 + n / 5 % 4) % 5];  // never the origin
      ++n;
      SCOPED_TRACE(absl::StrCat("crash at ", state, "/", boundary, ", ", CityName(origin), " -> ",
                                CityName(destination)));
      const SyntheticPerson& person = Registered(origin);
      SetGatewayCrashPoint(absl::StrCat("household_migration/", state, "/", boundary));
      ASSERT_TRUE(cluster_->RestartGateway().ok());
      HouseholdMigration started;
      (void)Start(destination, person.resident_id, &started);  // may fail if the crash comes first
      // The gateway exits at the crash point.
      ASSERT_TRUE(WaitFor([&] { return List(destination, person.resident_id).empty() && !Record(person.resident_id).ok(); },
                          absl::Seconds(20)))
          << "the gateway did not exit at the crash point";
      // While it is down: never in two cities; in none only with the migration at moved_out.
      std::vector<City> registered = RegisteringCities(*cluster_, person.resident_id);
      EXPECT_LE(registered.size(), 1u);
      // Registered nowhere: the origin recorded the move-out, so the migration is unfinished (status
      // RUNNING = 1) at moved_out, or at permit_issued with the move-out done but not yet committed.
      if (registered.empty()) {
        EXPECT_THAT(StoredState(person.resident_id), ::testing::AnyOf("moved_out/1", "permit_issued/1"));
      }
      SetGatewayCrashPoint("");
      ASSERT_TRUE(cluster_->RestartGateway().ok());
      HouseholdMigration done = WaitForEnd(destination, person.resident_id);
      ExpectSettled(person, destination, done);
    }
  }
}

// The origin is down when its step comes: the migration waits (WAITING_RETRY, naming the city) and
// finishes once the city is back, each effect applied once.
TEST_F(MigrationTest, WaitsForADownOriginAndFinishesWhenItReturns) {
  const City origin = City::CITY_XINZHOU;
  const City destination = City::CITY_TAIYUAN;
  const SyntheticPerson& person = Registered(origin);
  // Stop the gateway just before the origin's step (the permit is issued, the origin unchanged).
  SetGatewayCrashPoint("household_migration/permit_issued/before_step");
  ASSERT_TRUE(cluster_->RestartGateway().ok());
  HouseholdMigration started;
  (void)Start(destination, person.resident_id, &started);  // the crash may come before the answer
  ASSERT_TRUE(WaitFor([&] { return !Record(person.resident_id).ok() && List(destination, person.resident_id).empty(); },
                      absl::Seconds(20)));
  cluster_->city(origin).Kill();
  SetGatewayCrashPoint("");
  ASSERT_TRUE(cluster_->RestartGateway().ok());
  ASSERT_TRUE(WaitFor([&] { return List(destination, person.resident_id).size() == 1; }, absl::Seconds(20)));
  started = List(destination, person.resident_id)[0];
  HouseholdMigration waiting;
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<HouseholdMigration> m = Get(destination, person.resident_id, started.migration_id());
        if (m.ok()) waiting = *m;
        return m.ok() && m->status() == common::v1::WORKFLOW_STATUS_WAITING_RETRY;
      },
      absl::Seconds(20)));
  EXPECT_EQ(waiting.state(), household::v1::MIGRATION_STATE_PERMIT_ISSUED);
  EXPECT_THAT(waiting.reason(), ::testing::HasSubstr("xinzhou"));
  absl::SleepFor(absl::Seconds(2));
  ASSERT_TRUE(cluster_->RestartCity(origin).ok());
  HouseholdMigration done = WaitForEnd(destination, person.resident_id, absl::Seconds(90));
  ExpectSettled(person, destination, done);
  int retries = 0;
  for (const common::v1::WorkflowEvent& e : done.history()) retries += e.kind() == "RETRY_SCHEDULED" ? 1 : 0;
  EXPECT_GE(retries, 1);
}

}  // namespace
}  // namespace interop::testing

