#include "gateway/resilience/retry_budget.h"

#include <algorithm>

namespace interop::resilience {

RetryBudget::RetryBudget(const RetryBudgetOptions& options, const Clock& clock)
    : options_(options), clock_(clock), slice_(std::max(options.window / kSlices, absl::Milliseconds(1))) {}

RetryBudget::Slice& RetryBudget::CurrentSlice(absl::Time now) {
  absl::Duration remainder;  // unused; IDivDuration needs somewhere to put it
  const int64_t index = absl::IDivDuration(now - absl::UnixEpoch(), slice_, &remainder);
  Slice& slice = slices_[static_cast<size_t>(index % kSlices)];
  if (slice.index != index) slice = Slice{index, 0, 0};
  return slice;
}

void RetryBudget::RecordCall() {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  ++CurrentSlice(now).calls;
}

bool RetryBudget::TryRetry() {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  Slice& current = CurrentSlice(now);
  int64_t calls = 0;
  int64_t retries = 0;
  for (const Slice& slice : slices_) {
    if (slice.index > current.index - kSlices && slice.index <= current.index) {
      calls += slice.calls;
      retries += slice.retries;
    }
  }
  // In hundredths of a retry, to keep integer arithmetic exact.
  const int64_t allowed_centi =
      calls * options_.budget_percent +
      static_cast<int64_t>(options_.min_per_second) * absl::ToInt64Milliseconds(options_.window) / 10;
  if ((retries + 1) * 100 > allowed_centi) {
    ++exhausted_;
    return false;
  }
  ++current.retries;
  return true;
}

uint64_t RetryBudget::exhausted_count() const {
  absl::MutexLock lock(&mu_);
  return exhausted_;
}

}  // namespace interop::resilience
