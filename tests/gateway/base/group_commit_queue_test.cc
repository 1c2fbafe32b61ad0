// GroupCommitQueue (gateway/base/group_commit_queue.h): items queued while a commit runs go into the
// next batch together, batches are delivered in commit order, never more than max_batch at a time,
// Stop() commits and delivers what is queued, a delivery may enqueue again, and nothing is taken
// after Stop().
#include "gateway/base/group_commit_queue.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop {
namespace {

using ::testing::ElementsAre;

// Records what the queue committed and delivered, in order.
class Recorder {
 public:
  void Committed(const std::vector<int>& batch) {
    absl::MutexLock lock(&mu_);
    committed_.push_back(batch);
  }
  void Delivered(const std::vector<int>& batch) {
    absl::MutexLock lock(&mu_);
    for (int item : batch) delivered_.push_back(item);
  }
  std::vector<std::vector<int>> committed() {
    absl::MutexLock lock(&mu_);
    return committed_;
  }
  std::vector<int> delivered() {
    absl::MutexLock lock(&mu_);
    return delivered_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::vector<int>> committed_ ABSL_GUARDED_BY(mu_);
  std::vector<int> delivered_ ABSL_GUARDED_BY(mu_);
};

TEST(GroupCommitQueueTest, ItemsQueuedDuringACommitGoTogetherIntoTheNextBatchInOrder) {
  Recorder recorder;
  absl::Notification first_commit_started;
  absl::Notification release_first_commit;
  GroupCommitQueue<int> queue(
      {512, "test-write", "test-done"},
      [&](std::vector<int>& batch) {
        if (!first_commit_started.HasBeenNotified()) {
          first_commit_started.Notify();
          release_first_commit.WaitForNotification();
        }
        recorder.Committed(batch);
      },
      [&](std::vector<int>& batch) { recorder.Delivered(batch); });
  queue.Start();
  int item = 0;
  ASSERT_TRUE(queue.Enqueue(item));
  first_commit_started.WaitForNotification();
  for (item = 1; item <= 5; ++item) {
    int copy = item;
    ASSERT_TRUE(queue.Enqueue(copy));
  }
  EXPECT_EQ(queue.queued(), 5u) << "waiting while the first commit runs";
  release_first_commit.Notify();
  queue.Stop();
  EXPECT_THAT(recorder.committed(), ElementsAre(ElementsAre(0), ElementsAre(1, 2, 3, 4, 5)));
  EXPECT_THAT(recorder.delivered(), ElementsAre(0, 1, 2, 3, 4, 5));
}

TEST(GroupCommitQueueTest, NoBatchIsLargerThanMaxBatch) {
  Recorder recorder;
  GroupCommitQueue<int> queue({4, "test-write", "test-done"}, [&](std::vector<int>& b) { recorder.Committed(b); },
                              [&](std::vector<int>& b) { recorder.Delivered(b); });
  // Queued before the threads start: the writer finds all ten at once.
  for (int i = 0; i < 10; ++i) {
    int item = i;
    ASSERT_TRUE(queue.Enqueue(item));
  }
  queue.Start();
  queue.Stop();
  EXPECT_THAT(recorder.committed(),
              ElementsAre(ElementsAre(0, 1, 2, 3), ElementsAre(4, 5, 6, 7), ElementsAre(8, 9)));
  EXPECT_EQ(recorder.delivered().size(), 10u);
}

TEST(GroupCommitQueueTest, ADeliveryMayEnqueueAgainAndStopDeliversEverything) {
  std::atomic<int> delivered{0};
  GroupCommitQueue<int>* self = nullptr;
  GroupCommitQueue<int> queue({512, "test-write", "test-done"}, [](std::vector<int>&) {},
                              [&](std::vector<int>& batch) {
                                for (int item : batch) {
                                  ++delivered;
                                  int next = item + 1;
                                  if (item < 50) EXPECT_TRUE(self->Enqueue(next));
                                }
                              });
  self = &queue;
  queue.Start();
  int first = 0;
  ASSERT_TRUE(queue.Enqueue(first));
  while (delivered.load() < 51) std::this_thread::yield();
  queue.Stop();
  EXPECT_EQ(delivered.load(), 51);
}

TEST(GroupCommitQueueTest, NothingIsTakenAfterStopAndTheItemIsLeftAsItWas) {
  GroupCommitQueue<std::string> queue({512, "test-write", "test-done"}, [](std::vector<std::string>&) {},
                                      [](std::vector<std::string>&) {});
  queue.Start();
  queue.Stop();
  queue.Stop();  // idempotent
  std::string item = "late";
  EXPECT_FALSE(queue.Enqueue(item));
  EXPECT_EQ(item, "late");
}

}  // namespace
}  // namespace interop
