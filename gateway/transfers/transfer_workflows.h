// The two cross-city workflows of issue 5 on the workflow engine (gateway/workflow/,
// docs/WORKFLOWS.md): household migration (户口迁移) and pension relationship transfer
// (养老保险关系转移接续). Each is a WorkflowDefinition whose steps call the cities' adapters with the
// step's idempotency keys, so that a step retried or resumed after a crash applies once.
//
// Household migration ("household_migration", subject "household:<resident_id>"):
//
//   applied --IssueMoveInPermit(dest)--> permit_issued --RecordMoveOut(origin)--> moved_out
//      |                                     |                                     |
//      +-- destination refuses --> rejected <+-- origin refuses                    +--SettleIn(dest)--> settled
//
//   moved_out is past the point of no return (the origin no longer registers the person): it is not
//   subject to the deadline and is retried until the destination settles the person in.
//
// Pension transfer ("pension_transfer", subject "pension:<resident_id>"):
//
//   applied --ApplyPensionTransfer + IssueContactLetter(dest)--> letter_sent
//   letter_sent --PreparePensionTransferOut(origin), sheet checked (CheckSheet, and against the
//                 origin's contribution history)--> sheet_checked      (or rejected with the reason)
//   sheet_checked --CompletePensionTransferOut(origin)--> transferred_out   (or rejected)
//   transferred_out --ConfirmPensionTransferIn(dest)--> confirmed
//
//   transferred_out is past the point of no return (the origin ended the relationship; the funds are
//   in flight, held in the workflow's data): not subject to the deadline.
//
// Errors of a step: a city's UNAVAILABLE, DEADLINE_EXCEEDED or ABORTED is retried by the engine; a
// city's refusal (NOT_FOUND, FAILED_PRECONDITION, INVALID_ARGUMENT, ALREADY_EXISTS, UNIMPLEMENTED)
// before the point of no return moves to `rejected` with the city's message as the reason; after it,
// ends the workflow FAILED with the message (a contradiction that needs people: the data says what is
// in flight). The subjects are per domain: one unfinished migration and one unfinished transfer per
// person at a time, and the two may run side by side (they touch different records; the decision
// and why: docs/WORKFLOWS.md, "One person, two workflows").
//
// Thread-safe: the definitions hold only the city directory and the options.
#ifndef INTEROP_GATEWAY_TRANSFERS_TRANSFER_WORKFLOWS_H_
#define INTEROP_GATEWAY_TRANSFERS_TRANSFER_WORKFLOWS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/router/city_directory.h"
#include "gateway/workflow/workflow_engine.h"
#include "interop/household/v1/migration.pb.h"
#include "interop/social/v1/pension_transfer.pb.h"
#include "interop/transfers/v1/workflow_data.pb.h"

namespace interop::transfers {

inline constexpr char kHouseholdMigrationType[] = "household_migration";
inline constexpr char kPensionTransferType[] = "pension_transfer";

struct TransferWorkflowOptions {
  // The longest one call to a city may take within a step.
  absl::Duration call_deadline = absl::Seconds(10);
  // Overall deadline of a workflow (the states before the point of no return).
  absl::Duration timeout = absl::Hours(24);
  // Called when a migration settled the person in (the router should forget where the person is
  // registered) and when a transfer was confirmed (where their contributions are). May be empty.
  std::function<void(const std::string& resident_id)> on_household_moved;
  std::function<void(const std::string& resident_id)> on_pension_moved;
};

// The definitions. `cities` must outlive the engine they are registered with.
workflow::WorkflowDefinition HouseholdMigrationDefinition(router::CityDirectory& cities,
                                                          TransferWorkflowOptions options);
workflow::WorkflowDefinition PensionTransferDefinition(router::CityDirectory& cities, TransferWorkflowOptions options);

// The workflow subject of a person's migrations / transfers.
std::string HouseholdSubject(const std::string& resident_id);
std::string PensionSubject(const std::string& resident_id);

// What to start. The caller has validated the person and the cities (distinct, of the five) and
// the address code (six digits, a county of the destination).
workflow::StartWorkflowRequest NewHouseholdMigration(const std::string& resident_id, const std::string& name,
                                                     City origin, City destination,
                                                     const std::string& address_code, absl::Duration timeout);
workflow::StartWorkflowRequest NewPensionTransfer(const std::string& resident_id, City origin, City destination,
                                                  absl::Duration timeout);

// The public views of an instance (history included if given). INTERNAL if the data is not this
// workflow's.
absl::StatusOr<household::v1::HouseholdMigration> MigrationView(const workflow::WorkflowInstance& instance,
                                                                const std::vector<workflow::HistoryEvent>* history);
absl::StatusOr<social::v1::PensionTransfer> TransferView(const workflow::WorkflowInstance& instance,
                                                         const std::vector<workflow::HistoryEvent>* history);

// The pension months of a transfer's data, as the canonical sheet the cities exchange.
adapters::PensionTransferSheet SheetOf(const interop::transfers::v1::PensionTransferData& data);

}  // namespace interop::transfers

#endif  // INTEROP_GATEWAY_TRANSFERS_TRANSFER_WORKFLOWS_H_
