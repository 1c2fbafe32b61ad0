// The household migration and pension transfer definitions (gateway/transfers/transfer_workflows.h)
// on the workflow engine, against fake cities: CityAdapters answering from MockMobilityRecords (the
// mock cities' records, in canonical terms) that count what each city applied
// (fake_mobility_city.h). Happy paths, a refusal ending REJECTED, a crash (the hook abandons the run
// as a killed process would) at every step boundary, after which a new engine on the same store
// finishes with each effect applied once, and one person's workflows: a migration and a transfer run
// side by side, a second of the same kind is refused (docs/WORKFLOWS.md, "One person, two
// workflows").
#include "gateway/transfers/transfer_workflows.h"

#include <map>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/transfers/fake_mobility_city.h"
#include "tools/mock_city/mobility_records.h"

namespace interop::transfers {
namespace {

using mock_city::MockMobilityRecords;
using mock_city::Population;
using mock_city::SyntheticPerson;

using test_support::FakeMobilityCity;
using FakeCity = FakeMobilityCity;

class TransferWorkflowsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mock_city::PopulationOptions options;
    options.persons_per_issuing_city = 300;
    population_ = new Population(Population::Generate(options));
  }

  void SetUp() override {
    std::vector<std::unique_ptr<adapters::CityAdapter>> adapters;
    for (City city : {City::CITY_TAIYUAN, City::CITY_XINZHOU}) {
      auto fake = std::make_unique<FakeCity>(*population_, city);
      fakes_[city] = fake.get();
      adapters.push_back(std::move(fake));
    }
    cities_ = std::make_unique<router::CityDirectory>(std::move(adapters));
    auto store = workflow::OpenSqliteWorkflowStore(":memory:");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
  }

  std::unique_ptr<workflow::WorkflowEngine> NewEngine(workflow::StepHook hook = nullptr) {
    workflow::WorkflowEngineOptions options;
    options.replica_id = "test";
    options.hook = std::move(hook);
    // Retries (a city that is down) come quickly; nothing else depends on the backoff.
    options.backoff.base = absl::Milliseconds(10);
    options.backoff.max = absl::Milliseconds(50);
    auto engine = std::make_unique<workflow::WorkflowEngine>(*store_, Clock::Real(), options);
    EXPECT_TRUE(engine->Register(HouseholdMigrationDefinition(*cities_, {})).ok());
    EXPECT_TRUE(engine->Register(PensionTransferDefinition(*cities_, {})).ok());
    return engine;
  }

  // Runs until the workflow ends (or `engine` stops making progress).
  workflow::WorkflowRecord RunToEnd(workflow::WorkflowEngine& engine, const std::string& id) {
    for (int i = 0; i < 200; ++i) {
      engine.WaitIdle(absl::Seconds(5));
      absl::StatusOr<workflow::WorkflowRecord> record = store_->Get(id);
      EXPECT_TRUE(record.ok());
      if (workflow::IsFinal(record->instance.status)) return *record;
      (void)engine.Poll();
      absl::SleepFor(absl::Milliseconds(5));
    }
    return *store_->Get(id);
  }

  const SyntheticPerson& RegisteredIn(City city, int skip = 0) {
    return test_support::RegisteredIn(*population_, city, skip);
  }

  const SyntheticPerson& PaidPensionOnlyIn(City city, int skip = 0) {
    return test_support::PaidPensionOnlyIn(*population_, city, skip);
  }

  // Waits (real time, polling the engine) until the workflow is in `state`, or ended.
  workflow::WorkflowInstance WaitForState(workflow::WorkflowEngine& engine, const std::string& id,
                                          const std::string& state) {
    for (int i = 0; i < 400; ++i) {
      absl::StatusOr<workflow::WorkflowRecord> record = store_->Get(id);
      EXPECT_TRUE(record.ok());
      if (record->instance.state == state || workflow::IsFinal(record->instance.status)) return record->instance;
      (void)engine.Poll();
      absl::SleepFor(absl::Milliseconds(5));
    }
    return store_->Get(id)->instance;
  }

