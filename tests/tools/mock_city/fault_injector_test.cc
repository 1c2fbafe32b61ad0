// FaultInjector decides each call's fault from (seed, k) alone, validates its settings naming the
// field, and counts what it did; ReplyScheduler runs tasks at their time, cancels and drains.
#include "tools/mock_city/fault_injector.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gateway/base/rich_status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::mock_city {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::vector<std::string> kMethods = {"LocatePerson", "CommitSettlement", "GetMedicalEnrollment"};

// The indices among the first `n` calls of `method` that the injector refuses.
std::vector<int> RefusedCalls(FaultInjector& injector, int n, const std::string& method = "LocatePerson") {
  std::vector<int> refused;
  for (int i = 0; i < n; ++i) {
    if (injector.Decide(method).action == FaultAction::kRefuse) refused.push_back(i);
  }
  return refused;
}

FaultSettings Errors(double rate, uint64_t seed) {
  FaultSettings settings;
  settings.error_rate = rate;
  settings.seed = seed;
  return settings;
}

TEST(FaultInjectorTest, NoFaultsByDefault) {
  FaultInjector injector(kMethods);
  for (int i = 0; i < 100; ++i) {
    FaultDecision decision = injector.Decide("LocatePerson");
    EXPECT_EQ(decision.action, FaultAction::kProceed);
    EXPECT_EQ(decision.reply_delay, absl::ZeroDuration());
  }
  EXPECT_EQ(injector.counters().calls_seen, 100u);
  EXPECT_EQ(injector.counters().errors_injected, 0u);
}

TEST(FaultInjectorTest, TheKthCallsFateDependsOnlyOnSeedAndK) {
  FaultInjector injector(kMethods);
  ASSERT_TRUE(injector.Set(Errors(0.3, 42)).ok());
  const std::vector<int> first = RefusedCalls(injector, 200);
  // Predicted in advance by ErrsAt.
  std::vector<int> predicted;
  for (int k = 0; k < 200; ++k) {
    if (FaultInjector::ErrsAt(42, k, 0.3)) predicted.push_back(k);
  }
  EXPECT_EQ(first, predicted);
  // Roughly the rate (a deterministic draw, so this cannot flake).
  EXPECT_GT(first.size(), 30u);
  EXPECT_LT(first.size(), 90u);

  // Setting the same seed again numbers from 0 again: the same calls fail, in another injector too.
  ASSERT_TRUE(injector.Set(Errors(0.3, 42)).ok());
  EXPECT_EQ(RefusedCalls(injector, 200), first);
  FaultInjector other(kMethods);
  ASSERT_TRUE(other.Set(Errors(0.3, 42)).ok());
  EXPECT_EQ(RefusedCalls(other, 200), first);

  // Another seed, other calls.
  ASSERT_TRUE(injector.Set(Errors(0.3, 43)).ok());
  EXPECT_NE(RefusedCalls(injector, 200), first);
}

