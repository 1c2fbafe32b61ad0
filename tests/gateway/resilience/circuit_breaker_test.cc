#include "gateway/resilience/circuit_breaker.h"

#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::resilience {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreakerTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {
    options_.failure_percent = 50;
    options_.minimum_calls = 10;
    options_.window = absl::Seconds(10);
    options_.open_duration = absl::Seconds(5);
    options_.half_open_calls = 2;
  }

  std::unique_ptr<CircuitBreaker> Make() {
    return std::make_unique<CircuitBreaker>(options_, clock_,
                                            [this](BreakerState from, BreakerState to, const BreakerSnapshot&) {
                                              transitions_.emplace_back(from, to);
                                            });
  }

  // Admits and records `n` calls with the given outcome; returns how many were admitted.
  static int Calls(CircuitBreaker& breaker, int n, bool failed) {
    int admitted = 0;
    for (int i = 0; i < n; ++i) {
      CircuitBreaker::Admission admission = breaker.Admit();
      if (!admission.admitted) continue;
      ++admitted;
      breaker.Record(admission, failed);
    }
    return admitted;
  }

  ManualClock clock_;
  BreakerOptions options_;
  std::vector<std::pair<BreakerState, BreakerState>> transitions_;
};

TEST_F(CircuitBreakerTest, StaysClosedUntilTheWindowHoldsTheMinimumNumberOfCalls) {
  auto breaker = Make();
  EXPECT_EQ(Calls(*breaker, 9, /*failed=*/true), 9);
  EXPECT_EQ(breaker->state(), BreakerState::kClosed);  // 9 of 9 failed, but 9 < minimum_calls
  EXPECT_EQ(Calls(*breaker, 1, /*failed=*/true), 1);
  EXPECT_EQ(breaker->state(), BreakerState::kOpen);
  EXPECT_THAT(transitions_, ElementsAre(Pair(BreakerState::kClosed, BreakerState::kOpen)));
  BreakerSnapshot snapshot = breaker->Snapshot();
  EXPECT_EQ(snapshot.window_calls, 10);
  EXPECT_EQ(snapshot.window_failures, 10);
  EXPECT_EQ(snapshot.times_opened, 1u);
}

TEST_F(CircuitBreakerTest, OpensAtTheFailurePercentageAndNotBelowIt) {
  auto below = Make();
  Calls(*below, 11, /*failed=*/false);
  Calls(*below, 10, /*failed=*/true);  // 10 of 21: 47.6% < 50%
  EXPECT_EQ(below->state(), BreakerState::kClosed);

  auto at = Make();
  Calls(*at, 10, /*failed=*/false);
  Calls(*at, 10, /*failed=*/true);  // 10 of 20: 50%
  EXPECT_EQ(at->state(), BreakerState::kOpen);
}

TEST_F(CircuitBreakerTest, OutcomesOlderThanTheWindowNoLongerCount) {
  auto breaker = Make();
  Calls(*breaker, 9, /*failed=*/true);
  clock_.Advance(absl::Seconds(11));  // those 9 leave the window
  Calls(*breaker, 1, /*failed=*/true);
  EXPECT_EQ(breaker->state(), BreakerState::kClosed);
  EXPECT_EQ(breaker->Snapshot().window_calls, 1);
}

