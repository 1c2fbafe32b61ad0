// WorkQueue: a few threads for work that may block (disk reads, verification), so that gRPC's
// reactor threads never do.
//
// Thread-safe. The destructor runs the work already scheduled, then joins the threads.
#ifndef INTEROP_GATEWAY_BASE_WORK_QUEUE_H_
#define INTEROP_GATEWAY_BASE_WORK_QUEUE_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace interop {

class WorkQueue {
 public:
  explicit WorkQueue(int threads);
  ~WorkQueue();

  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  // Runs `work` on one of the queue's threads, in FIFO order of scheduling.
  void Schedule(std::function<void()> work);

 private:
  void Run();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace interop

#endif  // INTEROP_GATEWAY_BASE_WORK_QUEUE_H_