  int PensionMonthsIn(City city, const SyntheticPerson& p) {
    int months = 0;
    for (const auto& m : fakes_[city]->records().Contributions(p)) months += m.kind_code == "110";
    return months;
  }

  static Population* population_;
  std::map<City, FakeCity*> fakes_;
  std::unique_ptr<router::CityDirectory> cities_;
  std::unique_ptr<workflow::WorkflowStore> store_;
};

Population* TransferWorkflowsTest::population_ = nullptr;

TEST_F(TransferWorkflowsTest, HouseholdMigrationSettlesThePersonAtTheDestination) {
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU);
  auto engine = NewEngine();
  absl::StatusOr<std::string> id = engine->StartWorkflow(
      NewHouseholdMigration(p.resident_id, p.name, City::CITY_XINZHOU, City::CITY_TAIYUAN, "140105", absl::Hours(1)));
  ASSERT_TRUE(id.ok()) << id.status();
  workflow::WorkflowRecord record = RunToEnd(*engine, *id);
  EXPECT_EQ(record.instance.status, workflow::WorkflowStatus::kSucceeded) << record.instance.reason;
  EXPECT_EQ(record.instance.state, "settled");
  EXPECT_FALSE(fakes_[City::CITY_XINZHOU]->records().Registration(p).has_value());
  ASSERT_TRUE(fakes_[City::CITY_TAIYUAN]->records().Registration(p).has_value());
  EXPECT_EQ(fakes_[City::CITY_TAIYUAN]->records().Registration(p)->address_code, "140105");
  absl::StatusOr<household::v1::HouseholdMigration> view = MigrationView(record.instance, &record.history);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state(), household::v1::MIGRATION_STATE_SETTLED);
  EXPECT_EQ(view->status(), common::v1::WORKFLOW_STATUS_SUCCEEDED);
  EXPECT_FALSE(view->permit_number().empty());
  // A second migration of the same person is refused while one runs; after it ended, it is free.
  EXPECT_EQ(store_->List({}).value().instances.size(), 1u);
}

TEST_F(TransferWorkflowsTest, HouseholdMigrationIsRejectedWhenTheOriginDoesNotRegisterThePerson) {
  const SyntheticPerson& p = RegisteredIn(City::CITY_TAIYUAN);  // not in Xinzhou
  auto engine = NewEngine();
  absl::StatusOr<std::string> id = engine->StartWorkflow(
      NewHouseholdMigration(p.resident_id, p.name, City::CITY_XINZHOU, City::CITY_TAIYUAN, "140105", absl::Hours(1)));
  ASSERT_TRUE(id.ok());
  workflow::WorkflowRecord record = RunToEnd(*engine, *id);
  // Taiyuan refuses the permit: the person is registered there already.
  EXPECT_EQ(record.instance.status, workflow::WorkflowStatus::kRejected);
  EXPECT_THAT(record.instance.reason, ::testing::HasSubstr("registered in taiyuan already"));
}

TEST_F(TransferWorkflowsTest, PensionTransferMovesMonthsAndFundsOnce) {
  const SyntheticPerson& p = PaidPensionOnlyIn(City::CITY_XINZHOU);
  ASSERT_EQ(p.employment.size(), 1u);
  const int months_before = static_cast<int>(fakes_[City::CITY_XINZHOU]->records().Contributions(p).size());
  auto engine = NewEngine();
  absl::StatusOr<std::string> id =
      engine->StartWorkflow(NewPensionTransfer(p.resident_id, City::CITY_XINZHOU, City::CITY_TAIYUAN, absl::Hours(1)));
  ASSERT_TRUE(id.ok());
  workflow::WorkflowRecord record = RunToEnd(*engine, *id);
  EXPECT_EQ(record.instance.status, workflow::WorkflowStatus::kSucceeded) << record.instance.reason;
  absl::StatusOr<social::v1::PensionTransfer> view = TransferView(record.instance, &record.history);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->state(), social::v1::TRANSFER_STATE_CONFIRMED);
  EXPECT_GT(view->months_transferred(), 0);
  int pension_at_origin = 0;
  for (const auto& m : fakes_[City::CITY_XINZHOU]->records().Contributions(p)) pension_at_origin += m.kind_code == "110";
  EXPECT_EQ(pension_at_origin, 0);
  int pension_at_destination = 0;
  for (const auto& m : fakes_[City::CITY_TAIYUAN]->records().Contributions(p)) pension_at_destination += m.kind_code == "110";
  EXPECT_EQ(pension_at_destination, view->months_transferred());
  EXPECT_LT(static_cast<int>(fakes_[City::CITY_XINZHOU]->records().Contributions(p).size()), months_before);
}

