// Fault injection for the mock city: makes a mock backend slow, flaky, hung or down on purpose, so
// that the gateway's resilience (deadlines, retries, breakers, bulkheads) can be tested against it.
// Transport-agnostic: FaultInjector only decides, per call, what to do; the transport carries the
// decision out (grpc_fault_gate.h for the gRPC MockCityBackend, http_backend.h for the HTTP one).
//
//   FaultInjector faults({"LocatePerson", "CommitSettlement"});   // the method names it may filter on
//   FaultSettings settings;
//   settings.error_rate = 0.25;  settings.seed = 7;  settings.latency = absl::Milliseconds(20);
//   absl::Status applied = faults.Set(settings);   // INVALID_ARGUMENT naming the field if not valid
//   FaultDecision decision = faults.Decide("LocatePerson");   // once per call, before the handler runs
//
// The kinds of fault, in the order they are decided:
//   down     every call is refused with UNAVAILABLE at once, whatever `methods` says; the transport
//            reports NOT_SERVING on its health check (SetDownObserver). Down calls are not numbered.
//   hang     the call is never answered: the transport finishes it only after the caller's deadline
//            (or kHangCap after it began, if the caller set none) or when the caller gives up.
//   error    with probability error_rate, the call is refused with error_code (default UNAVAILABLE)
//            BEFORE the handler runs: nothing is applied, as when an overloaded city turns a call
//            away. The refusal is answered after the latency below.
//   latency  the reply (of the handler, or of an injected error) is held for latency plus a uniform
//            jitter in [0, latency_jitter], rounded to whole milliseconds, AFTER the work: a write
//            with latency is applied, then answered late.
// Calls to methods not in `methods` (when it is not empty) get no fault except down.
//
// Deterministic: the calls that `methods` selects are numbered k = 0, 1, 2, ... in the order they
// reach Decide, starting again at 0 on every Set and Reset. Whether call k is an error and its
// jitter depend only on (seed, k) (splitmix64), so a test that makes calls one at a time knows
// exactly which fail: ErrsAt(seed, k, rate) and JitterAt(seed, k, max) say it in advance.
//
// HTTP transport (http_backend.h; cpp-httplib, one thread per connection, no deadline on the wire):
// the methods are the transaction codes ("1101", "2207A", ...); kRefuse is answered HTTP 503 (down
// or UNAVAILABLE) or with the envelope error of the code; kHang holds the reply until the caller
// closes its connection or HttpBackendOptions::max_hang passes (then 504); otherwise the reply goes
// after reply_delay.
//
// Thread-safe. Settings can change at any time; a call decided before a change keeps its decision.
#ifndef INTEROP_TOOLS_MOCK_CITY_FAULT_INJECTOR_H_
#define INTEROP_TOOLS_MOCK_CITY_FAULT_INJECTOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace interop::mock_city {

// What faults to inject. The default value injects none.
struct FaultSettings {
  // Added to every selected reply; at least zero, and latency + latency_jitter at most kMaxLatency.
  absl::Duration latency = absl::ZeroDuration();
  // Upper bound of the uniform jitter added to `latency` (whole milliseconds are drawn).
  absl::Duration latency_jitter = absl::ZeroDuration();
  // Probability in [0, 1] that a selected call is refused with `error_code`.
  double error_rate = 0.0;
  // The code of an injected error; never kOk.
  absl::StatusCode error_code = absl::StatusCode::kUnavailable;
  // Selected calls are never answered before the caller's deadline.
  bool hang = false;
  // The whole city is down: every call is refused with UNAVAILABLE; health is NOT_SERVING.
  bool down = false;
  // Method names the faults (except down) apply to; empty: all methods.
  std::vector<std::string> methods;
  // Seed of the error and jitter draws.
  uint64_t seed = 0;

  bool operator==(const FaultSettings& other) const;
  bool operator!=(const FaultSettings& other) const { return !(*this == other); }
};

// Counts since construction or the last Reset (Set keeps them).
struct FaultCounters {
  uint64_t calls_seen = 0;       // every call that reached Decide
  uint64_t refused_down = 0;     // refused because the city was down
  uint64_t errors_injected = 0;  // refused with error_code
  uint64_t hangs_injected = 0;   // left hanging
  uint64_t replies_delayed = 0;  // answered with a delay above zero (injected errors included)
};

enum class FaultAction {
  kProceed,  // run the handler, then answer after reply_delay
  kRefuse,   // do not run the handler; answer `refusal` after reply_delay
  kHang,     // do not run the handler; do not answer before the caller's deadline
};

// The decision for one call.
struct FaultDecision {
  FaultAction action = FaultAction::kProceed;
  absl::Status refusal;  // kRefuse only: UNAVAILABLE when down, else error_code
  absl::Duration reply_delay = absl::ZeroDuration();
  int64_t call_index = -1;  // k of a selected call (see the top of this file); -1 if not numbered
};

