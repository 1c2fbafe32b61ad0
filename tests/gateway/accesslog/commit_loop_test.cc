#include "gateway/accesslog/commit_loop.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::accesslog {
namespace {

using ::testing::ElementsAre;

// A store for the loop: numbers records from 1, remembers every commit, and can be made to hold a
// commit until released, to fail, or to ask for an idle commit at a given time.
class FakeStore {
 public:
  struct Commit {
    std::vector<std::string> persons;
    bool sign_head;
  };

  CommitLoop::Hooks Hooks() {
    return {[this](std::vector<PendingAppend>& batch, bool sign_head, absl::Status* checkpoint_status) {
              return DoCommit(batch, sign_head, checkpoint_status);
            },
            [this] {
              absl::MutexLock lock(&mu_);
              return idle_deadline_;
            }};
  }

  void HoldCommits() {
    absl::MutexLock lock(&mu_);
    holding_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    holding_ = false;
  }
  // Waits until a commit is held (the writer is inside `commit`).
  void AwaitHeld() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&held_));
  }
  void FailWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    failure_ = std::move(status);
  }
  void SetCheckpointStatus(absl::Status status) {
    absl::MutexLock lock(&mu_);
    checkpoint_status_ = std::move(status);
  }
  void SetIdleDeadline(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    idle_deadline_ = deadline;
  }
  std::vector<Commit> commits() {
    absl::MutexLock lock(&mu_);
    return commits_;
  }
  // Waits until at least `n` commits were made.
  void AwaitCommits(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return commits_.size() >= n; };
    mu_.Await(absl::Condition(&enough));
  }

 private:
  absl::Status DoCommit(std::vector<PendingAppend>& batch, bool sign_head, absl::Status* checkpoint_status) {
    absl::MutexLock lock(&mu_);
    held_ = holding_;
    auto released = [this] { return !holding_; };
    mu_.Await(absl::Condition(&released));
    held_ = false;
    Commit commit{{}, sign_head};
    for (PendingAppend& pending : batch) {
      commit.persons.push_back(pending.record.person);
      if (failure_.ok()) pending.record.sequence = ++head_;
    }
    commits_.push_back(commit);
    *checkpoint_status = checkpoint_status_;
    // As a log does once it has signed what was due (or failed to): nothing more is due.
    if (batch.empty() || !failure_.ok()) idle_deadline_ = absl::InfiniteFuture();
    return failure_;
  }

  absl::Mutex mu_;
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  absl::Status checkpoint_status_ ABSL_GUARDED_BY(mu_);
  absl::Time idle_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  uint64_t head_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Commit> commits_ ABSL_GUARDED_BY(mu_);
};

AccessRecord RecordAbout(const std::string& person) {
  AccessRecord record;
  record.person = person;
  return record;
}

// Collects what `done` was called with, in call order.
class Results {
 public:
  std::function<void(absl::StatusOr<uint64_t>)> Callback(const std::string& person) {
    return [this, person](absl::StatusOr<uint64_t> sequence) {
      absl::MutexLock lock(&mu_);
      results_.push_back(sequence.ok() ? absl::StrCat(person, "=", *sequence)
                                       : absl::StrCat(person, ":", absl::StatusCodeToString(sequence.status().code())));
    };
  }
  void AwaitCount(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&] { return results_.size() >= n; };
    mu_.Await(absl::Condition(&enough));
  }
  std::vector<std::string> results() {
    absl::MutexLock lock(&mu_);
    return results_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> results_ ABSL_GUARDED_BY(mu_);
};

// Appends a record about `person` and returns once the writer is inside its commit, held there
// until store.Release().
void AppendAndHoldItsCommit(CommitLoop& loop, FakeStore& store, Results& results, const std::string& person) {
  store.HoldCommits();
  loop.Append(RecordAbout(person), results.Callback(person));
  store.AwaitHeld();
}

TEST(CommitLoopTest, AppendsQueuedDuringACommitGoIntoTheNextOneAndAreAnsweredInOrder) {
  FakeStore store;
  Results results;
  CommitLoop loop(/*max_batch=*/100, store.Hooks());
  loop.Start();
  AppendAndHoldItsCommit(loop, store, results, "a");  // the writer is committing "a"
  loop.Append(RecordAbout("b"), results.Callback("b"));
  loop.Append(RecordAbout("c"), results.Callback("c"));
  store.Release();
  results.AwaitCount(3);
  EXPECT_THAT(results.results(), ElementsAre("a=1", "b=2", "c=3"));
  std::vector<FakeStore::Commit> commits = store.commits();
  ASSERT_EQ(commits.size(), 2u);
  EXPECT_THAT(commits[0].persons, ElementsAre("a"));
  EXPECT_THAT(commits[1].persons, ElementsAre("b", "c"));
  EXPECT_FALSE(commits[1].sign_head);
}

