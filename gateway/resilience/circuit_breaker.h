// CircuitBreaker: stops calling a city that keeps failing, so callers get an answer at once instead
// of waiting out a deadline, and the city gets room to recover.
//
//   closed    -- calls pass. Each outcome is counted in a sliding window (`window`, in ten slices).
//                When at least `minimum_calls` outcomes are in the window and at least
//                `failure_percent` of them are failures, the breaker opens.
//   open      -- calls are refused at once, for `open_duration`.
//   half-open -- after that, up to `half_open_calls` trial calls pass (others are refused). If that
//                many trials succeed, the breaker closes (with an empty window); the first failure
//                opens it again for another `open_duration`.
//
// Usage, for every call:
//   CircuitBreaker::Admission admission = breaker.Admit();
//   if (!admission.admitted) { fail fast; }
//   ... call ...; breaker.Record(admission, /*failed=*/...);
// A call that is admitted but never made must still be recorded (as not failed) if it was a trial,
// or call Release() — otherwise a half-open breaker waits for an outcome that never comes.
//
// Time is read from the injected Clock only. Thread-safe.
#ifndef INTEROP_GATEWAY_RESILIENCE_CIRCUIT_BREAKER_H_
#define INTEROP_GATEWAY_RESILIENCE_CIRCUIT_BREAKER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/base/clock.h"

namespace interop::resilience {

enum class BreakerState { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

// "closed", "open", "half-open".
const char* BreakerStateName(BreakerState state);

struct BreakerOptions {
  int failure_percent = 50;         // 1-100
  int minimum_calls = 20;           // >= 1
  absl::Duration window = absl::Seconds(10);
  absl::Duration open_duration = absl::Seconds(5);
  int half_open_calls = 3;          // >= 1
};

// What the window held when the breaker last opened, for the error a refused caller gets.
struct BreakerSnapshot {
  BreakerState state = BreakerState::kClosed;
  int64_t window_calls = 0;
  int64_t window_failures = 0;
  absl::Time open_until = absl::InfinitePast();  // meaningful when open
  uint64_t times_opened = 0;                     // since construction
};

class CircuitBreaker {
 public:
  struct Admission {
    bool admitted = false;
    bool trial = false;  // admitted as one of the half-open trial calls
    uint64_t half_open_period = 0;  // which half-open period admitted the trial
    // When refused: the state that refused it, and how long until trials are let through (zero
    // when half-open with every trial slot taken).
    BreakerState refused_in = BreakerState::kClosed;
    absl::Duration retry_after = absl::ZeroDuration();
  };

  // Called (outside the breaker's lock) on every change of state, with the old and the new state.
  using TransitionListener = std::function<void(BreakerState from, BreakerState to, const BreakerSnapshot& now)>;

  CircuitBreaker(const BreakerOptions& options, const Clock& clock, TransitionListener on_transition = nullptr);

  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  Admission Admit() ABSL_LOCKS_EXCLUDED(mu_);
  // The outcome of an admitted call.
  void Record(const Admission& admission, bool failed) ABSL_LOCKS_EXCLUDED(mu_);
  // An admitted call that was not made after all (e.g. refused by a later limit): frees its trial
  // slot without counting an outcome.
  void Release(const Admission& admission) ABSL_LOCKS_EXCLUDED(mu_);

  // The state now (an open breaker whose time is up reads as half-open).
  BreakerState state() const ABSL_LOCKS_EXCLUDED(mu_);
  BreakerSnapshot Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  static constexpr int kSlices = 10;
  struct Slice {
    int64_t index = -1;  // which slice of time it counts; stale slices are ignored
    int64_t calls = 0;
    int64_t failures = 0;
  };

  int64_t SliceIndex(absl::Time now) const;
  // Sums the slices of the window ending at `now`.
  void WindowTotals(absl::Time now, int64_t* calls, int64_t* failures) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Moves an open breaker whose time is up to half-open. Returns whether it did.
  bool MaybeHalfOpen(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OpenLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  BreakerSnapshot SnapshotLocked(absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void Notify(BreakerState from, BreakerState to, const BreakerSnapshot& now);

  const BreakerOptions options_;
  const Clock& clock_;
  const absl::Duration slice_;
  TransitionListener on_transition_;

  mutable absl::Mutex mu_;
  BreakerState state_ ABSL_GUARDED_BY(mu_) = BreakerState::kClosed;
  std::array<Slice, kSlices> slices_ ABSL_GUARDED_BY(mu_);
  absl::Time open_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t half_open_period_ ABSL_GUARDED_BY(mu_) = 0;  // counts the half-open periods
  int trials_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int trial_successes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t opened_with_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t opened_with_failures_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t times_opened_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace interop::resilience

#endif  // INTEROP_GATEWAY_RESILIENCE_CIRCUIT_BREAKER_H_
