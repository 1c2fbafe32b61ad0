// HouseholdMigrationService and PensionTransferService (gateway/services/transfer_services.h) in
// process: the services behind the real CallGuard (reference access policy, insecure development
// callers), the real workflow engine and store on a temporary SQLite file, a ManualClock, and five
// fake cities answering from the mock cities' mobility records
// (tests/gateway/transfers/fake_mobility_city.h).
//
// Covered: start, get and list of both; validation of every request field (the gRPC status and the
// field named in google.rpc.BadRequest); the refusals of the start (no registration, already
// registered there, an unfinished workflow of the same kind, cities that cannot be asked); who may
// call what (role, purpose, own records); paging; the timeout path and the point of no return with
// time moved by hand; one access record per call.
#include "gateway/services/transfer_services.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/identity/resident_id.h"
#include "gateway/transfers/pension_funds.h"
#include "gateway/workflow/workflow_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/services/service_test_support.h"
#include "tests/gateway/transfers/fake_mobility_city.h"
#include "tools/mock_city/population.h"

namespace interop::services {
namespace {

namespace hh = ::interop::household::v1;
namespace so = ::interop::social::v1;
using ::interop::common::v1::City;
using mock_city::Population;
using mock_city::SyntheticPerson;
using test_support::Access;
using test_support::BadRequestFieldOf;
using test_support::Context;
using test_support::Describe;
using test_support::Person;
using test_support::ReasonOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using transfers::test_support::FakeMobilityCity;

// 2026-06-30 10:00 in China: the population's today.
const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 6, 30, 10, 0, 0), absl::FixedTimeZone(8 * 3600));
constexpr absl::Duration kTimeout = absl::Hours(1);

class TransferServicesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mock_city::PopulationOptions options;
    options.persons_per_issuing_city = 300;
    population_ = new Population(Population::Generate(options));
  }

  void SetUp() override {
    std::vector<std::unique_ptr<adapters::CityAdapter>> adapters;
    for (City city : {City::CITY_TAIYUAN, City::CITY_YANGQUAN, City::CITY_JINZHONG, City::CITY_XINZHOU,
                      City::CITY_LVLIANG}) {
      auto fake = std::make_unique<FakeMobilityCity>(*population_, city);
      fakes_[city] = fake.get();
      adapters.push_back(std::move(fake));
    }
    harness_ = std::make_unique<test_support::ServiceHarness>(std::move(adapters), kStart);
    // The workflow store on the gateway's store file, as the gateway opens it.
    absl::StatusOr<std::unique_ptr<workflow::WorkflowStore>> store =
        workflow::OpenSqliteWorkflowStore(harness_->store_path());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    work_ = std::make_unique<WorkQueue>(2);
    workflow::WorkflowEngineOptions engine_options;
    engine_options.replica_id = "services-test";
    engine_ = std::make_unique<workflow::WorkflowEngine>(*store_, harness_->clock(), engine_options);
    transfers::TransferWorkflowOptions options;
    options.timeout = kTimeout;
    router::RecordLocator* locator = &harness_->locator();
    options.on_household_moved = [locator](const std::string& id) {
      locator->Forget(id, router::RecordDomain::kHouseholdRegistration);
    };
    options.on_pension_moved = [locator](const std::string& id) {
      locator->Forget(id, router::RecordDomain::kContributionHistory);
    };
    ASSERT_TRUE(engine_->Register(transfers::HouseholdMigrationDefinition(harness_->cities(), options)).ok());
    ASSERT_TRUE(engine_->Register(transfers::PensionTransferDefinition(harness_->cities(), options)).ok());
    migrations_ =
        std::make_unique<HouseholdMigrationServiceImpl>(harness_->deps(), *engine_, *work_, options);
    transfers_ = std::make_unique<PensionTransferServiceImpl>(harness_->deps(), *engine_, *work_, options);
    harness_->Serve({migrations_.get(), transfers_.get()});
    migration_stub_ = hh::HouseholdMigrationService::NewStub(harness_->channel());
    transfer_stub_ = so::PensionTransferService::NewStub(harness_->channel());
  }

  void TearDown() override {
    for (auto& [city, fake] : fakes_) {
      fake->SetDown(false);
    }
    harness_->Stop();
    engine_->WaitIdle(absl::Seconds(10));
  }

  // --- Calls.

  grpc::Status StartMigration(const std::string& caller, const std::string& resident_id, City destination,
                              const std::string& address_code, hh::StartHouseholdMigrationResponse* response,
                              common::v1::Purpose purpose = common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION) {
    hh::StartHouseholdMigrationRequest request;
    *request.mutable_person() = Person(resident_id);
    request.set_destination_city(destination);
    request.set_destination_address_code(address_code);
    *request.mutable_access() = Access(purpose);
    return migration_stub_->StartHouseholdMigration(Context(caller).get(), request, response);
  }

  grpc::Status GetMigration(
      const std::string& caller, const std::string& resident_id, const std::string& id,
      hh::GetHouseholdMigrationResponse* response,
      common::v1::AccessContext access = Access(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION)) {
    hh::GetHouseholdMigrationRequest request;
    *request.mutable_person() = Person(resident_id);
    request.set_migration_id(id);
    *request.mutable_access() = access;
    return migration_stub_->GetHouseholdMigration(Context(caller).get(), request, response);
  }

  grpc::Status ListMigrations(
      const std::string& caller, const std::string& resident_id, int page_size, const std::string& token,
      hh::ListHouseholdMigrationsResponse* response,
      common::v1::AccessContext access = Access(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION)) {
    hh::ListHouseholdMigrationsRequest request;
    *request.mutable_person() = Person(resident_id);
    request.set_page_size(page_size);
    request.set_page_token(token);
    *request.mutable_access() = access;
    return migration_stub_->ListHouseholdMigrations(Context(caller).get(), request, response);
  }

  grpc::Status StartTransfer(
      const std::string& caller, const std::string& resident_id, City origin, City destination,
      so::StartPensionTransferResponse* response,
      common::v1::Purpose purpose = common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION) {
    so::StartPensionTransferRequest request;
    *request.mutable_person() = Person(resident_id);
    request.set_origin_city(origin);
    request.set_destination_city(destination);
    *request.mutable_access() = Access(purpose);
    return transfer_stub_->StartPensionTransfer(Context(caller).get(), request, response);
  }

  grpc::Status GetTransfer(
      const std::string& caller, const std::string& resident_id, const std::string& id,
      so::GetPensionTransferResponse* response,
      common::v1::AccessContext access = Access(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION)) {
    so::GetPensionTransferRequest request;
    *request.mutable_person() = Person(resident_id);
    request.set_transfer_id(id);
    *request.mutable_access() = access;
    return transfer_stub_->GetPensionTransfer(Context(caller).get(), request, response);
  }

  grpc::Status ListTransfers(
      const std::string& caller, const std::string& resident_id, int page_size, const std::string& token,
      so::ListPensionTransfersResponse* response,
      common::v1::AccessContext access = Access(common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION)) {
    so::ListPensionTransfersRequest request;
    *request.mutable_person() = Person(resident_id);
    request.set_page_size(page_size);
    request.set_page_token(token);
    *request.mutable_access() = access;
    return transfer_stub_->ListPensionTransfers(Context(caller).get(), request, response);
  }

  // --- The engine, with time moved by hand.

  // Runs the workflow until it ends: lets the steps in flight finish, then moves the clock past any
  // backoff and polls.
  workflow::WorkflowRecord RunToEnd(const std::string& id) {
    for (int i = 0; i < 100; ++i) {
      engine_->WaitIdle(absl::Seconds(10));
      absl::StatusOr<workflow::WorkflowRecord> record = store_->Get(id);
      EXPECT_TRUE(record.ok()) << record.status();
      if (!record.ok() || workflow::IsFinal(record->instance.status))
        return record.ok() ? *record : workflow::WorkflowRecord();
      harness_->clock().Advance(absl::Minutes(2));
      (void)engine_->Poll();
    }
    engine_->WaitIdle(absl::Seconds(10));
    return *store_->Get(id);
  }

  // Moves the clock by `by` in steps of `step`, running what is due after each.
  void AdvanceAndPoll(absl::Duration by, absl::Duration step = absl::Minutes(1)) {
    for (absl::Duration moved; moved < by; moved += step) {
      harness_->clock().Advance(step);
      (void)engine_->Poll();
      engine_->WaitIdle(absl::Seconds(10));
    }
  }

  workflow::WorkflowInstance Instance(const std::string& id) { return store_->Get(id).value().instance; }

  int WorkflowCount() { return static_cast<int>(store_->List({}).value().instances.size()); }

  // --- People.

  const SyntheticPerson& RegisteredIn(City city, int skip = 0) {
    return transfers::test_support::RegisteredIn(*population_, city, skip);
  }
  const SyntheticPerson& PaidPensionOnlyIn(City city, int skip = 0) {
    return transfers::test_support::PaidPensionOnlyIn(*population_, city, skip);
  }
  // A valid identity number of nobody in the population.
  std::string Stranger() {
    const std::string base = population_->persons().front().resident_id;
    for (int sequence = 999; sequence > 0; --sequence) {
      std::string first17 = absl::StrCat(base.substr(0, 14), absl::Dec(sequence, absl::kZeroPad3));
      std::string id = first17 + identity::ComputeCheckCharacter(first17);
      if (population_->Find(id) == nullptr) return id;
    }
    ADD_FAILURE() << "no free identity number";
    return base;
  }

  int PensionMonthsIn(City city, const SyntheticPerson& p) {
    int months = 0;
    for (const auto& m : fakes_[city]->records().Contributions(p)) months += m.kind_code == "110";
    return months;
  }

  static Population* population_;
  std::map<City, FakeMobilityCity*> fakes_;
  std::unique_ptr<test_support::ServiceHarness> harness_;
  std::unique_ptr<workflow::WorkflowStore> store_;
  std::unique_ptr<WorkQueue> work_;
  std::unique_ptr<workflow::WorkflowEngine> engine_;
  std::unique_ptr<HouseholdMigrationServiceImpl> migrations_;
  std::unique_ptr<PensionTransferServiceImpl> transfers_;
  std::unique_ptr<hh::HouseholdMigrationService::Stub> migration_stub_;
  std::unique_ptr<so::PensionTransferService::Stub> transfer_stub_;
};

