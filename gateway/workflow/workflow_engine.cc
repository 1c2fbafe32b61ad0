// The workflow engine (workflow_engine.h). One run of a step:
//
//   Poll / StartWorkflow / the previous commit  --lease-->  Dispatch  --queue-->  RunStep
//     RunStep: deadline check; hook(kBeforeStep); the step function (its external calls)
//     done(result)  --queue-->  OnStepDone: hook(kAfterStep); HandleResult builds the StateChange
//     CommitChange: store.Commit (state + data + history + outbox, lease released); hook(kAfterCommit);
//                   if still RUNNING, lease the instance again and dispatch its next step
//     Finish: the run leaves the in-flight set
//
// The engine's lock guards only its own bookkeeping; the store, the steps and the hook are called
// without it.
#include "gateway/workflow/workflow_engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gateway/base/log.h"
#include "gateway/base/thread_name.h"

namespace interop::workflow {

struct WorkflowEngine::Run {
  ClaimedWorkflow claimed;
  const WorkflowDefinition* definition = nullptr;
  const StateDefinition* state = nullptr;  // nullptr if the stored state is not defined here
  std::unique_ptr<StepContext> context;
  std::atomic<bool> done_called{false};
};

namespace {

bool IsRetryable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kAborted;
}

std::string DescribeError(const absl::Status& status) {
  return absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message());
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string GenerateWorkflowId() {
  std::random_device device;
  std::mt19937_64 random((static_cast<uint64_t>(device()) << 32) ^ device());
  return absl::StrFormat("wf-%016x%016x", random(), random());
}

}  // namespace

const OutboxEntry* StepContext::FindOutbox(absl::string_view name) const {
  for (const OutboxEntry& entry : outbox_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

absl::Duration BackoffDelay(const BackoffPolicy& policy, int attempt, double unit) {
  double seconds = absl::ToDoubleSeconds(policy.base) * std::pow(policy.multiplier, std::max(0, attempt - 1));
  seconds = std::min(seconds, absl::ToDoubleSeconds(policy.max));
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  seconds *= 1.0 - jitter * std::clamp(unit, 0.0, 1.0);
  return absl::Seconds(seconds);
}

absl::string_view StepBoundaryName(StepBoundary boundary) {
  switch (boundary) {
    case StepBoundary::kBeforeStep:
      return "before_step";
    case StepBoundary::kAfterStep:
      return "after_step";
    case StepBoundary::kAfterCommit:
      return "after_commit";
  }
  return "unknown";
}

WorkflowEngine::WorkflowEngine(WorkflowStore& store, const Clock& clock, WorkflowEngineOptions options)
    : store_(store), clock_(clock), options_(std::move(options)), random_(options_.random_seed) {
  if (options_.replica_id.empty() || options_.threads < 1 || options_.max_in_flight < 1 ||
      options_.lease_duration <= absl::ZeroDuration()) {
    LogError("WorkflowEngine: invalid options (replica_id, threads, max_in_flight, lease_duration)");
    std::abort();
  }
  queue_ = std::make_unique<WorkQueue>(options_.threads);
}

WorkflowEngine::~WorkflowEngine() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (poller_.joinable()) poller_.join();
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* runs) { return *runs == 0; }, &runs_));
  }
  queue_.reset();
}

absl::Status WorkflowEngine::Register(WorkflowDefinition definition) {
  if (definition.type.empty()) return absl::InvalidArgumentError("definition.type is empty");
  const std::string type = definition.type;
  auto initial = definition.states.find(definition.initial_state);
  if (initial == definition.states.end()) {
    return absl::InvalidArgumentError(absl::StrCat("definition ", type, ": initial_state \"",
                                                   definition.initial_state, "\" is not a state"));
  }
  if (initial->second.final_status.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("definition ", type, ": initial_state \"", definition.initial_state, "\" is final"));
  }
  for (const auto& [name, state] : definition.states) {
    if (name.empty() || name.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("definition ", type, ": state name \"", name, "\" is empty or holds '/'"));
    }
    if (static_cast<bool>(state.step) == state.final_status.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("definition ", type, ": state \"", name,
                                                     "\" must have either a step or a final_status"));
    }
    if (state.final_status.has_value() && *state.final_status != WorkflowStatus::kSucceeded &&
        *state.final_status != WorkflowStatus::kFailed && *state.final_status != WorkflowStatus::kRejected) {
      return absl::InvalidArgumentError(absl::StrCat(
          "definition ", type, ": final state \"", name, "\" has status ",
          WorkflowStatusName(*state.final_status), "; a final state ends SUCCEEDED, FAILED or REJECTED"));
    }
  }
  if (definition.default_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("definition ", type, ": default_timeout is not positive"));
  }
  absl::MutexLock lock(&mu_);
  if (started_) return absl::FailedPreconditionError("register workflow types before the engine starts");
  if (definitions_.count(type) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("workflow type ", type, " is already registered"));
  }
  types_.push_back(type);
  definitions_.emplace(type, std::make_unique<const WorkflowDefinition>(std::move(definition)));
  return absl::OkStatus();
}

