// RateLimiter: a token bucket per key, on a ManualClock. Refusals are RESOURCE_EXHAUSTED with reason
// RATE_LIMITED and a RetryInfo delay equal to the time until the next token.
#include "gateway/policy/rate_limiter.h"

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/base/clock.h"
#include "gateway/base/rich_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::policy {
namespace {

config::v1::RateLimit Limit(double calls_per_second, uint32_t burst) {
  config::v1::RateLimit limit;
  limit.set_role(common::v1::CALLER_ROLE_HOSPITAL);
  limit.set_calls_per_second(calls_per_second);
  limit.set_burst(burst);
  return limit;
}

void ExpectRateLimited(const absl::Status& status, absl::Duration delay) {
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(ErrorReason(status), "RATE_LIMITED") << status;
  std::optional<absl::Duration> got = RetryDelay(status);
  ASSERT_TRUE(got.has_value()) << "no RetryInfo in " << status;
  EXPECT_EQ(*got, delay) << status;
}

// Admits as many calls as `key` is allowed now; stops at the first refusal (or after `cap`).
int DrainNow(RateLimiter& limiter, const std::string& key, const config::v1::RateLimit& limit,
             int cap = 100000) {
  int admitted = 0;
  while (admitted < cap && limiter.Admit(key, limit).ok()) ++admitted;
  return admitted;
}

class RateLimiterTest : public ::testing::Test {
 protected:
  ManualClock clock_{absl::FromUnixSeconds(1700000000)};
  RateLimiter limiter_{clock_};
};

TEST_F(RateLimiterTest, BurstAdmittedAtOnceThenRefusedWithTimeToNextToken) {
  const config::v1::RateLimit limit = Limit(2, 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter_.Admit("org-a", limit).ok()) << i;
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Milliseconds(500));
  // Refusals take no token: still 500 ms at the same instant.
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Milliseconds(500));
}

TEST_F(RateLimiterTest, RefusalMessageIsReadable) {
  const config::v1::RateLimit limit = Limit(2, 1);
  ASSERT_TRUE(limiter_.Admit("org-a", limit).ok());
  absl::Status s = limiter_.Admit("org-a", limit);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("rate limit"));
}

TEST_F(RateLimiterTest, RetryDelayIsTheTimeToTheNextToken) {
  struct Case {
    double rate;
    absl::Duration delay;
  };
  for (const Case& c :
       {Case{2, absl::Milliseconds(500)}, Case{1, absl::Seconds(1)}, Case{10, absl::Milliseconds(100)},
        Case{0.5, absl::Seconds(2)}, Case{4, absl::Milliseconds(250)}}) {
    SCOPED_TRACE(c.rate);
    const std::string key = absl::StrCat("org-", c.rate);
    const config::v1::RateLimit limit = Limit(c.rate, 1);
    ASSERT_TRUE(limiter_.Admit(key, limit).ok());
    ExpectRateLimited(limiter_.Admit(key, limit), c.delay);
  }
}

TEST_F(RateLimiterTest, PartialRefillShortensTheDelay) {
  const config::v1::RateLimit limit = Limit(4, 1);  // one token per 250 ms
  ASSERT_TRUE(limiter_.Admit("org-a", limit).ok());
  clock_.Advance(absl::Milliseconds(125));  // half a token
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Milliseconds(125));
  clock_.Advance(absl::Microseconds(62500));                                  // three quarters
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Milliseconds(63));  // 62.5 ms, rounded up
  clock_.Advance(absl::Microseconds(62500));
  EXPECT_TRUE(limiter_.Admit("org-a", limit).ok());
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Milliseconds(250));
}

TEST_F(RateLimiterTest, DelayIsRoundedUpToAMillisecond) {
  const config::v1::RateLimit limit = Limit(3, 1);  // one token per 333.33 ms
  ASSERT_TRUE(limiter_.Admit("org-a", limit).ok());
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Milliseconds(334));
  clock_.Advance(absl::Milliseconds(334));
  EXPECT_TRUE(limiter_.Admit("org-a", limit).ok());
}

TEST_F(RateLimiterTest, AdvancingTheClockRefills) {
  const config::v1::RateLimit limit = Limit(2, 4);
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 4);
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 1);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 2);
  clock_.Advance(absl::Milliseconds(250));
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 0);
  clock_.Advance(absl::Milliseconds(250));
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 1);
}

