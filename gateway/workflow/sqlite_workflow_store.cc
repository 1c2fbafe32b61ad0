// The SQLite workflow store (OpenSqliteWorkflowStore). Contract in workflow_store.h; tables in
// gateway/store/schema.cc (migration 5).
//
// Every write is one BEGIN IMMEDIATE ... COMMIT on the store's connection: IMMEDIATE takes SQLite's
// write lock at BEGIN, so the reads that decide a write (is the subject free? is the lease still
// ours? which instances are due?) and the write itself are one atomic step even when several
// connections (processes, or store objects in one process) share the file. A PostgreSQL store does
// the same with row locks: SELECT ... FOR UPDATE (SKIP LOCKED for ClaimDue) inside a transaction.
#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/base/status_macros.h"
#include "gateway/store/schema.h"
#include "gateway/store/sqlite_database.h"
#include "gateway/workflow/workflow_store.h"

namespace interop::workflow {
namespace {


constexpr char kInstanceColumns[] =
    "workflow_id, type, subject, state, status, data, reason, attempts, step_seq, next_attempt_at_unix_us, "
    "deadline_unix_us, lease_owner, lease_expires_at_unix_us, lease_epoch, created_at_unix_us, "
    "updated_at_unix_us";
constexpr char kOutboxColumns[] =
    "idempotency_key, workflow_id, step_seq, state, name, destination, payload, created_at_unix_us, "
    "done_at_unix_us";

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  std::string message = absl::StrCat("sqlite: ", what, ": ", db ? sqlite3_errmsg(db) : "out of memory");
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

// Owns one prepared statement; binds and reads columns by 1-based / 0-based index.
class Statement {
 public:
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  static absl::StatusOr<std::unique_ptr<Statement>> Prepare(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return SqliteError(db, rc, absl::StrCat("preparing \"", sql, "\""));
    }
    return std::unique_ptr<Statement>(new Statement(db, stmt));
  }

  Statement& Bind(int index, absl::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int index, absl::string_view bytes) {
    sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  // The 1-based index of a named parameter (":name") of the statement.
  int Parameter(const char* name) const { return sqlite3_bind_parameter_index(stmt_, name); }

  // Steps once: true with a row, false when done.
  absl::StatusOr<bool> Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, "stepping");
  }
  // Steps to the end of a statement that returns no rows.
  absl::Status Run() {
    absl::StatusOr<bool> row = Step();
    return row.status();
  }

  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string Text(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    if (data == nullptr || size <= 0) return std::string();
    return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
  }

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

absl::StatusOr<WorkflowInstance> ReadInstance(const Statement& s) {
  WorkflowInstance w;
  w.workflow_id = s.Text(0);
  w.type = s.Text(1);
  w.subject = s.Text(2);
  w.state = s.Text(3);
  INTEROP_ASSIGN_OR_RETURN(w.status, StatusFromInt(s.Int(4)));
  w.data = s.Text(5);
  w.reason = s.Text(6);
  w.attempts = static_cast<int>(s.Int(7));
  w.step_seq = s.Int(8);
  w.next_attempt_at = FromMicros(s.Int(9));
  w.deadline = FromMicros(s.Int(10));
  w.lease_owner = s.Text(11);
  w.lease_expires_at = FromMicros(s.Int(12));
  w.lease_epoch = s.Int(13);
  w.created_at = FromMicros(s.Int(14));
  w.updated_at = FromMicros(s.Int(15));
  return w;
}

OutboxEntry ReadOutbox(const Statement& s) {
  OutboxEntry e;
  e.idempotency_key = s.Text(0);
  e.workflow_id = s.Text(1);
  e.step_seq = s.Int(2);
  e.state = s.Text(3);
  e.name = s.Text(4);
  e.destination = s.Text(5);
  e.payload = s.Text(6);
  e.created_at = FromMicros(s.Int(7));
  if (s.Int(8) != 0) e.done_at = FromMicros(s.Int(8));
  return e;
}

// Runs `fn` inside BEGIN IMMEDIATE ... COMMIT; rolls back if it or the commit fails.
absl::Status InWriteTransaction(sqlite3* db, const std::function<absl::Status()>& fn) {
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, "BEGIN IMMEDIATE");
  absl::Status status = fn();
  if (status.ok()) {
    rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return absl::OkStatus();
    status = SqliteError(db, rc, "COMMIT");
  }
  if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return status;
}

