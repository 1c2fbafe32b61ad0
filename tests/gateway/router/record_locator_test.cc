// RecordLocator with five fake cities, a real SqliteLocationStore on ":memory:" and a ManualClock.
#include "gateway/router/record_locator.h"

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "gateway/base/cities.h"
#include "gateway/base/clock.h"
#include "gateway/store/sqlite_database.h"
#include "gateway/store/sqlite_location_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::router {
namespace {

using adapters::PersonLocation;
using ::interop::common::v1::City;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Issued in Xinzhou (address code 140902, 忻府区).
constexpr char kXinzhouIssued[] = "14090219880512123X";
// Issued in Taiyuan (140105).
constexpr char kTaiyuanIssued[] = "140105199003071250";

constexpr absl::Duration kTtl = absl::Hours(24);

PersonLocation Holds(bool medical, bool contributions, bool household) {
  PersonLocation l;
  l.found = medical || contributions || household;
  l.holds_medical_enrollment = medical;
  l.holds_contribution_history = contributions;
  l.holds_household_registration = household;
  return l;
}
PersonLocation Unknown() { return PersonLocation(); }

// A city that answers LocatePerson as told: at once with a location, at once with an error, or not
// until Release() (a hung city). Counts the calls. The other methods are not used by the locator.
class FakeCity final : public adapters::CityAdapter {
 public:
  explicit FakeCity(City city) : city_(city) {}
  ~FakeCity() override {
    absl::MutexLock lock(&mu_);
    EXPECT_TRUE(hung_.empty()) << CityName(city_) << " still has unanswered calls";
  }

  void AnswerWith(absl::StatusOr<PersonLocation> answer) {
    absl::MutexLock lock(&mu_);
    answer_ = std::move(answer);
    hang_ = false;
  }
  void Hang() {
    absl::MutexLock lock(&mu_);
    hang_ = true;
  }
  // Answers every hung call with `answer`. Returns how many there were.
  int Release(absl::StatusOr<PersonLocation> answer) {
    std::vector<adapters::Callback<PersonLocation>> hung;
    {
      absl::MutexLock lock(&mu_);
      hung.swap(hung_);
      hang_ = false;
      answer_ = answer;
    }
    for (auto& done : hung) done(answer);
    return static_cast<int>(hung.size());
  }
  int hung_calls() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(hung_.size());
  }
  int calls() const { return calls_.load(); }
  std::string last_resident_id() {
    absl::MutexLock lock(&mu_);
    return last_resident_id_;
  }
  std::string last_request_id() {
    absl::MutexLock lock(&mu_);
    return last_request_id_;
  }

  City city() const override { return city_; }

  void LocatePerson(const std::string& resident_id, const adapters::CallOptions& options,
                    adapters::Callback<PersonLocation> done) override {
    ++calls_;
    absl::StatusOr<PersonLocation> answer;
    {
      absl::MutexLock lock(&mu_);
      last_resident_id_ = resident_id;
      last_request_id_ = options.request_id;
      if (hang_) {
        hung_.push_back(std::move(done));
        return;
      }
      answer = answer_;
    }
    done(answer);
  }
  void GetInsuranceStatus(const std::string&, const adapters::CallOptions&,
                          adapters::Callback<medical::v1::GetInsuranceStatusResponse> done) override {
    done(absl::UnimplementedError("not used by the locator"));
  }
  void GetMonthlyContributions(const std::string&, int, int, const adapters::CallOptions&,
                               adapters::Callback<std::vector<social::v1::ContributionEntry>> done) override {
    done(absl::UnimplementedError("not used by the locator"));
  }
  void GetHouseholdRecord(const std::string&, const adapters::CallOptions&,
                          adapters::Callback<household::v1::GetHouseholdRecordResponse> done) override {
    done(absl::UnimplementedError("not used by the locator"));
  }
  void CheckHealth(const adapters::CallOptions&, std::function<void(absl::Status)> done) override {
    done(absl::OkStatus());
  }