TEST_F(RateLimiterTest, SustainedRateIsTheConfiguredRate) {
  const config::v1::RateLimit limit = Limit(10, 5);
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 5);
  int admitted = 0;
  for (int tick = 0; tick < 100; ++tick) {  // 10 s in steps of 100 ms
    clock_.Advance(absl::Milliseconds(100));
    admitted += DrainNow(limiter_, "org-a", limit);
  }
  EXPECT_EQ(admitted, 100);
}

TEST_F(RateLimiterTest, SeparateKeysHaveSeparateBuckets) {
  const config::v1::RateLimit limit = Limit(1, 2);
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 2);
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Seconds(1));
  EXPECT_EQ(DrainNow(limiter_, "org-b", limit), 2);
  EXPECT_EQ(DrainNow(limiter_, "", limit), 2);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 1);
  EXPECT_EQ(DrainNow(limiter_, "org-b", limit), 1);
}

TEST_F(RateLimiterTest, TokensNeverExceedBurstAfterLongIdle) {
  const config::v1::RateLimit limit = Limit(100, 5);
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 5);
  // Idle for less than the forgetting time: refilled, but only to the burst.
  clock_.Advance(absl::Minutes(5));
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 5);
  // Idle for much longer: the same.
  clock_.Advance(absl::Hours(24));
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 5);
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Milliseconds(10));
}

TEST_F(RateLimiterTest, BucketIdleForTenMinutesBehavesAsNew) {
  const config::v1::RateLimit limit = Limit(2, 3);
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 3);
  EXPECT_EQ(DrainNow(limiter_, "org-b", limit), 3);
  clock_.Advance(absl::Minutes(11));
  // Another key's call sweeps the idle buckets; org-a comes back to a full bucket, not more.
  EXPECT_EQ(DrainNow(limiter_, "org-c", limit), 3);
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 3);
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Milliseconds(500));
  EXPECT_EQ(DrainNow(limiter_, "org-b", limit), 3);
}

// With a very slow rate, forgetting is observable: refill alone would not fill the bucket in 11
// minutes, but a forgotten bucket starts again full (documented: "Idle buckets are forgotten").
TEST_F(RateLimiterTest, IdleBucketIsForgottenAfterTenMinutes) {
  const config::v1::RateLimit limit = Limit(1.0 / 1024, 2);  // one token per 1024 s
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 2);
  clock_.Advance(absl::Minutes(11));
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 2);
}

// A bucket in use (even if only refused) is not forgotten: the limit keeps holding.
TEST_F(RateLimiterTest, ActiveBucketIsNotForgotten) {
  const config::v1::RateLimit limit = Limit(1.0 / 1024, 2);  // one token per 1024 s
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 2);
  for (int minute = 1; minute <= 15; ++minute) {
    clock_.Advance(absl::Minutes(1));
    // 60/1024 of a token a minute: 900/1024 after 15 minutes, never a whole one.
    EXPECT_FALSE(limiter_.Admit("org-a", limit).ok()) << "minute " << minute;
  }
  // 900/1024 of a token now; the next one comes in 124 s.
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Seconds(124));
  clock_.Advance(absl::Seconds(124));
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 1);
}

// Regression test (a bug found by this suite, fixed in gateway/policy/).
TEST_F(RateLimiterTest, WaitingTheRetryDelayIsEnoughAtRate10) {
  const config::v1::RateLimit limit = Limit(10, 1);
  ASSERT_TRUE(limiter_.Admit("org-a", limit).ok());
  clock_.Advance(absl::Milliseconds(14));
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Milliseconds(86));
  clock_.Advance(absl::Milliseconds(86));
  absl::Status retried = limiter_.Admit("org-a", limit);
  EXPECT_TRUE(retried.ok()) << retried;
  if (!retried.ok()) {
    // If it must refuse, it must at least not tell the client to retry at once.
    std::optional<absl::Duration> delay = RetryDelay(retried);
    ASSERT_TRUE(delay.has_value());
    EXPECT_GT(*delay, absl::ZeroDuration());
  }
}

