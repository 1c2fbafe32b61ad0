// The PostgreSQL workflow store (OpenPostgresWorkflowStore), for gateway replicas that share one
// database. Contract in workflow_store.h; tables below (component "workflows", applied by
// PostgresDatabase::Migrate when the store opens).
//
// How the guarantees hold across replicas (processes with their own connection pools):
//   - A lease is granted in a transaction that holds the instance's row lock (SELECT ... FOR
//     UPDATE; ClaimDue uses SKIP LOCKED so that replicas polling together split the due instances
//     instead of queueing behind each other). The due/expired test runs on the locked row, so two
//     replicas never both see a lease as free.
//   - Commit, RenewLease and ReleaseLease check lease_owner and lease_epoch on the locked row in
//     the transaction that writes: a replica whose lease was taken over (epoch bumped) or released
//     at a restart cannot write any more. State, history and outbox are one transaction.
//   - At most one unfinished workflow per subject is the partial unique index
//     workflows_one_unfinished_per_subject; two replicas creating at once meet there (the second
//     insert waits for the first transaction and then conflicts).
//   - Times come from the caller (its injected Clock), as in the SQLite store; the database's
//     now() is never used. Replicas' clocks must therefore agree to well within a lease duration;
//     a skewed clock can only make a takeover early, never let a fenced replica commit.
// Transactions run at READ COMMITTED: every decision is made on rows locked by the transaction.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/base/status_macros.h"
#include "gateway/store/postgres/postgres_database.h"
#include "gateway/workflow/workflow_store.h"