 private:
  const City city_;
  std::atomic<int> calls_{0};
  absl::Mutex mu_;
  absl::StatusOr<PersonLocation> answer_ ABSL_GUARDED_BY(mu_) = Unknown();
  bool hang_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<adapters::Callback<PersonLocation>> hung_ ABSL_GUARDED_BY(mu_);
  std::string last_resident_id_ ABSL_GUARDED_BY(mu_);
  std::string last_request_id_ ABSL_GUARDED_BY(mu_);
};

// The result of one Locate call; counts how often `done` ran (the contract says exactly once).
struct Outcome {
  absl::Notification done;
  std::atomic<int> times_called{0};
  absl::StatusOr<LocateResult> result = absl::UnknownError("not called");

  std::function<void(absl::StatusOr<LocateResult>)> callback() {
    return [this](absl::StatusOr<LocateResult> r) {
      if (++times_called == 1) {
        result = std::move(r);
        done.Notify();
      }
    };
  }
  bool answered() const { return done.HasBeenNotified(); }
};

class RecordLocatorTest : public ::testing::Test {
 protected:
  RecordLocatorTest() : clock_(absl::FromUnixSeconds(1'790'000'000)) {}

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> db =
        store::SqliteDatabase::Open(":memory:", store::GatewaySchemaMigrations());
    ASSERT_TRUE(db.ok()) << db.status();
    database_ = *std::move(db);
    absl::StatusOr<std::unique_ptr<store::SqliteLocationStore>> locations =
        store::SqliteLocationStore::Open(*database_);
    ASSERT_TRUE(locations.ok()) << locations.status();
    locations_ = *std::move(locations);

    std::vector<std::unique_ptr<adapters::CityAdapter>> adapters;
    for (City city : kAllCities) {
      auto fake = std::make_unique<FakeCity>(city);
      fakes_[city] = fake.get();
      adapters.push_back(std::move(fake));
    }
    directory_ = std::make_unique<CityDirectory>(std::move(adapters));
    locator_ = std::make_unique<RecordLocator>(*directory_, *locations_, clock_, kTtl);
  }

  void TearDown() override {
    // No call may dangle past the test: answer whatever is still hung before anything is destroyed.
    for (auto& [city, fake] : fakes_) fake->Release(Unknown());
    locator_.reset();
    directory_.reset();
    locations_.reset();
    database_.reset();
  }

  FakeCity& city(City c) { return *fakes_.at(c); }

  std::map<City, int> CallCounts() {
    std::map<City, int> counts;
    for (auto& [c, fake] : fakes_) counts[c] = fake->calls();
    return counts;
  }
  int TotalCalls() {
    int total = 0;
    for (auto& [c, fake] : fakes_) total += fake->calls();
    return total;
  }

  // Starts a Locate; the outcome may or may not be complete on return.
  void Start(Outcome& outcome, const std::string& id, RecordDomain domain, bool refresh = false,
             adapters::CallOptions options = {}) {
    locator_->Locate(id, domain, refresh, options, outcome.callback());
  }
  // Locate against cities that all answer at once: the outcome must be complete on return.
  absl::StatusOr<LocateResult> LocateNow(const std::string& id, RecordDomain domain, bool refresh = false) {
    Outcome outcome;
    Start(outcome, id, domain, refresh);
    EXPECT_TRUE(outcome.answered()) << "no answer although no city is hanging";
    EXPECT_EQ(outcome.times_called.load(), outcome.answered() ? 1 : 0);
    return outcome.result;
  }

  ManualClock clock_;
  std::unique_ptr<store::SqliteDatabase> database_;
  std::unique_ptr<store::SqliteLocationStore> locations_;
  std::map<City, FakeCity*> fakes_;
  std::unique_ptr<CityDirectory> directory_;
  std::unique_ptr<RecordLocator> locator_;
};

TEST_F(RecordLocatorTest, SingleHolderIsAnsweredByTheCityThatHoldsIt) {
  city(City::CITY_JINZHONG).AnswerWith(Holds(/*medical=*/true, false, false));
  absl::StatusOr<LocateResult> result = LocateNow(kTaiyuanIssued, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->cities, ElementsAre(City::CITY_JINZHONG));
  EXPECT_FALSE(result->from_index);
  for (auto& [c, n] : CallCounts()) EXPECT_EQ(n, 1) << CityName(c);
}

TEST_F(RecordLocatorTest, EveryCityIsAskedWithTheNumberAndRequestId) {
  city(City::CITY_LVLIANG).AnswerWith(Holds(false, false, /*household=*/true));
  Outcome outcome;
  adapters::CallOptions options;
  options.request_id = "req-7";
  Start(outcome, kTaiyuanIssued, RecordDomain::kHouseholdRegistration, false, options);
  ASSERT_TRUE(outcome.answered());
  for (auto& [c, fake] : fakes_) {
    EXPECT_EQ(fake->last_resident_id(), kTaiyuanIssued) << CityName(c);
    EXPECT_EQ(fake->last_request_id(), "req-7") << CityName(c);
  }
}

TEST_F(RecordLocatorTest, SingleHolderIsAnsweredWhileAnotherCityStillHangs) {
  city(City::CITY_TAIYUAN).Hang();
  city(City::CITY_XINZHOU).AnswerWith(Holds(/*medical=*/true, false, false));
  Outcome outcome;
  Start(outcome, kTaiyuanIssued, RecordDomain::kMedicalEnrollment);

  // Taiyuan has not answered, yet the answer is there.
  EXPECT_EQ(city(City::CITY_TAIYUAN).hung_calls(), 1);
  ASSERT_TRUE(outcome.answered());
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  EXPECT_THAT(outcome.result->cities, ElementsAre(City::CITY_XINZHOU));
  EXPECT_FALSE(outcome.result->from_index);

  // Taiyuan answering later does not call `done` again.
  EXPECT_EQ(city(City::CITY_TAIYUAN).Release(Unknown()), 1);
  EXPECT_EQ(outcome.times_called.load(), 1);
}

TEST_F(RecordLocatorTest, HouseholdIsAnsweredWhileAnotherCityStillHangs) {
  city(City::CITY_YANGQUAN).Hang();
  city(City::CITY_LVLIANG).Hang();
  city(City::CITY_JINZHONG).AnswerWith(Holds(false, false, /*household=*/true));
  Outcome outcome;
  Start(outcome, kTaiyuanIssued, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(outcome.answered());
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  EXPECT_THAT(outcome.result->cities, ElementsAre(City::CITY_JINZHONG));
  city(City::CITY_YANGQUAN).Release(absl::UnavailableError("city yangquan did not answer"));
  city(City::CITY_LVLIANG).Release(Unknown());
  EXPECT_EQ(outcome.times_called.load(), 1);
  ASSERT_TRUE(outcome.result.ok());
}

TEST_F(RecordLocatorTest, ContributionHistoryWaitsForEveryCityAndReturnsEveryHolder) {
  city(City::CITY_TAIYUAN).AnswerWith(Holds(false, /*contributions=*/true, false));
  city(City::CITY_LVLIANG).AnswerWith(Holds(true, /*contributions=*/true, true));
  city(City::CITY_JINZHONG).Hang();
  Outcome outcome;
  Start(outcome, kTaiyuanIssued, RecordDomain::kContributionHistory);
  EXPECT_FALSE(outcome.answered()) << "answered before Jinzhong, which may hold part of the history";

  city(City::CITY_JINZHONG).Release(Holds(false, /*contributions=*/true, false));
  ASSERT_TRUE(outcome.answered());
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  EXPECT_THAT(outcome.result->cities, ElementsAre(City::CITY_TAIYUAN, City::CITY_JINZHONG, City::CITY_LVLIANG));
  EXPECT_FALSE(outcome.result->from_index);
  EXPECT_EQ(outcome.times_called.load(), 1);
}

TEST_F(RecordLocatorTest, ContributionHistoryOfOneCity) {
  city(City::CITY_YANGQUAN).AnswerWith(Holds(false, /*contributions=*/true, false));
  absl::StatusOr<LocateResult> result = LocateNow(kTaiyuanIssued, RecordDomain::kContributionHistory);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->cities, ElementsAre(City::CITY_YANGQUAN));
}

TEST_F(RecordLocatorTest, NotFoundOnlyOnceEveryCityAnsweredWithoutHolding) {
  // Lvliang knows the person but holds no medical enrolment; the others do not know them.
  city(City::CITY_LVLIANG).AnswerWith(Holds(false, true, true));
  city(City::CITY_XINZHOU).Hang();
  Outcome outcome;
  Start(outcome, kTaiyuanIssued, RecordDomain::kMedicalEnrollment);
  EXPECT_FALSE(outcome.answered()) << "NOT_FOUND before Xinzhou answered";

  city(City::CITY_XINZHOU).Release(Unknown());
  ASSERT_TRUE(outcome.answered());
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kNotFound) << outcome.result.status();
  EXPECT_THAT(std::string(outcome.result.status().message()), HasSubstr("medical-insurance enrolment"));
}