Population* TransferServicesTest::population_ = nullptr;

// ------------------------------------------------------------------------------------------------
// Household migration: start, get, list

TEST_F(TransferServicesTest, StartHouseholdMigrationAnswersAppliedAndTheWorkflowSettlesThePerson) {
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU);
  // Taiyuan's permit office does not answer yet: the migration stays in its first state.
  fakes_[City::CITY_TAIYUAN]->FailAlways("permit", absl::UnavailableError("city taiyuan: down"));
  hh::StartHouseholdMigrationResponse started;
  grpc::Status status = StartMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id,
                                       City::CITY_TAIYUAN, "140105", &started);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const hh::HouseholdMigration& m = started.migration();
  EXPECT_THAT(m.migration_id(), StartsWith("wf-"));
  EXPECT_EQ(m.resident_id(), p.resident_id);
  EXPECT_EQ(m.origin_city().city(), City::CITY_XINZHOU);  // learned from the cities, not asked for
  EXPECT_EQ(m.destination_city().city(), City::CITY_TAIYUAN);
  EXPECT_EQ(m.destination_address_code(), "140105");
  EXPECT_EQ(m.state(), hh::MIGRATION_STATE_APPLIED);
  EXPECT_THAT(m.status(), ::testing::AnyOf(common::v1::WORKFLOW_STATUS_RUNNING,
                                           common::v1::WORKFLOW_STATUS_WAITING_RETRY));
  EXPECT_EQ(m.created_at(), "2026-06-30T10:00:00.000+08:00");
  ASSERT_GE(m.history_size(), 1);
  EXPECT_EQ(m.history(0).kind(), "CREATED");
  EXPECT_EQ(m.history(0).to_state(), "applied");
  // The access record: the person, the holder consulted, OK.
  accesslog::AccessRecord record = harness_->access_log().last();
  EXPECT_EQ(record.method, "/interop.household.v1.HouseholdMigrationService/StartHouseholdMigration");
  EXPECT_EQ(record.person, p.resident_id);
  EXPECT_EQ(record.result_code, 0);
  EXPECT_EQ(record.caller_role, "household-office");
  EXPECT_THAT(record.cities_consulted, ::testing::Contains("xinzhou"));

  fakes_[City::CITY_TAIYUAN]->FailAlways("permit", absl::OkStatus());
  EXPECT_EQ(RunToEnd(m.migration_id()).instance.status, workflow::WorkflowStatus::kSucceeded);
  hh::GetHouseholdMigrationResponse got;
  status = GetMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, m.migration_id(), &got);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(got.migration().state(), hh::MIGRATION_STATE_SETTLED);
  EXPECT_EQ(got.migration().status(), common::v1::WORKFLOW_STATUS_SUCCEEDED);
  EXPECT_FALSE(got.migration().permit_number().empty());
  EXPECT_FALSE(got.migration().household_number().empty());
  EXPECT_EQ(got.migration().previous_address_code(), p.household.address_code);
  std::vector<std::string> states;
  for (const common::v1::WorkflowEvent& e : got.migration().history()) {
    if (e.kind() == "ADVANCED") states.push_back(e.to_state());
  }
  EXPECT_THAT(states, ::testing::ElementsAre("permit_issued", "moved_out", "settled"));
  // Registered in exactly one city: the destination.
  EXPECT_FALSE(fakes_[City::CITY_XINZHOU]->records().Registration(p).has_value());
  EXPECT_TRUE(fakes_[City::CITY_TAIYUAN]->records().Registration(p).has_value());
}