TEST_F(TransferWorkflowsTest, PensionTransferIsRejectedWithoutAPensionRecordAtTheOrigin) {
  const SyntheticPerson& p = PaidPensionOnlyIn(City::CITY_XINZHOU);
  auto engine = NewEngine();
  absl::StatusOr<std::string> id =
      engine->StartWorkflow(NewPensionTransfer(p.resident_id, City::CITY_TAIYUAN, City::CITY_XINZHOU, absl::Hours(1)));
  ASSERT_TRUE(id.ok());
  workflow::WorkflowRecord record = RunToEnd(*engine, *id);
  EXPECT_EQ(record.instance.status, workflow::WorkflowStatus::kRejected);
  EXPECT_THAT(record.instance.reason, ::testing::HasSubstr("no pension record in taiyuan"));
  EXPECT_EQ(fakes_[City::CITY_TAIYUAN]->applied("complete"), 0);
}

// A crash at every boundary of every step: each effect is applied exactly once.
TEST_F(TransferWorkflowsTest, BothWorkflowsFinishAfterACrashAtEveryStepBoundaryApplyingEachEffectOnce) {
  struct Case {
    std::string type;
    std::vector<std::string> states;
  };
  const std::vector<Case> cases = {{kHouseholdMigrationType, {"applied", "permit_issued", "moved_out"}},
                                   {kPensionTransferType, {"applied", "letter_sent", "sheet_checked", "transferred_out"}}};
  int n = 0;
  for (const Case& c : cases) {
    for (const std::string& state : c.states) {
      for (workflow::StepBoundary boundary : {workflow::StepBoundary::kBeforeStep, workflow::StepBoundary::kAfterStep,
                                              workflow::StepBoundary::kAfterCommit}) {
        SCOPED_TRACE(absl::StrCat(c.type, "/", state, "/", workflow::StepBoundaryName(boundary)));
        SetUp();  // fresh cities and store
        const bool household = c.type == kHouseholdMigrationType;
        const SyntheticPerson& p = household ? RegisteredIn(City::CITY_XINZHOU, n) : PaidPensionOnlyIn(City::CITY_XINZHOU, n);
        ++n;
        std::string id;
        {
          auto crashing = NewEngine([&](workflow::StepBoundary b, const workflow::WorkflowInstance& instance) {
            return b == boundary && instance.state == state ? workflow::StepHookAction::Abandon()
                                                            : workflow::StepHookAction::Continue();
          });
          absl::StatusOr<std::string> started =
              crashing->StartWorkflow(household ? NewHouseholdMigration(p.resident_id, p.name, City::CITY_XINZHOU,
                                                                        City::CITY_TAIYUAN, "140105", absl::Hours(1))
                                                : NewPensionTransfer(p.resident_id, City::CITY_XINZHOU,
                                                                     City::CITY_TAIYUAN, absl::Hours(1)));
          ASSERT_TRUE(started.ok()) << started.status();
          id = *started;
          crashing->WaitIdle(absl::Seconds(5));
          for (int i = 0; i < 20; ++i) {
            (void)crashing->Poll();
            crashing->WaitIdle(absl::Seconds(5));
          }
        }
        auto restarted = NewEngine();
        ASSERT_TRUE(restarted->Resume().ok());
        workflow::WorkflowRecord record = RunToEnd(*restarted, id);
        EXPECT_EQ(record.instance.status, workflow::WorkflowStatus::kSucceeded) << record.instance.reason;
        FakeCity& origin = *fakes_[City::CITY_XINZHOU];
        FakeCity& destination = *fakes_[City::CITY_TAIYUAN];
        if (household) {
          EXPECT_EQ(destination.applied("permit"), 1);
          EXPECT_EQ(origin.applied("move_out"), 1);
          EXPECT_EQ(destination.applied("settle_in"), 1);
        } else {
          EXPECT_EQ(destination.applied("apply"), 1);
          EXPECT_EQ(destination.applied("letter"), 1);
          EXPECT_EQ(origin.applied("complete"), 1);
          EXPECT_EQ(destination.applied("confirm"), 1);
        }
      }
    }
  }
}

