// RetryBudget: bounds how much retries may add to a city's load, so that retrying never turns a
// city's bad minute into a storm. Over the last `window` (ten slices), retries may number at most
//   budget_percent% of the calls made  +  min_per_second * window seconds.
// The second term lets a quiet gateway still retry the odd failed call.
//
//   budget.RecordCall();            // every first attempt
//   if (budget.TryRetry()) retry;   // counts the retry when it answers true
//
// Time is read from the injected Clock only. Thread-safe.
#ifndef INTEROP_GATEWAY_RESILIENCE_RETRY_BUDGET_H_
#define INTEROP_GATEWAY_RESILIENCE_RETRY_BUDGET_H_

#include <array>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/base/clock.h"

namespace interop::resilience {

struct RetryBudgetOptions {
  int budget_percent = 20;
  int min_per_second = 10;
  absl::Duration window = absl::Seconds(10);
};

class RetryBudget {
 public:
  RetryBudget(const RetryBudgetOptions& options, const Clock& clock);

  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  void RecordCall() ABSL_LOCKS_EXCLUDED(mu_);
  // Whether one more retry fits in the budget now; if so it is counted.
  bool TryRetry() ABSL_LOCKS_EXCLUDED(mu_);

  // Retries refused for want of budget, since construction.
  uint64_t exhausted_count() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  static constexpr int kSlices = 10;
  struct Slice {
    int64_t index = -1;
    int64_t calls = 0;
    int64_t retries = 0;
  };
  Slice& CurrentSlice(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RetryBudgetOptions options_;
  const Clock& clock_;
  const absl::Duration slice_;

  mutable absl::Mutex mu_;
  std::array<Slice, kSlices> slices_ ABSL_GUARDED_BY(mu_);
  uint64_t exhausted_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace interop::resilience

#endif  // INTEROP_GATEWAY_RESILIENCE_RETRY_BUDGET_H_
