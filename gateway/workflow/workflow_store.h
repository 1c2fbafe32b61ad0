// The durable state of cross-city workflows: instances, their append-only history, and the outbox of
// requests each step sends to cities. See docs/WORKFLOWS.md for the design.
//
// WorkflowStore is the storage interface the engine (workflow_engine.h) runs on, and the read model
// the domain services expose (Get, List). Two implementations behave alike (one test suite runs
// on both): SQLite, the embedded default for one machine (OpenSqliteWorkflowStore, tables in
// gateway/store/schema.cc migration 5), and PostgreSQL, for gateway replicas that share one
// database (OpenPostgresWorkflowStore, tables in postgres_workflow_store.cc). Every write is one
// transaction, and the interface never assumes one process: leases carry an epoch (a fencing token)
// that every write on behalf of a step must present, so a replica that lost its lease can no longer
// commit.
//
//   auto store = OpenSqliteWorkflowStore("/var/lib/interop/gateway.db");
//   NewWorkflow w;
//   w.workflow_id = "wf-1";  w.type = "pension_transfer";  w.subject = person_id;  ...
//   absl::Status created = (*store)->Create(w, clock.Now());   // ALREADY_EXISTS if one is running
//
// Times are passed in by the caller (the engine reads its injected Clock); the store itself never
// reads a clock, nor the database's. Stored with microsecond precision. Lease expiry compares the
// times of different callers, so replicas sharing a database must have clocks that agree to well
// within a lease duration; a skewed clock can make a takeover early (the step then runs twice, which
// the idempotency keys absorb), never let a fenced-off replica commit.
//
// Thread-safe: every method may be called from any thread. Several stores (processes, or objects in
// one process) may share one database; the guarantees below hold across them:
//   - an instance is leased to one owner at a time (the grant and its checks are one transaction
//     holding the instance's row: SQLite's write lock, PostgreSQL's row lock);
//   - Commit, RenewLease and ReleaseLease succeed only for the current (owner, epoch), checked in the
//     transaction that writes;
//   - a subject has at most one unfinished workflow (a unique index over unfinished instances, not
//     a lock in the process);
//   - state, history and outbox change together or not at all.
#ifndef INTEROP_GATEWAY_WORKFLOW_WORKFLOW_STORE_H_
#define INTEROP_GATEWAY_WORKFLOW_WORKFLOW_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace interop::store::pg {
class PostgresDatabase;
}  // namespace interop::store::pg