const WorkflowDefinition* WorkflowEngine::FindDefinition(const std::string& type) {
  absl::MutexLock lock(&mu_);
  auto it = definitions_.find(type);
  return it == definitions_.end() ? nullptr : it->second.get();
}

absl::Status WorkflowEngine::Resume() {
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  absl::StatusOr<int> released = store_.ReleaseLeasesOf(options_.replica_id, clock_.Now());
  if (!released.ok()) return released.status();
  if (*released > 0) {
    LogInfo("workflow engine released the leases of its previous incarnation",
            {{"replica", options_.replica_id}, {"count", absl::StrCat(*released)}});
  }
  return Poll().status();
}

absl::StatusOr<std::string> WorkflowEngine::StartWorkflow(const StartWorkflowRequest& request) {
  const WorkflowDefinition* definition = FindDefinition(request.type);
  if (definition == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("type \"", request.type, "\" is not a registered workflow type"));
  }
  const absl::Duration timeout = request.timeout.value_or(definition->default_timeout);
  if (timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("timeout is not positive");
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::FailedPreconditionError("the workflow engine is shutting down");
    started_ = true;
  }
  const absl::Time now = clock_.Now();
  NewWorkflow w;
  w.workflow_id = request.workflow_id.empty() ? GenerateWorkflowId() : request.workflow_id;
  w.type = request.type;
  w.subject = request.subject;
  w.initial_state = definition->initial_state;
  w.data = request.data;
  w.outbox = request.outbox;
  w.deadline = now + timeout;
  absl::Status created = store_.Create(w, now);
  if (!created.ok()) return created;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return w.workflow_id;
  }
  // Start the first step now; if the lease cannot be had, a later Poll() will.
  absl::StatusOr<ClaimedWorkflow> claimed =
      store_.Claim(w.workflow_id, options_.replica_id, clock_.Now(), options_.lease_duration);
  if (claimed.ok()) {
    Dispatch(*std::move(claimed));
  } else if (claimed.status().code() != absl::StatusCode::kFailedPrecondition) {  // not: a poller was faster
    LogWarning("workflow created but its first step is left to the poller",
               {{"request_id", request.request_id},
                {"workflow_id", w.workflow_id},
                {"error", claimed.status().ToString()}});
  }
  return w.workflow_id;
}

absl::StatusOr<int> WorkflowEngine::Poll() {
  std::vector<std::string> types;
  int capacity = 0;
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
    if (stopping_) return 0;
    types = types_;
    capacity = options_.max_in_flight - runs_;
  }
  RenewLeases();
  if (capacity <= 0) return 0;
  absl::StatusOr<std::vector<ClaimedWorkflow>> claimed =
      store_.ClaimDue(options_.replica_id, types, clock_.Now(), options_.lease_duration, capacity);
  if (!claimed.ok()) return claimed.status();
  const int started = static_cast<int>(claimed->size());
  for (ClaimedWorkflow& c : *claimed) Dispatch(std::move(c));
  return started;
}

void WorkflowEngine::StartPolling(absl::Duration interval) {
  if (poller_.joinable()) return;
  poller_ = std::thread([this, interval] { SetCurrentThreadName("workflow-poll"); PollLoop(interval); });
}

void WorkflowEngine::PollLoop(absl::Duration interval) {
  while (true) {
    absl::StatusOr<int> polled = Poll();
    if (!polled.ok()) LogWarning("workflow poll failed", {{"error", polled.status().ToString()}});
    absl::MutexLock lock(&mu_);
    // Wakes early only to stop; the interval is real time by design (it paces the store, not the
    // workflows, whose times come from the injected clock).
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval);
    if (stopping_) return;
  }
}

bool WorkflowEngine::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(
                                  +[](int* runs) { return *runs == 0; }, &runs_),
                              timeout);
}

