#include "gateway/base/keyed_serializer.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace interop {
namespace {

TEST(KeyedSerializerTest, TasksOfOneKeyRunOneAtATimeInArrivalOrder) {
  KeyedSerializer serializer;
  std::vector<KeyedSerializer::Done> held;
  std::vector<int> started;
  for (int i = 0; i < 3; ++i) {
    serializer.Run("person", [&, i](KeyedSerializer::Done done) {
      started.push_back(i);
      held.push_back(std::move(done));
    });
  }
  // Only the first started; the others wait for it.
  ASSERT_EQ(started, std::vector<int>({0}));
  held[0]();
  ASSERT_EQ(started, std::vector<int>({0, 1}));
  held[1]();
  ASSERT_EQ(started, std::vector<int>({0, 1, 2}));
  EXPECT_EQ(serializer.ActiveKeys(), 1u);
  held[2]();
  EXPECT_EQ(serializer.ActiveKeys(), 0u);
}

TEST(KeyedSerializerTest, DifferentKeysRunConcurrently) {
  KeyedSerializer serializer;
  std::vector<KeyedSerializer::Done> held;
  serializer.Run("a", [&](KeyedSerializer::Done done) { held.push_back(std::move(done)); });
  serializer.Run("b", [&](KeyedSerializer::Done done) { held.push_back(std::move(done)); });
  EXPECT_EQ(held.size(), 2u);
  EXPECT_EQ(serializer.ActiveKeys(), 2u);
  for (auto& done : held) done();
  EXPECT_EQ(serializer.ActiveKeys(), 0u);
}

TEST(KeyedSerializerTest, ASecondDoneIsIgnored) {
  KeyedSerializer serializer;
  KeyedSerializer::Done first;
  int second_runs = 0;
  serializer.Run("k", [&](KeyedSerializer::Done done) { first = done; });
  serializer.Run("k", [&](KeyedSerializer::Done done) {
    ++second_runs;
    done();
  });
  first();
  first();  // must not start anything twice or release another task's slot
  EXPECT_EQ(second_runs, 1);
  EXPECT_EQ(serializer.ActiveKeys(), 0u);
}

// Tasks finished from other threads, as adapter callbacks do: no two tasks of one key overlap, and
// every task runs.
TEST(KeyedSerializerTest, NoOverlapUnderConcurrency) {
  constexpr int kThreads = 8;
  constexpr int kTasksPerThread = 200;
  // Shared with detached threads, which may still be returning when the test ends.
  struct State {
    KeyedSerializer serializer;
    std::atomic<int> running{0};
    std::atomic<int> overlaps{0};
    std::atomic<int> ran{0};
    absl::BlockingCounter all{kThreads * kTasksPerThread};
  };
  auto state = std::make_shared<State>();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([state] {
      for (int i = 0; i < kTasksPerThread; ++i) {
        state->serializer.Run("one person", [state](KeyedSerializer::Done done) {
          if (state->running.fetch_add(1) != 0) ++state->overlaps;
          // Finish on another thread, later, as an adapter callback would.
          std::thread([state, done = std::move(done)] {
            state->running.fetch_sub(1);
            ++state->ran;
            done();
            state->all.DecrementCount();
          }).detach();
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  state->all.Wait();
  EXPECT_EQ(state->overlaps.load(), 0);
  EXPECT_EQ(state->ran.load(), kThreads * kTasksPerThread);
}

}  // namespace
}  // namespace interop
