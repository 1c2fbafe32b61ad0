#include "gateway/workflow/workflow_store.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace interop::workflow {

absl::string_view WorkflowStatusName(WorkflowStatus status) {
  switch (status) {
    case WorkflowStatus::kRunning:
      return "RUNNING";
    case WorkflowStatus::kWaitingRetry:
      return "WAITING_RETRY";
    case WorkflowStatus::kSucceeded:
      return "SUCCEEDED";
    case WorkflowStatus::kFailed:
      return "FAILED";
    case WorkflowStatus::kRejected:
      return "REJECTED";
    case WorkflowStatus::kTimedOut:
      return "TIMED_OUT";
  }
  return "UNKNOWN";
}

bool IsFinal(WorkflowStatus status) {
  return status != WorkflowStatus::kRunning && status != WorkflowStatus::kWaitingRetry;
}

absl::string_view HistoryKindName(HistoryKind kind) {
  switch (kind) {
    case HistoryKind::kCreated:
      return "CREATED";
    case HistoryKind::kAdvanced:
      return "ADVANCED";
    case HistoryKind::kRetryScheduled:
      return "RETRY_SCHEDULED";
    case HistoryKind::kFailed:
      return "FAILED";
    case HistoryKind::kTimedOut:
      return "TIMED_OUT";
    case HistoryKind::kLeaseTakenOver:
      return "LEASE_TAKEN_OVER";
    case HistoryKind::kLeaseReleased:
      return "LEASE_RELEASED";
  }
  return "UNKNOWN";
}

std::string OutboxIdempotencyKey(absl::string_view workflow_id, int64_t step_seq, absl::string_view state,
                                 absl::string_view name) {
  return absl::StrCat(workflow_id, "/", step_seq, "/", state, "/", name);
}

namespace {
constexpr int kMaxPageSize = 500;
constexpr int kDefaultPageSize = 50;
}  // namespace

absl::StatusOr<WorkflowStatus> StatusFromInt(int64_t value) {
  if (value < 1 || value > 6) return absl::DataLossError(absl::StrCat("stored workflow status ", value, " is unknown"));
  return static_cast<WorkflowStatus>(value);
}

absl::Status ValidateOutbox(const std::vector<OutboxMessage>& outbox) {
  absl::flat_hash_set<absl::string_view> names;
  for (size_t i = 0; i < outbox.size(); ++i) {
    const std::string& name = outbox[i].name;
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("outbox[", i, "].name is empty"));
    if (name.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("outbox[", i, "].name \"", name, "\" holds '/'"));
    }
    if (!names.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat("outbox[", i, "].name \"", name, "\" is repeated"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateNewWorkflow(const NewWorkflow& w, absl::Time now) {
  if (w.workflow_id.empty()) return absl::InvalidArgumentError("workflow_id is empty");
  if (w.workflow_id.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("workflow_id \"", w.workflow_id, "\" holds '/'"));
  }
  if (w.type.empty()) return absl::InvalidArgumentError("type is empty");
  if (w.subject.empty()) return absl::InvalidArgumentError("subject is empty");
  if (w.initial_state.empty()) return absl::InvalidArgumentError("initial_state is empty");
  if (w.deadline <= now) {
    return absl::InvalidArgumentError(
        absl::StrCat("deadline ", absl::FormatTime(w.deadline, absl::UTCTimeZone()), " is not after now"));
  }
  return ValidateOutbox(w.outbox);
}

absl::Status CheckClaimable(const WorkflowInstance& instance, absl::Time now) {
  if (IsFinal(instance.status)) {
    return absl::FailedPreconditionError(absl::StrCat("workflow ", instance.workflow_id, " has finished (",
                                                      WorkflowStatusName(instance.status), ")"));
  }
  if (!instance.lease_owner.empty() && instance.lease_expires_at > now) {
    return absl::FailedPreconditionError(
        absl::StrCat("workflow ", instance.workflow_id, " is leased to ", instance.lease_owner, " until ",
                     absl::FormatTime(instance.lease_expires_at, absl::UTCTimeZone())));
  }
  return absl::OkStatus();
}

HistoryEvent LeaseTakeoverEvent(const WorkflowInstance& instance, const std::string& owner, absl::Time now) {
  HistoryEvent event;
  event.at = now;
  event.kind = HistoryKind::kLeaseTakenOver;
  event.from_state = instance.state;
  event.to_state = instance.state;
  event.status = instance.status;
  event.attempt = instance.attempts;
  event.replica = owner;
  event.reason = absl::StrCat("lease of ", instance.lease_owner, " (epoch ", instance.lease_epoch, ") expired at ",
                              absl::FormatTime(instance.lease_expires_at, absl::UTCTimeZone()));
  return event;
}

std::string PageToken(const WorkflowInstance& last) {
  return absl::StrCat(Micros(last.created_at), "/", last.workflow_id);
}

absl::StatusOr<ListPosition> ParseListPosition(const WorkflowQuery& query) {
  if (query.page_size < 0 || query.page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size ", query.page_size, " is outside 0..", kMaxPageSize));
  }
  ListPosition position;
  position.page_size = query.page_size == 0 ? kDefaultPageSize : query.page_size;
  if (!query.page_token.empty()) {
    const size_t slash = query.page_token.find('/');
    int64_t created_us = 0;
    if (slash == std::string::npos || slash + 1 >= query.page_token.size() ||
        !absl::SimpleAtoi(absl::string_view(query.page_token).substr(0, slash), &created_us)) {
      return absl::InvalidArgumentError(absl::StrCat("page_token \"", query.page_token, "\" is not valid"));
    }
    position.after.emplace(created_us, query.page_token.substr(slash + 1));
  }
  return position;
}

}  // namespace interop::workflow
