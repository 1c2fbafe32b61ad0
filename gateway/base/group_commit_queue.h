// GroupCommitQueue: the group-commit machinery of a durable store, apart from what it writes.
//
// Callers Enqueue() items from any thread and return at once. One writer thread takes everything
// queued (up to max_batch items) and hands the batch to `commit`, which writes it in one transaction
// (one sync for all of them). A completion thread then hands each committed batch, in commit order,
// to `deliver` (which runs the items' callbacks), holding no lock, while the writer already commits
// the next batch: on two cores, waking the callers overlaps the next sync.
//
//   GroupCommitQueue<PendingWrite> queue({512, "ledger-write", "ledger-done"},
//                                        [this](std::vector<PendingWrite>& batch) { CommitBatch(batch); },
//                                        [](std::vector<PendingWrite>& batch) { for (auto& w : batch) w.done(w.status); });
//   queue.Start();
//   if (!queue.Enqueue(write)) write.done(absl::FailedPreconditionError("closed"));
//
// Stop() (and the destructor) lets the writer commit what is queued, delivers every batch, and joins
// both threads; Enqueue() refuses from the writer's final take on. `deliver` may Enqueue() again
// (an item's callback may write again) until then. Thread-safe.
#ifndef INTEROP_GATEWAY_BASE_GROUP_COMMIT_QUEUE_H_
#define INTEROP_GATEWAY_BASE_GROUP_COMMIT_QUEUE_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "gateway/base/thread_name.h"

namespace interop {

template <typename Item>
class GroupCommitQueue {
 public:
  struct Options {
    size_t max_batch = 512;               // the most items handed to one `commit`
    std::string writer_thread_name;       // for top -H, perf and gdb (at most 15 characters)
    std::string completion_thread_name;
  };
  using BatchFn = std::function<void(std::vector<Item>& batch)>;

  GroupCommitQueue(Options options, BatchFn commit, BatchFn deliver)
      : options_(std::move(options)), commit_(std::move(commit)), deliver_(std::move(deliver)) {}
  ~GroupCommitQueue() { Stop(); }
  GroupCommitQueue(const GroupCommitQueue&) = delete;
  GroupCommitQueue& operator=(const GroupCommitQueue&) = delete;

  // Starts the two threads. Call once, before the first Enqueue() is to be committed.
  void Start() {
    completer_ = std::thread([this] {
      SetCurrentThreadName(options_.completion_thread_name);
      CompletionLoop();
    });
    writer_ = std::thread([this] {
      SetCurrentThreadName(options_.writer_thread_name);
      WriterLoop();
    });
  }

  // Queues `item` for the next batch (moving from it) and returns true; false, leaving `item` as it
  // was, once the writer has made its final take (Stop()).
  bool Enqueue(Item& item) {
    absl::MutexLock lock(&mu_);
    if (writer_exited_) return false;
    queue_.push_back(std::move(item));
    work_cv_.Signal();
    return true;
  }

  // Items waiting for the writer now.
  size_t queued() {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

  // Commits what is queued, delivers every committed batch, and joins the threads. Idempotent.
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      work_cv_.Signal();
    }
    if (writer_.joinable()) writer_.join();
    {
      absl::MutexLock lock(&completion_mu_);
      completion_stopping_ = true;
      completion_cv_.Signal();
    }
    if (completer_.joinable()) completer_.join();
  }

 private:
  void WriterLoop() {
    std::vector<Item> batch;
    while (true) {
      bool final_round = false;
      {
        absl::MutexLock lock(&mu_);
        while (queue_.empty() && !stopping_) work_cv_.Wait(&mu_);
        if (queue_.size() <= options_.max_batch) {
          batch.swap(queue_);
        } else {
          auto end = queue_.begin() + static_cast<std::ptrdiff_t>(options_.max_batch);
          batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
          queue_.erase(queue_.begin(), end);
        }
        final_round = stopping_ && queue_.empty();
        // Set under the same lock as the final take: nothing is queued after it.
        if (final_round) writer_exited_ = true;
      }
      if (!batch.empty()) {
        commit_(batch);
        absl::MutexLock lock(&completion_mu_);
        completions_.push_back(std::move(batch));
        batch = std::vector<Item>();
        completion_cv_.Signal();
      }
      if (final_round) return;
    }
  }

  // Delivers the committed batches in commit order, holding no lock; returns once the writer has
  // exited and everything is delivered.
  void CompletionLoop() {
    std::deque<std::vector<Item>> work;
    while (true) {
      {
        absl::MutexLock lock(&completion_mu_);
        while (completions_.empty() && !completion_stopping_) completion_cv_.Wait(&completion_mu_);
        if (completions_.empty()) return;  // stopping, and everything delivered
        work.swap(completions_);
      }
      for (std::vector<Item>& batch : work) deliver_(batch);
      work.clear();
    }
  }

  const Options options_;
  const BatchFn commit_;
  const BatchFn deliver_;

  absl::Mutex mu_;
  absl::CondVar work_cv_;  // the writer waits here for work
  std::vector<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool writer_exited_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex completion_mu_;
  absl::CondVar completion_cv_;
  std::deque<std::vector<Item>> completions_ ABSL_GUARDED_BY(completion_mu_);
  bool completion_stopping_ ABSL_GUARDED_BY(completion_mu_) = false;

  // Joined by Stop(): the writer (after its final commit) before the completer (after the last
  // delivery).
  std::thread completer_;
  std::thread writer_;
};

// A `deliver` for items that carry their outcome as `status` and a callback `done` taking it (which
// may be empty): runs each callback, in batch order.
template <typename Item>
void RunDoneCallbacks(std::vector<Item>& batch) {
  for (Item& item : batch) {
    if (item.done) item.done(item.status);
  }
}

}  // namespace interop

#endif  // INTEROP_GATEWAY_BASE_GROUP_COMMIT_QUEUE_H_