TEST_F(RecordLocatorTest, NoHolderAndAFailedCityIsUnavailableNamingIt) {
  city(City::CITY_YANGQUAN).AnswerWith(absl::UnavailableError("city yangquan is unavailable: connection refused"));
  absl::StatusOr<LocateResult> result = LocateNow(kTaiyuanIssued, RecordDomain::kHouseholdRegistration);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  const std::string message(result.status().message());
  EXPECT_THAT(message, HasSubstr("yangquan"));
  EXPECT_THAT(message, Not(HasSubstr("taiyuan")));
  EXPECT_THAT(message, Not(HasSubstr("lvliang")));
}

TEST_F(RecordLocatorTest, HungCityThatFailsIsNamed) {
  city(City::CITY_LVLIANG).Hang();
  Outcome outcome;
  Start(outcome, kTaiyuanIssued, RecordDomain::kMedicalEnrollment);
  EXPECT_FALSE(outcome.answered());
  city(City::CITY_LVLIANG).Release(absl::UnavailableError("city lvliang did not answer within its deadline"));
  ASSERT_TRUE(outcome.answered());
  ASSERT_FALSE(outcome.result.ok());
  EXPECT_EQ(outcome.result.status().code(), absl::StatusCode::kUnavailable) << outcome.result.status();
  EXPECT_THAT(std::string(outcome.result.status().message()), HasSubstr("lvliang"));
}