// Regression test (a bug found by this suite, fixed in gateway/policy/).
TEST_F(RateLimiterTest, WaitingTheRetryDelayIsEnough) {
  int cases = 0;
  for (double rate : {0.3, 0.7, 1.0, 3.0, 7.0, 10.0, 13.0, 20.0, 33.0, 100.0, 200.0, 333.0, 500.0, 999.0}) {
    for (int offset_ms = 0; offset_ms < 100; offset_ms += 7) {
      SCOPED_TRACE(absl::StrCat("rate ", rate, " offset ", offset_ms, " ms"));
      const std::string key = absl::StrCat("org-", rate, "-", offset_ms);
      const config::v1::RateLimit limit = Limit(rate, 1);
      ASSERT_TRUE(limiter_.Admit(key, limit).ok());
      clock_.Advance(absl::Milliseconds(offset_ms));
      absl::Status refused = limiter_.Admit(key, limit);
      if (refused.ok()) continue;  // the offset alone refilled a token
      std::optional<absl::Duration> delay = RetryDelay(refused);
      ASSERT_TRUE(delay.has_value()) << refused;
      EXPECT_GT(*delay, absl::ZeroDuration());
      clock_.Advance(*delay);
      absl::Status retried = limiter_.Admit(key, limit);
      EXPECT_TRUE(retried.ok()) << "waited " << absl::FormatDuration(*delay) << ", then: " << retried;
      ++cases;
    }
  }
  EXPECT_GT(cases, 100);
}

TEST_F(RateLimiterTest, ConcurrentCallersShareOneBucket) {
  const config::v1::RateLimit limit = Limit(1, 50);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (limiter_.Admit("org-a", limit).ok()) admitted.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 50);
}

// A caller served by two replicas gets half of its limit from each: half the burst, refilled at
// half the rate; once only this replica serves it, the whole limit again. Other callers keep theirs.
TEST_F(RateLimiterTest, ACallerServedByTwoReplicasGetsHalfItsLimitFromEach) {
  const config::v1::RateLimit limit = Limit(10, 8);
  limiter_.SetShares({{"org-a", 2}});
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 4) << "half the burst";
  // Half the rate: the next token in 200 ms, not 100.
  absl::Status refused = limiter_.Admit("org-a", limit);
  ExpectRateLimited(refused, absl::Milliseconds(200));
  EXPECT_THAT(refused.message(), ::testing::HasSubstr("share, 1/2, of 10 calls per second"));
  EXPECT_EQ(DrainNow(limiter_, "org-b", limit), 8) << "a caller only this replica serves";
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 4) << "5 tokens' worth of refill, capped at the halved burst";
  limiter_.SetShares({});
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 8) << "the whole limit again";
}

TEST_F(RateLimiterTest, AShareNeverFallsBelowOneTokenAndCountsBelowOneMeanOne) {
  const config::v1::RateLimit limit = Limit(3, 2);
  limiter_.SetShares({{"org-a", 5}, {"org-b", 0}, {"org-c", -3}});
  EXPECT_EQ(DrainNow(limiter_, "org-a", limit), 1) << "a burst of 2 over 5 replicas still admits a call";
  ExpectRateLimited(limiter_.Admit("org-a", limit), absl::Milliseconds(1667));
  EXPECT_EQ(DrainNow(limiter_, "org-b", limit), 2);
  EXPECT_EQ(DrainNow(limiter_, "org-c", limit), 2);
}

// What a replica reports: every key it admitted or refused since its last report, once each.
TEST_F(RateLimiterTest, TakeKeysSeenListsEachKeyOnceSinceTheLastTake) {
  RateLimiter tracking(clock_, /*track_keys_seen=*/true);
  const config::v1::RateLimit limit = Limit(1, 1);
  ASSERT_TRUE(tracking.Admit("org-a", limit).ok());
  ASSERT_FALSE(tracking.Admit("org-a", limit).ok());  // refused: still seen
  ASSERT_TRUE(tracking.Admit("org-b", limit).ok());
  EXPECT_THAT(tracking.TakeKeysSeen(), ::testing::UnorderedElementsAre("org-a", "org-b"));
  EXPECT_THAT(tracking.TakeKeysSeen(), ::testing::IsEmpty());
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(tracking.Admit("org-b", limit).ok());
  EXPECT_THAT(tracking.TakeKeysSeen(), ::testing::ElementsAre("org-b"));
}

TEST_F(RateLimiterTest, ALimiterThatDoesNotTrackKeysReportsNone) {
  ASSERT_TRUE(limiter_.Admit("org-a", Limit(1, 1)).ok());
  EXPECT_THAT(limiter_.TakeKeysSeen(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace interop::policy
