#include "gateway/resilience/delay_scheduler.h"

#include "absl/time/clock.h"

namespace interop::resilience {

DelayScheduler::DelayScheduler() : thread_([this] { Loop(); }) {}

DelayScheduler::~DelayScheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void DelayScheduler::RunAfter(absl::Duration delay, std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.emplace(std::make_pair(absl::Now() + delay, next_sequence_++), std::move(task));
}

void DelayScheduler::Loop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    // Wake for a stop, for a task that is due, or when an earlier task arrives (the wait's
    // condition is re-checked whenever tasks_ changes under the lock).
    const absl::Time first_due = tasks_.empty() ? absl::InfiniteFuture() : tasks_.begin()->first.first;
    auto woken = [this, first_due]() {
      return stopping_ || (!tasks_.empty() && tasks_.begin()->first.first < first_due) ||
             (!tasks_.empty() && tasks_.begin()->first.first <= absl::Now());
    };
    mu_.AwaitWithDeadline(absl::Condition(&woken), first_due);
    if (stopping_) return;
    while (!tasks_.empty() && tasks_.begin()->first.first <= absl::Now()) {
      std::function<void()> task = std::move(tasks_.begin()->second);
      tasks_.erase(tasks_.begin());
      mu_.Unlock();
      task();
      mu_.Lock();
      if (stopping_) return;
    }
  }
}

}  // namespace interop::resilience