// Every answer waits for its access record (gateway/services/call_guard.h). When the record cannot be
// written the caller gets no data: UNAVAILABLE (retry) if the log's store could not be reached,
// INTERNAL for any other failure; once the log works again, so does the call.
TEST_F(TransferServicesTest, AnAnswerWhoseAccessRecordCannotBeWrittenCarriesNoData) {
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU);
  hh::StartHouseholdMigrationResponse started;
  ASSERT_TRUE(StartMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, City::CITY_TAIYUAN, "140105",
                             &started)
                  .ok());

  harness_->access_log().FailAppends(absl::UnavailableError("postgresql: connection lost"));
  hh::ListHouseholdMigrationsResponse unreachable;
  grpc::Status status = ListMigrations(test_support::kTaiyuanHouseholdOffice, p.resident_id, 0, "", &unreachable);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("could not be recorded"));
  EXPECT_THAT(status.error_message(), HasSubstr("retry"));
  EXPECT_EQ(unreachable.migrations_size(), 0);

  harness_->access_log().FailAppends(absl::InternalError("disk full"));
  hh::ListHouseholdMigrationsResponse broken;
  status = ListMigrations(test_support::kTaiyuanHouseholdOffice, p.resident_id, 0, "", &broken);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr("could not be recorded"));
  EXPECT_EQ(broken.migrations_size(), 0);

  harness_->access_log().FailAppends(absl::OkStatus());
  hh::ListHouseholdMigrationsResponse listed;
  status = ListMigrations(test_support::kTaiyuanHouseholdOffice, p.resident_id, 0, "", &listed);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(listed.migrations_size(), 1);
}

TEST_F(TransferServicesTest, StartHouseholdMigrationNamesEveryInvalidField) {
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU);
  std::string bad_check = p.resident_id;
  bad_check[17] = bad_check[17] == '0' ? '1' : '0';
  struct Case {
    std::string what;
    std::string resident_id;
    int destination;
    std::string address_code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"no person", "", City::CITY_TAIYUAN, "140105", "person.resident_id"},
      {"wrong check character", bad_check, City::CITY_TAIYUAN, "140105", "person.resident_id"},
      {"malformed number", "14090219900101", City::CITY_TAIYUAN, "140105", "person.resident_id"},
      {"no destination", p.resident_id, City::CITY_UNSPECIFIED, "140105", "destination_city"},
      {"unknown destination", p.resident_id, 42, "140105", "destination_city"},
      {"no address code", p.resident_id, City::CITY_TAIYUAN, "", "destination_address_code"},
      {"the prefecture's own code", p.resident_id, City::CITY_TAIYUAN, "140100", "destination_address_code"},
      {"five digits", p.resident_id, City::CITY_TAIYUAN, "14010", "destination_address_code"},
      {"seven digits", p.resident_id, City::CITY_TAIYUAN, "1401050", "destination_address_code"},
      {"not digits", p.resident_id, City::CITY_TAIYUAN, "14010X", "destination_address_code"},
      {"a county of another city", p.resident_id, City::CITY_TAIYUAN, "140302", "destination_address_code"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    hh::StartHouseholdMigrationResponse response;
    grpc::Status status = StartMigration(test_support::kTaiyuanHouseholdOffice, c.resident_id,
                                         static_cast<City>(c.destination), c.address_code, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_EQ(BadRequestFieldOf(status), c.field) << Describe(status);
    EXPECT_THAT(status.error_message(), StartsWith(c.field + ":"));
    EXPECT_EQ(harness_->access_log().last().result_code,
              static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  }
  // Nothing started, and no city was asked anything.
  EXPECT_EQ(WorkflowCount(), 0);
  for (const auto& [city, fake] : fakes_) EXPECT_EQ(fake->calls("locate"), 0) << CityName(city);
  EXPECT_EQ(harness_->access_log().records().size(), cases.size());
}

TEST_F(TransferServicesTest, StartHouseholdMigrationRefusals) {
  hh::StartHouseholdMigrationResponse response;
  // Nobody registers the person.
  grpc::Status status = StartMigration(test_support::kTaiyuanHouseholdOffice, Stranger(), City::CITY_TAIYUAN,
                                       "140105", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);

  // Registered in the destination already: FAILED_PRECONDITION, reason and field named.
  const SyntheticPerson& there = RegisteredIn(City::CITY_TAIYUAN);
  status = StartMigration(test_support::kTaiyuanHouseholdOffice, there.resident_id, City::CITY_TAIYUAN,
                          "140105", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Describe(status);
  EXPECT_EQ(ReasonOf(status), "ALREADY_REGISTERED_THERE");
  EXPECT_EQ(BadRequestFieldOf(status), "destination_city") << Describe(status);
  EXPECT_THAT(status.error_message(), StartsWith("destination_city: "));
  EXPECT_EQ(harness_->access_log().last().result_reason, "ALREADY_REGISTERED_THERE");

  // The cities cannot be asked where the person is registered.
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU);
  for (auto& [city, fake] : fakes_) fake->SetDown(true);
  status = StartMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, City::CITY_TAIYUAN, "140105",
                          &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(status);
  for (auto& [city, fake] : fakes_) fake->SetDown(false);
  EXPECT_EQ(WorkflowCount(), 0);

  // A migration of the person is unfinished: a second one is refused, naming the first.
  fakes_[City::CITY_TAIYUAN]->FailAlways("permit", absl::UnavailableError("city taiyuan: down"));
  hh::StartHouseholdMigrationResponse first;
  status = StartMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, City::CITY_TAIYUAN, "140105",
                          &first);
  ASSERT_TRUE(status.ok()) << Describe(status);
  status = StartMigration("interop://lvliang/household-office/HO141102", p.resident_id, City::CITY_LVLIANG,
                          "141102", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr(first.migration().migration_id()));
  EXPECT_EQ(WorkflowCount(), 1);
}