TEST_F(RecordLocatorTest, SingleHolderIsFoundDespiteAnotherCityFailing) {
  city(City::CITY_TAIYUAN).AnswerWith(absl::UnavailableError("city taiyuan is unavailable"));
  city(City::CITY_LVLIANG).AnswerWith(Holds(/*medical=*/true, false, false));
  absl::StatusOr<LocateResult> result = LocateNow(kTaiyuanIssued, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->cities, ElementsAre(City::CITY_LVLIANG));
}

TEST_F(RecordLocatorTest, ContributionHistoryIsNeverSilentlyPartial) {
  city(City::CITY_TAIYUAN).AnswerWith(Holds(false, /*contributions=*/true, false));
  city(City::CITY_JINZHONG).AnswerWith(absl::UnavailableError("city jinzhong is unavailable"));
  absl::StatusOr<LocateResult> result = LocateNow(kTaiyuanIssued, RecordDomain::kContributionHistory);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable) << result.status();
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("jinzhong"));

  // Nor is the partial answer remembered: asking again asks the cities again.
  const int before = TotalCalls();
  city(City::CITY_JINZHONG).AnswerWith(Unknown());
  result = LocateNow(kTaiyuanIssued, RecordDomain::kContributionHistory);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->cities, ElementsAre(City::CITY_TAIYUAN));
  EXPECT_FALSE(result->from_index);
  EXPECT_EQ(TotalCalls(), before + 5);
}

