// DelayScheduler: runs short tasks after a delay on one thread of its own, so that a retry's
// backoff never holds a gRPC thread. Tasks must not block: they start the next attempt
// asynchronously and return.
//
// Thread-safe. The destructor runs no pending task: it drops them and joins the thread, so owners
// destroy it only when no call can still be waiting on it (after the server has shut down).
#ifndef INTEROP_GATEWAY_RESILIENCE_DELAY_SCHEDULER_H_
#define INTEROP_GATEWAY_RESILIENCE_DELAY_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace interop::resilience {

class DelayScheduler {
 public:
  DelayScheduler();
  ~DelayScheduler();

  DelayScheduler(const DelayScheduler&) = delete;
  DelayScheduler& operator=(const DelayScheduler&) = delete;

  // Runs `task` on the scheduler's thread once `delay` (real time) has passed; at once (still on
  // that thread) for a delay <= 0. Tasks due at the same time run in the order scheduled.
  void RunAfter(absl::Duration delay, std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop();

  absl::Mutex mu_;
  // Keyed by (due time, sequence) so equal due times keep their order.
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace interop::resilience

#endif  // INTEROP_GATEWAY_RESILIENCE_DELAY_SCHEDULER_H_
