#include "gateway/resilience/circuit_breaker.h"

#include <algorithm>
#include <utility>

namespace interop::resilience {

const char* BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half-open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(const BreakerOptions& options, const Clock& clock, TransitionListener on_transition)
    : options_(options),
      clock_(clock),
      slice_(std::max(options.window / kSlices, absl::Milliseconds(1))),
      on_transition_(std::move(on_transition)) {}

int64_t CircuitBreaker::SliceIndex(absl::Time now) const {
  absl::Duration remainder;  // unused; IDivDuration needs somewhere to put it
  return absl::IDivDuration(now - absl::UnixEpoch(), slice_, &remainder);
}

void CircuitBreaker::WindowTotals(absl::Time now, int64_t* calls, int64_t* failures) const {
  const int64_t current = SliceIndex(now);
  *calls = 0;
  *failures = 0;
  for (const Slice& slice : slices_) {
    if (slice.index > current - kSlices && slice.index <= current) {
      *calls += slice.calls;
      *failures += slice.failures;
    }
  }
}

bool CircuitBreaker::MaybeHalfOpen(absl::Time now) {
  if (state_ != BreakerState::kOpen || now < open_until_) return false;
  state_ = BreakerState::kHalfOpen;
  ++half_open_period_;
  trials_in_flight_ = 0;
  trial_successes_ = 0;
  return true;
}

void CircuitBreaker::OpenLocked(absl::Time now) {
  WindowTotals(now, &opened_with_calls_, &opened_with_failures_);
  state_ = BreakerState::kOpen;
  open_until_ = now + options_.open_duration;
  trials_in_flight_ = 0;
  trial_successes_ = 0;
  ++times_opened_;
}

BreakerSnapshot CircuitBreaker::SnapshotLocked(absl::Time now) const {
  BreakerSnapshot snapshot;
  snapshot.state = state_;
  if (state_ == BreakerState::kOpen && now >= open_until_) snapshot.state = BreakerState::kHalfOpen;
  if (state_ == BreakerState::kClosed) {
    WindowTotals(now, &snapshot.window_calls, &snapshot.window_failures);
  } else {
    snapshot.window_calls = opened_with_calls_;
    snapshot.window_failures = opened_with_failures_;
  }
  snapshot.open_until = open_until_;
  snapshot.times_opened = times_opened_;
  return snapshot;
}

void CircuitBreaker::Notify(BreakerState from, BreakerState to, const BreakerSnapshot& now) {
  if (on_transition_ && from != to) on_transition_(from, to, now);
}

CircuitBreaker::Admission CircuitBreaker::Admit() {
  const absl::Time now = clock_.Now();
  Admission admission;
  bool half_opened = false;
  BreakerSnapshot snapshot;
  {
    absl::MutexLock lock(&mu_);
    half_opened = MaybeHalfOpen(now);
    switch (state_) {
      case BreakerState::kClosed:
        admission.admitted = true;
        break;
      case BreakerState::kOpen:
        admission.refused_in = BreakerState::kOpen;
        admission.retry_after = open_until_ - now;
        break;
      case BreakerState::kHalfOpen:
        if (trials_in_flight_ + trial_successes_ < options_.half_open_calls) {
          ++trials_in_flight_;
          admission.admitted = true;
          admission.trial = true;
          admission.half_open_period = half_open_period_;
        } else {
          admission.refused_in = BreakerState::kHalfOpen;
        }
        break;
    }
    if (half_opened) snapshot = SnapshotLocked(now);
  }
  if (half_opened) Notify(BreakerState::kOpen, BreakerState::kHalfOpen, snapshot);
  return admission;
}

void CircuitBreaker::Record(const Admission& admission, bool failed) {
  if (!admission.admitted) return;
  const absl::Time now = clock_.Now();
  BreakerState from;
  BreakerState to;
  BreakerSnapshot snapshot;
  {
    absl::MutexLock lock(&mu_);
    from = state_;
    if (admission.trial) {
      // A trial's outcome decides only the half-open period it was admitted in; if the breaker has
      // moved on meanwhile (another trial failed), it is ignored.
      if (state_ == BreakerState::kHalfOpen && admission.half_open_period == half_open_period_) {
        --trials_in_flight_;
        if (failed) {
          OpenLocked(now);
        } else if (++trial_successes_ >= options_.half_open_calls) {
          state_ = BreakerState::kClosed;
          slices_ = {};
        }
      }
    } else if (state_ == BreakerState::kClosed) {
      const int64_t index = SliceIndex(now);
      Slice& slice = slices_[static_cast<size_t>(index % kSlices)];
      if (slice.index != index) slice = Slice{index, 0, 0};
      ++slice.calls;
      if (failed) ++slice.failures;
      if (failed) {
        int64_t calls = 0;
        int64_t failures = 0;
        WindowTotals(now, &calls, &failures);
        if (calls >= options_.minimum_calls && failures * 100 >= calls * options_.failure_percent) OpenLocked(now);
      }
    }
    // Outcomes of ordinary calls that end while the breaker is open or half-open are not counted:
    // they were admitted under an older state.
    to = state_;
    snapshot = SnapshotLocked(now);
  }
  Notify(from, to, snapshot);
}

void CircuitBreaker::Release(const Admission& admission) {
  if (!admission.admitted || !admission.trial) return;
  absl::MutexLock lock(&mu_);
  if (state_ == BreakerState::kHalfOpen && admission.half_open_period == half_open_period_) --trials_in_flight_;
}

BreakerState CircuitBreaker::state() const { return Snapshot().state; }

BreakerSnapshot CircuitBreaker::Snapshot() const {
  const absl::Time now = clock_.Now();
  absl::ReaderMutexLock lock(&mu_);
  return SnapshotLocked(now);
}

}  // namespace interop::resilience
