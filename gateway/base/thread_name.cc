#include "gateway/base/thread_name.h"

#include <pthread.h>

namespace interop {

namespace {
// Linux's TASK_COMM_LEN (16) with its terminating NUL.
constexpr size_t kMaxThreadNameBytes = 15;
}  // namespace

void SetCurrentThreadName(absl::string_view name) {
  std::string cut(name.substr(0, kMaxThreadNameBytes));
  pthread_setname_np(pthread_self(), cut.c_str());
}

std::string CurrentThreadName() {
  char name[kMaxThreadNameBytes + 1] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0) return "";
  return name;
}

}  // namespace interop
