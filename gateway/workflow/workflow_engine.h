// WorkflowEngine: runs durable cross-city workflows (pension transfer, household migration, ...) on a
// WorkflowStore. See docs/WORKFLOWS.md for the design and its guarantees.
//
// A workflow type is a WorkflowDefinition: named states, each either a step (an asynchronous
// function that makes the state's external calls and decides the next state) or final (with the
// WorkflowStatus it ends in). The engine leases a due instance, runs its current state's step, and
// commits what the step decided (state + data + the next step's outbox + a history event) in one
// transaction; then runs the next step. A step's requests carry idempotency keys that do not change
// when the step is retried or resumed (StepContext::outbox(), StepContext::IdempotencyKey()), and
// cities apply a request once per key, so every external effect happens once even though a step
// may run more than once (a crash between the city's reply and the commit; a lost reply).
//
//   WorkflowDefinition transfer;
//   transfer.type = "pension_transfer";
//   transfer.initial_state = "applied";
//   transfer.states["applied"] = StateDefinition::Step(SendContactLetter);
//   transfer.states["letter_sent"] = StateDefinition::Step(TransferOut);
//   ...
//   transfer.states["confirmed"] = StateDefinition::Final(WorkflowStatus::kSucceeded);
//   transfer.states["rejected"] = StateDefinition::Final(WorkflowStatus::kRejected);
//   WorkflowEngine engine(store, Clock::Real(), options);
//   engine.Register(std::move(transfer));
//   engine.Resume();                      // at start-up: continue what a previous run left
//   engine.StartPolling(absl::Milliseconds(200));
//   StartWorkflowRequest start;
//   start.type = "pension_transfer";  start.subject = person;  start.data = ...;  start.outbox = {...};
//   absl::StatusOr<std::string> id = engine.StartWorkflow(start);  // ALREADY_EXISTS if one runs
//
// Errors of a step: UNAVAILABLE, DEADLINE_EXCEEDED and ABORTED are retryable (the instance waits
// WAITING_RETRY for an exponential backoff with jitter, then runs the same step again); any other
// error ends the instance FAILED in the state it was in, with the error as its reason. Past the
// instance's deadline, a state that is subject to the deadline ends TIMED_OUT (with the state it
// was in and the last error) instead of running or retrying; a state that is not (past a point of no
// return, e.g. after a city recorded a move-out) keeps retrying until it completes.
//
// Thread-safe. Steps run on the engine's own threads (options.threads); a step may call `done`
// from any thread. The engine never holds its lock while calling a step, a hook or the store.
#ifndef INTEROP_GATEWAY_WORKFLOW_WORKFLOW_ENGINE_H_
#define INTEROP_GATEWAY_WORKFLOW_WORKFLOW_ENGINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/base/clock.h"
#include "gateway/base/work_queue.h"
#include "gateway/workflow/workflow_store.h"

namespace interop::workflow {

// What a step decided: the next state, optionally new data, and the requests of the next step.
struct Transition {
  std::string next_state;           // a state of the definition (final or not)
  std::optional<std::string> data;  // replaces the instance's data if set
  // The next step's requests (written in the same transaction; keys derived by the store). Must be
  // empty when next_state is final.
  std::vector<OutboxMessage> outbox;
  // Recorded in the history and as the instance's reason; for a final state, why it ended (e.g.
  // the city's rejection).
  std::string reason;

  static Transition To(std::string next_state, std::vector<OutboxMessage> outbox = {}) {
    Transition t;
    t.next_state = std::move(next_state);
    t.outbox = std::move(outbox);
    return t;
  }
};

// What a step may read while it runs. Valid until the step calls `done`.
class StepContext {
 public:
  StepContext(std::string workflow_id, int64_t step_seq, std::string state, std::vector<OutboxEntry> outbox,
              int attempt, absl::Time deadline, const Clock& clock)
      : workflow_id_(std::move(workflow_id)),
        step_seq_(step_seq),
        state_(std::move(state)),
        outbox_(std::move(outbox)),
        attempt_(attempt),
        deadline_(deadline),
        clock_(clock) {}

