#include "tools/mock_city/fault_injector.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/rich_status.h"

namespace interop::mock_city {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Independent draws per purpose: the error draw and the jitter draw of a call do not correlate.
constexpr uint64_t kErrorStream = 0x6572726f72ULL;   // "error"
constexpr uint64_t kJitterStream = 0x6a69747465ULL;  // "jitte"

uint64_t Draw(uint64_t seed, uint64_t k, uint64_t stream) {
  return SplitMix64(SplitMix64(seed ^ stream) + k);
}

bool Injects(const FaultSettings& s) {
  return s.down || s.hang || s.error_rate > 0 || s.latency > absl::ZeroDuration() ||
         s.latency_jitter > absl::ZeroDuration();
}

}  // namespace

bool FaultSettings::operator==(const FaultSettings& other) const {
  return latency == other.latency && latency_jitter == other.latency_jitter &&
         error_rate == other.error_rate && error_code == other.error_code && hang == other.hang &&
         down == other.down && methods == other.methods && seed == other.seed;
}

FaultInjector::FaultInjector(std::vector<std::string> known_methods)
    : known_methods_(std::move(known_methods)) {}

absl::Status FaultInjector::Validate(const FaultSettings& settings, absl::string_view field_prefix) const {
  const auto field = [field_prefix](absl::string_view name) { return absl::StrCat(field_prefix, name); };
  if (settings.latency < absl::ZeroDuration()) return FieldError(field("latency_ms"), "must not be negative");
  if (settings.latency_jitter < absl::ZeroDuration()) {
    return FieldError(field("latency_jitter_ms"), "must not be negative");
  }
  if (settings.latency + settings.latency_jitter > kMaxLatency) {
    return FieldError(field("latency_jitter_ms"),
                      absl::StrCat("latency_ms plus latency_jitter_ms must be at most ",
                                   absl::ToInt64Milliseconds(kMaxLatency), " (one hour)"));
  }
  if (!(settings.error_rate >= 0.0 && settings.error_rate <= 1.0)) {
    return FieldError(field("error_rate"),
                      absl::StrCat("must be between 0 and 1, got ", settings.error_rate));
  }
  if (settings.error_code == absl::StatusCode::kOk) {
    return FieldError(field("error_code"), "OK is not an error; name a failing code such as UNAVAILABLE");
  }
  if (!known_methods_.empty()) {
    for (size_t i = 0; i < settings.methods.size(); ++i) {
      const std::string& method = settings.methods[i];
      if (std::find(known_methods_.begin(), known_methods_.end(), method) == known_methods_.end()) {
        return FieldError(field(absl::StrCat("methods[", i, "]")),
                          absl::StrCat("\"", absl::CHexEscape(method), "\" is not a method of this backend"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status FaultInjector::Set(FaultSettings settings) {
  absl::Status valid = Validate(settings);
  if (!valid.ok()) return valid;
  absl::MutexLock serialize(&set_mu_);
  bool was_down, now_down;
  {
    absl::MutexLock lock(&mu_);
    was_down = settings_.down;
    now_down = settings.down;
    active_.store(Injects(settings), std::memory_order_release);
    down_.store(now_down, std::memory_order_release);
    settings_ = std::move(settings);
    next_index_ = 0;
  }
  if (was_down != now_down && down_observer_) down_observer_(now_down);
  return absl::OkStatus();
}

void FaultInjector::Reset() {
  absl::MutexLock serialize(&set_mu_);
  bool was_down;
  {
    absl::MutexLock lock(&mu_);
    was_down = settings_.down;
    settings_ = FaultSettings();
    next_index_ = 0;
    active_.store(false, std::memory_order_release);
    down_.store(false, std::memory_order_release);
    calls_seen_ = 0;
    refused_down_ = 0;
    errors_injected_ = 0;
    hangs_injected_ = 0;
    replies_delayed_ = 0;
  }
  if (was_down && down_observer_) down_observer_(false);
}

FaultSettings FaultInjector::settings() const {
  absl::MutexLock lock(&mu_);
  return settings_;
}

FaultCounters FaultInjector::counters() const {
  FaultCounters counters;
  counters.calls_seen = calls_seen_.load();
  counters.refused_down = refused_down_.load();
  counters.errors_injected = errors_injected_.load();
  counters.hangs_injected = hangs_injected_.load();
  counters.replies_delayed = replies_delayed_.load();
  return counters;
}

void FaultInjector::SetDownObserver(std::function<void(bool down)> observer) {
  absl::MutexLock serialize(&set_mu_);
  down_observer_ = std::move(observer);
  if (down_observer_) down_observer_(down());
}

FaultDecision FaultInjector::Decide(absl::string_view method) {
  calls_seen_.fetch_add(1, std::memory_order_relaxed);
  FaultDecision decision;
  if (!active_.load(std::memory_order_acquire)) return decision;
  absl::MutexLock lock(&mu_);
  const FaultSettings& s = settings_;
  if (s.down) {
    refused_down_.fetch_add(1, std::memory_order_relaxed);
    decision.action = FaultAction::kRefuse;
    decision.refusal = absl::UnavailableError("the city is down (injected fault)");
    return decision;
  }
  if (!s.methods.empty() && std::find(s.methods.begin(), s.methods.end(), method) == s.methods.end()) {
    return decision;
  }
  const uint64_t k = next_index_++;
  decision.call_index = static_cast<int64_t>(k);
  if (s.hang) {
    hangs_injected_.fetch_add(1, std::memory_order_relaxed);
    decision.action = FaultAction::kHang;
    return decision;
  }
  decision.reply_delay = s.latency + JitterAt(s.seed, k, s.latency_jitter);
  if (decision.reply_delay > absl::ZeroDuration()) replies_delayed_.fetch_add(1, std::memory_order_relaxed);
  if (ErrsAt(s.seed, k, s.error_rate)) {
    errors_injected_.fetch_add(1, std::memory_order_relaxed);
    decision.action = FaultAction::kRefuse;
    decision.refusal =
        absl::Status(s.error_code, absl::StrCat("injected fault: call ", k, " of seed ", s.seed,
                                                " fails with ", absl::StatusCodeToString(s.error_code)));
  }
  return decision;
}

bool FaultInjector::ErrsAt(uint64_t seed, uint64_t k, double error_rate) {
  if (error_rate <= 0) return false;
  if (error_rate >= 1) return true;
  // 53 random bits as a fraction in [0, 1).
  const double draw = static_cast<double>(Draw(seed, k, kErrorStream) >> 11) * 0x1.0p-53;
  return draw < error_rate;
}

absl::Duration FaultInjector::JitterAt(uint64_t seed, uint64_t k, absl::Duration max_jitter) {
  const int64_t max_ms = absl::ToInt64Milliseconds(max_jitter);
  if (max_ms <= 0) return absl::ZeroDuration();
  return absl::Milliseconds(
      static_cast<int64_t>(Draw(seed, k, kJitterStream) % static_cast<uint64_t>(max_ms + 1)));
}

absl::StatusOr<absl::StatusCode> FaultInjector::ParseStatusCode(absl::string_view name) {
  const std::string upper = absl::AsciiStrToUpper(name);
  for (int code = 0; code <= static_cast<int>(absl::StatusCode::kUnauthenticated); ++code) {
    const auto status_code = static_cast<absl::StatusCode>(code);
    if (absl::StatusCodeToString(status_code) == upper) return status_code;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", absl::CHexEscape(name), "\" is not a gRPC status code name (e.g. UNAVAILABLE)"));
}

// --- ReplyScheduler.

ReplyScheduler::ReplyScheduler() = default;

ReplyScheduler::~ReplyScheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    wake_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

ReplyScheduler::TaskId ReplyScheduler::RunAt(absl::Time when, std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
  const TaskId id = next_id_++;
  const bool earliest = tasks_.empty() || when < tasks_.begin()->first.first;
  tasks_.emplace(std::make_pair(when, id), std::move(task));
  due_.emplace(id, when);
  if (earliest) wake_.Signal();
  return id;
}

bool ReplyScheduler::Cancel(TaskId id) {
  absl::MutexLock lock(&mu_);
  auto it = due_.find(id);
  if (it == due_.end()) return false;
  tasks_.erase(std::make_pair(it->second, id));
  due_.erase(it);
  return true;
}

size_t ReplyScheduler::pending() const {
  absl::MutexLock lock(&mu_);
  return tasks_.size();
}

void ReplyScheduler::Loop() {
  mu_.Lock();
  while (true) {
    if (tasks_.empty()) {
      if (stopping_) break;
      wake_.Wait(&mu_);
      continue;
    }
    const absl::Time first = tasks_.begin()->first.first;
    if (!stopping_ && first > absl::Now()) {
      wake_.WaitWithDeadline(&mu_, first);  // RunAt of an earlier task and the destructor wake it
      continue;
    }
    auto it = tasks_.begin();
    std::function<void()> task = std::move(it->second);
    due_.erase(it->first.second);
    tasks_.erase(it);
    mu_.Unlock();
    task();
    mu_.Lock();
  }
  mu_.Unlock();
}

}  // namespace interop::mock_city