TEST_F(CircuitBreakerTest, OpenRefusesUntilItsTimeIsUpThenLetsTrialsThrough) {
  auto breaker = Make();
  Calls(*breaker, 10, /*failed=*/true);
  CircuitBreaker::Admission refused = breaker->Admit();
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.refused_in, BreakerState::kOpen);
  EXPECT_EQ(refused.retry_after, absl::Seconds(5));

  clock_.Advance(absl::Seconds(4));
  refused = breaker->Admit();
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after, absl::Seconds(1));

  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(breaker->state(), BreakerState::kHalfOpen);
  CircuitBreaker::Admission first = breaker->Admit();
  CircuitBreaker::Admission second = breaker->Admit();
  CircuitBreaker::Admission third = breaker->Admit();
  EXPECT_TRUE(first.admitted && first.trial);
  EXPECT_TRUE(second.admitted && second.trial);
  EXPECT_FALSE(third.admitted);  // half_open_calls = 2 trials at a time
  EXPECT_EQ(third.refused_in, BreakerState::kHalfOpen);

  breaker->Record(first, /*failed=*/false);
  EXPECT_EQ(breaker->state(), BreakerState::kHalfOpen);
  EXPECT_FALSE(breaker->Admit().admitted);  // one success, one trial in flight: no third slot
  breaker->Record(second, /*failed=*/false);
  EXPECT_EQ(breaker->state(), BreakerState::kClosed);
  EXPECT_THAT(transitions_, ElementsAre(Pair(BreakerState::kClosed, BreakerState::kOpen),
                                        Pair(BreakerState::kOpen, BreakerState::kHalfOpen),
                                        Pair(BreakerState::kHalfOpen, BreakerState::kClosed)));
  // Closing starts a fresh window: one failure does not reopen it.
  Calls(*breaker, 1, /*failed=*/true);
  EXPECT_EQ(breaker->state(), BreakerState::kClosed);
  EXPECT_EQ(breaker->Snapshot().window_calls, 1);
}

TEST_F(CircuitBreakerTest, AFailedTrialOpensItAgainForAnotherPeriod) {
  auto breaker = Make();
  Calls(*breaker, 10, /*failed=*/true);
  clock_.Advance(absl::Seconds(5));
  CircuitBreaker::Admission trial = breaker->Admit();
  CircuitBreaker::Admission other = breaker->Admit();
  ASSERT_TRUE(trial.admitted);
  breaker->Record(trial, /*failed=*/true);
  EXPECT_EQ(breaker->state(), BreakerState::kOpen);
  EXPECT_EQ(breaker->Snapshot().times_opened, 2u);
  EXPECT_EQ(breaker->Admit().retry_after, absl::Seconds(5));

  // The other trial of the old period ends after the next period began: it decides nothing.
  clock_.Advance(absl::Seconds(5));
  CircuitBreaker::Admission next = breaker->Admit();
  ASSERT_TRUE(next.admitted);
  breaker->Record(other, /*failed=*/false);
  breaker->Record(next, /*failed=*/false);
  EXPECT_EQ(breaker->state(), BreakerState::kHalfOpen);  // one of two trials of this period
}

TEST_F(CircuitBreakerTest, ReleasingATrialFreesItsSlotWithoutAnOutcome) {
  auto breaker = Make();
  Calls(*breaker, 10, /*failed=*/true);
  clock_.Advance(absl::Seconds(5));
  CircuitBreaker::Admission a = breaker->Admit();
  CircuitBreaker::Admission b = breaker->Admit();
  EXPECT_FALSE(breaker->Admit().admitted);
  breaker->Release(a);
  CircuitBreaker::Admission c = breaker->Admit();
  EXPECT_TRUE(c.admitted);
  breaker->Record(b, /*failed=*/false);
  breaker->Record(c, /*failed=*/false);
  EXPECT_EQ(breaker->state(), BreakerState::kClosed);
}

TEST_F(CircuitBreakerTest, CallsAdmittedBeforeItOpenedDoNotCountAfterwards) {
  auto breaker = Make();
  CircuitBreaker::Admission late = breaker->Admit();
  Calls(*breaker, 10, /*failed=*/true);
  ASSERT_EQ(breaker->state(), BreakerState::kOpen);
  breaker->Record(late, /*failed=*/false);
  EXPECT_EQ(breaker->state(), BreakerState::kOpen);
}

TEST(BreakerStateNameTest, NamesEachState) {
  EXPECT_STREQ(BreakerStateName(BreakerState::kClosed), "closed");
  EXPECT_STREQ(BreakerStateName(BreakerState::kOpen), "open");
  EXPECT_STREQ(BreakerStateName(BreakerState::kHalfOpen), "half-open");
}

}  // namespace
}  // namespace interop::resilience