  // The requests the transition into this state decided (by name), with their idempotency keys.
  // The same entries, with the same keys, on every attempt of this step.
  const std::vector<OutboxEntry>& outbox() const { return outbox_; }
  // The entry named `name`, or nullptr.
  const OutboxEntry* FindOutbox(absl::string_view name) const;
  // The idempotency key for a request of this step named `name` that is not in the outbox (e.g.
  // one built from a city's reply within the step). Stable across attempts of this step, distinct
  // for every other step of every workflow; equal to the outbox entry's key if one is so named.
  std::string IdempotencyKey(absl::string_view name) const {
    return OutboxIdempotencyKey(workflow_id_, step_seq_, state_, name);
  }
  // 1 on the first attempt of this state, 2 on the first retry, ... (counting across restarts).
  int attempt() const { return attempt_; }
  // The instance's overall deadline; external calls should not outlast it.
  absl::Time deadline() const { return deadline_; }
  const Clock& clock() const { return clock_; }

 private:
  std::string workflow_id_;
  int64_t step_seq_;
  std::string state_;
  std::vector<OutboxEntry> outbox_;
  int attempt_;
  absl::Time deadline_;
  const Clock& clock_;
};

// Called exactly once by a step, from any thread, with what it decided or why it failed.
using StepDone = std::function<void(absl::StatusOr<Transition>)>;
// A step: performs the state's external calls (sending each request with its idempotency key) and
// calls `done`. `instance` and `context` stay valid until then. Must not block for long on the
// calling thread; must call `done` eventually (the engine's destructor waits for it).
using StepFunction =
    std::function<void(const WorkflowInstance& instance, StepContext& context, StepDone done)>;

struct StateDefinition {
  StepFunction step;                           // set for a non-final state
  std::optional<WorkflowStatus> final_status;  // set for a final state: kSucceeded, kFailed or kRejected
  // Whether the instance's deadline ends it TIMED_OUT in this state. false for states past a point
  // of no return, which must complete however long a city stays down.
  bool subject_to_deadline = true;

  static StateDefinition Step(StepFunction step, bool subject_to_deadline = true) {
    StateDefinition d;
    d.step = std::move(step);
    d.subject_to_deadline = subject_to_deadline;
    return d;
  }
  static StateDefinition Final(WorkflowStatus status) {
    StateDefinition d;
    d.final_status = status;
    return d;
  }
};

struct WorkflowDefinition {
  std::string type;           // unique among the engine's types; stored with each instance
  std::string initial_state;  // a non-final state
  std::map<std::string, StateDefinition> states;
  absl::Duration default_timeout = absl::Hours(1);  // deadline = start + timeout unless the start says
};

// Exponential backoff with jitter: the n-th retry waits min(max, base * multiplier^(n-1)), shortened
// by a random fraction of up to `jitter` (so replicas retrying one city spread out).
struct BackoffPolicy {
  absl::Duration base = absl::Seconds(1);
  absl::Duration max = absl::Minutes(1);
  double multiplier = 2.0;
  double jitter = 0.2;  // 0..1
};
// The delay before retry `attempt` (1-based) for a uniform random `unit` in [0, 1).
absl::Duration BackoffDelay(const BackoffPolicy& policy, int attempt, double unit);

// Where a step is when the test hook is called.
enum class StepBoundary {
  kBeforeStep,   // the lease is held; the step's external calls have not been made
  kAfterStep,    // the step called done; its result is not committed
  kAfterCommit,  // the result is committed and the lease released; the next step not yet started
};
absl::string_view StepBoundaryName(StepBoundary boundary);

// What the hook tells the engine to do.
struct StepHookAction {
  enum class Kind {
    kContinue,
    // Stop working on this instance here as a crashed process would: no commit, no release of the
    // lease, no next step. The instance stays as last committed (and leased until the lease
    // expires or the replica restarts and calls Resume()).
    kAbandon,
    // Act as if the step failed with `error` (at kBeforeStep: without calling the step; at
    // kAfterStep: instead of its result, e.g. a reply lost after the city applied the request).
    // Ignored at kAfterCommit.
    kFail,
  };
  Kind kind = Kind::kContinue;
  absl::Status error;

