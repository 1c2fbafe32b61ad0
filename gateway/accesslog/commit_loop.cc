#include "gateway/accesslog/commit_loop.h"

#include <iterator>
#include <utility>

#include "absl/time/clock.h"
#include "gateway/base/thread_name.h"

namespace interop::accesslog {

CommitLoop::CommitLoop(size_t max_batch, Hooks hooks)
    : max_batch_(max_batch == 0 ? 1 : max_batch), hooks_(std::move(hooks)) {}

CommitLoop::~CommitLoop() { Stop(); }

void CommitLoop::Start() {
  completer_ = std::thread([this] {
    SetCurrentThreadName("log-done");
    CompletionLoop();
  });
  writer_ = std::thread([this] {
    SetCurrentThreadName("log-write");
    WriterLoop();
  });
}

void CommitLoop::Stop() {
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

void CommitLoop::Append(AccessRecord record, std::function<void(absl::StatusOr<uint64_t>)> done) {
  {
    absl::MutexLock lock(&mu_);
    if (!writer_exited_) {
      queue_.push_back(PendingAppend{std::move(record), std::move(done)});
      if (writer_waiting_) work_cv_.Signal();
      return;
    }
  }
  // Only reachable by appending while the log is being destroyed, which callers must not do; the
  // one case where `done` runs inside Append().
  if (done) done(absl::FailedPreconditionError("the access log is closed"));
}

absl::Status CommitLoop::CheckpointNow() {
  CheckpointRequest request;
  absl::MutexLock lock(&mu_);
  if (writer_exited_) return absl::FailedPreconditionError("the access log is closed");
  checkpoint_requests_.push_back(&request);
  if (writer_waiting_) work_cv_.Signal();
  while (!request.finished) checkpoint_cv_.Wait(&mu_);
  return request.status;
}

void CommitLoop::WriterLoop() {
  std::vector<PendingAppend> batch;
  std::vector<CheckpointRequest*> requests;
  while (true) {
    bool final_round = false;
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && checkpoint_requests_.empty() && !stopping_) {
        writer_waiting_ = true;
        const absl::Time deadline = hooks_.idle_deadline();
        if (deadline == absl::InfiniteFuture()) {
          work_cv_.Wait(&mu_);
          writer_waiting_ = false;
        } else {
          // A checkpoint falls due at `deadline`: commit an empty batch then, if nothing came.
          const bool timed_out = absl::Now() >= deadline || work_cv_.WaitWithDeadline(&mu_, deadline);
          writer_waiting_ = false;
          if (timed_out && queue_.empty() && checkpoint_requests_.empty()) break;
        }
      }
      writer_waiting_ = false;
      if (queue_.size() <= max_batch_) {
        batch.swap(queue_);  // queue_ keeps the batch's old capacity: no reallocation next time
      } else {
        auto end = queue_.begin() + static_cast<std::ptrdiff_t>(max_batch_);
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(end));
        queue_.erase(queue_.begin(), end);
      }
      requests.swap(checkpoint_requests_);
      final_round = stopping_ && queue_.empty();
    }
    if (!batch.empty()) batches_started_.fetch_add(1, std::memory_order_relaxed);

    CompletedBatch completed;
    completed.status = hooks_.commit(batch, /*sign_head=*/final_round || !requests.empty(),
                                     &completed.checkpoint_status);
    if (!batch.empty() || !requests.empty()) {
      // The completion thread calls `done` while this thread commits the next batch.
      completed.appends.swap(batch);
      completed.checkpoint_requests.swap(requests);
      absl::MutexLock lock(&completion_mu_);
      completions_.push_back(std::move(completed));
      completion_cv_.Signal();
      if (!spare_batches_.empty()) {
        batch.swap(spare_batches_.back());
        spare_batches_.pop_back();
      }
    }
    if (final_round) {
      absl::MutexLock lock(&mu_);
      // Requests that arrived during the final commit.
      for (CheckpointRequest* request : checkpoint_requests_) {
        request->status = absl::FailedPreconditionError("the access log is closed");
        request->finished = true;
      }
      checkpoint_requests_.clear();
      checkpoint_cv_.SignalAll();
      writer_exited_ = true;
      return;
    }
  }
}

void CommitLoop::CompletionLoop() {
  std::deque<CompletedBatch> work;
  while (true) {
    {
      absl::MutexLock lock(&completion_mu_);
      while (completions_.empty() && !completion_stopping_) completion_cv_.Wait(&completion_mu_);
      if (completions_.empty()) return;  // stopping, and everything delivered
      work.swap(completions_);
    }
    for (CompletedBatch& completed : work) {
      // No lock is held here: `done` may append again.
      for (PendingAppend& pending : completed.appends) {
        if (!pending.done) continue;
        if (completed.status.ok()) {
          pending.done(pending.record.sequence);
        } else {
          pending.done(completed.status);
        }
      }
      if (!completed.checkpoint_requests.empty()) {
        absl::MutexLock lock(&mu_);
        for (CheckpointRequest* request : completed.checkpoint_requests) {
          request->status = completed.status.ok() ? completed.checkpoint_status : completed.status;
          request->finished = true;
        }
        checkpoint_cv_.SignalAll();
      }
    }
    absl::MutexLock lock(&completion_mu_);
    for (CompletedBatch& completed : work) {
      if (spare_batches_.size() >= 4) break;
      completed.appends.clear();  // keeps the capacity for a later batch
      spare_batches_.push_back(std::move(completed.appends));
    }
    work.clear();
  }
}

}  // namespace interop::accesslog
