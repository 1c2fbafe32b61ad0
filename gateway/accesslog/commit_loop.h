// CommitLoop: the group commit of an access log, apart from how a batch is written. The SQLite log
// and the PostgreSQL log (sqlite_access_log.cc, postgres_access_log.cc) each own one and give it
// their transaction.
//
// Append() only queues. One writer thread ("log-write") takes everything queued (up to max_batch
// records) with the CheckpointNow() requests that came meanwhile, and hands the batch to `commit`,
// which writes it in one transaction (one sync for all of them). A completion thread ("log-done")
// then calls the records' `done` callbacks, in commit order and holding no lock, and completes the
// batch's CheckpointNow() calls, while the writer already commits the next batch: on two cores,
// waking the appenders overlaps the next sync.
//
// Unlike the settlement ledgers' GroupCommitQueue (gateway/base/group_commit_queue.h), the writer
// also commits with nothing queued: when `idle_deadline` says a checkpoint falls due (the log's
// checkpoint interval), when CheckpointNow() asks, and once more when it stops, so that the last
// records are signed.
//
//   CommitLoop loop(max_batch, {commit, idle_deadline});
//   loop.Start();                    // after the log has read its chain head
//   loop.Append(record, done);       // from any thread
//   loop.Stop();                     // first thing in the log's destructor
#ifndef INTEROP_GATEWAY_ACCESSLOG_COMMIT_LOOP_H_
#define INTEROP_GATEWAY_ACCESSLOG_COMMIT_LOOP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/accesslog/access_log.h"

namespace interop::accesslog {

// A record waiting for its commit, and whom to tell.
struct PendingAppend {
  AccessRecord record;
  std::function<void(absl::StatusOr<uint64_t>)> done;
};

class CommitLoop {
 public:
  struct Hooks {
    // On the writer thread: writes `batch` (which may be empty) in one transaction, setting each
    // record's sequence and hashes, and signs a checkpoint of the new head if `sign_head` (a
    // CheckpointNow() call, or the final commit) or if the log's own rules say one is due. Returns
    // the status of the records; *checkpoint_status gets that of the checkpoint.
    std::function<absl::Status(std::vector<PendingAppend>& batch, bool sign_head, absl::Status* checkpoint_status)>
        commit;
    // On the writer thread, when nothing is queued: when to commit an empty batch (a checkpoint
    // falls due then), or absl::InfiniteFuture() to wait for work.
    std::function<absl::Time()> idle_deadline;
  };

  CommitLoop(size_t max_batch, Hooks hooks);
  ~CommitLoop();  // Stop()
  CommitLoop(const CommitLoop&) = delete;
  CommitLoop& operator=(const CommitLoop&) = delete;

  // Starts the writer and completion threads. Call once.
  void Start();

  // Makes the final commit (what is queued, and a checkpoint), delivers every batch and joins the
  // threads. Appends and CheckpointNow() calls from then on are refused. Idempotent.
  void Stop();

  // Queues `record`; `done` is called on the completion thread with its sequence once it is durable,
  // or with the error that kept it from being so. After Stop(): `done` is called at once, with
  // FAILED_PRECONDITION.
  void Append(AccessRecord record, std::function<void(absl::StatusOr<uint64_t>)> done);

  // Has the writer sign a checkpoint of the head in its next commit; returns once that commit has
  // been made and its records' `done` callbacks called.
  absl::Status CheckpointNow();

  // Batches of records the writer has taken so far.
  uint64_t batches_started() const { return batches_started_.load(std::memory_order_relaxed); }

 private:
  struct CheckpointRequest {
    bool finished = false;
    absl::Status status;
  };
  // A batch after its commit, on its way to the completion thread.
  struct CompletedBatch {
    std::vector<PendingAppend> appends;
    absl::Status status;             // of the records
    absl::Status checkpoint_status;  // of the checkpoint, if the records committed
    std::vector<CheckpointRequest*> checkpoint_requests;
  };

  void WriterLoop();
  void CompletionLoop();

  const size_t max_batch_;
  const Hooks hooks_;

  absl::Mutex mu_;
  absl::CondVar work_cv_;        // the writer waits here for work
  absl::CondVar checkpoint_cv_;  // CheckpointNow() callers wait here
  std::vector<PendingAppend> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<CheckpointRequest*> checkpoint_requests_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool writer_waiting_ ABSL_GUARDED_BY(mu_) = false;  // Append() signals only then
  bool writer_exited_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> batches_started_{0};

  absl::Mutex completion_mu_;
  absl::CondVar completion_cv_;
  std::deque<CompletedBatch> completions_ ABSL_GUARDED_BY(completion_mu_);
  // Emptied vectors of delivered batches, reused so that the writer does not reallocate.
  std::vector<std::vector<PendingAppend>> spare_batches_ ABSL_GUARDED_BY(completion_mu_);
  bool completion_stopping_ ABSL_GUARDED_BY(completion_mu_) = false;

  // Joined by Stop(): the writer (after its final commit) before the completer.
  std::thread writer_;
  std::thread completer_;
};

}  // namespace interop::accesslog

#endif  // INTEROP_GATEWAY_ACCESSLOG_COMMIT_LOOP_H_