void WorkflowEngine::RenewLeases() {
  const absl::Time now = clock_.Now();
  std::vector<Lease> due;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, lease] : leases_) {
      if (lease.expires_at - now < options_.lease_duration / 2) due.push_back(lease);
    }
  }
  for (const Lease& lease : due) {
    const absl::Time expires_at = now + options_.lease_duration;
    absl::Status renewed = store_.RenewLease(lease, expires_at);
    if (!renewed.ok()) {
      LogWarning("workflow lease not renewed",
                 {{"workflow_id", lease.workflow_id}, {"error", renewed.ToString()}});
      continue;
    }
    absl::MutexLock lock(&mu_);
    auto it = leases_.find(lease.workflow_id);
    if (it != leases_.end() && it->second.epoch == lease.epoch) it->second.expires_at = expires_at;
  }
}

double WorkflowEngine::NextRandom() {
  absl::MutexLock lock(&mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(random_);
}

void WorkflowEngine::Dispatch(ClaimedWorkflow claimed) {
  auto run = std::make_shared<Run>();
  run->claimed = std::move(claimed);
  {
    absl::MutexLock lock(&mu_);
    ++runs_;
    leases_[run->claimed.lease.workflow_id] = run->claimed.lease;
  }
  queue_->Schedule([this, run] { RunStep(run); });
}

StepHookAction WorkflowEngine::CallHook(StepBoundary boundary, const Run& run) {
  if (!options_.hook) return StepHookAction::Continue();
  return options_.hook(boundary, run.claimed.instance);
}

void WorkflowEngine::RunStep(const std::shared_ptr<Run>& run) {
  const WorkflowInstance& instance = run->claimed.instance;
  bool stopping = false;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
  }
  run->definition = FindDefinition(instance.type);
  if (stopping || run->definition == nullptr) {
    // Shutting down: leave the step to the next process. Unknown type: ClaimDue leases only
    // registered types, but Claim does not look.
    store_.ReleaseLease(run->claimed.lease).IgnoreError();
    Finish(*run);
    return;
  }
  auto state = run->definition->states.find(instance.state);
  if (state == run->definition->states.end() || !state->second.step) {
    EndWith(run, WorkflowStatus::kFailed, HistoryKind::kFailed,
            absl::StrCat("state \"", instance.state, "\" is not a step of workflow type ", instance.type,
                         " in this gateway"));
    return;
  }
  run->state = &state->second;
  const absl::Time now = clock_.Now();
  if (run->state->subject_to_deadline && now >= instance.deadline) {
    std::string reason = absl::StrCat("deadline ", TimeText(instance.deadline), " passed in state ",
                                      instance.state, " after ", instance.attempts, " failed attempt(s)");
    if (!instance.reason.empty()) absl::StrAppend(&reason, "; last: ", instance.reason);
    EndWith(run, WorkflowStatus::kTimedOut, HistoryKind::kTimedOut, std::move(reason));
    return;
  }
  StepHookAction action = CallHook(StepBoundary::kBeforeStep, *run);
  if (action.kind == StepHookAction::Kind::kAbandon) {
    Finish(*run);
    return;
  }
  if (action.kind == StepHookAction::Kind::kFail) {
    HandleResult(run, std::move(action.error));
    return;
  }
  run->context =
      std::make_unique<StepContext>(instance.workflow_id, instance.step_seq, instance.state,
                                    run->claimed.outbox, instance.attempts + 1, instance.deadline, clock_);
  run->state->step(instance, *run->context, [this, run](absl::StatusOr<Transition> result) {
    if (run->done_called.exchange(true)) {
      LogError("workflow step called done twice; ignored",
               {{"workflow_id", run->claimed.instance.workflow_id}});
      return;
    }
    queue_->Schedule(
        [this, run, result = std::move(result)]() mutable { OnStepDone(run, std::move(result)); });
  });
}

void WorkflowEngine::OnStepDone(const std::shared_ptr<Run>& run, absl::StatusOr<Transition> result) {
  StepHookAction action = CallHook(StepBoundary::kAfterStep, *run);
  if (action.kind == StepHookAction::Kind::kAbandon) {
    Finish(*run);
    return;
  }
  if (action.kind == StepHookAction::Kind::kFail) result = std::move(action.error);
  HandleResult(run, std::move(result));
}