  static StepHookAction Continue() { return {}; }
  static StepHookAction Abandon() { return {Kind::kAbandon, absl::OkStatus()}; }
  static StepHookAction Fail(absl::Status error) { return {Kind::kFail, std::move(error)}; }
};
// For tests (crash and fault injection). `instance` is the instance as committed before the step.
// Called on the engine's threads, with no lock held.
using StepHook = std::function<StepHookAction(StepBoundary boundary, const WorkflowInstance& instance)>;

struct WorkflowEngineOptions {
  // This replica's name: the lease owner. Must be unique among live replicas and stable across
  // restarts of one replica (Resume() releases the leases held under it).
  std::string replica_id;
  int threads = 2;                                    // threads that run steps and commits
  int max_in_flight = 16;                             // instances leased and running at once
  absl::Duration lease_duration = absl::Seconds(30);  // renewed by Poll() while a step runs
  BackoffPolicy backoff;
  uint64_t random_seed = 1;  // for the jitter
  StepHook hook;             // optional
};

// A workflow to start.
struct StartWorkflowRequest {
  std::string type;                       // a registered type
  std::string workflow_id;                // "" to have one generated ("wf-" + 32 hex digits); no '/'
  std::string subject;                    // at most one unfinished workflow per subject (across types)
  std::string data;                       // the initial data
  std::vector<OutboxMessage> outbox;      // the initial step's requests
  std::optional<absl::Duration> timeout;  // default: the definition's default_timeout
  std::string request_id;                 // of the call that starts it, for log lines; "" if none
};

class WorkflowEngine {
 public:
  // `store` and `clock` must outlive the engine. INVALID_ARGUMENT-worthy options (empty replica_id,
  // threads or max_in_flight < 1, non-positive lease) are broken invariants: the constructor aborts.
  WorkflowEngine(WorkflowStore& store, const Clock& clock, WorkflowEngineOptions options);
  // Stops polling, waits for every step in flight to call done and be committed (or abandoned),
  // then joins the threads. Leases of abandoned instances stay held.
  ~WorkflowEngine();

  WorkflowEngine(const WorkflowEngine&) = delete;
  WorkflowEngine& operator=(const WorkflowEngine&) = delete;

  // Adds a workflow type. INVALID_ARGUMENT naming the problem (empty type, initial state unknown or
  // final, a state with neither or both of step and final_status, a final status that is not
  // SUCCEEDED, FAILED or REJECTED, non-positive timeout); ALREADY_EXISTS for a type registered
  // twice; FAILED_PRECONDITION once the engine has started (Resume, Poll, StartWorkflow).
  absl::Status Register(WorkflowDefinition definition);

  // At start-up: releases the leases this replica held before it restarted, then runs everything
  // due (Poll). Instances waiting for a retry keep their time.
  absl::Status Resume();

  // Creates an instance (state: the initial state, status RUNNING) and starts its first step at
  // once. Returns its id. INVALID_ARGUMENT for an unregistered type, a non-positive timeout, or as
  // WorkflowStore::Create; ALREADY_EXISTS if the subject has an unfinished workflow (the message
  // names it) or the id exists. FAILED_PRECONDITION while the engine is being destroyed.
  absl::StatusOr<std::string> StartWorkflow(const StartWorkflowRequest& request);

  // Renews the leases of steps in flight that are past half their lease, then leases due instances
  // (up to max_in_flight running) and starts their steps. Returns how many it started.
  absl::StatusOr<int> Poll();

  // Calls Poll() every `interval` of real time on a background thread until destruction. Once.
  void StartPolling(absl::Duration interval);

  // Waits up to `timeout` (real time) until no step is in flight; true if none is.
  bool WaitIdle(absl::Duration timeout);

  // The store, for the read model (Get, List).
  WorkflowStore& store() { return store_; }
  const WorkflowEngineOptions& options() const { return options_; }

 private:
  struct Run;

  const WorkflowDefinition* FindDefinition(const std::string& type);
  void Dispatch(ClaimedWorkflow claimed);
  void RunStep(const std::shared_ptr<Run>& run);
  void OnStepDone(const std::shared_ptr<Run>& run, absl::StatusOr<Transition> result);
  void HandleResult(const std::shared_ptr<Run>& run, absl::StatusOr<Transition> result);
  void CommitChange(const std::shared_ptr<Run>& run, const StateChange& change);
  void EndWith(const std::shared_ptr<Run>& run, WorkflowStatus status, HistoryKind kind, std::string reason);
  StepHookAction CallHook(StepBoundary boundary, const Run& run);
  void Finish(const Run& run);
  void RenewLeases();
  double NextRandom();
  void PollLoop(absl::Duration interval);

  WorkflowStore& store_;
  const Clock& clock_;
  const WorkflowEngineOptions options_;

  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<const WorkflowDefinition>> definitions_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> types_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int runs_ ABSL_GUARDED_BY(mu_) = 0;  // steps in flight (leased, not yet committed or abandoned)
  absl::flat_hash_map<std::string, Lease> leases_ ABSL_GUARDED_BY(mu_);  // of the steps in flight
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
  std::thread poller_;

  // Last member: destroyed first, after the destructor has waited for the steps in flight.
  std::unique_ptr<WorkQueue> queue_;
};

}  // namespace interop::workflow

#endif  // INTEROP_GATEWAY_WORKFLOW_WORKFLOW_ENGINE_H_
