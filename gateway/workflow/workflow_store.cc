#include "gateway/workflow/workflow_store.h"

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

}  // namespace interop::workflow