TEST_F(TransferServicesTest, GetHouseholdMigrationRefusals) {
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU);
  const SyntheticPerson& other = RegisteredIn(City::CITY_XINZHOU, 1);
  hh::StartHouseholdMigrationResponse started;
  ASSERT_TRUE(StartMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, City::CITY_TAIYUAN,
                             "140105", &started)
                  .ok());
  const std::string id = started.migration().migration_id();
  hh::GetHouseholdMigrationResponse got;
  struct Case {
    std::string what;
    std::string id;
    grpc::StatusCode code;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{
           {"no id", "", grpc::StatusCode::INVALID_ARGUMENT, "migration_id"},
           {"an id with '/'", "wf-1/2", grpc::StatusCode::INVALID_ARGUMENT, "migration_id"},
           {"an id of 65 characters", std::string(65, 'a'), grpc::StatusCode::INVALID_ARGUMENT,
            "migration_id"},
           {"an unknown id", "wf-0000", grpc::StatusCode::NOT_FOUND, ""},
       }) {
    SCOPED_TRACE(c.what);
    grpc::Status status = GetMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, c.id, &got);
    EXPECT_EQ(status.error_code(), c.code) << Describe(status);
    EXPECT_EQ(BadRequestFieldOf(status), c.field);
  }
  // Another person's migration is not found (not "forbidden": its existence is not disclosed).
  grpc::Status status = GetMigration(test_support::kTaiyuanHouseholdOffice, other.resident_id, id, &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  // A pension transfer's id is not a migration.
  so::StartPensionTransferResponse transfer;
  ASSERT_TRUE(StartTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, City::CITY_XINZHOU,
                            City::CITY_TAIYUAN, &transfer)
                  .ok());
  status = GetMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id,
                        transfer.transfer().transfer_id(), &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  // And its own migration is found.
  status = GetMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, id, &got);
  EXPECT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(got.migration().migration_id(), id);
}

// Three migrations of one person (there, back, there again), listed two to a page, oldest first.
TEST_F(TransferServicesTest, ListHouseholdMigrationsPagesThePersonsOwnOldestFirst) {
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU);
  const SyntheticPerson& other = RegisteredIn(City::CITY_XINZHOU, 1);
  std::vector<std::string> ids;
  const std::vector<std::pair<City, std::string>> moves = {
      {City::CITY_TAIYUAN, "140105"}, {City::CITY_XINZHOU, "140902"}, {City::CITY_TAIYUAN, "140106"}};
  for (const auto& [destination, address] : moves) {
    hh::StartHouseholdMigrationResponse started;
    grpc::Status status = StartMigration(destination == City::CITY_TAIYUAN ? test_support::kTaiyuanHouseholdOffice
                                                                           : test_support::kXinzhouHouseholdOffice,
                                         p.resident_id, destination, address, &started);
    ASSERT_TRUE(status.ok()) << Describe(status);
    ids.push_back(started.migration().migration_id());
    ASSERT_EQ(RunToEnd(ids.back()).instance.status, workflow::WorkflowStatus::kSucceeded);
    harness_->clock().Advance(absl::Minutes(1));
  }
  // The second started from Taiyuan: the locator forgot Xinzhou when the first settled the person.
  hh::GetHouseholdMigrationResponse second;
  ASSERT_TRUE(GetMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, ids[1], &second).ok());
  EXPECT_EQ(second.migration().origin_city().city(), City::CITY_TAIYUAN);
  // A transfer of the person is not a migration, and is not listed.
  so::StartPensionTransferResponse transfer;
  ASSERT_TRUE(StartTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, City::CITY_XINZHOU,
                            City::CITY_TAIYUAN, &transfer)
                  .ok());

  hh::ListHouseholdMigrationsResponse page;
  grpc::Status status = ListMigrations(test_support::kTaiyuanHouseholdOffice, p.resident_id, 2, "", &page);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(page.migrations_size(), 2);
  EXPECT_EQ(page.migrations(0).migration_id(), ids[0]);
  EXPECT_EQ(page.migrations(1).migration_id(), ids[1]);
  EXPECT_EQ(page.migrations(0).history_size(), 0);  // the list has no history; Get has
  EXPECT_EQ(page.migrations(0).state(), hh::MIGRATION_STATE_SETTLED);
  ASSERT_FALSE(page.next_page_token().empty());
  hh::ListHouseholdMigrationsResponse rest;
  status =
      ListMigrations(test_support::kTaiyuanHouseholdOffice, p.resident_id, 2, page.next_page_token(), &rest);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(rest.migrations_size(), 1);
  EXPECT_EQ(rest.migrations(0).migration_id(), ids[2]);
  EXPECT_TRUE(rest.next_page_token().empty());
  // page_size 0 is the default (50): all three.
  hh::ListHouseholdMigrationsResponse all;
  ASSERT_TRUE(ListMigrations(test_support::kTaiyuanHouseholdOffice, p.resident_id, 0, "", &all).ok());
  EXPECT_EQ(all.migrations_size(), 3);
  // Another person has none.
  hh::ListHouseholdMigrationsResponse none;
  ASSERT_TRUE(ListMigrations(test_support::kTaiyuanHouseholdOffice, other.resident_id, 0, "", &none).ok());
  EXPECT_EQ(none.migrations_size(), 0);

  struct Case {
    std::string what;
    int page_size;
    std::string token;
    std::string field;
  };
  for (const Case& c : std::vector<Case>{{"negative page size", -1, "", "page_size"},
                                         {"page size over 500", 501, "", "page_size"},
                                         {"a token not handed out", 2, "not-a-token", "page_token"}}) {
    SCOPED_TRACE(c.what);
    hh::ListHouseholdMigrationsResponse response;
    status =
        ListMigrations(test_support::kTaiyuanHouseholdOffice, p.resident_id, c.page_size, c.token, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_EQ(BadRequestFieldOf(status), c.field) << Describe(status);
  }
}

