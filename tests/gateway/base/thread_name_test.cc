#include "gateway/base/thread_name.h"

#include <fstream>
#include <string>
#include <thread>

#include <sys/syscall.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace interop {
namespace {

// What the kernel shows for the calling thread (what top -H and perf read).
std::string KernelNameOfThisThread() {
  std::ifstream comm("/proc/self/task/" + std::to_string(syscall(SYS_gettid)) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

TEST(ThreadNameTest, NamesTheCallingThreadOnly) {
  const std::string main_name = CurrentThreadName();
  std::string seen_inside, kernel_inside;
  std::thread worker([&] {
    SetCurrentThreadName("log-write");
    seen_inside = CurrentThreadName();
    kernel_inside = KernelNameOfThisThread();
  });
  worker.join();
  EXPECT_EQ(seen_inside, "log-write");
  EXPECT_EQ(kernel_inside, "log-write");
  EXPECT_EQ(CurrentThreadName(), main_name);
}

TEST(ThreadNameTest, LongNamesAreCutToFifteenBytes) {
  std::string seen;
  std::thread worker([&] {
    SetCurrentThreadName("settlement-ledger-writer");
    seen = CurrentThreadName();
  });
  worker.join();
  EXPECT_EQ(seen, "settlement-ledg");
}

}  // namespace
}  // namespace interop