TEST_F(RecordLocatorTest, SecondLocateUsesTheIndex) {
  city(City::CITY_XINZHOU).AnswerWith(Holds(/*medical=*/true, false, false));
  ASSERT_TRUE(LocateNow(kTaiyuanIssued, RecordDomain::kMedicalEnrollment).ok());
  const std::map<City, int> before = CallCounts();

  absl::StatusOr<LocateResult> again = LocateNow(kTaiyuanIssued, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(again->cities, ElementsAre(City::CITY_XINZHOU));
  EXPECT_TRUE(again->from_index);
  EXPECT_EQ(CallCounts(), before);
}

TEST_F(RecordLocatorTest, OneFanOutIndexesEveryDomain) {
  city(City::CITY_TAIYUAN).AnswerWith(Holds(/*medical=*/true, /*contributions=*/true, false));
  city(City::CITY_XINZHOU).AnswerWith(Holds(false, /*contributions=*/true, /*household=*/true));
  ASSERT_TRUE(LocateNow(kXinzhouIssued, RecordDomain::kMedicalEnrollment).ok());
  const int calls = TotalCalls();
  EXPECT_EQ(calls, 5);

  absl::StatusOr<LocateResult> household = LocateNow(kXinzhouIssued, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(household.ok()) << household.status();
  EXPECT_TRUE(household->from_index);
  EXPECT_THAT(household->cities, ElementsAre(City::CITY_XINZHOU));

  absl::StatusOr<LocateResult> history = LocateNow(kXinzhouIssued, RecordDomain::kContributionHistory);
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_TRUE(history->from_index);
  EXPECT_THAT(history->cities, ElementsAre(City::CITY_TAIYUAN, City::CITY_XINZHOU));
  EXPECT_EQ(TotalCalls(), calls);
}

TEST_F(RecordLocatorTest, IndexIsPerPerson) {
  city(City::CITY_XINZHOU).AnswerWith(Holds(/*medical=*/true, false, false));
  ASSERT_TRUE(LocateNow(kTaiyuanIssued, RecordDomain::kMedicalEnrollment).ok());
  const int before = TotalCalls();
  absl::StatusOr<LocateResult> other = LocateNow(kXinzhouIssued, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_FALSE(other->from_index);
  EXPECT_EQ(TotalCalls(), before + 5);
}

TEST_F(RecordLocatorTest, UsesWhatTheStoreAlreadyKnows) {
  ASSERT_TRUE(locations_
                  ->Put(kTaiyuanIssued, RecordDomain::kHouseholdRegistration,
                        store::RecordLocation{{City::CITY_YANGQUAN}, clock_.Now() - absl::Hours(1)})
                  .ok());
  absl::StatusOr<LocateResult> result = LocateNow(kTaiyuanIssued, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->from_index);
  EXPECT_THAT(result->cities, ElementsAre(City::CITY_YANGQUAN));
  EXPECT_EQ(TotalCalls(), 0);
}

TEST_F(RecordLocatorTest, AfterTheTtlTheCitiesAreAskedAgain) {
  city(City::CITY_TAIYUAN).AnswerWith(Holds(/*medical=*/true, false, false));
  ASSERT_TRUE(LocateNow(kXinzhouIssued, RecordDomain::kMedicalEnrollment).ok());
  EXPECT_EQ(TotalCalls(), 5);

  clock_.Advance(kTtl - absl::Seconds(1));
  absl::StatusOr<LocateResult> fresh = LocateNow(kXinzhouIssued, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_TRUE(fresh->from_index);
  EXPECT_EQ(TotalCalls(), 5);

  // The person moved their enrolment to Lvliang meanwhile.
  city(City::CITY_TAIYUAN).AnswerWith(Unknown());
  city(City::CITY_LVLIANG).AnswerWith(Holds(/*medical=*/true, false, false));
  clock_.Advance(absl::Seconds(1));
  absl::StatusOr<LocateResult> stale = LocateNow(kXinzhouIssued, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(stale->from_index);
  EXPECT_THAT(stale->cities, ElementsAre(City::CITY_LVLIANG));
  EXPECT_EQ(TotalCalls(), 10);

  // And the new answer is indexed with the new time.
  clock_.Advance(kTtl - absl::Seconds(1));
  absl::StatusOr<LocateResult> relearned = LocateNow(kXinzhouIssued, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(relearned.ok()) << relearned.status();
  EXPECT_TRUE(relearned->from_index);
  EXPECT_THAT(relearned->cities, ElementsAre(City::CITY_LVLIANG));
  EXPECT_EQ(TotalCalls(), 10);
}

TEST_F(RecordLocatorTest, RefreshBypassesTheIndex) {
  city(City::CITY_JINZHONG).AnswerWith(Holds(false, false, /*household=*/true));
  ASSERT_TRUE(LocateNow(kTaiyuanIssued, RecordDomain::kHouseholdRegistration).ok());
  city(City::CITY_JINZHONG).AnswerWith(Unknown());
  city(City::CITY_YANGQUAN).AnswerWith(Holds(false, false, /*household=*/true));

  absl::StatusOr<LocateResult> refreshed =
      LocateNow(kTaiyuanIssued, RecordDomain::kHouseholdRegistration, /*refresh=*/true);
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  EXPECT_FALSE(refreshed->from_index);
  EXPECT_THAT(refreshed->cities, ElementsAre(City::CITY_YANGQUAN));
  EXPECT_EQ(TotalCalls(), 10);

  // The refreshed answer replaced the old one in the index.
  absl::StatusOr<LocateResult> again = LocateNow(kTaiyuanIssued, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->from_index);
  EXPECT_THAT(again->cities, ElementsAre(City::CITY_YANGQUAN));
}

TEST_F(RecordLocatorTest, ForgetRemovesTheIndexEntry) {
  city(City::CITY_TAIYUAN).AnswerWith(Holds(/*medical=*/true, false, /*household=*/true));
  ASSERT_TRUE(LocateNow(kTaiyuanIssued, RecordDomain::kMedicalEnrollment).ok());
  locator_->Forget(kTaiyuanIssued, RecordDomain::kMedicalEnrollment);

  absl::StatusOr<std::optional<store::RecordLocation>> stored =
      locations_->Get(kTaiyuanIssued, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(stored->has_value());

  absl::StatusOr<LocateResult> result = LocateNow(kTaiyuanIssued, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->from_index);
  EXPECT_EQ(TotalCalls(), 10);

  // Forgetting one domain keeps the others.
  locator_->Forget(kTaiyuanIssued, RecordDomain::kMedicalEnrollment);
  absl::StatusOr<LocateResult> household = LocateNow(kTaiyuanIssued, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(household.ok()) << household.status();
  EXPECT_TRUE(household->from_index);
}

TEST_F(RecordLocatorTest, NoHolderIsNotRemembered) {
  absl::StatusOr<LocateResult> result = LocateNow(kTaiyuanIssued, RecordDomain::kMedicalEnrollment);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  // A new enrolment is visible at once.
  city(City::CITY_YANGQUAN).AnswerWith(Holds(/*medical=*/true, false, false));
  result = LocateNow(kTaiyuanIssued, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->cities, ElementsAre(City::CITY_YANGQUAN));
  EXPECT_EQ(TotalCalls(), 10);
}

TEST_F(RecordLocatorTest, NeverRoutesByTheAddressCodeInTheNumber) {
  // The number was issued in Xinzhou, the person is registered and insured in Taiyuan, and Xinzhou
  // (which the address code would point to) is not even answering.
  city(City::CITY_XINZHOU).Hang();
  city(City::CITY_TAIYUAN).AnswerWith(Holds(/*medical=*/true, false, /*household=*/true));
  Outcome outcome;
  Start(outcome, kXinzhouIssued, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(outcome.answered());
  ASSERT_TRUE(outcome.result.ok()) << outcome.result.status();
  EXPECT_THAT(outcome.result->cities, ElementsAre(City::CITY_TAIYUAN));
  for (auto& [c, n] : CallCounts()) EXPECT_EQ(n, 1) << CityName(c);  // everyone was asked
  city(City::CITY_XINZHOU).Release(Unknown());

  // And what is learned is Taiyuan.
  absl::StatusOr<LocateResult> again = LocateNow(kXinzhouIssued, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->from_index);
  EXPECT_THAT(again->cities, ElementsAre(City::CITY_TAIYUAN));
}

TEST_F(RecordLocatorTest, NeverRoutesByTheAddressCodeEvenWhenThatCityKnowsThePerson) {
  // Xinzhou issued the number and still knows the person (old contributions), but the enrolment
  // is in Taiyuan.
  city(City::CITY_XINZHOU).AnswerWith(Holds(false, /*contributions=*/true, false));
  city(City::CITY_TAIYUAN).AnswerWith(Holds(/*medical=*/true, /*contributions=*/true, false));
  absl::StatusOr<LocateResult> result = LocateNow(kXinzhouIssued, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->cities, ElementsAre(City::CITY_TAIYUAN));
}

}  // namespace
}  // namespace interop::router