// ------------------------------------------------------------------------------------------------
// Pension transfer: start, get, list

TEST_F(TransferServicesTest, StartPensionTransferAnswersAppliedAndTheWorkflowMovesMonthsAndFunds) {
  const SyntheticPerson& p = PaidPensionOnlyIn(City::CITY_XINZHOU);
  const int months = PensionMonthsIn(City::CITY_XINZHOU, p);
  ASSERT_GT(months, 0);
  std::vector<social::v1::ContributionEntry> before;
  for (const auto& m : fakes_[City::CITY_XINZHOU]->records().Contributions(p)) {
    if (m.kind_code == "110") before.push_back(mock_city::ToPensionEntry(m));
  }
  const transfers::PensionFunds funds = transfers::ComputePensionFunds(before);

  fakes_[City::CITY_TAIYUAN]->FailAlways("apply", absl::UnavailableError("city taiyuan: down"));
  so::StartPensionTransferResponse started;
  grpc::Status status = StartTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, City::CITY_XINZHOU,
                                      City::CITY_TAIYUAN, &started);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const so::PensionTransfer& t = started.transfer();
  EXPECT_THAT(t.transfer_id(), StartsWith("wf-"));
  EXPECT_EQ(t.resident_id(), p.resident_id);
  EXPECT_EQ(t.origin_city().city(), City::CITY_XINZHOU);
  EXPECT_EQ(t.destination_city().city(), City::CITY_TAIYUAN);
  EXPECT_EQ(t.state(), so::TRANSFER_STATE_APPLIED);
  EXPECT_THAT(t.status(), ::testing::AnyOf(common::v1::WORKFLOW_STATUS_RUNNING,
                                           common::v1::WORKFLOW_STATUS_WAITING_RETRY));
  accesslog::AccessRecord record = harness_->access_log().last();
  EXPECT_EQ(record.method, "/interop.social.v1.PensionTransferService/StartPensionTransfer");
  EXPECT_THAT(record.cities_consulted, ::testing::ElementsAre("xinzhou", "taiyuan"));

  fakes_[City::CITY_TAIYUAN]->FailAlways("apply", absl::OkStatus());
  EXPECT_EQ(RunToEnd(t.transfer_id()).instance.status, workflow::WorkflowStatus::kSucceeded);
  so::GetPensionTransferResponse got;
  status = GetTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, t.transfer_id(), &got);
  ASSERT_TRUE(status.ok()) << Describe(status);
  const so::PensionTransfer& done = got.transfer();
  EXPECT_EQ(done.state(), so::TRANSFER_STATE_CONFIRMED);
  EXPECT_EQ(done.status(), common::v1::WORKFLOW_STATUS_SUCCEEDED);
  EXPECT_FALSE(done.application_number().empty());
  EXPECT_FALSE(done.letter_number().empty());
  EXPECT_EQ(done.months_transferred(), months);
  EXPECT_EQ(done.personal_account().fen(), funds.personal_contributions_fen);
  EXPECT_EQ(done.pooled_fund().fen(), funds.pooled_fund_fen);
  EXPECT_FALSE(done.funds_in_flight());
  EXPECT_TRUE(done.applicant_notified());
  int sheet_months = 0;
  for (const so::SheetYear& year : done.sheet()) sheet_months += year.months();
  EXPECT_EQ(sheet_months, months);
  // Months conserved: all of them now in Taiyuan, none left in Xinzhou.
  EXPECT_EQ(PensionMonthsIn(City::CITY_XINZHOU, p), 0);
  EXPECT_EQ(PensionMonthsIn(City::CITY_TAIYUAN, p), months);
}

TEST_F(TransferServicesTest, StartPensionTransferNamesEveryInvalidField) {
  const SyntheticPerson& p = PaidPensionOnlyIn(City::CITY_XINZHOU);
  struct Case {
    std::string what;
    std::string resident_id;
    int origin;
    int destination;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"no person", "", City::CITY_XINZHOU, City::CITY_TAIYUAN, "person.resident_id"},
      {"no origin", p.resident_id, City::CITY_UNSPECIFIED, City::CITY_TAIYUAN, "origin_city"},
      {"unknown origin", p.resident_id, 9, City::CITY_TAIYUAN, "origin_city"},
      {"no destination", p.resident_id, City::CITY_XINZHOU, City::CITY_UNSPECIFIED, "destination_city"},
      {"unknown destination", p.resident_id, City::CITY_XINZHOU, -1, "destination_city"},
      {"destination is the origin", p.resident_id, City::CITY_XINZHOU, City::CITY_XINZHOU,
       "destination_city"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    so::StartPensionTransferResponse response;
    grpc::Status status =
        StartTransfer(test_support::kTaiyuanSocialSecurity, c.resident_id, static_cast<City>(c.origin),
                      static_cast<City>(c.destination), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_EQ(BadRequestFieldOf(status), c.field) << Describe(status);
    EXPECT_THAT(status.error_message(), StartsWith(c.field + ":"));
  }
  EXPECT_EQ(WorkflowCount(), 0);
  EXPECT_EQ(harness_->access_log().records().size(), cases.size());
}

TEST_F(TransferServicesTest, ASecondTransferOfThePersonIsRefusedWhileOneIsUnfinished) {
  const SyntheticPerson& p = PaidPensionOnlyIn(City::CITY_XINZHOU);
  fakes_[City::CITY_XINZHOU]->FailAlways("prepare", absl::UnavailableError("city xinzhou: down"));
  so::StartPensionTransferResponse first;
  ASSERT_TRUE(StartTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, City::CITY_XINZHOU,
                            City::CITY_TAIYUAN, &first)
                  .ok());
  so::StartPensionTransferResponse second;
  grpc::Status status = StartTransfer(test_support::kLvliangSocialSecurity, p.resident_id, City::CITY_XINZHOU,
                                      City::CITY_LVLIANG, &second);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS) << Describe(status);
  EXPECT_THAT(status.error_message(), HasSubstr(first.transfer().transfer_id()));
  EXPECT_EQ(WorkflowCount(), 1);
}

