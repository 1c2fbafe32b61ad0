#include "gateway/resilience/retry_budget.h"

#include "gtest/gtest.h"

namespace interop::resilience {
namespace {

class RetryBudgetTest : public ::testing::Test {
 protected:
  RetryBudgetTest() : clock_(absl::FromUnixSeconds(1'800'000'000)) {}

  static int Retries(RetryBudget& budget, int tries) {
    int granted = 0;
    for (int i = 0; i < tries; ++i) granted += budget.TryRetry() ? 1 : 0;
    return granted;
  }

  ManualClock clock_;
};

TEST_F(RetryBudgetTest, AQuietGatewayMayRetryTheFloorPerSecondOfTheWindow) {
  RetryBudgetOptions options;
  options.budget_percent = 20;
  options.min_per_second = 2;
  options.window = absl::Seconds(10);
  RetryBudget budget(options, clock_);
  // No calls: 2 per second x 10 s = 20 retries.
  EXPECT_EQ(Retries(budget, 25), 20);
  EXPECT_EQ(budget.exhausted_count(), 5u);
}

TEST_F(RetryBudgetTest, RetriesAddAtMostThePercentageOfCalls) {
  RetryBudgetOptions options;
  options.budget_percent = 20;
  options.min_per_second = 0;
  RetryBudget budget(options, clock_);
  for (int i = 0; i < 100; ++i) budget.RecordCall();
  EXPECT_EQ(Retries(budget, 30), 20);  // 20% of 100
  for (int i = 0; i < 5; ++i) budget.RecordCall();
  EXPECT_EQ(Retries(budget, 30), 1);  // 20% of 105 = 21, 20 used
  EXPECT_EQ(budget.exhausted_count(), 29u + 10u);
}

TEST_F(RetryBudgetTest, TheBudgetRefillsAsTheWindowSlides) {
  RetryBudgetOptions options;
  options.budget_percent = 10;
  options.min_per_second = 0;
  options.window = absl::Seconds(10);
  RetryBudget budget(options, clock_);
  for (int i = 0; i < 50; ++i) budget.RecordCall();
  EXPECT_EQ(Retries(budget, 10), 5);
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(Retries(budget, 10), 0);  // the calls and the retries are both still in the window
  clock_.Advance(absl::Seconds(6));
  EXPECT_EQ(Retries(budget, 10), 0);  // both left the window: no calls, no floor
  for (int i = 0; i < 30; ++i) budget.RecordCall();
  EXPECT_EQ(Retries(budget, 10), 3);
}

}  // namespace
}  // namespace interop::resilience