namespace interop::workflow {

// Where an instance is in its life. The numbers are stored; never renumber.
enum class WorkflowStatus : int {
  kRunning = 1,       // due to run its current state's step (now, or once its lease is free)
  kWaitingRetry = 2,  // the last attempt failed with a retryable error; due again at next_attempt_at
  kSucceeded = 3,     // final: reached a final state of its definition that means success
  kFailed = 4,        // final: a non-retryable error (reason says which), in the state it was in
  kRejected = 5,      // final: reached a final state that means a city refused (reason says why)
  kTimedOut = 6,      // final: the overall deadline passed in the state it was in
};

// "RUNNING", "WAITING_RETRY", "SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT".
absl::string_view WorkflowStatusName(WorkflowStatus status);
// SUCCEEDED, FAILED, REJECTED and TIMED_OUT are final: nothing changes an instance after that.
bool IsFinal(WorkflowStatus status);

// One workflow instance as committed.
struct WorkflowInstance {
  std::string workflow_id;  // unique; chosen by the creator
  std::string type;         // the definition's name, e.g. "pension_transfer"
  std::string subject;      // the unit of mutual exclusion, e.g. the person's resident id
  std::string state;        // a state name of the definition
  WorkflowStatus status = WorkflowStatus::kRunning;
  std::string data;    // opaque to the store: the workflow's serialized proto
  std::string reason;  // why it is in this status: the last error while WAITING_RETRY, or the end
  int attempts = 0;    // failed attempts of the current state so far (0 after every state change)
  // Number of state changes committed; the outbox entries of the current step carry this number.
  int64_t step_seq = 0;
  absl::Time next_attempt_at;   // when it is due (RUNNING: usually in the past)
  absl::Time deadline;          // overall deadline (see WorkflowEngine for what it applies to)
  std::string lease_owner;      // replica holding the lease, "" if none
  absl::Time lease_expires_at;  // meaningful only with a lease_owner
  int64_t lease_epoch = 0;      // incremented by every grant of the lease
  absl::Time created_at;
  absl::Time updated_at;
};

// What a history event records. The numbers are stored; never renumber.
enum class HistoryKind : int {
  kCreated = 1,         // to_state = initial state
  kAdvanced = 2,        // a step committed: from_state -> to_state (to_state may be final)
  kRetryScheduled = 3,  // a step failed with a retryable error; reason = the error and the delay
  kFailed = 4,          // a step failed with a non-retryable error; ends FAILED
  kTimedOut = 5,        // the deadline passed; ends TIMED_OUT
  kLeaseTakenOver = 6,  // the lease of another replica had expired and was taken over
  kLeaseReleased = 7,   // a replica restarted and released the leases of its previous incarnation
};
absl::string_view HistoryKindName(HistoryKind kind);

// One entry of an instance's append-only history.
struct HistoryEvent {
  int64_t seq = 0;  // 1, 2, 3, ... per workflow, in commit order
  absl::Time at;
  HistoryKind kind = HistoryKind::kCreated;
  std::string from_state;  // "" for kCreated
  std::string to_state;    // the state after the event (unchanged for retries, failures, timeouts)
  WorkflowStatus status = WorkflowStatus::kRunning;  // the status after the event
  int attempt = 0;      // for kRetryScheduled/kFailed/kTimedOut: which attempt of the state it was
  std::string replica;  // the replica that committed the event
  std::string reason;
};

// A request a step will send to a city, as decided by the transition into that step.
struct OutboxMessage {
  std::string name;         // unique within the step, non-empty, no '/' (e.g. "contact_letter")
  std::string destination;  // who receives it (e.g. a city name); opaque to the store
  std::string payload;      // opaque: the serialized request
};

// An outbox entry as stored.
struct OutboxEntry {
  // "<workflow_id>/<step_seq>/<state>/<name>" (OutboxIdempotencyKey): the key the step sends to the
  // city, so that a retried or resumed step applies once. Unique in the store.
  std::string idempotency_key;
  std::string workflow_id;
  int64_t step_seq = 0;  // the step that sends it
  std::string state;     // the state whose step sends it
  std::string name;
  std::string destination;
  std::string payload;
  absl::Time created_at;
  // Set when the step that sent it committed its transition (the city acknowledged it); nullopt
  // while pending, and forever if the workflow ended without that step committing.
  std::optional<absl::Time> done_at;
};

// The idempotency key of a step's request: "<workflow_id>/<step_seq>/<state>/<name>".
std::string OutboxIdempotencyKey(absl::string_view workflow_id, int64_t step_seq, absl::string_view state,
                                 absl::string_view name);

// A workflow to create.
struct NewWorkflow {
  std::string workflow_id;    // required, unique, no '/'
  std::string type;           // required
  std::string subject;        // required
  std::string initial_state;  // required
  std::string data;
  std::vector<OutboxMessage> outbox;  // the initial step's requests (step_seq 0)
  absl::Time deadline;                // required, after `now`
};

// The right to run one instance's current step, granted by Claim/ClaimDue until `expires_at`.
struct Lease {
  std::string workflow_id;
  std::string owner;
  int64_t epoch = 0;  // the fencing token: writes under a lease present it
  absl::Time expires_at;
};

// An instance with its lease and the outbox entries of its current step (step_seq).
struct ClaimedWorkflow {
  WorkflowInstance instance;
  Lease lease;
  std::vector<OutboxEntry> outbox;
};

// A change committed under a lease (Commit): the new state, status and data, the next step's
// outbox, and one history event, in one transaction. The lease is released by the commit.
struct StateChange {
  // true when the step completed: step_seq grows by one, the current step's outbox entries are
  // marked done, and `outbox` is written for the new step_seq. false for retries, failures and
  // timeouts (the outbox is untouched; `outbox` must be empty).
  bool advance = false;
  std::string state;  // the state after the change
  WorkflowStatus status = WorkflowStatus::kRunning;
  std::optional<std::string> data;  // replaces the data if set
  std::string reason;
  int attempts = 0;
  absl::Time next_attempt_at;  // when it is due next (ignored for final statuses)
  std::vector<OutboxMessage> outbox;
  HistoryKind kind = HistoryKind::kAdvanced;
  int history_attempt = 0;  // HistoryEvent::attempt
};

// What List returns: one page, ordered by (created_at, workflow_id).
struct WorkflowQuery {
  std::optional<std::string> type;
  std::optional<std::string> subject;
  std::optional<WorkflowStatus> status;
  int page_size = 50;      // 1..500; 0 means 50
  std::string page_token;  // "" for the first page, else a next_page_token from the previous page
};
struct WorkflowPage {
  std::vector<WorkflowInstance> instances;
  std::string next_page_token;  // "" when this is the last page
};

// An instance with everything the read model shows.
struct WorkflowRecord {
  WorkflowInstance instance;
  std::vector<HistoryEvent> history;  // by seq
  std::vector<OutboxEntry> outbox;    // by (step_seq, name)
};

class WorkflowStore {
 public:
  virtual ~WorkflowStore() = default;