void WorkflowEngine::HandleResult(const std::shared_ptr<Run>& run, absl::StatusOr<Transition> result) {
  const WorkflowInstance& instance = run->claimed.instance;
  const int attempt = instance.attempts + 1;
  if (result.ok()) {
    Transition& t = *result;
    auto next = run->definition->states.find(t.next_state);
    if (next == run->definition->states.end()) {
      EndWith(run, WorkflowStatus::kFailed, HistoryKind::kFailed,
              absl::StrCat("the step of state ", instance.state, " returned unknown state \"", t.next_state,
                           "\""));
      return;
    }
    const bool final = next->second.final_status.has_value();
    if (final && !t.outbox.empty()) {
      EndWith(run, WorkflowStatus::kFailed, HistoryKind::kFailed,
              absl::StrCat("the step of state ", instance.state, " returned requests for final state ",
                           t.next_state));
      return;
    }
    StateChange change;
    change.advance = true;
    change.state = t.next_state;
    change.status = final ? *next->second.final_status : WorkflowStatus::kRunning;
    change.data = std::move(t.data);
    change.reason = std::move(t.reason);
    change.attempts = 0;
    change.next_attempt_at = clock_.Now();
    change.outbox = std::move(t.outbox);
    change.kind = HistoryKind::kAdvanced;
    change.history_attempt = attempt;
    CommitChange(run, change);
    return;
  }
  const absl::Status& error = result.status();
  if (!IsRetryable(error.code())) {
    EndWith(run, WorkflowStatus::kFailed, HistoryKind::kFailed,
            absl::StrCat("state ", instance.state, " attempt ", attempt, " failed: ", DescribeError(error)));
    return;
  }
  const absl::Time now = clock_.Now();
  absl::Time next_attempt_at = now + BackoffDelay(options_.backoff, attempt, NextRandom());
  if (run->state != nullptr && run->state->subject_to_deadline) {
    next_attempt_at = std::min(next_attempt_at, instance.deadline);
  }
  StateChange change;
  change.state = instance.state;
  change.status = WorkflowStatus::kWaitingRetry;
  change.reason = absl::StrCat("attempt ", attempt, " failed: ", DescribeError(error), "; next attempt at ",
                               TimeText(next_attempt_at));
  change.attempts = attempt;
  change.next_attempt_at = next_attempt_at;
  change.kind = HistoryKind::kRetryScheduled;
  change.history_attempt = attempt;
  CommitChange(run, change);
}

void WorkflowEngine::EndWith(const std::shared_ptr<Run>& run, WorkflowStatus status, HistoryKind kind,
                             std::string reason) {
  const WorkflowInstance& instance = run->claimed.instance;
  StateChange change;
  change.state = instance.state;
  change.status = status;
  change.reason = std::move(reason);
  change.attempts = instance.attempts;
  change.kind = kind;
  change.history_attempt = kind == HistoryKind::kTimedOut ? instance.attempts : instance.attempts + 1;
  CommitChange(run, change);
}

void WorkflowEngine::CommitChange(const std::shared_ptr<Run>& run, const StateChange& change) {
  const Lease& lease = run->claimed.lease;
  absl::Status committed = store_.Commit(lease, change, clock_.Now());
  if (!committed.ok()) {
    // ABORTED: another replica took the lease over and runs the step; FAILED_PRECONDITION: it has
    // already finished it. Otherwise the store failed: give the lease up so that the step is
    // retried (from the last committed state) by whoever polls next.
    LogWarning("workflow commit failed",
               {{"workflow_id", lease.workflow_id}, {"error", committed.ToString()}});
    if (committed.code() != absl::StatusCode::kAborted &&
        committed.code() != absl::StatusCode::kFailedPrecondition) {
      store_.ReleaseLease(lease).IgnoreError();
    }
    Finish(*run);
    return;
  }
  StepHookAction action = CallHook(StepBoundary::kAfterCommit, *run);
  bool next_step = action.kind != StepHookAction::Kind::kAbandon && change.status == WorkflowStatus::kRunning;
  if (next_step) {
    absl::MutexLock lock(&mu_);
    next_step = !stopping_;
  }
  if (next_step) {
    // Lease again and run the next step now rather than at the next poll. Dispatch before Finish,
    // so that the engine is never seen idle between two steps of one instance.
    absl::StatusOr<ClaimedWorkflow> claimed =
        store_.Claim(lease.workflow_id, options_.replica_id, clock_.Now(), options_.lease_duration);
    if (claimed.ok()) Dispatch(*std::move(claimed));
  }
  Finish(*run);
}

void WorkflowEngine::Finish(const Run& run) {
  absl::MutexLock lock(&mu_);
  auto it = leases_.find(run.claimed.lease.workflow_id);
  if (it != leases_.end() && it->second.epoch == run.claimed.lease.epoch) leases_.erase(it);
  --runs_;
}

}  // namespace interop::workflow