// Same-person exclusivity across the two kinds (docs/WORKFLOWS.md, "One person, two workflows"): a
// household migration and a pension transfer of one person run side by side, each to its end. The
// migration is held at moved_out (Taiyuan does not settle anyone in) while the whole transfer runs
// and is confirmed; then Taiyuan recovers and the migration settles the person in.
TEST_F(TransferWorkflowsTest, AMigrationAndAPensionTransferOfOnePersonRunSideBySideAndBothFinish) {
  const SyntheticPerson& p = test_support::RegisteredAndPaidPensionOnlyIn(*population_, City::CITY_XINZHOU);
  ASSERT_EQ(p.household.city, City::CITY_XINZHOU);
  ASSERT_TRUE(test_support::PaysPensionOnlyIn(p, City::CITY_XINZHOU));
  const int pension_months_before = PensionMonthsIn(City::CITY_XINZHOU, p);
  ASSERT_GT(pension_months_before, 0);
  FakeCity& xinzhou = *fakes_[City::CITY_XINZHOU];
  FakeCity& taiyuan = *fakes_[City::CITY_TAIYUAN];
  taiyuan.FailAlways("settle_in", absl::UnavailableError("city taiyuan: household system down"));
  auto engine = NewEngine();

  absl::StatusOr<std::string> migration = engine->StartWorkflow(
      NewHouseholdMigration(p.resident_id, p.name, City::CITY_XINZHOU, City::CITY_TAIYUAN, "140105", absl::Hours(1)));
  ASSERT_TRUE(migration.ok()) << migration.status();
  workflow::WorkflowInstance held = WaitForState(*engine, *migration, "moved_out");
  ASSERT_EQ(held.state, "moved_out");
  ASSERT_FALSE(workflow::IsFinal(held.status));

  // The transfer starts although the migration is unfinished (another subject)...
  absl::StatusOr<std::string> transfer =
      engine->StartWorkflow(NewPensionTransfer(p.resident_id, City::CITY_XINZHOU, City::CITY_TAIYUAN, absl::Hours(1)));
  ASSERT_TRUE(transfer.ok()) << transfer.status();
  EXPECT_NE(*transfer, *migration);
  workflow::WorkflowRecord transferred = RunToEnd(*engine, *transfer);
  EXPECT_EQ(transferred.instance.status, workflow::WorkflowStatus::kSucceeded) << transferred.instance.reason;
  EXPECT_EQ(transferred.instance.state, "confirmed");
  // ... and ends while the migration is still in flight: the two overlapped.
  absl::StatusOr<workflow::WorkflowRecord> meanwhile = store_->Get(*migration);
  ASSERT_TRUE(meanwhile.ok());
  EXPECT_EQ(meanwhile->instance.state, "moved_out");
  EXPECT_FALSE(workflow::IsFinal(meanwhile->instance.status));
  EXPECT_GT(taiyuan.calls("settle_in"), 0);

  taiyuan.FailAlways("settle_in", absl::OkStatus());
  workflow::WorkflowRecord settled = RunToEnd(*engine, *migration);
  EXPECT_EQ(settled.instance.status, workflow::WorkflowStatus::kSucceeded) << settled.instance.reason;
  EXPECT_EQ(settled.instance.state, "settled");

  // Both moved, each effect once: registered in Taiyuan only; every pension month moved with it.
  EXPECT_FALSE(xinzhou.records().Registration(p).has_value());
  ASSERT_TRUE(taiyuan.records().Registration(p).has_value());
  EXPECT_EQ(PensionMonthsIn(City::CITY_XINZHOU, p), 0);
  EXPECT_EQ(PensionMonthsIn(City::CITY_TAIYUAN, p), pension_months_before);
  EXPECT_EQ(taiyuan.applied("permit"), 1);
  EXPECT_EQ(xinzhou.applied("move_out"), 1);
  EXPECT_EQ(taiyuan.applied("settle_in"), 1);
  EXPECT_EQ(taiyuan.applied("apply"), 1);
  EXPECT_EQ(taiyuan.applied("letter"), 1);
  EXPECT_EQ(xinzhou.applied("complete"), 1);
  EXPECT_EQ(taiyuan.applied("confirm"), 1);
}