namespace interop::workflow {
namespace {

using store::pg::Connection;
using store::pg::Param;
using store::pg::PostgresDatabase;
using store::pg::Result;

// The component's migrations: append only, never edit a script that has shipped.
//
// 1: workflows holds one row per instance: status is the WorkflowStatus number (1 RUNNING,
// 2 WAITING_RETRY, 3 SUCCEEDED, 4 FAILED, 5 REJECTED, 6 TIMED_OUT); data is the workflow's own
// serialized proto; step_seq counts the state changes committed; lease_owner is '' when no replica
// holds the lease, and lease_epoch grows with every grant (the fencing token). Times are unix
// microseconds from the gateway's clock. workflows_one_unfinished_per_subject enforces at most one
// RUNNING or WAITING_RETRY workflow per subject across replicas. workflow_history is append-only,
// numbered per workflow from 1. workflow_outbox holds the requests a step sends to cities;
// done_at_unix_us is NULL until the step that sent it commits.
const std::vector<std::string>& Migrations() {
  static const auto* const kMigrations = new std::vector<std::string>{
      "CREATE TABLE workflows ("
      "  workflow_id TEXT PRIMARY KEY,"
      "  type TEXT NOT NULL,"
      "  subject TEXT NOT NULL,"
      "  state TEXT NOT NULL,"
      "  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 6),"
      "  data BYTEA NOT NULL,"
      "  reason TEXT NOT NULL,"
      "  attempts INTEGER NOT NULL,"
      "  step_seq BIGINT NOT NULL,"
      "  next_attempt_at_unix_us BIGINT NOT NULL,"
      "  deadline_unix_us BIGINT NOT NULL,"
      "  lease_owner TEXT NOT NULL,"
      "  lease_expires_at_unix_us BIGINT NOT NULL,"
      "  lease_epoch BIGINT NOT NULL,"
      "  created_at_unix_us BIGINT NOT NULL,"
      "  updated_at_unix_us BIGINT NOT NULL);"
      "CREATE UNIQUE INDEX workflows_one_unfinished_per_subject ON workflows (subject)"
      "  WHERE status IN (1, 2);"
      "CREATE INDEX workflows_due ON workflows (next_attempt_at_unix_us, workflow_id)"
      "  WHERE status IN (1, 2);"
      "CREATE INDEX workflows_leased_by ON workflows (lease_owner)"
      "  WHERE status IN (1, 2) AND lease_owner <> '';"
      "CREATE INDEX workflows_by_subject ON workflows (subject, created_at_unix_us, workflow_id);"
      "CREATE INDEX workflows_by_type ON workflows (type, created_at_unix_us, workflow_id);"
      "CREATE INDEX workflows_by_status ON workflows (status, created_at_unix_us, workflow_id);"
      "CREATE INDEX workflows_by_created ON workflows (created_at_unix_us, workflow_id);"
      "CREATE TABLE workflow_history ("
      "  workflow_id TEXT NOT NULL REFERENCES workflows (workflow_id),"
      "  seq BIGINT NOT NULL,"
      "  at_unix_us BIGINT NOT NULL,"
      "  kind INTEGER NOT NULL,"
      "  from_state TEXT NOT NULL,"
      "  to_state TEXT NOT NULL,"
      "  status INTEGER NOT NULL,"
      "  attempt INTEGER NOT NULL,"
      "  replica TEXT NOT NULL,"
      "  reason TEXT NOT NULL,"
      "  PRIMARY KEY (workflow_id, seq));"
      "CREATE TABLE workflow_outbox ("
      "  idempotency_key TEXT PRIMARY KEY,"
      "  workflow_id TEXT NOT NULL REFERENCES workflows (workflow_id),"
      "  step_seq BIGINT NOT NULL,"
      "  state TEXT NOT NULL,"
      "  name TEXT NOT NULL,"
      "  destination TEXT NOT NULL,"
      "  payload BYTEA NOT NULL,"
      "  created_at_unix_us BIGINT NOT NULL,"
      "  done_at_unix_us BIGINT,"
      "  UNIQUE (workflow_id, step_seq, name))",
  };
  return *kMigrations;
}


constexpr char kInstanceColumns[] =
    "workflow_id, type, subject, state, status, data, reason, attempts, step_seq, next_attempt_at_unix_us, "
    "deadline_unix_us, lease_owner, lease_expires_at_unix_us, lease_epoch, created_at_unix_us, "
    "updated_at_unix_us";
constexpr char kOutboxColumns[] =
    "idempotency_key, workflow_id, step_seq, state, name, destination, payload, created_at_unix_us, "
    "done_at_unix_us";

// PostgresDatabase::InTransaction runs a transaction again when it answers ABORTED (PostgreSQL's
// serialization failures and deadlocks). The store's own ABORTED answers ("lease lost") are final:
// they carry this payload past InTransaction, which then rolls back without retrying.
constexpr char kFinalAnswerPayload[] = "type.interop/workflow.final_answer";

absl::Status FinalAbort(std::string message) {
  absl::Status status = absl::AbortedError(std::move(message));
  status.SetPayload(kFinalAnswerPayload, absl::Cord("1"));
  return status;
}

bool IsFinalAbort(const absl::Status& status) {
  return status.code() == absl::StatusCode::kAborted && status.GetPayload(kFinalAnswerPayload).has_value();
}

absl::StatusOr<WorkflowInstance> ReadInstance(const Result& r, int row) {
  WorkflowInstance w;
  w.workflow_id = r.Text(row, 0);
  w.type = r.Text(row, 1);
  w.subject = r.Text(row, 2);
  w.state = r.Text(row, 3);
  INTEROP_ASSIGN_OR_RETURN(w.status, StatusFromInt(r.Int(row, 4)));
  w.data = r.Bytes(row, 5);
  w.reason = r.Text(row, 6);
  w.attempts = static_cast<int>(r.Int(row, 7));
  w.step_seq = r.Int(row, 8);
  w.next_attempt_at = FromMicros(r.Int(row, 9));
  w.deadline = FromMicros(r.Int(row, 10));
  w.lease_owner = r.Text(row, 11);
  w.lease_expires_at = FromMicros(r.Int(row, 12));
  w.lease_epoch = r.Int(row, 13);
  w.created_at = FromMicros(r.Int(row, 14));
  w.updated_at = FromMicros(r.Int(row, 15));
  return w;
}

absl::StatusOr<std::vector<WorkflowInstance>> ReadInstances(const Result& r) {
  std::vector<WorkflowInstance> out;
  out.reserve(r.rows());
  for (int row = 0; row < r.rows(); ++row) {
    INTEROP_ASSIGN_OR_RETURN(WorkflowInstance instance, ReadInstance(r, row));
    out.push_back(std::move(instance));
  }
  return out;
}

OutboxEntry ReadOutbox(const Result& r, int row) {
  OutboxEntry e;
  e.idempotency_key = r.Text(row, 0);
  e.workflow_id = r.Text(row, 1);
  e.step_seq = r.Int(row, 2);
  e.state = r.Text(row, 3);
  e.name = r.Text(row, 4);
  e.destination = r.Text(row, 5);
  e.payload = r.Bytes(row, 6);
  e.created_at = FromMicros(r.Int(row, 7));
  if (!r.IsNull(row, 8)) e.done_at = FromMicros(r.Int(row, 8));
  return e;
}

// "$first, $first+1, ..." for `count` parameters.
std::string Placeholders(int first, size_t count) {
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) out.push_back(absl::StrCat("$", first + static_cast<int>(i)));
  return absl::StrJoin(out, ", ");
}

// Appends `event` as the workflow's next history entry. The caller holds the workflow's row lock
// (or created the row in this transaction), so no other transaction appends to it meanwhile.
absl::Status AppendHistory(Connection& c, absl::string_view workflow_id, const HistoryEvent& event) {
  return c
      .Exec(
          "INSERT INTO workflow_history (workflow_id, seq, at_unix_us, kind, from_state, to_state, status, "
          "attempt, replica, reason) VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM workflow_history "
          "WHERE workflow_id = $1), $2, $3, $4, $5, $6, $7, $8, $9)",
          {Param::Text(std::string(workflow_id)), Param::Int(Micros(event.at)),
           Param::Int(static_cast<int64_t>(event.kind)), Param::Text(event.from_state),
           Param::Text(event.to_state), Param::Int(static_cast<int64_t>(event.status)),
           Param::Int(event.attempt), Param::Text(event.replica), Param::Text(event.reason)})
      .status();
}

absl::Status InsertOutbox(Connection& c, const std::string& workflow_id, int64_t step_seq,
                          const std::string& state, const std::vector<OutboxMessage>& outbox,
                          absl::Time now) {
  for (const OutboxMessage& message : outbox) {
    INTEROP_RETURN_IF_ERROR(
        c.Exec(absl::StrCat("INSERT INTO workflow_outbox (", kOutboxColumns,
                            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)"),
               {Param::Text(OutboxIdempotencyKey(workflow_id, step_seq, state, message.name)),
                Param::Text(workflow_id), Param::Int(step_seq), Param::Text(state), Param::Text(message.name),
                Param::Text(message.destination), Param::Bytes(message.payload), Param::Int(Micros(now))})
            .status());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OutboxEntry>> ReadOutboxOf(Connection& c, const std::string& workflow_id,
                                                      std::optional<int64_t> step_seq) {
  std::string sql = absl::StrCat("SELECT ", kOutboxColumns, " FROM workflow_outbox WHERE workflow_id = $1");
  std::vector<Param> params = {Param::Text(workflow_id)};
  if (step_seq.has_value()) {
    absl::StrAppend(&sql, " AND step_seq = $2");
    params.push_back(Param::Int(*step_seq));
  }
  absl::StrAppend(&sql, " ORDER BY step_seq, name");
  INTEROP_ASSIGN_OR_RETURN(Result rows, c.Exec(sql, params));
  std::vector<OutboxEntry> out;
  for (int row = 0; row < rows.rows(); ++row) out.push_back(ReadOutbox(rows, row));
  return out;
}

// The instance, locked for the rest of the transaction when `lock` (waiting for another
// transaction that holds it); nullopt if unknown.
absl::StatusOr<std::optional<WorkflowInstance>> ReadInstanceById(Connection& c,
                                                                 const std::string& workflow_id, bool lock) {
  INTEROP_ASSIGN_OR_RETURN(
      Result rows, c.Exec(absl::StrCat("SELECT ", kInstanceColumns, " FROM workflows WHERE workflow_id = $1",
                                       lock ? " FOR UPDATE" : ""),
                          {Param::Text(workflow_id)}));
  if (rows.rows() == 0) return std::optional<WorkflowInstance>();
  INTEROP_ASSIGN_OR_RETURN(WorkflowInstance instance, ReadInstance(rows, 0));
  return std::optional<WorkflowInstance>(std::move(instance));
}

// Grants the lease of `instance` (read and row-locked in this transaction) to `owner`, and fills
// `claimed`.
absl::Status GrantLease(Connection& c, WorkflowInstance instance, const std::string& owner, absl::Time now,
                        absl::Duration lease_duration, ClaimedWorkflow* claimed) {
  const absl::Time expires_at = now + lease_duration;
  INTEROP_RETURN_IF_ERROR(
      c.Exec("UPDATE workflows SET lease_owner = $1, lease_expires_at_unix_us = $2, "
             "lease_epoch = lease_epoch + 1 WHERE workflow_id = $3",
             {Param::Text(owner), Param::Int(Micros(expires_at)), Param::Text(instance.workflow_id)})
          .status());
  if (!instance.lease_owner.empty()) {
    INTEROP_RETURN_IF_ERROR(AppendHistory(c, instance.workflow_id, LeaseTakeoverEvent(instance, owner, now)));
  }
  instance.lease_owner = owner;
  instance.lease_expires_at = expires_at;
  instance.lease_epoch += 1;
  claimed->lease = Lease{instance.workflow_id, owner, instance.lease_epoch, expires_at};
  INTEROP_ASSIGN_OR_RETURN(claimed->outbox, ReadOutboxOf(c, instance.workflow_id, instance.step_seq));
  claimed->instance = std::move(instance);
  return absl::OkStatus();
}

class PostgresWorkflowStore final : public WorkflowStore {
 public:
  explicit PostgresWorkflowStore(PostgresDatabase& db) : db_(db) {}

  absl::Status Create(const NewWorkflow& w, absl::Time now) override {
    INTEROP_RETURN_IF_ERROR(ValidateNewWorkflow(w, now));
    return Transact([&](Connection& c) -> absl::Status {
      // DO NOTHING on any unique conflict: the primary key (the id exists) or the partial unique
      // index (the subject has an unfinished workflow). A concurrent creator for the same subject
      // makes this insert wait for its transaction; if it commits, this one conflicts.
      INTEROP_ASSIGN_OR_RETURN(
          Result inserted,
          c.Exec(absl::StrCat("INSERT INTO workflows (", kInstanceColumns,
                              ") VALUES ($1, $2, $3, $4, 1, $5, '', 0, 0, $6, $7, '', 0, 0, $6, $6) "
                              "ON CONFLICT DO NOTHING"),
                 {Param::Text(w.workflow_id), Param::Text(w.type), Param::Text(w.subject),
                  Param::Text(w.initial_state), Param::Bytes(w.data), Param::Int(Micros(now)),
                  Param::Int(Micros(w.deadline))}));
      if (inserted.affected() == 0) return ExplainCreateConflict(c, w);
      INTEROP_RETURN_IF_ERROR(InsertOutbox(c, w.workflow_id, 0, w.initial_state, w.outbox, now));
      HistoryEvent event;
      event.at = now;
      event.kind = HistoryKind::kCreated;
      event.to_state = w.initial_state;
      event.status = WorkflowStatus::kRunning;
      event.reason = "created";
      return AppendHistory(c, w.workflow_id, event);
    });
  }

  absl::StatusOr<std::vector<ClaimedWorkflow>> ClaimDue(const std::string& owner,
                                                        const std::vector<std::string>& types, absl::Time now,
                                                        absl::Duration lease_duration, int limit) override {
    std::vector<ClaimedWorkflow> claimed;
    if (types.empty() || limit <= 0) return claimed;
    if (owner.empty()) return absl::InvalidArgumentError("owner is empty");
    // SKIP LOCKED: an instance another replica is claiming or committing right now is left to it;
    // the due and lease tests are evaluated on the locked, current row.
    const std::string sql = absl::StrCat(
        "SELECT ", kInstanceColumns,
        " FROM workflows WHERE status IN (1, 2) AND next_attempt_at_unix_us <= $1 AND (lease_owner = '' OR "
        "lease_expires_at_unix_us <= $1) AND type IN (",
        Placeholders(3, types.size()),
        ") ORDER BY next_attempt_at_unix_us, workflow_id LIMIT $2 FOR UPDATE SKIP LOCKED");
    std::vector<Param> params = {Param::Int(Micros(now)), Param::Int(limit)};
    for (const std::string& type : types) params.push_back(Param::Text(type));
    absl::Status status = Transact([&](Connection& c) -> absl::Status {
      claimed.clear();
      INTEROP_ASSIGN_OR_RETURN(Result rows, c.Exec(sql, params));
      INTEROP_ASSIGN_OR_RETURN(std::vector<WorkflowInstance> due, ReadInstances(rows));
      for (WorkflowInstance& instance : due) {
        claimed.emplace_back();
        INTEROP_RETURN_IF_ERROR(
            GrantLease(c, std::move(instance), owner, now, lease_duration, &claimed.back()));
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return claimed;
  }

  absl::StatusOr<ClaimedWorkflow> Claim(const std::string& workflow_id, const std::string& owner,
                                        absl::Time now, absl::Duration lease_duration) override {
    if (owner.empty()) return absl::InvalidArgumentError("owner is empty");
    ClaimedWorkflow claimed;
    absl::Status status = Transact([&](Connection& c) -> absl::Status {
      INTEROP_ASSIGN_OR_RETURN(std::optional<WorkflowInstance> instance,
                               ReadInstanceById(c, workflow_id, /*lock=*/true));
      if (!instance.has_value())
        return absl::NotFoundError(absl::StrCat("workflow ", workflow_id, " not found"));
      INTEROP_RETURN_IF_ERROR(CheckClaimable(*instance, now));
      return GrantLease(c, *std::move(instance), owner, now, lease_duration, &claimed);
    });
    if (!status.ok()) return status;
    return claimed;
  }

  absl::Status RenewLease(const Lease& lease, absl::Time expires_at) override {
    return UpdateHeldLease(lease, "lease_expires_at_unix_us = $4", Micros(expires_at));
  }

  absl::Status ReleaseLease(const Lease& lease) override {
    return UpdateHeldLease(lease, "lease_owner = '', lease_expires_at_unix_us = $4", 0);
  }

  absl::StatusOr<int> ReleaseLeasesOf(const std::string& owner, absl::Time now) override {
    if (owner.empty()) return absl::InvalidArgumentError("owner is empty");
    int released = 0;
    absl::Status status = Transact([&](Connection& c) -> absl::Status {
      released = 0;
      INTEROP_ASSIGN_OR_RETURN(
          Result rows, c.Exec(absl::StrCat("SELECT ", kInstanceColumns,
                                           " FROM workflows WHERE lease_owner = $1 AND status IN (1, 2) "
                                           "ORDER BY workflow_id FOR UPDATE"),
                              {Param::Text(owner)}));
      INTEROP_ASSIGN_OR_RETURN(std::vector<WorkflowInstance> held, ReadInstances(rows));
      for (const WorkflowInstance& instance : held) {
        INTEROP_RETURN_IF_ERROR(c.Exec("UPDATE workflows SET lease_owner = '', lease_expires_at_unix_us = 0, "
                                       "lease_epoch = lease_epoch + 1 WHERE workflow_id = $1",
                                       {Param::Text(instance.workflow_id)})
                                    .status());
        HistoryEvent event;
        event.at = now;
        event.kind = HistoryKind::kLeaseReleased;
        event.from_state = instance.state;
        event.to_state = instance.state;
        event.status = instance.status;
        event.attempt = instance.attempts;
        event.replica = owner;
        event.reason = absl::StrCat("replica ", owner, " restarted; lease epoch ", instance.lease_epoch,
                                    " of its previous incarnation released");
        INTEROP_RETURN_IF_ERROR(AppendHistory(c, instance.workflow_id, event));
        ++released;
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return released;
  }

  absl::Status Commit(const Lease& lease, const StateChange& change, absl::Time now) override {
    if (change.state.empty()) return absl::InvalidArgumentError("change.state is empty");
    if (!change.outbox.empty() && (!change.advance || IsFinal(change.status))) {
      return absl::InvalidArgumentError(
          "change.outbox must be empty unless the change advances to a non-final status");
    }
    INTEROP_RETURN_IF_ERROR(ValidateOutbox(change.outbox));
    return Transact([&](Connection& c) -> absl::Status {
      // The row lock is held to the end of the transaction: no grant can slip in between the
      // fencing check and the write.
      INTEROP_ASSIGN_OR_RETURN(std::optional<WorkflowInstance> found,
                               ReadInstanceById(c, lease.workflow_id, /*lock=*/true));
      if (!found.has_value()) {
        return absl::NotFoundError(absl::StrCat("workflow ", lease.workflow_id, " not found"));
      }
      const WorkflowInstance& current = *found;
      if (IsFinal(current.status)) {
        return absl::FailedPreconditionError(absl::StrCat("workflow ", lease.workflow_id, " has finished (",
                                                          WorkflowStatusName(current.status), ")"));
      }
      if (current.lease_owner != lease.owner || current.lease_epoch != lease.epoch) {
        return FinalAbort(absl::StrCat("lease lost: workflow ", lease.workflow_id, " is leased to \"",
                                       current.lease_owner, "\" epoch ", current.lease_epoch, ", not \"",
                                       lease.owner, "\" epoch ", lease.epoch));
      }
      const int64_t step_seq = change.advance ? current.step_seq + 1 : current.step_seq;
      const absl::Time next_attempt_at = IsFinal(change.status) ? now : change.next_attempt_at;
      INTEROP_RETURN_IF_ERROR(
          c.Exec(
               "UPDATE workflows SET state = $1, status = $2, data = $3, reason = $4, attempts = $5, "
               "step_seq = $6, next_attempt_at_unix_us = $7, lease_owner = '', lease_expires_at_unix_us = 0, "
               "updated_at_unix_us = $8 WHERE workflow_id = $9",
               {Param::Text(change.state), Param::Int(static_cast<int64_t>(change.status)),
                Param::Bytes(change.data.has_value() ? *change.data : current.data),
                Param::Text(change.reason), Param::Int(change.attempts), Param::Int(step_seq),
                Param::Int(Micros(next_attempt_at)), Param::Int(Micros(now)), Param::Text(lease.workflow_id)})
              .status());
      if (change.advance) {
        INTEROP_RETURN_IF_ERROR(
            c.Exec("UPDATE workflow_outbox SET done_at_unix_us = $1 WHERE workflow_id = $2 "
                   "AND step_seq = $3 AND done_at_unix_us IS NULL",
                   {Param::Int(Micros(now)), Param::Text(lease.workflow_id), Param::Int(current.step_seq)})
                .status());
        INTEROP_RETURN_IF_ERROR(
            InsertOutbox(c, lease.workflow_id, step_seq, change.state, change.outbox, now));
      }
      HistoryEvent event;
      event.at = now;
      event.kind = change.kind;
      event.from_state = current.state;
      event.to_state = change.state;
      event.status = change.status;
      event.attempt = change.history_attempt;
      event.replica = lease.owner;
      event.reason = change.reason;
      return AppendHistory(c, lease.workflow_id, event);
    });
  }

  absl::StatusOr<WorkflowRecord> Get(const std::string& workflow_id) override {
    WorkflowRecord record;
    // REPEATABLE READ: the instance, its history and its outbox from one snapshot.
    absl::Status status = db_.InTransaction(
        [&](Connection& c) -> absl::Status {
          record = WorkflowRecord();
          INTEROP_ASSIGN_OR_RETURN(std::optional<WorkflowInstance> instance,
                                   ReadInstanceById(c, workflow_id, /*lock=*/false));
          if (!instance.has_value())
            return absl::NotFoundError(absl::StrCat("workflow ", workflow_id, " not found"));
          record.instance = *std::move(instance);
          INTEROP_ASSIGN_OR_RETURN(
              Result rows,
              c.Exec("SELECT seq, at_unix_us, kind, from_state, to_state, status, attempt, replica, "
                     "reason FROM workflow_history WHERE workflow_id = $1 ORDER BY seq",
                     {Param::Text(workflow_id)}));
          for (int row = 0; row < rows.rows(); ++row) {
            HistoryEvent event;
            event.seq = rows.Int(row, 0);
            event.at = FromMicros(rows.Int(row, 1));
            const int64_t kind = rows.Int(row, 2);
            if (kind < 1 || kind > 7)
              return absl::DataLossError(absl::StrCat("stored history kind ", kind, " is unknown"));
            event.kind = static_cast<HistoryKind>(kind);
            event.from_state = rows.Text(row, 3);
            event.to_state = rows.Text(row, 4);
            INTEROP_ASSIGN_OR_RETURN(event.status, StatusFromInt(rows.Int(row, 5)));
            event.attempt = static_cast<int>(rows.Int(row, 6));
            event.replica = rows.Text(row, 7);
            event.reason = rows.Text(row, 8);
            record.history.push_back(std::move(event));
          }
          INTEROP_ASSIGN_OR_RETURN(record.outbox, ReadOutboxOf(c, workflow_id, std::nullopt));
          return absl::OkStatus();
        },
        store::pg::Isolation::kRepeatableRead);
    if (!status.ok()) return status;
    return record;
  }

  absl::StatusOr<WorkflowPage> List(const WorkflowQuery& query) override {
    INTEROP_ASSIGN_OR_RETURN(ListPosition position, ParseListPosition(query));
    const int page_size = position.page_size;
    const std::optional<std::pair<int64_t, std::string>>& after = position.after;
    std::vector<std::string> where;
    std::vector<Param> params;
    auto next = [&params](Param param) {
      params.push_back(std::move(param));
      return absl::StrCat("$", params.size());
    };
    if (query.type.has_value()) where.push_back(absl::StrCat("type = ", next(Param::Text(*query.type))));
    if (query.subject.has_value())
      where.push_back(absl::StrCat("subject = ", next(Param::Text(*query.subject))));
    if (query.status.has_value()) {
      where.push_back(absl::StrCat("status = ", next(Param::Int(static_cast<int64_t>(*query.status)))));
    }
    if (after.has_value()) {
      const std::string after_us = next(Param::Int(after->first));
      const std::string after_id = next(Param::Text(after->second));
      where.push_back(absl::StrCat("(created_at_unix_us, workflow_id) > (", after_us, ", ", after_id, ")"));
    }
    std::string sql = absl::StrCat("SELECT ", kInstanceColumns, " FROM workflows");
    if (!where.empty()) absl::StrAppend(&sql, " WHERE ", absl::StrJoin(where, " AND "));
    absl::StrAppend(&sql, " ORDER BY created_at_unix_us, workflow_id LIMIT ",
                    next(Param::Int(page_size + 1)));
    WorkflowPage page;
    absl::Status status = db_.WithConnection([&](Connection& c) -> absl::Status {
      INTEROP_ASSIGN_OR_RETURN(Result rows, c.Exec(sql, params));
      INTEROP_ASSIGN_OR_RETURN(page.instances, ReadInstances(rows));
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    if (static_cast<int>(page.instances.size()) > page_size) {
      page.instances.resize(page_size);
      page.next_page_token = PageToken(page.instances.back());
    }
    return page;
  }

  absl::StatusOr<std::optional<absl::Time>> NextDue(const std::vector<std::string>& types) override {
    std::optional<absl::Time> next;
    if (types.empty()) return next;
    std::vector<Param> params;
    for (const std::string& type : types) params.push_back(Param::Text(type));
    absl::Status status = db_.WithConnection([&](Connection& c) -> absl::Status {
      INTEROP_ASSIGN_OR_RETURN(
          Result rows,
          c.Exec(absl::StrCat("SELECT MIN(next_attempt_at_unix_us) FROM workflows WHERE status IN "
                              "(1, 2) AND type IN (",
                              Placeholders(1, types.size()), ")"),
                 params));
      // An aggregate returns one row, NULL when nothing is unfinished.
      if (rows.rows() == 1 && !rows.IsNull(0, 0)) next = FromMicros(rows.Int(0, 0));
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return next;
  }

 private:
  // Runs `fn` in a READ COMMITTED transaction (retried on serialization failures and deadlocks);
  // a FinalAbort answer of `fn` rolls back and is returned as it is, without the retry.
  absl::Status Transact(const std::function<absl::Status(Connection&)>& fn) {
    absl::Status answer;
    absl::Status status = db_.InTransaction([&](Connection& c) -> absl::Status {
      answer = fn(c);
      if (IsFinalAbort(answer)) return absl::CancelledError("rolled back: final answer");
      return answer;
    });
    if (IsFinalAbort(answer)) {
      answer.ErasePayload(kFinalAnswerPayload);
      return answer;
    }
    return status;
  }

  // Why Create's insert met a unique conflict, in the words of the contract. Runs after the
  // conflicting transaction committed, so (at READ COMMITTED) this statement sees its row.
  absl::Status ExplainCreateConflict(Connection& c, const NewWorkflow& w) {
    INTEROP_ASSIGN_OR_RETURN(std::optional<WorkflowInstance> existing,
                             ReadInstanceById(c, w.workflow_id, /*lock=*/false));
    if (existing.has_value()) {
      return absl::AlreadyExistsError(absl::StrCat("workflow ", w.workflow_id, " already exists"));
    }
    INTEROP_ASSIGN_OR_RETURN(Result running,
                             c.Exec("SELECT workflow_id, type, state FROM workflows WHERE subject = $1 AND "
                                    "status IN (1, 2)",
                                    {Param::Text(w.subject)}));
    if (running.rows() > 0) {
      return absl::AlreadyExistsError(absl::StrCat("subject ", w.subject, " already has unfinished workflow ",
                                                   running.Text(0, 0), " (", running.Text(0, 1), ", state ",
                                                   running.Text(0, 2), ")"));
    }
    // The conflicting workflow finished in the meantime: ABORTED without the final mark, so that
    // InTransaction runs Create again.
    return absl::AbortedError(
        absl::StrCat("subject ", w.subject, ": the conflicting workflow finished; retry"));
  }

  // Updates a lease that must still be held (owner and epoch, unfinished); ABORTED otherwise. One
  // statement: the conditions are checked on the row it locks.
  absl::Status UpdateHeldLease(const Lease& lease, const char* set_clause, int64_t value) {
    return Transact([&](Connection& c) -> absl::Status {
      INTEROP_ASSIGN_OR_RETURN(
          Result updated,
          c.Exec(absl::StrCat("UPDATE workflows SET ", set_clause,
                              " WHERE workflow_id = $1 AND lease_owner = $2 AND lease_epoch = $3 AND "
                              "status IN (1, 2)"),
                 {Param::Text(lease.workflow_id), Param::Text(lease.owner), Param::Int(lease.epoch),
                  Param::Int(value)}));
      if (updated.affected() == 0) {
        return FinalAbort(absl::StrCat("lease lost: workflow ", lease.workflow_id,
                                       " is no longer leased to \"", lease.owner, "\" epoch ", lease.epoch));
      }
      return absl::OkStatus();
    });
  }

  PostgresDatabase& db_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<WorkflowStore>> OpenPostgresWorkflowStore(store::pg::PostgresDatabase& db) {
  INTEROP_RETURN_IF_ERROR(db.Migrate("workflows", Migrations()));
  return std::unique_ptr<WorkflowStore>(new PostgresWorkflowStore(db));
}

}  // namespace interop::workflow
