#include "gateway/resilience/resilient_city_adapter.h"

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::resilience {
namespace {

using adapters::CallOptions;
using adapters::Callback;
using ::testing::HasSubstr;

// A city whose answers the test scripts: each call takes the next scripted status (OK once the
// script is empty), or, in hold mode, waits until the test answers it.
class ScriptedCity final : public adapters::CityAdapter {
 public:
  explicit ScriptedCity(City city) : city_(city) {}

  City city() const override { return city_; }

  void Script(std::vector<absl::Status> answers) {
    absl::MutexLock lock(&mu_);
    script_.assign(answers.begin(), answers.end());
  }
  void Hold(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_ = hold;
  }
  // Answers the oldest held call with `status`. Returns false if none is held.
  bool ReleaseOne(absl::Status status) {
    std::function<void(absl::Status)> answer;
    {
      absl::MutexLock lock(&mu_);
      if (held_.empty()) return false;
      answer = std::move(held_.front());
      held_.pop_front();
    }
    answer(status);
    return true;
  }
  int attempts() const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(seen_.size());
  }
  std::vector<CallOptions> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  std::vector<std::string> keys() const {
    absl::MutexLock lock(&mu_);
    return keys_;
  }

  void LocatePerson(const std::string&, const CallOptions& options, Callback<adapters::PersonLocation> done) override {
    Answer(options, "", [done](absl::Status s) {
      if (!s.ok()) return done(s);
      adapters::PersonLocation location;
      location.found = true;
      done(location);
    });
  }
  void GetInsuranceStatus(const std::string& id, const CallOptions& options,
                          Callback<medical::v1::GetInsuranceStatusResponse> done) override {
    Answer(options, "", [done, id](absl::Status s) {
      if (!s.ok()) return done(s);
      medical::v1::GetInsuranceStatusResponse response;
      response.set_resident_id(id);
      done(response);
    });
  }
  void GetMonthlyContributions(const std::string&, int, int, const CallOptions& options,
                               Callback<std::vector<social::v1::ContributionEntry>> done) override {
    Answer(options, "", [done](absl::Status s) {
      if (!s.ok()) return done(s);
      done(std::vector<social::v1::ContributionEntry>{});
    });
  }
  void GetHouseholdRecord(const std::string&, const CallOptions& options,
                          Callback<household::v1::GetHouseholdRecordResponse> done) override {
    Answer(options, "", [done](absl::Status s) {
      if (!s.ok()) return done(s);
      done(household::v1::GetHouseholdRecordResponse{});
    });
  }
  void CheckHealth(const CallOptions& options, std::function<void(absl::Status)> done) override {
    Answer(options, "", std::move(done));
  }
  void CommitSettlement(const adapters::SettlementRecord& settlement, int64_t, const CallOptions& options,
                        Callback<adapters::CommitResult> done) override {
    Answer(options, settlement.settlement_id, [done, settlement](absl::Status s) {
      if (!s.ok()) return done(s);
      adapters::CommitResult result;
      result.settlement = settlement;
      done(result);
    });
  }
  void FileTreatment(const adapters::FilingRecord& filing, const CallOptions& options,
                     Callback<adapters::FilingRecord> done) override {
    Answer(options, "", [done, filing](absl::Status s) {
      if (!s.ok()) return done(s);
      done(filing);
    });
  }
  void RevokeFiling(const std::string&, const std::string& filing_id, const CallOptions& options,
                    Callback<adapters::FilingRecord> done) override {
    Answer(options, filing_id, [done](absl::Status s) {
      if (!s.ok()) return done(s);
      done(adapters::FilingRecord{});
    });
  }
  void RecordMoveOut(const std::string& request_key, const std::string&, City, const std::string&, absl::CivilDay,
                     const CallOptions& options, Callback<adapters::MoveOutRecord> done) override {
    Answer(options, request_key, [done](absl::Status s) {
      if (!s.ok()) return done(s);
      done(adapters::MoveOutRecord{});
    });
  }

 private:
  void Answer(const CallOptions& options, const std::string& key, std::function<void(absl::Status)> answer) {
    absl::Status status;
    {
      absl::MutexLock lock(&mu_);
      seen_.push_back(options);
      keys_.push_back(key);
      if (hold_) {
        held_.push_back(std::move(answer));
        return;
      }
      if (!script_.empty()) {
        status = script_.front();
        script_.pop_front();
      }
    }
    answer(status);
  }

  const City city_;
  mutable absl::Mutex mu_;
  std::deque<absl::Status> script_ ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::function<void(absl::Status)>> held_ ABSL_GUARDED_BY(mu_);
  std::vector<CallOptions> seen_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> keys_ ABSL_GUARDED_BY(mu_);
};

// Waits for the answer of an asynchronous call.
template <typename T>
class Answer {
 public:
  Callback<T> callback() {
    return [this](absl::StatusOr<T> result) {
      result_ = std::move(result);
      done_.Notify();
    };
  }
  absl::StatusOr<T>& Get() {
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(10)));
    return result_;
  }
  bool HasAnswered() const { return done_.HasBeenNotified(); }

 private:
  absl::Notification done_;
  absl::StatusOr<T> result_ = absl::UnknownError("no answer");
};

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);
const char kId[] = "140105199003070011";