// Two workflows of the same kind for one person: the second is refused ALREADY_EXISTS (not queued)
// while the first is unfinished, naming the first; once the first ended, the person is free again.
TEST_F(TransferWorkflowsTest, ASecondWorkflowOfTheSameKindForOnePersonIsRefusedWhileTheFirstRuns) {
  const SyntheticPerson& p = test_support::RegisteredAndPaidPensionOnlyIn(*population_, City::CITY_XINZHOU, 1);
  FakeCity& xinzhou = *fakes_[City::CITY_XINZHOU];
  FakeCity& taiyuan = *fakes_[City::CITY_TAIYUAN];
  auto engine = NewEngine();

  // Migrations: the first waits for Taiyuan's permit office.
  taiyuan.FailAlways("permit", absl::UnavailableError("city taiyuan: down"));
  absl::StatusOr<std::string> first = engine->StartWorkflow(
      NewHouseholdMigration(p.resident_id, p.name, City::CITY_XINZHOU, City::CITY_TAIYUAN, "140105", absl::Hours(1)));
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::string> second = engine->StartWorkflow(
      NewHouseholdMigration(p.resident_id, p.name, City::CITY_XINZHOU, City::CITY_TAIYUAN, "140106", absl::Hours(1)));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists) << second.status();
  EXPECT_THAT(second.status().message(), ::testing::HasSubstr(*first));
  EXPECT_THAT(second.status().message(), ::testing::HasSubstr(HouseholdSubject(p.resident_id)));

  // Transfers: the first waits for Xinzhou to prepare the sheet.
  xinzhou.FailAlways("prepare", absl::UnavailableError("city xinzhou: down"));
  absl::StatusOr<std::string> first_transfer =
      engine->StartWorkflow(NewPensionTransfer(p.resident_id, City::CITY_XINZHOU, City::CITY_TAIYUAN, absl::Hours(1)));
  ASSERT_TRUE(first_transfer.ok()) << first_transfer.status();
  absl::StatusOr<std::string> second_transfer =
      engine->StartWorkflow(NewPensionTransfer(p.resident_id, City::CITY_XINZHOU, City::CITY_TAIYUAN, absl::Hours(1)));
  EXPECT_EQ(second_transfer.status().code(), absl::StatusCode::kAlreadyExists) << second_transfer.status();
  EXPECT_THAT(second_transfer.status().message(), ::testing::HasSubstr(*first_transfer));

  // Nothing of the refused ones was stored or sent.
  workflow::WorkflowQuery all;
  EXPECT_EQ(store_->List(all).value().instances.size(), 2u);

  // The cities recover; both first workflows finish; then the same kind may start again.
  taiyuan.FailAlways("permit", absl::OkStatus());
  xinzhou.FailAlways("prepare", absl::OkStatus());
  EXPECT_EQ(RunToEnd(*engine, *first).instance.status, workflow::WorkflowStatus::kSucceeded);
  EXPECT_EQ(RunToEnd(*engine, *first_transfer).instance.status, workflow::WorkflowStatus::kSucceeded);
  EXPECT_EQ(taiyuan.applied("permit"), 1);
  EXPECT_EQ(taiyuan.applied("confirm"), 1);
  absl::StatusOr<std::string> back = engine->StartWorkflow(
      NewHouseholdMigration(p.resident_id, p.name, City::CITY_TAIYUAN, City::CITY_XINZHOU, "140902", absl::Hours(1)));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(RunToEnd(*engine, *back).instance.status, workflow::WorkflowStatus::kSucceeded);
  EXPECT_TRUE(xinzhou.records().Registration(p).has_value());
  EXPECT_FALSE(taiyuan.records().Registration(p).has_value());
}

