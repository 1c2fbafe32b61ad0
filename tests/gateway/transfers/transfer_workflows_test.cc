// The household migration and pension transfer definitions (gateway/transfers/transfer_workflows.h)
// on the workflow engine, against fake cities: CityAdapters answering from MockMobilityRecords (the
// mock cities' records, in canonical terms) that count what each city applied. Happy paths, a
// refusal ending REJECTED, and a crash (the hook abandons the run as a killed process would) at
// every step boundary, after which a new engine on the same store finishes with each effect applied
// once.
#include "gateway/transfers/transfer_workflows.h"

#include <map>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/mock_city/mobility_records.h"

namespace interop::transfers {
namespace {

using adapters::CallOptions;
using adapters::Callback;
using mock_city::MockMobilityRecords;
using mock_city::Population;
using mock_city::SyntheticPerson;

const absl::CivilDay kToday(2026, 6, 30);

class FakeCity final : public adapters::CityAdapter {
 public:
  FakeCity(const Population& population, City city) : population_(population), city_(city), records_(population, city) {}
  City city() const override { return city_; }
  void LocatePerson(const std::string&, const CallOptions&, Callback<adapters::PersonLocation> done) override {
    done(absl::UnimplementedError("fake"));
  }
  void GetInsuranceStatus(const std::string&, const CallOptions&,
                          Callback<medical::v1::GetInsuranceStatusResponse> done) override {
    done(absl::UnimplementedError("fake"));
  }
  void GetMonthlyContributions(const std::string& id, int, int, const CallOptions&,
                               Callback<std::vector<social::v1::ContributionEntry>> done) override {
    std::vector<social::v1::ContributionEntry> out;
    for (const mock_city::ContributionMonth& m : records_.Contributions(*population_.Find(id))) {
      if (m.kind_code == "110") out.push_back(mock_city::ToPensionEntry(m));
    }
    done(std::move(out));
  }
  void GetHouseholdRecord(const std::string&, const CallOptions&,
                          Callback<household::v1::GetHouseholdRecordResponse> done) override {
    done(absl::UnimplementedError("fake"));
  }
  void CheckHealth(const CallOptions&, std::function<void(absl::Status)> done) override { done(absl::OkStatus()); }

  void IssueMoveInPermit(const std::string& key, const std::string& id, City origin, const std::string& address,
                         const CallOptions&, Callback<adapters::MoveInPermit> done) override {
    done(Count("permit", records_.IssueMoveInPermit(key, *population_.Find(id), origin, address, kToday)));
  }
  void RecordMoveOut(const std::string& key, const std::string& id, City destination, const std::string& permit,
                     absl::CivilDay until, const CallOptions&, Callback<adapters::MoveOutRecord> done) override {
    done(Count("move_out", records_.RecordMoveOut(key, *population_.Find(id), destination, permit, until, kToday)));
  }
  void SettleIn(const std::string& key, const std::string& id, const std::string& permit, const std::string& address,
                const std::string&, const CallOptions&, Callback<adapters::SettleInResult> done) override {
    bool replayed = false;
    absl::StatusOr<mock_city::HouseholdRegistration> r =
        records_.SettleIn(key, *population_.Find(id), permit, address, kToday, &replayed);
    if (!r.ok()) return done(r.status());
    adapters::SettleInResult result;
    result.registration.set_address_code(r->address_code);
    result.registration.set_household_number(r->household_number);
    result.replayed = replayed;
    done(Count("settle_in", absl::StatusOr<adapters::SettleInResult>(result)));
  }
  void ApplyPensionTransfer(const std::string& key, const std::string& id, City origin, const CallOptions&,
                            Callback<adapters::PensionApplication> done) override {
    done(Count("apply", records_.ApplyPensionTransfer(key, *population_.Find(id), origin, kToday)));
  }
  void IssueContactLetter(const std::string& key, const std::string& id, const std::string& application,
                          const CallOptions&, Callback<adapters::ContactLetter> done) override {
    done(Count("letter", records_.IssueContactLetter(key, *population_.Find(id), application, kToday)));
  }
  void PreparePensionTransferOut(const std::string& key, const std::string& id, City destination,
                                 const std::string& letter, const CallOptions&,
                                 Callback<adapters::PreparedTransferOut> done) override {
    done(Count("prepare", records_.PreparePensionTransferOut(key, *population_.Find(id), destination, letter)));
  }
  void CompletePensionTransferOut(const std::string& key, const std::string& id, City destination,
                                  const std::string& letter, int64_t personal, int64_t pooled, const CallOptions&,
                                  Callback<adapters::TransferOutCompletion> done) override {
    done(Count("complete", records_.CompletePensionTransferOut(key, *population_.Find(id), destination, letter,
                                                                personal, pooled, kToday)));
  }
  void ConfirmPensionTransferIn(const std::string& key, const std::string& id, const std::string& application,
                                City origin, const adapters::PensionTransferSheet& sheet, const CallOptions&,
                                Callback<adapters::TransferInConfirmation> done) override {
    done(Count("confirm",
               records_.ConfirmPensionTransferIn(key, *population_.Find(id), application, origin, sheet, kToday)));
  }

  // Requests applied (not replayed) by kind.
  int applied(const std::string& what) {
    absl::MutexLock lock(&mu_);
    return applied_[what];
  }
  MockMobilityRecords& records() { return records_; }

 private:
  template <typename T>
  absl::StatusOr<T> Count(const std::string& what, absl::StatusOr<T> result) {
    if (result.ok() && !result->replayed) {
      absl::MutexLock lock(&mu_);
      ++applied_[what];
    }
    return result;
  }

  const Population& population_;
  const City city_;
  MockMobilityRecords records_;
  absl::Mutex mu_;
  std::map<std::string, int> applied_;
};

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
    for (const SyntheticPerson& p : population_->persons()) {
      if (p.household.city == city && skip-- == 0) return p;
    }
    return population_->persons().front();
  }

  const SyntheticPerson& PaidPensionOnlyIn(City city, int skip = 0) {
    for (const SyntheticPerson& p : population_->persons()) {
      if (p.employment.size() == 1 && p.employment[0].city == city &&
          p.employment[0].last_month < absl::CivilMonth(2026, 1) && skip-- == 0) {
        return p;
      }
    }
    return population_->persons().front();
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

}  // namespace
}  // namespace interop::transfers