class ResilientCityAdapterTest : public ::testing::Test {
 protected:
  ResilientCityAdapterTest() : clock_(kStart) {
    options_.deadline_cap = absl::Seconds(2);
    options_.max_concurrent_calls = 8;
    options_.max_attempts = 3;
    options_.initial_backoff = absl::Milliseconds(1);
    options_.breaker.minimum_calls = 1000;  // out of the way unless a test sets it
    options_.retry_budget.min_per_second = 100;
  }

  void Make(City city = City::CITY_JINZHONG) {
    auto inner = std::make_unique<ScriptedCity>(city);
    city_ = inner.get();
    adapter_ = std::make_unique<ResilientCityAdapter>(
        std::move(inner), options_, clock_, scheduler_,
        [this](City c, absl::string_view method, absl::StatusCode code, absl::Duration) {
          absl::MutexLock lock(&mu_);
          ended_.push_back(absl::StrCat(CityName(c), " ", method, " ", absl::StatusCodeToString(code)));
        });
  }

  absl::StatusOr<medical::v1::GetInsuranceStatusResponse> Read(absl::Time deadline = absl::InfiniteFuture()) {
    Answer<medical::v1::GetInsuranceStatusResponse> answer;
    CallOptions options;
    options.deadline = deadline;
    adapter_->GetInsuranceStatus(kId, options, answer.callback());
    return answer.Get();
  }

  std::vector<std::string> Ended() {
    absl::MutexLock lock(&mu_);
    return ended_;
  }

  ManualClock clock_;
  DelayScheduler scheduler_;
  ResilienceOptions options_;
  ScriptedCity* city_ = nullptr;
  std::unique_ptr<ResilientCityAdapter> adapter_;
  absl::Mutex mu_;
  std::vector<std::string> ended_;
};

TEST_F(ResilientCityAdapterTest, AReadIsRetriedWhileTheCityIsUnavailable) {
  Make();
  city_->Script({absl::UnavailableError("jinzhong: connection refused"), absl::UnavailableError("jinzhong: reset")});
  auto result = Read();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->resident_id(), kId);
  EXPECT_EQ(city_->attempts(), 3);
  EXPECT_EQ(adapter_->Stats().retries, 2u);
  EXPECT_EQ(adapter_->Stats().calls, 1u);
  EXPECT_THAT(Ended(), ::testing::ElementsAre("jinzhong GetInsuranceStatus OK"));
}

TEST_F(ResilientCityAdapterTest, RetriesStopAtMaxAttempts) {
  Make();
  city_->Script(std::vector<absl::Status>(5, absl::UnavailableError("jinzhong: down")));
  auto result = Read();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(city_->attempts(), 3);
}