  // Creates an instance in `initial_state`, status RUNNING, due now, with its initial outbox
  // (step_seq 0) and a kCreated history event, in one transaction.
  // ALREADY_EXISTS if the subject has an unfinished (RUNNING or WAITING_RETRY) workflow (the
  // message names it: "subject ... already has unfinished workflow <id> (<type>, state <state>)"),
  // or if workflow_id exists ("workflow <id> already exists"). INVALID_ARGUMENT naming the field
  // for a missing field, a workflow_id holding '/', a deadline not after `now`, or an outbox name
  // that is empty, repeated or holds '/'. INTERNAL on a storage error; UNAVAILABLE if the store
  // stayed busy.
  virtual absl::Status Create(const NewWorkflow& workflow, absl::Time now) = 0;

  // Leases up to `limit` due instances of the given types to `owner` until now + lease_duration:
  // those RUNNING or WAITING_RETRY with next_attempt_at <= now whose lease is free or expired
  // (lease_expires_at <= now), earliest due first. Each grant increments lease_epoch; taking over
  // another owner's expired lease appends a kLeaseTakenOver event. Atomic across stores sharing the
  // database: an instance is leased to one owner at a time.
  virtual absl::StatusOr<std::vector<ClaimedWorkflow>> ClaimDue(const std::string& owner,
                                                                const std::vector<std::string>& types,
                                                                absl::Time now, absl::Duration lease_duration,
                                                                int limit) = 0;

  // Leases one instance (as ClaimDue, but whatever its next_attempt_at). NOT_FOUND if unknown;
  // FAILED_PRECONDITION if finished, or if another owner holds an unexpired lease (the message
  // names the owner and the expiry).
  virtual absl::StatusOr<ClaimedWorkflow> Claim(const std::string& workflow_id, const std::string& owner,
                                                absl::Time now, absl::Duration lease_duration) = 0;

  // Extends a held lease to `expires_at`. ABORTED if the lease is no longer this one (another
  // owner or epoch; the instance finished).
  virtual absl::Status RenewLease(const Lease& lease, absl::Time expires_at) = 0;

  // Gives a held lease up without changing anything else. ABORTED as RenewLease.
  virtual absl::Status ReleaseLease(const Lease& lease) = 0;

  // Releases every lease held by `owner` on unfinished instances (a replica that restarts under
  // the same name: its previous incarnation is dead), bumping each epoch and appending a
  // kLeaseReleased event. Returns how many.
  virtual absl::StatusOr<int> ReleaseLeasesOf(const std::string& owner, absl::Time now) = 0;