TEST_F(TransferServicesTest, ARejectedTransferShowsTheReasonAndChangesNothing) {
  const SyntheticPerson& p = PaidPensionOnlyIn(City::CITY_XINZHOU);
  so::StartPensionTransferResponse started;
  // Lvliang holds no pension record of the person.
  ASSERT_TRUE(StartTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, City::CITY_LVLIANG,
                            City::CITY_TAIYUAN, &started)
                  .ok());
  EXPECT_EQ(RunToEnd(started.transfer().transfer_id()).instance.status, workflow::WorkflowStatus::kRejected);
  so::GetPensionTransferResponse got;
  ASSERT_TRUE(
      GetTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, started.transfer().transfer_id(), &got)
          .ok());
  EXPECT_EQ(got.transfer().state(), so::TRANSFER_STATE_REJECTED);
  EXPECT_EQ(got.transfer().status(), common::v1::WORKFLOW_STATUS_REJECTED);
  EXPECT_THAT(got.transfer().reason(), HasSubstr("lvliang"));
  EXPECT_EQ(fakes_[City::CITY_LVLIANG]->applied("complete"), 0);
  EXPECT_EQ(fakes_[City::CITY_TAIYUAN]->applied("confirm"), 0);
}

TEST_F(TransferServicesTest, GetAndListPensionTransfersRefusalsAndPaging) {
  const SyntheticPerson& p = PaidPensionOnlyIn(City::CITY_XINZHOU);
  const SyntheticPerson& other = PaidPensionOnlyIn(City::CITY_XINZHOU, 1);
  // Three transfers from a city without the person's record: each is rejected, and the next may start.
  std::vector<std::string> ids;
  for (City origin : {City::CITY_LVLIANG, City::CITY_JINZHONG, City::CITY_YANGQUAN}) {
    so::StartPensionTransferResponse started;
    grpc::Status status = StartTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, origin,
                                        City::CITY_TAIYUAN, &started);
    ASSERT_TRUE(status.ok()) << Describe(status);
    ids.push_back(started.transfer().transfer_id());
    ASSERT_EQ(RunToEnd(ids.back()).instance.status, workflow::WorkflowStatus::kRejected);
    harness_->clock().Advance(absl::Minutes(1));
  }
  so::ListPensionTransfersResponse page;
  grpc::Status status = ListTransfers(test_support::kTaiyuanSocialSecurity, p.resident_id, 2, "", &page);
  ASSERT_TRUE(status.ok()) << Describe(status);
  ASSERT_EQ(page.transfers_size(), 2);
  EXPECT_EQ(page.transfers(0).transfer_id(), ids[0]);
  EXPECT_EQ(page.transfers(1).transfer_id(), ids[1]);
  EXPECT_EQ(page.transfers(0).origin_city().city(), City::CITY_LVLIANG);
  ASSERT_FALSE(page.next_page_token().empty());
  so::ListPensionTransfersResponse rest;
  ASSERT_TRUE(
      ListTransfers(test_support::kTaiyuanSocialSecurity, p.resident_id, 2, page.next_page_token(), &rest)
          .ok());
  ASSERT_EQ(rest.transfers_size(), 1);
  EXPECT_EQ(rest.transfers(0).transfer_id(), ids[2]);
  EXPECT_TRUE(rest.next_page_token().empty());
  so::ListPensionTransfersResponse none;
  ASSERT_TRUE(ListTransfers(test_support::kTaiyuanSocialSecurity, other.resident_id, 0, "", &none).ok());
  EXPECT_EQ(none.transfers_size(), 0);
  for (int page_size : {-1, 501}) {
    so::ListPensionTransfersResponse response;
    status = ListTransfers(test_support::kTaiyuanSocialSecurity, p.resident_id, page_size, "", &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_EQ(BadRequestFieldOf(status), "page_size");
  }
  so::ListPensionTransfersResponse response;
  status = ListTransfers(test_support::kTaiyuanSocialSecurity, p.resident_id, 2, "garbage", &response);
  EXPECT_EQ(BadRequestFieldOf(status), "page_token") << Describe(status);

  so::GetPensionTransferResponse got;
  for (const std::string& id : {std::string(), std::string("a/b"), std::string(65, 'x')}) {
    status = GetTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, id, &got);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
    EXPECT_EQ(BadRequestFieldOf(status), "transfer_id");
  }
  status = GetTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, "wf-unknown", &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  status = GetTransfer(test_support::kTaiyuanSocialSecurity, other.resident_id, ids[0], &got);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(status);
  status = GetTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, ids[0], &got);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_GE(got.transfer().history_size(), 3);  // created, advanced..., advanced to rejected
}

// ------------------------------------------------------------------------------------------------
// Who may call what

