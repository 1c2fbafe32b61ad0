#include "gateway/base/keyed_serializer.h"

#include <memory>
#include <utility>

#include "gateway/base/log.h"

namespace interop {

void KeyedSerializer::Run(const std::string& key, Task task) {
  {
    absl::MutexLock lock(&mu_);
    auto [it, idle] = waiting_.try_emplace(key);
    if (!idle) {
      it->second.push_back(std::move(task));
      return;
    }
  }
  Start(key, std::move(task));
}

void KeyedSerializer::Start(const std::string& key, Task task) {
  auto called = std::make_shared<std::atomic<bool>>(false);
  task([this, key, called] {
    if (called->exchange(true)) {
      LogError("KeyedSerializer: a task called done twice", {{"key", key}});
      return;
    }
    Finish(key);
  });
}

void KeyedSerializer::Finish(const std::string& key) {
  Task next;
  {
    absl::MutexLock lock(&mu_);
    auto it = waiting_.find(key);
    if (it == waiting_.end()) return;
    if (it->second.empty()) {
      waiting_.erase(it);
      return;
    }
    next = std::move(it->second.front());
    it->second.pop_front();
  }
  Start(key, std::move(next));
}

size_t KeyedSerializer::ActiveKeys() const {
  absl::MutexLock lock(&mu_);
  return waiting_.size();
}

}  // namespace interop