  // Applies `change` to the leased instance, appends its history event, and (when change.advance)
  // marks the current step's outbox done and writes the next step's, all in one transaction; then
  // releases the lease. ABORTED ("lease lost") if the instance is not leased to lease.owner with
  // lease.epoch any more (the lease may have expired: as long as nobody took it over, the commit is
  // fenced correctly). FAILED_PRECONDITION if the instance already finished. NOT_FOUND if unknown.
  // INVALID_ARGUMENT for an outbox that is not valid (as Create), or outbox entries with a final
  // status or without advance.
  virtual absl::Status Commit(const Lease& lease, const StateChange& change, absl::Time now) = 0;

  // --- The read model.

  // The instance with its history and outbox. NOT_FOUND if unknown.
  virtual absl::StatusOr<WorkflowRecord> Get(const std::string& workflow_id) = 0;

  // One page of instances matching every set filter. INVALID_ARGUMENT for a page_size outside
  // 0..500 or a page_token this store did not hand out.
  virtual absl::StatusOr<WorkflowPage> List(const WorkflowQuery& query) = 0;

  // The earliest next_attempt_at among unfinished instances of `types`, or nullopt if none; lets
  // a scheduler sleep until then.
  virtual absl::StatusOr<std::optional<absl::Time>> NextDue(const std::vector<std::string>& types) = 0;
};

// A store in the SQLite database at `path` (the gateway's store file, or its own), opened with the
// store's migrations (gateway/store/schema.cc). ":memory:" gives a private database (one store
// object only). Commits are synced (synchronous=FULL) before they return. INTERNAL or
// FAILED_PRECONDITION as store::SqliteDatabase::Open.
absl::StatusOr<std::unique_ptr<WorkflowStore>> OpenSqliteWorkflowStore(const std::string& path);

// A store in the PostgreSQL database of `db` (gateway/store/postgres/postgres_database.h), which is
// borrowed and must outlive the store. Creates or upgrades its tables (workflows, workflow_history,
// workflow_outbox) with db.Migrate("workflows", ...), safe when several replicas open at once. Any
// number of stores, in any number of processes, may share the database. Errors of the database map
// as PostgresDatabase documents them (UNAVAILABLE when the server cannot be reached, INTERNAL
// otherwise; FAILED_PRECONDITION if the schema is newer than this gateway's). Deadlocks are retried
// inside (a few times; ABORTED if they persist: nothing was written). A lease is a stored value,
// not a held lock: an instance's row is locked only for the length of one claim or commit
// transaction, and ClaimDue skips rows another replica has locked at that moment.
absl::StatusOr<std::unique_ptr<WorkflowStore>> OpenPostgresWorkflowStore(store::pg::PostgresDatabase& db);

// --- Shared by the store implementations (SQLite and PostgreSQL), so that both check and encode
// alike.

// Times as both store them: unix microseconds.
inline int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }
// A stored status; DATA_LOSS if it is none of WorkflowStatus's.
absl::StatusOr<WorkflowStatus> StatusFromInt(int64_t value);
// The checks Create() documents: INVALID_ARGUMENT naming the field.
absl::Status ValidateOutbox(const std::vector<OutboxMessage>& outbox);
absl::Status ValidateNewWorkflow(const NewWorkflow& workflow, absl::Time now);
// FAILED_PRECONDITION if `instance` has finished or another's lease on it has not expired at `now`.
absl::Status CheckClaimable(const WorkflowInstance& instance, absl::Time now);
// The history event of `owner` taking over the lease `instance` still names (expired).
HistoryEvent LeaseTakeoverEvent(const WorkflowInstance& instance, const std::string& owner, absl::Time now);
// A page token: "<created_at_unix_us>/<workflow_id>" of the last instance of the previous page.
std::string PageToken(const WorkflowInstance& last);
// Where List() starts and how much it returns: the page size (the default for 0) and, after the
// first page, the (created_at_unix_us, workflow_id) of the last instance before it. INVALID_ARGUMENT
// naming page_size or page_token.
struct ListPosition {
  int page_size = 0;
  std::optional<std::pair<int64_t, std::string>> after;
};
absl::StatusOr<ListPosition> ParseListPosition(const WorkflowQuery& query);

}  // namespace interop::workflow

#endif  // INTEROP_GATEWAY_WORKFLOW_WORKFLOW_STORE_H_
