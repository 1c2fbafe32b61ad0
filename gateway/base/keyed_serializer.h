// KeyedSerializer: runs asynchronous tasks one at a time per key, in arrival order, and tasks of
// different keys concurrently. The gateway uses it so that two settlements for one person never
// interleave inside this process (the insured city's version check guards across processes).
//
// A task receives a `done` function and must call it exactly once, from any thread, when it has
// finished (typically from its last asynchronous callback). The next task for the key then starts
// on the thread that called `done`; the first task for an idle key starts at once on the thread
// that called Run. Nothing blocks.
//
// Thread-safe. The serializer must outlive every task it runs.
#ifndef INTEROP_GATEWAY_BASE_KEYED_SERIALIZER_H_
#define INTEROP_GATEWAY_BASE_KEYED_SERIALIZER_H_

#include <atomic>
#include <deque>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace interop {

class KeyedSerializer {
 public:
  using Done = std::function<void()>;
  using Task = std::function<void(Done done)>;

  // Runs `task` now if no task for `key` is running, else after those queued before it.
  void Run(const std::string& key, Task task) ABSL_LOCKS_EXCLUDED(mu_);

  // Keys with a running task (for tests and metrics).
  size_t ActiveKeys() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Start(const std::string& key, Task task);
  void Finish(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  // Present while a task for the key runs; holds the tasks waiting behind it.
  absl::flat_hash_map<std::string, std::deque<Task>> waiting_ ABSL_GUARDED_BY(mu_);
};

}  // namespace interop

#endif  // INTEROP_GATEWAY_BASE_KEYED_SERIALIZER_H_