TEST(FaultInjectorTest, RateZeroNeverAndRateOneAlwaysFailWithTheCode) {
  FaultInjector injector(kMethods);
  ASSERT_TRUE(injector.Set(Errors(0.0, 1)).ok());
  EXPECT_TRUE(RefusedCalls(injector, 100).empty());
  FaultSettings settings = Errors(1.0, 1);
  settings.error_code = absl::StatusCode::kResourceExhausted;
  ASSERT_TRUE(injector.Set(settings).ok());
  for (int i = 0; i < 20; ++i) {
    FaultDecision decision = injector.Decide("CommitSettlement");
    ASSERT_EQ(decision.action, FaultAction::kRefuse);
    EXPECT_EQ(decision.refusal.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(decision.call_index, i);
  }
  EXPECT_EQ(injector.counters().errors_injected, 20u);
}

TEST(FaultInjectorTest, LatencyWithJitterIsDeterministicAndWithinItsBounds) {
  FaultInjector injector(kMethods);
  FaultSettings settings;
  settings.latency = absl::Milliseconds(100);
  settings.latency_jitter = absl::Milliseconds(50);
  settings.seed = 9;
  ASSERT_TRUE(injector.Set(settings).ok());
  bool varied = false;
  for (int k = 0; k < 100; ++k) {
    FaultDecision decision = injector.Decide("LocatePerson");
    EXPECT_EQ(decision.action, FaultAction::kProceed);
    EXPECT_GE(decision.reply_delay, absl::Milliseconds(100));
    EXPECT_LE(decision.reply_delay, absl::Milliseconds(150));
    EXPECT_EQ(decision.reply_delay,
              absl::Milliseconds(100) + FaultInjector::JitterAt(9, k, absl::Milliseconds(50)));
    varied = varied || decision.reply_delay != absl::Milliseconds(100);
  }
  EXPECT_TRUE(varied);
  EXPECT_EQ(injector.counters().replies_delayed, 100u);
}

TEST(FaultInjectorTest, InjectedErrorsAreAnsweredAfterTheLatencyToo) {
  FaultInjector injector(kMethods);
  FaultSettings settings = Errors(1.0, 3);
  settings.latency = absl::Milliseconds(20);
  ASSERT_TRUE(injector.Set(settings).ok());
  FaultDecision decision = injector.Decide("LocatePerson");
  EXPECT_EQ(decision.action, FaultAction::kRefuse);
  EXPECT_EQ(decision.reply_delay, absl::Milliseconds(20));
}

TEST(FaultInjectorTest, DownRefusesEveryMethodAtOnceWhateverTheFilter) {
  FaultInjector injector(kMethods);
  FaultSettings settings;
  settings.down = true;
  settings.latency = absl::Seconds(1);
  settings.methods = {"CommitSettlement"};
  ASSERT_TRUE(injector.Set(settings).ok());
  for (const std::string& method : kMethods) {
    FaultDecision decision = injector.Decide(method);
    EXPECT_EQ(decision.action, FaultAction::kRefuse) << method;
    EXPECT_EQ(decision.refusal.code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(decision.reply_delay, absl::ZeroDuration());
    EXPECT_EQ(decision.call_index, -1);
  }
  EXPECT_TRUE(injector.down());
  EXPECT_EQ(injector.counters().refused_down, 3u);
}

TEST(FaultInjectorTest, HangComesBeforeErrors) {
  FaultInjector injector(kMethods);
  FaultSettings settings = Errors(1.0, 3);
  settings.hang = true;
  ASSERT_TRUE(injector.Set(settings).ok());
  EXPECT_EQ(injector.Decide("LocatePerson").action, FaultAction::kHang);
  EXPECT_EQ(injector.counters().hangs_injected, 1u);
  EXPECT_EQ(injector.counters().errors_injected, 0u);
}

TEST(FaultInjectorTest, MethodFilterSelectsAndNumbersOnlyItsMethods) {
  FaultInjector injector(kMethods);
  FaultSettings settings = Errors(1.0, 5);
  settings.methods = {"CommitSettlement"};
  ASSERT_TRUE(injector.Set(settings).ok());
  EXPECT_EQ(injector.Decide("LocatePerson").action, FaultAction::kProceed);
  EXPECT_EQ(injector.Decide("GetMedicalEnrollment").call_index, -1);
  FaultDecision first = injector.Decide("CommitSettlement");
  EXPECT_EQ(first.action, FaultAction::kRefuse);
  EXPECT_EQ(first.call_index, 0);
  EXPECT_EQ(injector.Decide("LocatePerson").action, FaultAction::kProceed);
  EXPECT_EQ(injector.Decide("CommitSettlement").call_index, 1);
}

TEST(FaultInjectorTest, InvalidSettingsAreRefusedNamingTheFieldAndChangeNothing) {
  FaultInjector injector(kMethods);
  ASSERT_TRUE(injector.Set(Errors(0.5, 1)).ok());
  const FaultSettings before = injector.settings();
  struct Case {
    FaultSettings settings;
    std::string field;
  };
  std::vector<Case> cases;
  cases.push_back({Errors(1.5, 1), "error_rate"});
  cases.push_back({Errors(-0.1, 1), "error_rate"});
  cases.push_back({Errors(std::nan(""), 1), "error_rate"});
  FaultSettings ok_code = Errors(0.1, 1);
  ok_code.error_code = absl::StatusCode::kOk;
  cases.push_back({ok_code, "error_code"});
  FaultSettings unknown = Errors(0.1, 1);
  unknown.methods = {"LocatePerson", "DropTables"};
  cases.push_back({unknown, "methods[1]"});
  FaultSettings negative;
  negative.latency = absl::Milliseconds(-1);
  cases.push_back({negative, "latency_ms"});
  FaultSettings too_long;
  too_long.latency = absl::Minutes(59);
  too_long.latency_jitter = absl::Minutes(2);
  cases.push_back({too_long, "latency_jitter_ms"});
  for (const Case& c : cases) {
    absl::Status status = injector.Set(c.settings);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(status.message()), StartsWith(c.field + ": "));
    EXPECT_EQ(BadRequestField(status), c.field);
    EXPECT_EQ(injector.Validate(c.settings, "settings.").message().substr(0, 9), "settings.");
  }
  EXPECT_EQ(injector.settings(), before);
  // Without known methods any name is accepted (e.g. an HTTP transaction code).
  FaultInjector any;
  FaultSettings transaction;
  transaction.methods = {"2207A"};
  EXPECT_TRUE(any.Set(transaction).ok());
}

TEST(FaultInjectorTest, ResetClearsSettingsCountersAndNumbering) {
  FaultInjector injector(kMethods);
  ASSERT_TRUE(injector.Set(Errors(1.0, 1)).ok());
  RefusedCalls(injector, 5);
  injector.Reset();
  EXPECT_EQ(injector.settings(), FaultSettings{});
  EXPECT_EQ(injector.counters().calls_seen, 0u);
  EXPECT_EQ(injector.counters().errors_injected, 0u);
  EXPECT_TRUE(RefusedCalls(injector, 5).empty());
  ASSERT_TRUE(injector.Set(Errors(1.0, 1)).ok());
  EXPECT_EQ(injector.Decide("LocatePerson").call_index, 0);
}

TEST(FaultInjectorTest, DownObserverSeesTheCurrentStateThenEachChange) {
  FaultInjector injector(kMethods);
  std::vector<bool> seen;
  injector.SetDownObserver([&seen](bool down) { seen.push_back(down); });
  FaultSettings down;
  down.down = true;
  ASSERT_TRUE(injector.Set(down).ok());
  ASSERT_TRUE(injector.Set(down).ok());  // no change, no call
  ASSERT_TRUE(injector.Set(Errors(0.5, 1)).ok());
  ASSERT_TRUE(injector.Set(down).ok());
  injector.Reset();
  injector.SetDownObserver(nullptr);
  ASSERT_TRUE(injector.Set(down).ok());
  EXPECT_THAT(seen, ElementsAre(false, true, false, true, false));
}

TEST(FaultInjectorTest, ParsesStatusCodeNames) {
  EXPECT_EQ(*FaultInjector::ParseStatusCode("UNAVAILABLE"), absl::StatusCode::kUnavailable);
  EXPECT_EQ(*FaultInjector::ParseStatusCode("resource_exhausted"), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*FaultInjector::ParseStatusCode("OK"), absl::StatusCode::kOk);  // Validate refuses it
  absl::StatusOr<absl::StatusCode> bad = FaultInjector::ParseStatusCode("SLOW");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("\"SLOW\""));
}