absl::Status AppendHistory(sqlite3* db, absl::string_view workflow_id, const HistoryEvent& event) {
  INTEROP_ASSIGN_OR_RETURN(
      auto insert,
      Statement::Prepare(
          db,
          "INSERT INTO workflow_history (workflow_id, seq, at_unix_us, kind, from_state, to_state, "
          "status, attempt, replica, reason) VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM "
          "workflow_history WHERE workflow_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
  insert->Bind(1, workflow_id)
      .Bind(2, Micros(event.at))
      .Bind(3, static_cast<int64_t>(event.kind))
      .Bind(4, event.from_state)
      .Bind(5, event.to_state)
      .Bind(6, static_cast<int64_t>(event.status))
      .Bind(7, static_cast<int64_t>(event.attempt))
      .Bind(8, event.replica)
      .Bind(9, event.reason);
  return insert->Run();
}

absl::Status InsertOutbox(sqlite3* db, absl::string_view workflow_id, int64_t step_seq,
                          absl::string_view state, const std::vector<OutboxMessage>& outbox, absl::Time now) {
  for (const OutboxMessage& message : outbox) {
    INTEROP_ASSIGN_OR_RETURN(
        auto insert, Statement::Prepare(db, absl::StrCat("INSERT INTO workflow_outbox (", kOutboxColumns,
                                                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)")));
    insert->Bind(1, OutboxIdempotencyKey(workflow_id, step_seq, state, message.name))
        .Bind(2, workflow_id)
        .Bind(3, step_seq)
        .Bind(4, state)
        .Bind(5, message.name)
        .Bind(6, message.destination)
        .BindBlob(7, message.payload)
        .Bind(8, Micros(now));
    INTEROP_RETURN_IF_ERROR(insert->Run());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OutboxEntry>> ReadOutboxOf(sqlite3* db, absl::string_view workflow_id,
                                                      std::optional<int64_t> step_seq) {
  std::string sql = absl::StrCat("SELECT ", kOutboxColumns, " FROM workflow_outbox WHERE workflow_id = ?");
  if (step_seq.has_value()) absl::StrAppend(&sql, " AND step_seq = ?");
  absl::StrAppend(&sql, " ORDER BY step_seq, name");
  INTEROP_ASSIGN_OR_RETURN(auto select, Statement::Prepare(db, sql));
  select->Bind(1, workflow_id);
  if (step_seq.has_value()) select->Bind(2, *step_seq);
  std::vector<OutboxEntry> out;
  while (true) {
    INTEROP_ASSIGN_OR_RETURN(bool row, select->Step());
    if (!row) break;
    out.push_back(ReadOutbox(*select));
  }
  return out;
}

absl::StatusOr<std::optional<WorkflowInstance>> ReadInstanceById(sqlite3* db, absl::string_view workflow_id) {
  INTEROP_ASSIGN_OR_RETURN(auto select,
                           Statement::Prepare(db, absl::StrCat("SELECT ", kInstanceColumns,
                                                               " FROM workflows WHERE workflow_id = ?")));
  select->Bind(1, workflow_id);
  INTEROP_ASSIGN_OR_RETURN(bool row, select->Step());
  if (!row) return std::optional<WorkflowInstance>();
  INTEROP_ASSIGN_OR_RETURN(WorkflowInstance instance, ReadInstance(*select));
  return std::optional<WorkflowInstance>(std::move(instance));
}

// Grants the lease of `instance` (read in this transaction) to `owner`, and fills `claimed`.
absl::Status GrantLease(sqlite3* db, WorkflowInstance instance, const std::string& owner, absl::Time now,
                        absl::Duration lease_duration, ClaimedWorkflow* claimed) {
  const absl::Time expires_at = now + lease_duration;
  INTEROP_ASSIGN_OR_RETURN(
      auto update, Statement::Prepare(db,
                                      "UPDATE workflows SET lease_owner = ?, lease_expires_at_unix_us = ?, "
                                      "lease_epoch = lease_epoch + 1 WHERE workflow_id = ?"));
  update->Bind(1, owner).Bind(2, Micros(expires_at)).Bind(3, instance.workflow_id);
  INTEROP_RETURN_IF_ERROR(update->Run());
  if (!instance.lease_owner.empty()) {
    INTEROP_RETURN_IF_ERROR(AppendHistory(db, instance.workflow_id, LeaseTakeoverEvent(instance, owner, now)));
  }
  instance.lease_owner = owner;
  instance.lease_expires_at = expires_at;
  instance.lease_epoch += 1;
  claimed->lease = Lease{instance.workflow_id, owner, instance.lease_epoch, expires_at};
  INTEROP_ASSIGN_OR_RETURN(claimed->outbox, ReadOutboxOf(db, instance.workflow_id, instance.step_seq));
  claimed->instance = std::move(instance);
  return absl::OkStatus();
}

class SqliteWorkflowStore final : public WorkflowStore {
 public:
  explicit SqliteWorkflowStore(std::unique_ptr<store::SqliteDatabase> database)
      : database_(std::move(database)) {}

  absl::Status Create(const NewWorkflow& w, absl::Time now) override {
    INTEROP_RETURN_IF_ERROR(ValidateNewWorkflow(w, now));
    return database_->WithConnection([&](sqlite3* db) {
      return InWriteTransaction(db, [&]() -> absl::Status {
        INTEROP_ASSIGN_OR_RETURN(std::optional<WorkflowInstance> existing,
                                 ReadInstanceById(db, w.workflow_id));
        if (existing.has_value()) {
          return absl::AlreadyExistsError(absl::StrCat("workflow ", w.workflow_id, " already exists"));
        }
        INTEROP_ASSIGN_OR_RETURN(
            auto running,
            Statement::Prepare(db,
                               "SELECT workflow_id, type, state FROM workflows WHERE subject = ? AND "
                               "status IN (1, 2)"));
        running->Bind(1, w.subject);
        INTEROP_ASSIGN_OR_RETURN(bool busy, running->Step());
        if (busy) {
          return absl::AlreadyExistsError(
              absl::StrCat("subject ", w.subject, " already has unfinished workflow ", running->Text(0), " (",
                           running->Text(1), ", state ", running->Text(2), ")"));
        }
        INTEROP_ASSIGN_OR_RETURN(
            auto insert,
            Statement::Prepare(db, absl::StrCat("INSERT INTO workflows (", kInstanceColumns,
                                                ") VALUES (?, ?, ?, ?, 1, ?, '', 0, 0, ?, ?, '', 0, 0, "
                                                "?, ?)")));
        insert->Bind(1, w.workflow_id)
            .Bind(2, w.type)
            .Bind(3, w.subject)
            .Bind(4, w.initial_state)
            .BindBlob(5, w.data)
            .Bind(6, Micros(now))
            .Bind(7, Micros(w.deadline))
            .Bind(8, Micros(now))
            .Bind(9, Micros(now));
        absl::Status inserted = insert->Run();
        if (!inserted.ok()) {
          // The unique index is the guard; the check above only names the running workflow.
          if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE) {
            return absl::AlreadyExistsError(absl::StrCat(
                "subject ", w.subject, " already has an unfinished workflow: ", inserted.message()));
          }
          return inserted;
        }
        INTEROP_RETURN_IF_ERROR(InsertOutbox(db, w.workflow_id, 0, w.initial_state, w.outbox, now));
        HistoryEvent event;
        event.at = now;
        event.kind = HistoryKind::kCreated;
        event.to_state = w.initial_state;
        event.status = WorkflowStatus::kRunning;
        event.reason = "created";
        return AppendHistory(db, w.workflow_id, event);
      });
    });
  }

  absl::StatusOr<std::vector<ClaimedWorkflow>> ClaimDue(const std::string& owner,
                                                        const std::vector<std::string>& types, absl::Time now,
                                                        absl::Duration lease_duration, int limit) override {
    std::vector<ClaimedWorkflow> claimed;
    if (types.empty() || limit <= 0) return claimed;
    if (owner.empty()) return absl::InvalidArgumentError("owner is empty");
    absl::Status status = database_->WithConnection([&](sqlite3* db) {
      return InWriteTransaction(db, [&]() -> absl::Status {
        claimed.clear();
        std::vector<std::string> placeholders;  // ?3, ?4, ...: after ?1 (now) and ?2 (limit)
        for (size_t i = 0; i < types.size(); ++i) placeholders.push_back(absl::StrCat("?", i + 3));
        INTEROP_ASSIGN_OR_RETURN(
            auto select,
            Statement::Prepare(db, absl::StrCat("SELECT ", kInstanceColumns,
                                                " FROM workflows WHERE status IN (1, 2) AND "
                                                "next_attempt_at_unix_us <= ?1 AND (lease_owner = '' OR "
                                                "lease_expires_at_unix_us <= ?1) AND type IN (",
                                                absl::StrJoin(placeholders, ", "),
                                                ") ORDER BY next_attempt_at_unix_us, workflow_id LIMIT ?2")));
        select->Bind(1, Micros(now)).Bind(2, static_cast<int64_t>(limit));
        for (size_t i = 0; i < types.size(); ++i) select->Bind(static_cast<int>(i) + 3, types[i]);
        std::vector<WorkflowInstance> due;
        while (true) {
          INTEROP_ASSIGN_OR_RETURN(bool row, select->Step());
          if (!row) break;
          INTEROP_ASSIGN_OR_RETURN(WorkflowInstance instance, ReadInstance(*select));
          due.push_back(std::move(instance));
        }
        for (WorkflowInstance& instance : due) {
          claimed.emplace_back();
          INTEROP_RETURN_IF_ERROR(
              GrantLease(db, std::move(instance), owner, now, lease_duration, &claimed.back()));
        }
        return absl::OkStatus();
      });
    });
    if (!status.ok()) return status;
    return claimed;
  }

  absl::StatusOr<ClaimedWorkflow> Claim(const std::string& workflow_id, const std::string& owner,
                                        absl::Time now, absl::Duration lease_duration) override {
    if (owner.empty()) return absl::InvalidArgumentError("owner is empty");
    ClaimedWorkflow claimed;
    absl::Status status = database_->WithConnection([&](sqlite3* db) {
      return InWriteTransaction(db, [&]() -> absl::Status {
        INTEROP_ASSIGN_OR_RETURN(std::optional<WorkflowInstance> instance, ReadInstanceById(db, workflow_id));
        if (!instance.has_value())
          return absl::NotFoundError(absl::StrCat("workflow ", workflow_id, " not found"));
        INTEROP_RETURN_IF_ERROR(CheckClaimable(*instance, now));
        return GrantLease(db, *std::move(instance), owner, now, lease_duration, &claimed);
      });
    });
    if (!status.ok()) return status;
    return claimed;
  }

  absl::Status RenewLease(const Lease& lease, absl::Time expires_at) override {
    return UpdateHeldLease(lease, "lease_expires_at_unix_us = ?", Micros(expires_at));
  }

  absl::Status ReleaseLease(const Lease& lease) override {
    return UpdateHeldLease(lease, "lease_owner = '', lease_expires_at_unix_us = ?", 0);
  }

  absl::StatusOr<int> ReleaseLeasesOf(const std::string& owner, absl::Time now) override {
    if (owner.empty()) return absl::InvalidArgumentError("owner is empty");
    int released = 0;
    absl::Status status = database_->WithConnection([&](sqlite3* db) {
      return InWriteTransaction(db, [&]() -> absl::Status {
        released = 0;
        INTEROP_ASSIGN_OR_RETURN(
            auto select,
            Statement::Prepare(db, absl::StrCat("SELECT ", kInstanceColumns,
                                                " FROM workflows WHERE lease_owner = ? AND status IN "
                                                "(1, 2) ORDER BY workflow_id")));
        select->Bind(1, owner);
        std::vector<WorkflowInstance> held;
        while (true) {
          INTEROP_ASSIGN_OR_RETURN(bool row, select->Step());
          if (!row) break;
          INTEROP_ASSIGN_OR_RETURN(WorkflowInstance instance, ReadInstance(*select));
          held.push_back(std::move(instance));
        }
        for (const WorkflowInstance& instance : held) {
          INTEROP_ASSIGN_OR_RETURN(auto update,
                                   Statement::Prepare(db,
                                                      "UPDATE workflows SET lease_owner = '', "
                                                      "lease_expires_at_unix_us = 0, lease_epoch = "
                                                      "lease_epoch + 1 WHERE workflow_id = ?"));
          update->Bind(1, instance.workflow_id);
          INTEROP_RETURN_IF_ERROR(update->Run());
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
          INTEROP_RETURN_IF_ERROR(AppendHistory(db, instance.workflow_id, event));
          ++released;
        }
        return absl::OkStatus();
      });
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
    return database_->WithConnection([&](sqlite3* db) {
      return InWriteTransaction(db, [&]() -> absl::Status {
        INTEROP_ASSIGN_OR_RETURN(std::optional<WorkflowInstance> found,
                                 ReadInstanceById(db, lease.workflow_id));
        if (!found.has_value()) {
          return absl::NotFoundError(absl::StrCat("workflow ", lease.workflow_id, " not found"));
        }
        const WorkflowInstance& current = *found;
        if (IsFinal(current.status)) {
          return absl::FailedPreconditionError(absl::StrCat("workflow ", lease.workflow_id, " has finished (",
                                                            WorkflowStatusName(current.status), ")"));
        }
        if (current.lease_owner != lease.owner || current.lease_epoch != lease.epoch) {
          return absl::AbortedError(absl::StrCat(
              "lease lost: workflow ", lease.workflow_id, " is leased to \"", current.lease_owner,
              "\" epoch ", current.lease_epoch, ", not \"", lease.owner, "\" epoch ", lease.epoch));
        }
        const int64_t step_seq = change.advance ? current.step_seq + 1 : current.step_seq;
        const absl::Time next_attempt_at = IsFinal(change.status) ? now : change.next_attempt_at;
        INTEROP_ASSIGN_OR_RETURN(
            auto update,
            Statement::Prepare(
                db,
                "UPDATE workflows SET state = ?, status = ?, data = ?, reason = ?, attempts = ?, "
                "step_seq = ?, next_attempt_at_unix_us = ?, lease_owner = '', "
                "lease_expires_at_unix_us = 0, updated_at_unix_us = ? WHERE workflow_id = ?"));
        update->Bind(1, change.state)
            .Bind(2, static_cast<int64_t>(change.status))
            .BindBlob(3, change.data.has_value() ? *change.data : current.data)
            .Bind(4, change.reason)
            .Bind(5, static_cast<int64_t>(change.attempts))
            .Bind(6, step_seq)
            .Bind(7, Micros(next_attempt_at))
            .Bind(8, Micros(now))
            .Bind(9, lease.workflow_id);
        INTEROP_RETURN_IF_ERROR(update->Run());
        if (change.advance) {
          INTEROP_ASSIGN_OR_RETURN(auto done,
                                   Statement::Prepare(db,
                                                      "UPDATE workflow_outbox SET done_at_unix_us = ? "
                                                      "WHERE workflow_id = ? AND step_seq = ? AND "
                                                      "done_at_unix_us = 0"));
          done->Bind(1, Micros(now)).Bind(2, lease.workflow_id).Bind(3, current.step_seq);
          INTEROP_RETURN_IF_ERROR(done->Run());
          INTEROP_RETURN_IF_ERROR(
              InsertOutbox(db, lease.workflow_id, step_seq, change.state, change.outbox, now));
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
        return AppendHistory(db, lease.workflow_id, event);
      });
    });
  }

  absl::StatusOr<WorkflowRecord> Get(const std::string& workflow_id) override {
    WorkflowRecord record;
    absl::Status status = database_->WithConnection([&](sqlite3* db) -> absl::Status {
      INTEROP_ASSIGN_OR_RETURN(std::optional<WorkflowInstance> instance, ReadInstanceById(db, workflow_id));
      if (!instance.has_value())
        return absl::NotFoundError(absl::StrCat("workflow ", workflow_id, " not found"));
      record.instance = *std::move(instance);
      INTEROP_ASSIGN_OR_RETURN(
          auto select,
          Statement::Prepare(db,
                             "SELECT seq, at_unix_us, kind, from_state, to_state, status, attempt, "
                             "replica, reason FROM workflow_history WHERE workflow_id = ? ORDER BY seq"));
      select->Bind(1, workflow_id);
      while (true) {
        INTEROP_ASSIGN_OR_RETURN(bool row, select->Step());
        if (!row) break;
        HistoryEvent event;
        event.seq = select->Int(0);
        event.at = FromMicros(select->Int(1));
        const int64_t kind = select->Int(2);
        if (kind < 1 || kind > 7)
          return absl::DataLossError(absl::StrCat("stored history kind ", kind, " is unknown"));
        event.kind = static_cast<HistoryKind>(kind);
        event.from_state = select->Text(3);
        event.to_state = select->Text(4);
        INTEROP_ASSIGN_OR_RETURN(event.status, StatusFromInt(select->Int(5)));
        event.attempt = static_cast<int>(select->Int(6));
        event.replica = select->Text(7);
        event.reason = select->Text(8);
        record.history.push_back(std::move(event));
      }
      INTEROP_ASSIGN_OR_RETURN(record.outbox, ReadOutboxOf(db, workflow_id, std::nullopt));
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return record;
  }

  absl::StatusOr<WorkflowPage> List(const WorkflowQuery& query) override {
    INTEROP_ASSIGN_OR_RETURN(ListPosition position, ParseListPosition(query));
    const int page_size = position.page_size;
    const std::optional<std::pair<int64_t, std::string>>& after = position.after;
    std::vector<std::string> where;
    if (query.type.has_value()) where.push_back("type = :type");
    if (query.subject.has_value()) where.push_back("subject = :subject");
    if (query.status.has_value()) where.push_back("status = :status");
    if (after.has_value()) {
      where.push_back(
          "(created_at_unix_us > :after_us OR (created_at_unix_us = :after_us AND workflow_id > :after_id))");
    }
    std::string sql = absl::StrCat("SELECT ", kInstanceColumns, " FROM workflows");
    if (!where.empty()) absl::StrAppend(&sql, " WHERE ", absl::StrJoin(where, " AND "));
    absl::StrAppend(&sql, " ORDER BY created_at_unix_us, workflow_id LIMIT :limit");
    WorkflowPage page;
    absl::Status status = database_->WithConnection([&](sqlite3* db) -> absl::Status {
      INTEROP_ASSIGN_OR_RETURN(auto select, Statement::Prepare(db, sql));
      if (query.type.has_value()) select->Bind(select->Parameter(":type"), *query.type);
      if (query.subject.has_value()) select->Bind(select->Parameter(":subject"), *query.subject);
      if (query.status.has_value()) {
        select->Bind(select->Parameter(":status"), static_cast<int64_t>(*query.status));
      }
      if (after.has_value()) {
        select->Bind(select->Parameter(":after_us"), after->first);
        select->Bind(select->Parameter(":after_id"), after->second);
      }
      select->Bind(select->Parameter(":limit"), static_cast<int64_t>(page_size + 1));
      while (true) {
        INTEROP_ASSIGN_OR_RETURN(bool row, select->Step());
        if (!row) break;
        INTEROP_ASSIGN_OR_RETURN(WorkflowInstance instance, ReadInstance(*select));
        page.instances.push_back(std::move(instance));
      }
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
    std::vector<std::string> placeholders(types.size(), "?");
    absl::Status status = database_->WithConnection([&](sqlite3* db) -> absl::Status {
      INTEROP_ASSIGN_OR_RETURN(
          auto select,
          Statement::Prepare(
              db, absl::StrCat("SELECT MIN(next_attempt_at_unix_us) FROM workflows WHERE status IN "
                               "(1, 2) AND type IN (",
                               absl::StrJoin(placeholders, ", "), ")")));
      for (size_t i = 0; i < types.size(); ++i) select->Bind(static_cast<int>(i) + 1, types[i]);
      INTEROP_ASSIGN_OR_RETURN(bool row, select->Step());
      // An aggregate returns one row, NULL when nothing is unfinished.
      if (row && !select->IsNull(0)) next = FromMicros(select->Int(0));
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return next;
  }

 private:
  // Updates a lease that must still be held (owner and epoch, unfinished); ABORTED otherwise.
  absl::Status UpdateHeldLease(const Lease& lease, const char* set_clause, int64_t value) {
    return database_->WithConnection([&](sqlite3* db) {
      return InWriteTransaction(db, [&]() -> absl::Status {
        INTEROP_ASSIGN_OR_RETURN(
            auto update,
            Statement::Prepare(
                db, absl::StrCat("UPDATE workflows SET ", set_clause,
                                 " WHERE workflow_id = ? AND lease_owner = ? AND lease_epoch = ? AND "
                                 "status IN (1, 2)")));
        update->Bind(1, value).Bind(2, lease.workflow_id).Bind(3, lease.owner).Bind(4, lease.epoch);
        INTEROP_RETURN_IF_ERROR(update->Run());
        if (sqlite3_changes(db) == 0) {
          return absl::AbortedError(absl::StrCat("lease lost: workflow ", lease.workflow_id,
                                                 " is no longer leased to \"", lease.owner, "\" epoch ",
                                                 lease.epoch));
        }
        return absl::OkStatus();
      });
    });
  }

  std::unique_ptr<store::SqliteDatabase> database_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<WorkflowStore>> OpenSqliteWorkflowStore(const std::string& path) {
  INTEROP_ASSIGN_OR_RETURN(std::unique_ptr<store::SqliteDatabase> database,
                           store::SqliteDatabase::Open(path, store::GatewaySchemaMigrations()));
  INTEROP_RETURN_IF_ERROR(database->WithConnection(
      [](sqlite3* db) { return store::SqliteDatabase::Exec(db, "PRAGMA synchronous=FULL"); }));
  return std::unique_ptr<WorkflowStore>(new SqliteWorkflowStore(std::move(database)));
}

}  // namespace interop::workflow