TEST_F(TransferServicesTest, OnlyTheRolesAndPurposesOfThePolicyMayCall) {
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU);
  const SyntheticPerson& other = RegisteredIn(City::CITY_XINZHOU, 1);
  fakes_[City::CITY_TAIYUAN]->FailAlways("permit", absl::UnavailableError("city taiyuan: down"));
  fakes_[City::CITY_TAIYUAN]->FailAlways("apply", absl::UnavailableError("city taiyuan: down"));

  // Starting a migration: household offices, for household administration.
  struct Start {
    std::string who;
    std::string caller;
    common::v1::Purpose purpose;
    std::string reason;
  };
  for (const Start& c : std::vector<Start>{
           {"hospital", test_support::kTaiyuanHospital, common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION,
            "ROLE_NOT_ALLOWED"},
           {"social-security bureau", test_support::kTaiyuanSocialSecurity,
            common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION, "ROLE_NOT_ALLOWED"},
           {"citizen portal", test_support::kCitizenPortal, common::v1::PURPOSE_CITIZEN_SELF_SERVICE,
            "ROLE_NOT_ALLOWED"},
           {"operator", test_support::kOperator, common::v1::PURPOSE_AUDIT, "ROLE_NOT_ALLOWED"},
           {"household office auditing", test_support::kTaiyuanHouseholdOffice, common::v1::PURPOSE_AUDIT,
            "PURPOSE_NOT_ALLOWED"},
           {"household office without a purpose", test_support::kTaiyuanHouseholdOffice,
            common::v1::PURPOSE_UNSPECIFIED, "PURPOSE_MISSING"},
       }) {
    SCOPED_TRACE(c.who);
    hh::StartHouseholdMigrationResponse response;
    grpc::Status status =
        StartMigration(c.caller, p.resident_id, City::CITY_TAIYUAN, "140105", &response, c.purpose);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(status);
    EXPECT_EQ(ReasonOf(status), c.reason) << Describe(status);
    EXPECT_EQ(harness_->access_log().last().result_reason, c.reason);
  }
  // Starting a transfer: social-security bureaus, for social-insurance administration.
  for (const Start& c : std::vector<Start>{
           {"household office", test_support::kTaiyuanHouseholdOffice,
            common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION, "ROLE_NOT_ALLOWED"},
           {"medical-insurance bureau", test_support::kTaiyuanMedicalBureau,
            common::v1::PURPOSE_SOCIAL_INSURANCE_ADMINISTRATION, "ROLE_NOT_ALLOWED"},
           {"citizen portal", test_support::kCitizenPortal, common::v1::PURPOSE_CITIZEN_SELF_SERVICE,
            "ROLE_NOT_ALLOWED"},
           {"bureau for another purpose", test_support::kTaiyuanSocialSecurity,
            common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION, "PURPOSE_NOT_ALLOWED"},
       }) {
    SCOPED_TRACE(c.who);
    so::StartPensionTransferResponse response;
    grpc::Status status =
        StartTransfer(c.caller, p.resident_id, City::CITY_XINZHOU, City::CITY_TAIYUAN, &response, c.purpose);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(status);
    EXPECT_EQ(ReasonOf(status), c.reason) << Describe(status);
  }
  EXPECT_EQ(WorkflowCount(), 0);

  // The caller's city decides too: the person applies in the city they move to. A household office
  // of a third city may not start a Xinzhou -> Taiyuan migration, nor a Lvliang bureau a
  // Xinzhou -> Taiyuan transfer; Taiyuan's may.
  hh::StartHouseholdMigrationResponse migration;
  grpc::Status status = StartMigration("interop://jinzhong/household-office/HO140702", p.resident_id,
                                       City::CITY_TAIYUAN, "140105", &migration);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(status);
  EXPECT_EQ(ReasonOf(status), "NOT_THE_DESTINATION_CITY") << Describe(status);
  EXPECT_EQ(BadRequestFieldOf(status), "destination_city") << Describe(status);
  so::StartPensionTransferResponse transfer;
  status = StartTransfer(test_support::kLvliangSocialSecurity, p.resident_id, City::CITY_XINZHOU,
                         City::CITY_TAIYUAN, &transfer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(status);
  EXPECT_EQ(ReasonOf(status), "NOT_THE_DESTINATION_CITY") << Describe(status);
  EXPECT_EQ(BadRequestFieldOf(status), "destination_city") << Describe(status);
  EXPECT_EQ(WorkflowCount(), 0);
  status = StartMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, City::CITY_TAIYUAN, "140105",
                          &migration);
  ASSERT_TRUE(status.ok()) << Describe(status);
  status = StartTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, City::CITY_XINZHOU,
                         City::CITY_TAIYUAN, &transfer);
  ASSERT_TRUE(status.ok()) << Describe(status);

  // Reading: the office for audit too; the citizen portal only for the citizen it acts for.
  hh::GetHouseholdMigrationResponse got;
  status = GetMigration(test_support::kXinzhouHouseholdOffice, p.resident_id,
                        migration.migration().migration_id(), &got, Access(common::v1::PURPOSE_AUDIT));
  EXPECT_TRUE(status.ok()) << Describe(status);
  status = GetMigration(test_support::kCitizenPortal, p.resident_id, migration.migration().migration_id(),
                        &got, Access(common::v1::PURPOSE_CITIZEN_SELF_SERVICE, p.resident_id));
  EXPECT_TRUE(status.ok()) << Describe(status);
  status = GetMigration(test_support::kCitizenPortal, p.resident_id, migration.migration().migration_id(),
                        &got, Access(common::v1::PURPOSE_CITIZEN_SELF_SERVICE, other.resident_id));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(status);
  EXPECT_EQ(ReasonOf(status), "NOT_OWN_RECORD");
  status = GetMigration(test_support::kCitizenPortal, p.resident_id, migration.migration().migration_id(),
                        &got, Access(common::v1::PURPOSE_CITIZEN_SELF_SERVICE));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(status);
  EXPECT_EQ(BadRequestFieldOf(status), "access.on_behalf_of_resident_id");
  status = GetMigration(test_support::kTaiyuanHospital, p.resident_id, migration.migration().migration_id(),
                        &got, Access(common::v1::PURPOSE_TREATMENT));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(status);
  hh::ListHouseholdMigrationsResponse listed;
  status = ListMigrations(test_support::kCitizenPortal, p.resident_id, 0, "", &listed,
                          Access(common::v1::PURPOSE_CITIZEN_SELF_SERVICE, p.resident_id));
  EXPECT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(listed.migrations_size(), 1);
  // A household office does not read pension transfers; the portal reads the citizen's own.
  so::GetPensionTransferResponse got_transfer;
  status =
      GetTransfer(test_support::kTaiyuanHouseholdOffice, p.resident_id, transfer.transfer().transfer_id(),
                  &got_transfer, Access(common::v1::PURPOSE_HOUSEHOLD_ADMINISTRATION));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << Describe(status);
  status = GetTransfer(test_support::kCitizenPortal, p.resident_id, transfer.transfer().transfer_id(),
                       &got_transfer, Access(common::v1::PURPOSE_CITIZEN_SELF_SERVICE, p.resident_id));
  EXPECT_TRUE(status.ok()) << Describe(status);
  so::ListPensionTransfersResponse listed_transfers;
  status = ListTransfers(test_support::kCitizenPortal, p.resident_id, 0, "", &listed_transfers,
                         Access(common::v1::PURPOSE_CITIZEN_SELF_SERVICE, other.resident_id));
  EXPECT_EQ(ReasonOf(status), "NOT_OWN_RECORD") << Describe(status);

  // Every call, allowed or refused, left exactly one access record.
  EXPECT_EQ(harness_->access_log().records().size(), 6u + 4u + 2u + 2u + 6u + 3u);
}