class FaultInjector {
 public:
  // Latency plus jitter may not exceed this.
  static constexpr absl::Duration kMaxLatency = absl::Hours(1);
  // How long a hung call whose caller set no deadline waits before it is answered DEADLINE_EXCEEDED.
  static constexpr absl::Duration kHangCap = absl::Hours(1);

  // `known_methods`: the names FaultSettings::methods may hold (for the gRPC mock, the methods of
  // interop.citybackend.v1.CityBackendService); empty accepts any name.
  explicit FaultInjector(std::vector<std::string> known_methods = {});
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  // OK, or INVALID_ARGUMENT "<field_prefix><field>: why" (with a google.rpc.BadRequest naming the
  // field) for: latency_ms or latency_jitter_ms below zero or together above kMaxLatency;
  // error_rate outside [0, 1] (or NaN); error_code OK; methods[i] not a known method name.
  absl::Status Validate(const FaultSettings& settings, absl::string_view field_prefix = "") const;

  // Validates `settings` (as Validate, no prefix), then applies them to every call decided from now
  // on and numbers calls from 0 again. On error nothing changes.
  absl::Status Set(FaultSettings settings);
  // No faults, counters zero, numbering from 0 again.
  void Reset();

  FaultSettings settings() const;
  FaultCounters counters() const;
  bool down() const { return down_.load(std::memory_order_acquire); }
  const std::vector<std::string>& known_methods() const { return known_methods_; }

  // The decision for one call of `method`, counted. Call exactly once per call, before its handler.
  FaultDecision Decide(absl::string_view method);

  // `observer` is called at once with the current value of `down`, then with the new value each
  // time Set or Reset changes it, in the thread that called them, after the change, one call at a
  // time and in the order of the changes. It must not call Set, Reset or SetDownObserver. Null
  // removes it. It must stay callable until removed or the injector goes.
  void SetDownObserver(std::function<void(bool down)> observer);

  // Whether selected call k is refused at `error_rate` under `seed`.
  static bool ErrsAt(uint64_t seed, uint64_t k, double error_rate);
  // The jitter of selected call k: whole milliseconds drawn uniformly from [0, max_jitter].
  static absl::Duration JitterAt(uint64_t seed, uint64_t k, absl::Duration max_jitter);

  // The status code named `name` as absl::StatusCodeToString spells it ("UNAVAILABLE",
  // "DEADLINE_EXCEEDED", ...; case-insensitive), or INVALID_ARGUMENT.
  static absl::StatusOr<absl::StatusCode> ParseStatusCode(absl::string_view name);

 private:
  const std::vector<std::string> known_methods_;

  absl::Mutex set_mu_;  // serializes Set/Reset with their observer calls; taken before mu_
  mutable absl::Mutex mu_;
  FaultSettings settings_ ABSL_GUARDED_BY(mu_);
  uint64_t next_index_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void(bool)> down_observer_ ABSL_GUARDED_BY(set_mu_);
  // True when settings_ inject anything; lets the no-fault path skip mu_.
  std::atomic<bool> active_{false};
  std::atomic<bool> down_{false};

  std::atomic<uint64_t> calls_seen_{0};
  std::atomic<uint64_t> refused_down_{0};
  std::atomic<uint64_t> errors_injected_{0};
  std::atomic<uint64_t> hangs_injected_{0};
  std::atomic<uint64_t> replies_delayed_{0};
};

// Runs tasks at given times on one thread of its own, so that nobody blocks while a reply waits:
// the transport hands it "finish this call" for later.
//
// Thread-safe. Tasks run one at a time on the scheduler's thread (started by the first RunAt, so a
// scheduler that is never used costs no thread), in the order of their times; a task must not block
// for long. Destroying the scheduler runs every pending task at once (so no
// call is left unanswered), then joins the thread.
class ReplyScheduler {
 public:
  using TaskId = uint64_t;

  ReplyScheduler();
  ~ReplyScheduler();
  ReplyScheduler(const ReplyScheduler&) = delete;
  ReplyScheduler& operator=(const ReplyScheduler&) = delete;

  // Runs `task` at `when` (at once if it is past). The id is never 0.
  TaskId RunAt(absl::Time when, std::function<void()> task);
  // Forgets the task if it has not started: true if it will now never run.
  bool Cancel(TaskId id);
  // Number of tasks waiting.
  size_t pending() const;

 private:
  void Loop();

  mutable absl::Mutex mu_;
  absl::CondVar wake_;
  std::map<std::pair<absl::Time, TaskId>, std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TaskId, absl::Time> due_ ABSL_GUARDED_BY(mu_);
  TaskId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
};

}  // namespace interop::mock_city

#endif  // INTEROP_TOOLS_MOCK_CITY_FAULT_INJECTOR_H_