TEST(CommitLoopTest, ABatchHoldsAtMostMaxBatchRecords) {
  FakeStore store;
  Results results;
  CommitLoop loop(/*max_batch=*/2, store.Hooks());
  loop.Start();
  AppendAndHoldItsCommit(loop, store, results, "a");
  for (const char* person : {"b", "c", "d", "e", "f"}) loop.Append(RecordAbout(person), results.Callback(person));
  store.Release();
  results.AwaitCount(6);
  std::vector<FakeStore::Commit> commits = store.commits();
  ASSERT_EQ(commits.size(), 4u);
  EXPECT_THAT(commits[1].persons, ElementsAre("b", "c"));
  EXPECT_THAT(commits[2].persons, ElementsAre("d", "e"));
  EXPECT_THAT(commits[3].persons, ElementsAre("f"));
  EXPECT_THAT(results.results(), ElementsAre("a=1", "b=2", "c=3", "d=4", "e=5", "f=6"));
}

TEST(CommitLoopTest, AFailedCommitAnswersEachOfItsRecordsWithTheError) {
  FakeStore store;
  Results results;
  CommitLoop loop(/*max_batch=*/100, store.Hooks());
  loop.Start();
  store.FailWith(absl::UnavailableError("disk gone"));
  loop.Append(RecordAbout("a"), results.Callback("a"));
  results.AwaitCount(1);
  EXPECT_THAT(results.results(), ElementsAre("a:UNAVAILABLE"));
  EXPECT_EQ(loop.CheckpointNow().code(), absl::StatusCode::kUnavailable);
}

TEST(CommitLoopTest, CheckpointNowSignsInTheNextCommitAndReturnsAfterItsRecordsAreAnswered) {
  FakeStore store;
  Results results;
  CommitLoop loop(/*max_batch=*/100, store.Hooks());
  loop.Start();
  AppendAndHoldItsCommit(loop, store, results, "a");
  loop.Append(RecordAbout("b"), results.Callback("b"));
  absl::Notification checkpointed;
  absl::Status checkpoint;
  std::thread caller([&] {
    checkpoint = loop.CheckpointNow();
    checkpointed.Notify();
  });
  // The request waits for the writer's next take, behind the held commit.
  EXPECT_FALSE(checkpointed.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  store.Release();
  checkpointed.WaitForNotification();
  caller.join();
  EXPECT_TRUE(checkpoint.ok()) << checkpoint;
  EXPECT_THAT(results.results(), ElementsAre("a=1", "b=2"));  // both answered before it returned
  std::vector<FakeStore::Commit> commits = store.commits();
  ASSERT_GE(commits.size(), 2u);
  EXPECT_FALSE(commits[0].sign_head);
  EXPECT_THAT(commits[1].persons, ElementsAre("b"));
  // With "b", unless the request came after the writer took "b": then in a commit of its own.
  EXPECT_LE(commits.size(), 3u);
  EXPECT_TRUE(commits.back().sign_head);

  store.SetCheckpointStatus(absl::InternalError("no key"));
  EXPECT_EQ(loop.CheckpointNow().code(), absl::StatusCode::kInternal);  // an empty commit, signing
  EXPECT_TRUE(store.commits().back().persons.empty());
}

TEST(CommitLoopTest, WithNothingQueuedTheWriterCommitsAnEmptyBatchAtTheIdleDeadline) {
  FakeStore store;
  CommitLoop loop(/*max_batch=*/100, store.Hooks());
  loop.Start();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_TRUE(store.commits().empty());  // InfiniteFuture: waits for work
  store.SetIdleDeadline(absl::Now() + absl::Milliseconds(20));
  loop.Append(RecordAbout("a"), nullptr);  // wakes the writer, which then reads the new deadline
  store.AwaitCommits(2);
  std::vector<FakeStore::Commit> commits = store.commits();
  EXPECT_THAT(commits[0].persons, ElementsAre("a"));
  EXPECT_TRUE(commits[1].persons.empty());
  EXPECT_FALSE(commits[1].sign_head);  // the store decides whether a checkpoint is due
}

TEST(CommitLoopTest, StopMakesAFinalSigningCommitAndRefusesAppendsAfterIt) {
  FakeStore store;
  Results results;
  auto loop = std::make_unique<CommitLoop>(/*max_batch=*/100, store.Hooks());
  loop->Start();
  AppendAndHoldItsCommit(*loop, store, results, "a");
  loop->Append(RecordAbout("b"), results.Callback("b"));
  std::thread stopper([&] { loop->Stop(); });
  store.Release();
  stopper.join();
  // Everything queued before Stop() was committed and answered; the last commit signed the head.
  EXPECT_THAT(results.results(), ElementsAre("a=1", "b=2"));
  EXPECT_TRUE(store.commits().back().sign_head);

  loop->Append(RecordAbout("c"), results.Callback("c"));  // answered at once
  EXPECT_THAT(results.results(), ElementsAre("a=1", "b=2", "c:FAILED_PRECONDITION"));
  EXPECT_EQ(loop->CheckpointNow().code(), absl::StatusCode::kFailedPrecondition);
  loop->Stop();  // again: nothing happens
  loop.reset();
}

TEST(CommitLoopTest, StopWithNothingQueuedStillSignsTheHead) {
  FakeStore store;
  CommitLoop loop(/*max_batch=*/100, store.Hooks());
  loop.Start();
  loop.Stop();
  std::vector<FakeStore::Commit> commits = store.commits();
  ASSERT_EQ(commits.size(), 1u);
  EXPECT_TRUE(commits[0].persons.empty());
  EXPECT_TRUE(commits[0].sign_head);
}

}  // namespace
}  // namespace interop::accesslog
