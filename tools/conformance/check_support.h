// What the conformance checks (conformance_checks.cc, mobility_checks.cc) share: the failures of one
// check (Findings), and adapter and probe calls that wait for their answer and are timed for the
// deadline check (TimedCalls). Private to tools/conformance/.
//
// Not thread-safe: one run at a time (the calls are sequential).
#ifndef INTEROP_TOOLS_CONFORMANCE_CHECK_SUPPORT_H_
#define INTEROP_TOOLS_CONFORMANCE_CHECK_SUPPORT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "google/protobuf/message.h"
#include "tools/conformance/conformance_checks.h"

namespace interop::conformance {

// "NOT_FOUND: message", or "OK".
inline std::string Describe(const absl::Status& status) {
  if (status.ok()) return "OK";
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
}

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& value) {
  return value.status();
}

// The names of the top-level fields in which `a` and `b` (of one type) differ; no values, which may
// be personal.
std::vector<std::string> DifferingFields(const google::protobuf::Message& a,
                                         const google::protobuf::Message& b);

// True if `a` and `b` serialize to the same bytes.
bool SameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b);

// "1.00 yuan" for 100 fen.
inline std::string Yuan(int64_t fen) {
  const char* sign = fen < 0 ? "-" : "";
  const uint64_t magnitude = fen < 0 ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  return absl::StrCat(sign, magnitude / 100, ".", magnitude % 100 < 10 ? "0" : "", magnitude % 100, " yuan");
}

// The failures of one check.
class Findings {
 public:
  // How many failures of one check are spelled out; the rest are counted.
  static constexpr size_t kShownFailures = 4;

  explicit Findings(absl::string_view name) : name_(name) {}

  void Fail(std::string why) {
    if (shown_.size() < kShownFailures) shown_.push_back(std::move(why));
    ++failures_;
  }
  bool failed() const { return failures_ > 0; }

  // Failed with the failures, or passed with `passed_detail`.
  CheckResult Result(std::string passed_detail) const {
    CheckResult result;
    result.name = std::string(name_);
    result.passed = failures_ == 0;
    if (result.passed) {
      result.detail = std::move(passed_detail);
    } else {
      result.detail = absl::StrJoin(shown_, "; ");
      if (failures_ > shown_.size()) {
        absl::StrAppend(&result.detail, "; and ", failures_ - shown_.size(), " more");
      }
    }
    return result;
  }

 private:
  absl::string_view name_;
  std::vector<std::string> shown_;
  size_t failures_ = 0;
};

// A check that did not run, and why (`detail`): see CheckResult::skipped.
inline CheckResult Skipped(absl::string_view name, std::string why) {
  CheckResult result;
  result.name = std::string(name);
  result.skipped = true;
  result.detail = std::move(why);
  return result;
}

// One call made, for the deadline check.
struct CallRecord {
  std::string what;
  absl::Duration elapsed;
  absl::StatusCode code = absl::StatusCode::kOk;
};

// Makes calls one at a time, each with `deadline` from its start, and remembers how long each took.
class TimedCalls {
 public:
  explicit TimedCalls(absl::Duration deadline) : deadline_(deadline) {}

  absl::Duration deadline() const { return deadline_; }
  const std::vector<CallRecord>& calls() const { return calls_; }

  // Starts one adapter call through `start` and waits for its answer (of type R: absl::Status or
  // absl::StatusOr<T>), recording how long it took. Each call gets its own request id
  // ("conformance-<n>").
  template <typename R>
  R Await(std::string what,
          const std::function<void(const adapters::CallOptions&, std::function<void(R)>)>& start) {
    struct Pending {
      absl::Notification done;
      R result = absl::UnknownError("no answer");
    };
    auto pending = std::make_shared<Pending>();
    adapters::CallOptions call;
    const absl::Time started = absl::Now();
    call.deadline = started + deadline_;
    call.request_id = absl::StrCat("conformance-", calls_.size() + 1);
    start(call, [pending](R result) {
      pending->result = std::move(result);
      pending->done.Notify();
    });
    R result = absl::DeadlineExceededError("the adapter did not call back");
    // The adapter ends every call by its deadline; the margin only guards against a lost callback.
    if (pending->done.WaitForNotificationWithDeadline(call.deadline + absl::Seconds(5))) {
      result = pending->result;
    }
    calls_.push_back(CallRecord{std::move(what), absl::Now() - started, StatusOf(result).code()});
    return result;
  }

  // A probe call (below the adapter), timed like the adapter's.
  template <typename R>
  R Probe(std::string what, const std::function<R(absl::Time deadline)>& call) {
    const absl::Time started = absl::Now();
    R result = call(started + deadline_);
    calls_.push_back(CallRecord{std::move(what), absl::Now() - started, StatusOf(result).code()});
    return result;
  }

 private:
  const absl::Duration deadline_;
  std::vector<CallRecord> calls_;
};

}  // namespace interop::conformance

#endif  // INTEROP_TOOLS_CONFORMANCE_CHECK_SUPPORT_H_