// ------------------------------------------------------------------------------------------------
// Time: the timeout path, and the point of no return, with the clock moved by hand

TEST_F(TransferServicesTest, AMigrationWhoseDestinationStaysDownTimesOutBeforeAnythingChanged) {
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU);
  fakes_[City::CITY_TAIYUAN]->FailAlways("permit", absl::UnavailableError("city taiyuan: down"));
  hh::StartHouseholdMigrationResponse started;
  ASSERT_TRUE(StartMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, City::CITY_TAIYUAN,
                             "140105", &started)
                  .ok());
  const std::string id = started.migration().migration_id();
  engine_->WaitIdle(absl::Seconds(10));
  EXPECT_EQ(Instance(id).status, workflow::WorkflowStatus::kWaitingRetry);
  AdvanceAndPoll(kTimeout - absl::Minutes(5));
  EXPECT_EQ(Instance(id).status, workflow::WorkflowStatus::kWaitingRetry);  // retried, still in time
  EXPECT_GT(fakes_[City::CITY_TAIYUAN]->calls("permit"), 5);
  AdvanceAndPoll(absl::Minutes(10));
  hh::GetHouseholdMigrationResponse got;
  ASSERT_TRUE(GetMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, id, &got).ok());
  EXPECT_EQ(got.migration().status(), common::v1::WORKFLOW_STATUS_TIMED_OUT);
  EXPECT_EQ(got.migration().state(), hh::MIGRATION_STATE_APPLIED);
  EXPECT_THAT(got.migration().reason(), HasSubstr("deadline"));
  EXPECT_THAT(got.migration().reason(), HasSubstr("city taiyuan: down"));
  // Nothing changed: still registered in Xinzhou only; and the person is free for a new migration.
  EXPECT_TRUE(fakes_[City::CITY_XINZHOU]->records().Registration(p).has_value());
  EXPECT_FALSE(fakes_[City::CITY_TAIYUAN]->records().Registration(p).has_value());
  EXPECT_EQ(fakes_[City::CITY_TAIYUAN]->applied("permit"), 0);
  fakes_[City::CITY_TAIYUAN]->FailAlways("permit", absl::OkStatus());
  hh::StartHouseholdMigrationResponse again;
  grpc::Status status = StartMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id,
                                       City::CITY_TAIYUAN, "140105", &again);
  ASSERT_TRUE(status.ok()) << Describe(status);
  EXPECT_EQ(RunToEnd(again.migration().migration_id()).instance.status, workflow::WorkflowStatus::kSucceeded);
}

TEST_F(TransferServicesTest, PastThePointOfNoReturnAWorkflowWaitsForItsCityBeyondTheDeadline) {
  const SyntheticPerson& p =
      transfers::test_support::RegisteredAndPaidPensionOnlyIn(*population_, City::CITY_XINZHOU);
  const int months = PensionMonthsIn(City::CITY_XINZHOU, p);
  // Taiyuan settles nobody in and confirms no transfer for three hours (the timeout is one).
  fakes_[City::CITY_TAIYUAN]->FailAlways("settle_in", absl::UnavailableError("city taiyuan: down"));
  fakes_[City::CITY_TAIYUAN]->FailAlways("confirm", absl::UnavailableError("city taiyuan: down"));
  hh::StartHouseholdMigrationResponse migration;
  ASSERT_TRUE(StartMigration(test_support::kTaiyuanHouseholdOffice, p.resident_id, City::CITY_TAIYUAN,
                             "140105", &migration)
                  .ok());
  // A transfer of the same person runs alongside (another kind of workflow).
  so::StartPensionTransferResponse transfer;
  grpc::Status status = StartTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id, City::CITY_XINZHOU,
                                      City::CITY_TAIYUAN, &transfer);
  ASSERT_TRUE(status.ok()) << Describe(status);
  AdvanceAndPoll(absl::Hours(3), absl::Minutes(2));
  const workflow::WorkflowInstance m = Instance(migration.migration().migration_id());
  const workflow::WorkflowInstance t = Instance(transfer.transfer().transfer_id());
  EXPECT_EQ(m.state, "moved_out");
  EXPECT_EQ(m.status, workflow::WorkflowStatus::kWaitingRetry);
  EXPECT_EQ(t.state, "transferred_out");
  EXPECT_EQ(t.status, workflow::WorkflowStatus::kWaitingRetry);
  // Meanwhile: registered nowhere, with this migration in flight; the funds held by the transfer.
  EXPECT_FALSE(fakes_[City::CITY_XINZHOU]->records().Registration(p).has_value());
  EXPECT_FALSE(fakes_[City::CITY_TAIYUAN]->records().Registration(p).has_value());
  so::GetPensionTransferResponse in_flight;
  ASSERT_TRUE(GetTransfer(test_support::kTaiyuanSocialSecurity, p.resident_id,
                          transfer.transfer().transfer_id(), &in_flight)
                  .ok());
  EXPECT_TRUE(in_flight.transfer().funds_in_flight());
  EXPECT_EQ(in_flight.transfer().state(), so::TRANSFER_STATE_TRANSFERRED_OUT);
  EXPECT_EQ(PensionMonthsIn(City::CITY_XINZHOU, p) + PensionMonthsIn(City::CITY_TAIYUAN, p), 0);
  EXPECT_EQ(in_flight.transfer().months_transferred(), months);

  fakes_[City::CITY_TAIYUAN]->FailAlways("settle_in", absl::OkStatus());
  fakes_[City::CITY_TAIYUAN]->FailAlways("confirm", absl::OkStatus());
  EXPECT_EQ(RunToEnd(migration.migration().migration_id()).instance.status,
            workflow::WorkflowStatus::kSucceeded);
  EXPECT_EQ(RunToEnd(transfer.transfer().transfer_id()).instance.status,
            workflow::WorkflowStatus::kSucceeded);
  EXPECT_TRUE(fakes_[City::CITY_TAIYUAN]->records().Registration(p).has_value());
  EXPECT_EQ(PensionMonthsIn(City::CITY_TAIYUAN, p), months);
  EXPECT_EQ(fakes_[City::CITY_TAIYUAN]->applied("settle_in"), 1);
  EXPECT_EQ(fakes_[City::CITY_TAIYUAN]->applied("confirm"), 1);
}

}  // namespace
}  // namespace interop::services