// What every step starts with (parse the data, find the city's adapter): data that is not the
// workflow's ends it FAILED; a city this gateway is not connected to is a refusal before the point
// of no return (rejected) and a failure after it (FAILED, never rejected).
TEST_F(TransferWorkflowsTest, AStepWithoutItsDataOrItsCityEndsAsThePointOfNoReturnSays) {
  auto engine = NewEngine();
  workflow::StartWorkflowRequest garbage = NewPensionTransfer(PaidPensionOnlyIn(City::CITY_XINZHOU).resident_id,
                                                              City::CITY_XINZHOU, City::CITY_TAIYUAN, absl::Hours(1));
  garbage.data = "\xff\xff\xff";
  absl::StatusOr<std::string> id = engine->StartWorkflow(garbage);
  ASSERT_TRUE(id.ok()) << id.status();
  workflow::WorkflowRecord record = RunToEnd(*engine, *id);
  EXPECT_EQ(record.instance.status, workflow::WorkflowStatus::kFailed);
  EXPECT_THAT(record.instance.reason,
              ::testing::HasSubstr("its data is not a interop.transfers.v1.PensionTransferData"));

  // Lüliang is not connected (the fixture connects Taiyuan and Xinzhou): the permit is refused.
  const SyntheticPerson& p = RegisteredIn(City::CITY_XINZHOU, 2);
  id = engine->StartWorkflow(
      NewHouseholdMigration(p.resident_id, p.name, City::CITY_XINZHOU, City::CITY_LVLIANG, "141102", absl::Hours(1)));
  ASSERT_TRUE(id.ok()) << id.status();
  record = RunToEnd(*engine, *id);
  EXPECT_EQ(record.instance.status, workflow::WorkflowStatus::kRejected);
  EXPECT_EQ(record.instance.state, "rejected");
  EXPECT_THAT(record.instance.reason, ::testing::HasSubstr("city lvliang is not connected to this gateway"));

  // Past the point of no return: the migration reached moved_out with Taiyuan connected; a gateway
  // without Taiyuan then cannot settle the person in, and fails rather than rejects.
  const SyntheticPerson& q = RegisteredIn(City::CITY_XINZHOU, 3);
  {
    auto crashing = NewEngine([](workflow::StepBoundary b, const workflow::WorkflowInstance& instance) {
      return b == workflow::StepBoundary::kBeforeStep && instance.state == "moved_out"
                 ? workflow::StepHookAction::Abandon()
                 : workflow::StepHookAction::Continue();
    });
    id = crashing->StartWorkflow(
        NewHouseholdMigration(q.resident_id, q.name, City::CITY_XINZHOU, City::CITY_TAIYUAN, "140105", absl::Hours(1)));
    ASSERT_TRUE(id.ok()) << id.status();
    WaitForState(*crashing, *id, "moved_out");
    crashing->WaitIdle(absl::Seconds(5));
  }
  std::vector<std::unique_ptr<adapters::CityAdapter>> only_xinzhou;
  only_xinzhou.push_back(std::make_unique<FakeCity>(*population_, City::CITY_XINZHOU));
  router::CityDirectory without_taiyuan(std::move(only_xinzhou));
  workflow::WorkflowEngineOptions options;
  options.replica_id = "test";
  workflow::WorkflowEngine restarted(*store_, Clock::Real(), options);
  ASSERT_TRUE(restarted.Register(HouseholdMigrationDefinition(without_taiyuan, {})).ok());
  ASSERT_TRUE(restarted.Register(PensionTransferDefinition(without_taiyuan, {})).ok());
  ASSERT_TRUE(restarted.Resume().ok());
  record = RunToEnd(restarted, *id);
  EXPECT_EQ(record.instance.status, workflow::WorkflowStatus::kFailed);
  EXPECT_EQ(record.instance.state, "moved_out");
  EXPECT_THAT(record.instance.reason, ::testing::HasSubstr("city taiyuan is not connected to this gateway"));
}

}  // namespace
}  // namespace interop::transfers