TEST(ReplySchedulerTest, RunsTasksNoEarlierThanTheirTimeAndInTimeOrder) {
  ReplyScheduler scheduler;
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<absl::Time> ran_at(3);
  const absl::Time start = absl::Now();
  absl::Notification all;
  const absl::Duration delays[] = {absl::Milliseconds(120), absl::Milliseconds(40), absl::Milliseconds(80)};
  for (int i = 0; i < 3; ++i) {
    scheduler.RunAt(start + delays[i], [&, i] {
      absl::MutexLock lock(&mu);
      order.push_back(i);
      ran_at[i] = absl::Now();
      if (order.size() == 3) all.Notify();
    });
  }
  all.WaitForNotification();
  absl::MutexLock lock(&mu);
  EXPECT_THAT(order, ElementsAre(1, 2, 0));
  for (int i = 0; i < 3; ++i) EXPECT_GE(ran_at[i] - start, delays[i]) << i;
}

TEST(ReplySchedulerTest, CancelledTasksNeverRunAndDestructionRunsThePendingOnes) {
  bool cancelled_ran = false;
  bool pending_ran = false;
  {
    ReplyScheduler scheduler;
    ReplyScheduler::TaskId id = scheduler.RunAt(absl::Now() + absl::Hours(1), [&] { cancelled_ran = true; });
    scheduler.RunAt(absl::Now() + absl::Hours(1), [&] { pending_ran = true; });
    EXPECT_EQ(scheduler.pending(), 2u);
    EXPECT_TRUE(scheduler.Cancel(id));
    EXPECT_FALSE(scheduler.Cancel(id));
    EXPECT_EQ(scheduler.pending(), 1u);
  }
  EXPECT_FALSE(cancelled_ran);
  EXPECT_TRUE(pending_ran);
}

}  // namespace
}  // namespace interop::mock_city