TEST_F(ResilientCityAdapterTest, AnswersOtherThanUnavailableAreNotRetried) {
  Make();
  city_->Script({absl::NotFoundError("jinzhong: no such person"), absl::InternalError("jinzhong: bad date"),
                 absl::DeadlineExceededError("jinzhong: timed out")});
  EXPECT_EQ(Read().status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Read().status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Read().status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(city_->attempts(), 3);
}

TEST_F(ResilientCityAdapterTest, WritesWithoutAnIdempotencyKeyAreNeverRetried) {
  Make();
  city_->Script({absl::UnavailableError("jinzhong: reset"), absl::UnavailableError("jinzhong: reset")});
  Answer<adapters::FilingRecord> filed;
  adapter_->FileTreatment(adapters::FilingRecord{}, CallOptions{}, filed.callback());
  EXPECT_EQ(filed.Get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(city_->attempts(), 1);

  Answer<adapters::FilingRecord> revoked;
  adapter_->RevokeFiling(kId, "F-1", CallOptions{}, revoked.callback());
  EXPECT_EQ(revoked.Get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(city_->attempts(), 2);
  EXPECT_EQ(adapter_->Stats().retries, 0u);
}

TEST_F(ResilientCityAdapterTest, WritesTheCityAppliesOncePerKeyAreRetriedWithTheSameKey) {
  Make();
  city_->Script({absl::UnavailableError("jinzhong: reset")});
  adapters::SettlementRecord settlement;
  settlement.settlement_id = "S-42";
  Answer<adapters::CommitResult> committed;
  adapter_->CommitSettlement(settlement, 7, CallOptions{}, committed.callback());
  ASSERT_TRUE(committed.Get().ok()) << committed.Get().status();
  EXPECT_THAT(city_->keys(), ::testing::ElementsAre("S-42", "S-42"));

  city_->Script({absl::UnavailableError("jinzhong: reset")});
  Answer<adapters::MoveOutRecord> moved;
  adapter_->RecordMoveOut("wf-1/move-out", kId, City::CITY_TAIYUAN, "P-1", absl::CivilDay(2026, 12, 1),
                          CallOptions{}, moved.callback());
  ASSERT_TRUE(moved.Get().ok()) << moved.Get().status();
  EXPECT_THAT(city_->keys(), ::testing::ElementsAre("S-42", "S-42", "wf-1/move-out", "wf-1/move-out"));
}

TEST_F(ResilientCityAdapterTest, RetriesStopWhenTheBudgetIsSpent) {
  options_.max_attempts = 2;
  options_.retry_budget.budget_percent = 0;
  options_.retry_budget.min_per_second = 1;  // 10 retries in the 10 s window
  Make();
  city_->Script(std::vector<absl::Status>(100, absl::UnavailableError("jinzhong: down")));
  for (int i = 0; i < 15; ++i) EXPECT_EQ(Read().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(city_->attempts(), 15 + 10);
  ResilienceStats stats = adapter_->Stats();
  EXPECT_EQ(stats.retries, 10u);
  EXPECT_EQ(stats.retries_refused_by_budget, 5u);

  clock_.Advance(absl::Seconds(11));  // the window has moved on: retries again
  EXPECT_EQ(Read().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(city_->attempts(), 25 + 2);
}

TEST_F(ResilientCityAdapterTest, NoRetryWhenTheDeadlineLeavesNoRoom) {
  Make();
  city_->Script({absl::UnavailableError("jinzhong: down"), absl::UnavailableError("jinzhong: down")});
  // The deadline is 4 ms away on the injected clock: less than the backoff plus 5 ms.
  EXPECT_EQ(Read(kStart + absl::Milliseconds(4)).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(city_->attempts(), 1);
}

TEST_F(ResilientCityAdapterTest, TheDeadlineIsTheCallersCappedAtTheCitys) {
  Make();
  ASSERT_TRUE(Read(kStart + absl::Seconds(30)).ok());
  ASSERT_TRUE(Read(kStart + absl::Milliseconds(300)).ok());
  ASSERT_TRUE(Read().ok());
  std::vector<CallOptions> seen = city_->seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].deadline, kStart + absl::Seconds(2));
  EXPECT_EQ(seen[1].deadline, kStart + absl::Milliseconds(300));
  EXPECT_EQ(seen[2].deadline, kStart + absl::Seconds(2));
}

TEST_F(ResilientCityAdapterTest, TheBreakerOpensFailsFastNamingTheCityAndRecovers) {
  options_.max_attempts = 1;
  options_.breaker.minimum_calls = 4;
  options_.breaker.failure_percent = 50;
  options_.breaker.open_duration = absl::Seconds(5);
  options_.breaker.half_open_calls = 1;
  Make();
  city_->Script(std::vector<absl::Status>(4, absl::UnavailableError("jinzhong: down")));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Read().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(adapter_->Stats().breaker.state, BreakerState::kOpen);

  auto refused = Read();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(refused.status()), "CITY_CIRCUIT_OPEN");
  EXPECT_THAT(refused.status().message(), HasSubstr("jinzhong"));
  EXPECT_THAT(refused.status().message(), HasSubstr("circuit breaker is open"));
  EXPECT_THAT(refused.status().message(), HasSubstr("4 of the last 4 calls failed"));
  EXPECT_EQ(city_->attempts(), 4);  // the city was not called
  EXPECT_EQ(adapter_->Stats().refused_by_breaker, 1u);

  clock_.Advance(absl::Seconds(5));  // half-open: one trial
  ASSERT_TRUE(Read().ok());
  EXPECT_EQ(city_->attempts(), 5);
  EXPECT_EQ(adapter_->Stats().breaker.state, BreakerState::kClosed);
}

TEST_F(ResilientCityAdapterTest, TheCitysAnswersAndRefusalsDoNotOpenTheBreaker) {
  options_.max_attempts = 1;
  options_.breaker.minimum_calls = 4;
  Make();
  std::vector<absl::Status> answers;
  for (int i = 0; i < 5; ++i) {
    answers.push_back(absl::NotFoundError("jinzhong: no such person"));
    answers.push_back(absl::FailedPreconditionError("jinzhong: refused"));
  }
  city_->Script(answers);
  for (int i = 0; i < 10; ++i) (void)Read();
  EXPECT_EQ(adapter_->Stats().breaker.state, BreakerState::kClosed);
}

TEST_F(ResilientCityAdapterTest, OnlyTheCitysOwnDeadlineCountsAgainstIt) {
  options_.max_attempts = 1;
  options_.breaker.minimum_calls = 4;
  Make();
  city_->Script(std::vector<absl::Status>(8, absl::DeadlineExceededError("timed out")));
  // The caller's 100 ms deadline binds (the city's cap is 2 s): the city is not to blame.
  for (int i = 0; i < 4; ++i) (void)Read(kStart + absl::Milliseconds(100));
  EXPECT_EQ(adapter_->Stats().breaker.state, BreakerState::kClosed);
  EXPECT_EQ(adapter_->Stats().breaker.window_calls, 0);
  // The city's own 2 s deadline binds: it is.
  for (int i = 0; i < 4; ++i) (void)Read(kStart + absl::Seconds(30));
  EXPECT_EQ(adapter_->Stats().breaker.state, BreakerState::kOpen);
}

TEST_F(ResilientCityAdapterTest, TheConcurrencyLimitRefusesAtOnceAndFreesAsCallsEnd) {
  options_.max_concurrent_calls = 2;
  Make();
  city_->Hold(true);
  Answer<medical::v1::GetInsuranceStatusResponse> first, second, third;
  adapter_->GetInsuranceStatus(kId, CallOptions{}, first.callback());
  adapter_->GetInsuranceStatus(kId, CallOptions{}, second.callback());
  adapter_->GetInsuranceStatus(kId, CallOptions{}, third.callback());
  ASSERT_TRUE(third.HasAnswered());  // refused before the call returned
  EXPECT_EQ(third.Get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrorReason(third.Get().status()), "CITY_CONCURRENCY_LIMIT");
  EXPECT_THAT(third.Get().status().message(), HasSubstr("jinzhong"));
  EXPECT_EQ(adapter_->Stats().in_flight, 2);
  EXPECT_EQ(adapter_->Stats().refused_by_limit, 1u);
  EXPECT_EQ(city_->attempts(), 2);

  ASSERT_TRUE(city_->ReleaseOne(absl::OkStatus()));
  EXPECT_TRUE(first.Get().ok());
  EXPECT_EQ(adapter_->Stats().in_flight, 1);
  Answer<medical::v1::GetInsuranceStatusResponse> fourth;
  adapter_->GetInsuranceStatus(kId, CallOptions{}, fourth.callback());
  EXPECT_EQ(city_->attempts(), 3);  // admitted
  ASSERT_TRUE(city_->ReleaseOne(absl::OkStatus()));
  ASSERT_TRUE(city_->ReleaseOne(absl::OkStatus()));
  EXPECT_TRUE(second.Get().ok());
  EXPECT_TRUE(fourth.Get().ok());
  EXPECT_EQ(adapter_->Stats().in_flight, 0);
}

TEST_F(ResilientCityAdapterTest, AHungCityDoesNotHoldUpCallsToAnother) {
  options_.max_concurrent_calls = 4;
  Make(City::CITY_XINZHOU);
  ScriptedCity* hung = city_;
  std::unique_ptr<ResilientCityAdapter> hung_adapter = std::move(adapter_);
  Make(City::CITY_TAIYUAN);
  hung->Hold(true);
  std::vector<std::unique_ptr<Answer<medical::v1::GetInsuranceStatusResponse>>> waiting;
  for (int i = 0; i < 10; ++i) {
    waiting.push_back(std::make_unique<Answer<medical::v1::GetInsuranceStatusResponse>>());
    hung_adapter->GetInsuranceStatus(kId, CallOptions{}, waiting.back()->callback());
  }
  // Four calls hold Xinzhou's slots; six more were refused at once.
  int refused = 0;
  for (auto& w : waiting) refused += w->HasAnswered() ? 1 : 0;
  EXPECT_EQ(refused, 6);
  // Taiyuan answers at once, whatever Xinzhou does.
  auto taiyuan = Read();
  ASSERT_TRUE(taiyuan.ok()) << taiyuan.status();
  while (hung->ReleaseOne(absl::DeadlineExceededError("xinzhou: timed out"))) {
  }
  for (auto& w : waiting) (void)w->Get();
}

TEST_F(ResilientCityAdapterTest, HealthChecksGoStraightToTheCity) {
  options_.max_attempts = 1;
  options_.breaker.minimum_calls = 1;
  Make();
  city_->Script({absl::UnavailableError("jinzhong: down"), absl::UnavailableError("jinzhong: down")});
  EXPECT_FALSE(Read().ok());
  ASSERT_EQ(adapter_->Stats().breaker.state, BreakerState::kOpen);
  absl::Notification checked;
  absl::Status health;
  adapter_->CheckHealth(CallOptions{}, [&](absl::Status s) {
    health = s;
    checked.Notify();
  });
  checked.WaitForNotification();
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(city_->attempts(), 2);  // the probe reached the city although the breaker is open
}

TEST(ResolveResilienceOptionsTest, TheCitysFieldsThenTheDefaultsThenTheStatedValues) {
  config::v1::GatewayConfig config;
  config.set_default_city_deadline_ms(1500);
  config.mutable_default_resilience()->set_max_attempts(2);
  config.mutable_default_resilience()->set_breaker_open_ms(7000);
  config::v1::CityBackendConfig* city = config.add_cities();
  city->set_city(City::CITY_LVLIANG);
  city->mutable_resilience()->set_max_attempts(4);
  city->mutable_resilience()->set_max_concurrent_calls(32);

  auto options = ResolveResilienceOptions(config, *city);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->deadline_cap, absl::Milliseconds(1500));
  EXPECT_EQ(options->max_attempts, 4);
  EXPECT_EQ(options->max_concurrent_calls, 32);
  EXPECT_EQ(options->breaker.open_duration, absl::Seconds(7));
  EXPECT_EQ(options->breaker.failure_percent, 50);
  EXPECT_EQ(options->breaker.minimum_calls, 20);
  EXPECT_EQ(options->retry_budget.budget_percent, 20);
  EXPECT_EQ(options->initial_backoff, absl::Milliseconds(25));
  city->mutable_resilience()->clear_max_concurrent_calls();
  EXPECT_EQ(ResolveResilienceOptions(config, *city)->max_concurrent_calls, 1024);

  city->set_deadline_ms(800);
  EXPECT_EQ(ResolveResilienceOptions(config, *city)->deadline_cap, absl::Milliseconds(800));

  city->mutable_resilience()->set_breaker_failure_percent(150);
  auto bad = ResolveResilienceOptions(config, *city);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BadRequestField(bad.status()), "cities[lvliang].resilience.breaker_failure_percent");
}

}  // namespace
}  // namespace interop::resilience
