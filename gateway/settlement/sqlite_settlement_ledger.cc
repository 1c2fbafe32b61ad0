// The SQLite-backed settlement ledger (OpenSqliteSettlementLedger). Contract in ledger.h; tables in
// gateway/store/schema.cc (migration 4).
//
// Threads and connections:
//   - RecordSettlement()/RecordReversal() validate their arguments and only queue (a
//     GroupCommitQueue, gateway/base/group_commit_queue.h, runs the two threads below).
//   - One writer thread owns the writer connection (synchronous=FULL, WAL). It takes everything
//     queued (up to kMaxBatch) and writes it in one BEGIN IMMEDIATE ... COMMIT: each write in its
//     own SAVEPOINT, its preconditions (unknown id and key; settled and not yet reversed) checked
//     inside the transaction, so that a refused or failed write is rolled back alone (ROLLBACK TO)
//     and the others commit. Writes earlier in the batch are visible to the checks of later ones, so
//     two writes of one id in one batch behave as if they came in two batches. If the transaction as
//     a whole fails, it is rolled back and every write that touched the database fails with its
//     error (see ledger.h).
//   - The committed (or failed) batch goes to the completion thread, which runs the callbacks in
//     commit order holding no lock, while the writer already commits the next batch.
//   - Find()/Clearing()/ListByInsuredCity() use a second, query-only connection: in WAL mode they
//     read the last committed state and never wait for the writer's sync.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "gateway/base/cities.h"
#include "gateway/base/group_commit_queue.h"
#include "gateway/settlement/ledger.h"
#include "gateway/store/schema.h"
#include "gateway/store/sqlite_database.h"
#include "interop/medical/v1/settlement.pb.h"

namespace interop::settlement {
namespace {

using ::interop::medical::v1::ClearingMatrix;
using ::interop::medical::v1::Settlement;

// The most writes in one transaction. Large enough that a burst of callers shares one sync; small
// enough that one transaction does not hold the write lock for long.
constexpr size_t kMaxBatch = 512;

constexpr char kEntryColumns[] = "settlement_id, caller_organization, idempotency_key, request_digest, settlement";
// An intent's row: the entry's columns, then its owner.
constexpr char kIntentColumns[] =
    "settlement_id, caller_organization, idempotency_key, request_digest, settlement, owner";

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  std::string message = absl::StrCat("sqlite: ", what, ": ", db ? sqlite3_errmsg(db) : "out of memory");
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return absl::UnavailableError(message);
  return absl::InternalError(message);
}

// Owns one prepared statement.
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept {
    std::swap(stmt_, other.stmt_);
    return *this;
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement and clears its bindings when the scope ends, so it can be reused.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

absl::Status Prepare(sqlite3* db, const std::string& sql, Statement* out) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db, rc, absl::StrCat("preparing \"", sql, "\""));
  }
  *out = Statement(stmt);
  return absl::OkStatus();
}

// Runs a statement that returns no rows to completion, then resets it (and clears its bindings).
absl::Status StepToDone(sqlite3* db, sqlite3_stmt* stmt, absl::string_view what) {
  ResetOnExit reset(stmt);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return absl::OkStatus();
  return SqliteError(db, rc, what);
}

void BindText(sqlite3_stmt* stmt, int index, const std::string& value) {
  sqlite3_bind_text(stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
}

void BindBlob(sqlite3_stmt* stmt, int index, const std::string& value) {
  sqlite3_bind_blob(stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
}

std::string ColumnBytes(sqlite3_stmt* stmt, int column) {
  const void* data = sqlite3_column_blob(stmt, column);
  const int size = sqlite3_column_bytes(stmt, column);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}





// Reads a row of kEntryColumns, or of kIntentColumns. DATA_LOSS naming the settlement if its
// Settlement does not parse.
absl::StatusOr<LedgerEntry> ReadEntryRow(sqlite3_stmt* stmt) {
  LedgerEntry entry;
  const std::string settlement_id = ColumnBytes(stmt, 0);
  entry.caller_organization = ColumnBytes(stmt, 1);
  entry.idempotency_key = ColumnBytes(stmt, 2);
  entry.request_digest = ColumnBytes(stmt, 3);
  if (sqlite3_column_count(stmt) > 5) entry.intent_owner = ColumnBytes(stmt, 5);
  if (!entry.settlement.ParseFromString(ColumnBytes(stmt, 4))) {
    return absl::DataLossError(
        absl::StrCat("settlement ", settlement_id, ": the stored Settlement does not parse"));
  }
  return entry;
}

class SqliteSettlementLedger final : public SettlementLedger {
 public:
  SqliteSettlementLedger(std::unique_ptr<store::SqliteDatabase> writer_db,
                         std::unique_ptr<store::SqliteDatabase> reader_db)
      : writer_db_(std::move(writer_db)), reader_db_(std::move(reader_db)) {}

  ~SqliteSettlementLedger() override { writes_.Stop(); }

  // Prepares the statements of both connections and starts the threads.
  absl::Status Start() {
    absl::Status status = writer_db_->WithConnection([this](sqlite3* db) -> absl::Status {
      absl::Status pragma = store::SqliteDatabase::Exec(db, "PRAGMA synchronous=FULL");
      if (!pragma.ok()) return pragma;
      const std::pair<Statement*, std::string> statements[] = {
          {&begin_, "BEGIN IMMEDIATE"},
          {&commit_, "COMMIT"},
          {&rollback_, "ROLLBACK"},
          {&savepoint_, "SAVEPOINT ledger_write"},
          {&release_, "RELEASE ledger_write"},
          {&rollback_to_, "ROLLBACK TO ledger_write"},
          {&find_id_, "SELECT state, treatment_city, insured_city, amount_fen FROM settlements "
                      "WHERE settlement_id = ?1"},
          {&find_key_, "SELECT settlement_id FROM settlements WHERE caller_organization = ?1 AND "
                       "idempotency_key = ?2"},
          {&insert_settlement_,
           "INSERT INTO settlements (settlement_id, caller_organization, idempotency_key, request_digest, "
           "resident_id, treatment_city, insured_city, settled_day, state, amount_fen, settlement, "
           "settled_at_unix, reversed_at_unix) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0)"},
          {&update_reversed_,
           "UPDATE settlements SET state = ?2, settlement = ?3, reversed_at_unix = ?4 WHERE settlement_id = ?1"},
          {&upsert_intent_,
           "INSERT OR REPLACE INTO settlement_intents (settlement_id, caller_organization, idempotency_key, "
           "request_digest, settlement, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
          {&delete_intent_, "DELETE FROM settlement_intents WHERE settlement_id = ?1"},
          {&insert_event_,
           "INSERT INTO settlement_events (settlement_id, kind, day, treatment_city, insured_city, amount_fen) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      };
      for (const auto& [statement, sql] : statements) {
        absl::Status prepared = Prepare(db, sql, statement);
        if (!prepared.ok()) return prepared;
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    status = reader_db_->WithConnection([this](sqlite3* db) -> absl::Status {
      absl::Status pragma = store::SqliteDatabase::Exec(db, "PRAGMA query_only=ON");
      if (!pragma.ok()) return pragma;
      const std::pair<Statement*, std::string> statements[] = {
          {&read_entry_, absl::StrCat("SELECT ", kEntryColumns, " FROM settlements WHERE settlement_id = ?1")},
          {&read_intent_,
           absl::StrCat("SELECT ", kIntentColumns, " FROM settlement_intents WHERE settlement_id = ?1")},
          {&list_intents_, absl::StrCat("SELECT ", kIntentColumns, " FROM settlement_intents ORDER BY settlement_id")},
          {&list_insured_, absl::StrCat("SELECT ", kEntryColumns,
                                        " FROM settlements WHERE insured_city = ?1 AND settled_day BETWEEN ?2 "
                                        "AND ?3 ORDER BY settlement_id")},
          {&clearing_,
           "SELECT treatment_city, insured_city, SUM(kind), SUM(kind * amount_fen) FROM settlement_events "
           "WHERE day BETWEEN ?1 AND ?2 AND treatment_city <> insured_city "
           "GROUP BY treatment_city, insured_city"},
      };
      for (const auto& [statement, sql] : statements) {
        absl::Status prepared = Prepare(db, sql, statement);
        if (!prepared.ok()) return prepared;
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    writes_.Start();
    return absl::OkStatus();
  }

  void RecordSettlement(LedgerEntry entry, std::function<void(absl::Status)> done) override {
    Enqueue(SettlementWrite(std::move(entry), std::move(done)));
  }

  void RecordReversal(const std::string& settlement_id, Settlement reversed,
                      std::function<void(absl::Status)> done) override {
    Enqueue(ReversalWrite(settlement_id, std::move(reversed), std::move(done)));
  }

  void RecordIntent(LedgerEntry entry, std::function<void(absl::Status)> done) override {
    Enqueue(IntentWrite(std::move(entry), std::move(done)));
  }

  void AbandonIntent(const std::string& settlement_id, std::function<void(absl::Status)> done) override {
    Enqueue(AbandonIntentWrite(settlement_id, std::move(done)));
  }

  absl::StatusOr<std::optional<LedgerEntry>> FindIntent(const std::string& settlement_id) override {
    return FindIn(read_intent_, settlement_id);
  }

  absl::StatusOr<std::vector<LedgerEntry>> ListIntents() override {
    std::vector<LedgerEntry> entries;
    absl::Status status = reader_db_->WithConnection([&](sqlite3* db) -> absl::Status {
      sqlite3_stmt* stmt = list_intents_.get();
      ResetOnExit reset(stmt);
      int rc;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        absl::StatusOr<LedgerEntry> entry = ReadEntryRow(stmt);
        if (!entry.ok()) return entry.status();
        entries.push_back(std::move(*entry));
      }
      if (rc != SQLITE_DONE) return SqliteError(db, rc, "listing settlement intents");
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return entries;
  }

  absl::StatusOr<std::optional<LedgerEntry>> Find(const std::string& settlement_id) override {
    return FindIn(read_entry_, settlement_id);
  }

  absl::StatusOr<std::optional<LedgerEntry>> FindIn(const Statement& statement, const std::string& settlement_id) {
    std::optional<LedgerEntry> found;
    absl::Status status = reader_db_->WithConnection([&](sqlite3* db) -> absl::Status {
      sqlite3_stmt* stmt = statement.get();
      ResetOnExit reset(stmt);
      BindText(stmt, 1, settlement_id);
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return absl::OkStatus();
      if (rc != SQLITE_ROW) return SqliteError(db, rc, absl::StrCat("reading settlement ", settlement_id));
      absl::StatusOr<LedgerEntry> entry = ReadEntryRow(stmt);
      if (!entry.ok()) return entry.status();
      found = std::move(*entry);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return found;
  }

  absl::StatusOr<ClearingMatrix> Clearing(absl::CivilDay from, absl::CivilDay to) override {
    absl::Status period = ValidatePeriod(from, to);
    if (!period.ok()) return period;
    CityPairTotals totals;
    absl::Status status = reader_db_->WithConnection([&](sqlite3* db) -> absl::Status {
      sqlite3_stmt* stmt = clearing_.get();
      ResetOnExit reset(stmt);
      sqlite3_bind_int64(stmt, 1, DayKey(from));
      sqlite3_bind_int64(stmt, 2, DayKey(to));
      int rc;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const int treatment = CityIndex(sqlite3_column_int64(stmt, 0));
        const int insured = CityIndex(sqlite3_column_int64(stmt, 1));
        if (treatment < 0 || insured < 0) {
          return absl::DataLossError(absl::StrCat("settlement_events holds a city that is not one of the five (",
                                                  sqlite3_column_int64(stmt, 0), ", ",
                                                  sqlite3_column_int64(stmt, 1), ")"));
        }
        totals.settlements[treatment][insured] = sqlite3_column_int64(stmt, 2);
        totals.amount_fen[treatment][insured] = sqlite3_column_int64(stmt, 3);
      }
      if (rc != SQLITE_DONE) return SqliteError(db, rc, "summing settlement events");
      return absl::OkStatus();
    });
    if (!status.ok()) return status;

    return BuildClearingMatrix(from, to, totals);
  }

  absl::StatusOr<std::vector<LedgerEntry>> ListByInsuredCity(City insured_city, absl::CivilDay from,
                                                             absl::CivilDay to) override {
    if (!IsOneOfTheCities(insured_city)) {
      return absl::InvalidArgumentError("insured_city is not one of the five cities");
    }
    absl::Status period = ValidatePeriod(from, to);
    if (!period.ok()) return period;
    std::vector<LedgerEntry> entries;
    absl::Status status = reader_db_->WithConnection([&](sqlite3* db) -> absl::Status {
      sqlite3_stmt* stmt = list_insured_.get();
      ResetOnExit reset(stmt);
      sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(insured_city));
      sqlite3_bind_int64(stmt, 2, DayKey(from));
      sqlite3_bind_int64(stmt, 3, DayKey(to));
      int rc;
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        absl::StatusOr<LedgerEntry> entry = ReadEntryRow(stmt);
        if (!entry.ok()) return entry.status();
        entries.push_back(std::move(*entry));
      }
      if (rc != SQLITE_DONE) return SqliteError(db, rc, "listing settlements by insured city");
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return entries;
  }

  SettlementLedgerStats Stats() override {
    SettlementLedgerStats stats;
    stats.batches_started = batches_started_.load(std::memory_order_relaxed);
    stats.commits = commits_.load(std::memory_order_relaxed);
    stats.failed_commits = failed_commits_.load(std::memory_order_relaxed);
    stats.writes_committed = writes_committed_.load(std::memory_order_relaxed);
    stats.largest_batch = largest_batch_.load(std::memory_order_relaxed);
    stats.queued = writes_.queued();
    return stats;
  }

 private:
  using WriteKind = LedgerWriteKind;
  using PendingWrite = PendingLedgerWrite;

  void Enqueue(PendingWrite write) {
    if (writes_.Enqueue(write)) return;
    // Only reachable by writing while the ledger is being destroyed, which callers must not do; the
    // one case where `done` runs inside the call.
    if (write.done) write.done(absl::FailedPreconditionError("the settlement ledger is closed"));
  }

  // Writes `batch` in one transaction and sets each write's status (see the top of this file).
  void CommitBatch(std::vector<PendingWrite>& batch) {
    batches_started_.fetch_add(1, std::memory_order_relaxed);
    uint64_t largest = largest_batch_.load(std::memory_order_relaxed);
    while (batch.size() > largest &&
           !largest_batch_.compare_exchange_weak(largest, batch.size(), std::memory_order_relaxed)) {
    }
    uint64_t written = 0;
    absl::Status batch_status = writer_db_->WithConnection([&](sqlite3* db) -> absl::Status {
      absl::Status status = StepToDone(db, begin_.get(), "beginning a ledger transaction");
      if (!status.ok()) return status;
      for (PendingWrite& write : batch) {
        if (!write.status.ok()) continue;  // invalid: never touches the database
        write.attempted = true;
        status = StepToDone(db, savepoint_.get(), "opening a savepoint");
        if (!status.ok()) return Abandon(db, status);
        absl::Status applied = Apply(db, write);
        if (applied.ok()) {
          status = StepToDone(db, release_.get(), "releasing a savepoint");
          if (!status.ok()) return Abandon(db, status);
          ++written;
          continue;
        }
        // SQLite rolls back the whole transaction on some errors (disk full, I/O, out of memory):
        // then the earlier writes are gone too.
        if (sqlite3_get_autocommit(db)) return applied;
        status = StepToDone(db, rollback_to_.get(), "rolling back to a savepoint");
        if (status.ok()) status = StepToDone(db, release_.get(), "releasing a savepoint");
        if (!status.ok()) return Abandon(db, status);
        write.status = std::move(applied);
      }
      status = StepToDone(db, commit_.get(), "committing the ledger transaction");
      // A failed COMMIT (e.g. a deferred constraint, a busy database) may leave the transaction open.
      if (!status.ok()) return Abandon(db, status);
      return absl::OkStatus();
    });
    if (batch_status.ok()) {
      commits_.fetch_add(1, std::memory_order_relaxed);
      writes_committed_.fetch_add(written, std::memory_order_relaxed);
      return;
    }
    failed_commits_.fetch_add(1, std::memory_order_relaxed);
    for (PendingWrite& write : batch) {
      // A write judged against the rolled-back transaction (refused or not) failed with the batch;
      // an invalid one keeps its INVALID_ARGUMENT. Writes never reached also fail with the batch.
      if (write.attempted || write.status.ok()) write.status = batch_status;
    }
  }

  // Rolls the open transaction back (if SQLite has not already) and returns `status`.
  absl::Status Abandon(sqlite3* db, absl::Status status) {
    if (!sqlite3_get_autocommit(db)) {
      StepToDone(db, rollback_.get(), "rolling back the ledger transaction").IgnoreError();
    }
    return status;
  }

  absl::Status Apply(sqlite3* db, PendingWrite& write) {
    switch (write.kind) {
      case WriteKind::kSettlement:
        return ApplySettlement(db, write);
      case WriteKind::kReversal:
        return ApplyReversal(db, write);
      case WriteKind::kIntent:
        return ApplyIntent(db, write);
      case WriteKind::kAbandonIntent:
        return DeleteIntent(db, write.settlement_id);
    }
    return absl::InternalError("unknown ledger write");
  }

  absl::Status ApplyIntent(sqlite3* db, PendingWrite& write) {
    const LedgerEntry& entry = write.entry;
    std::string serialized;
    if (!entry.settlement.SerializeToString(&serialized)) {
      return absl::InternalError(absl::StrCat("settlement ", write.settlement_id, " does not serialize"));
    }
    sqlite3_stmt* stmt = upsert_intent_.get();
    BindText(stmt, 1, write.settlement_id);
    BindText(stmt, 2, entry.caller_organization);
    BindText(stmt, 3, entry.idempotency_key);
    BindBlob(stmt, 4, entry.request_digest);
    BindBlob(stmt, 5, serialized);
    BindText(stmt, 6, entry.intent_owner);
    return StepToDone(db, stmt, absl::StrCat("recording the intent of settlement ", write.settlement_id));
  }

  absl::Status DeleteIntent(sqlite3* db, const std::string& settlement_id) {
    sqlite3_stmt* stmt = delete_intent_.get();
    BindText(stmt, 1, settlement_id);
    return StepToDone(db, stmt, absl::StrCat("removing the intent of settlement ", settlement_id));
  }

  absl::Status ApplySettlement(sqlite3* db, PendingWrite& write) {
    const LedgerEntry& entry = write.entry;
    const Settlement& s = entry.settlement;
    {
      sqlite3_stmt* stmt = find_id_.get();
      ResetOnExit reset(stmt);
      BindText(stmt, 1, write.settlement_id);
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        return absl::AlreadyExistsError(absl::StrCat("settlement ", write.settlement_id, " is already recorded"));
      }
      if (rc != SQLITE_DONE) return SqliteError(db, rc, "looking up a settlement id");
    }
    {
      sqlite3_stmt* stmt = find_key_.get();
      ResetOnExit reset(stmt);
      BindText(stmt, 1, entry.caller_organization);
      BindText(stmt, 2, entry.idempotency_key);
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        return absl::AlreadyExistsError(absl::StrCat("idempotency key \"", entry.idempotency_key,
                                                     "\" of organization \"", entry.caller_organization,
                                                     "\" is already recorded for settlement ",
                                                     ColumnBytes(stmt, 0)));
      }
      if (rc != SQLITE_DONE) return SqliteError(db, rc, "looking up an idempotency key");
    }
    std::string serialized;
    if (!s.SerializeToString(&serialized)) {
      return absl::InternalError(absl::StrCat("settlement ", write.settlement_id, " does not serialize"));
    }
    const int64_t day = DayKey(ChinaDayOf(s.settled_at_unix()));
    const int64_t amount = ClaimFen(s);
    {
      sqlite3_stmt* stmt = insert_settlement_.get();
      BindText(stmt, 1, write.settlement_id);
      BindText(stmt, 2, entry.caller_organization);
      BindText(stmt, 3, entry.idempotency_key);
      BindBlob(stmt, 4, entry.request_digest);
      BindText(stmt, 5, s.resident_id());
      sqlite3_bind_int64(stmt, 6, s.treatment_city().city());
      sqlite3_bind_int64(stmt, 7, s.insured_city().city());
      sqlite3_bind_int64(stmt, 8, day);
      sqlite3_bind_int64(stmt, 9, s.state());
      sqlite3_bind_int64(stmt, 10, amount);
      BindBlob(stmt, 11, serialized);
      sqlite3_bind_int64(stmt, 12, s.settled_at_unix());
      absl::Status status =
          StepToDone(db, stmt, absl::StrCat("inserting settlement ", write.settlement_id));
      if (!status.ok()) return status;
    }
    absl::Status removed = DeleteIntent(db, write.settlement_id);
    if (!removed.ok()) return removed;
    return InsertEvent(db, write.settlement_id, +1, day, s.treatment_city().city(), s.insured_city().city(),
                       amount);
  }

  absl::Status ApplyReversal(sqlite3* db, PendingWrite& write) {
    const Settlement& reversed = write.entry.settlement;
    int64_t treatment_city = 0;
    int64_t insured_city = 0;
    int64_t amount = 0;
    {
      sqlite3_stmt* stmt = find_id_.get();
      ResetOnExit reset(stmt);
      BindText(stmt, 1, write.settlement_id);
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) {
        return absl::NotFoundError(absl::StrCat("settlement ", write.settlement_id, " is not in the ledger"));
      }
      if (rc != SQLITE_ROW) return SqliteError(db, rc, "looking up a settlement id");
      const int64_t state = sqlite3_column_int64(stmt, 0);
      if (state == medical::v1::SETTLEMENT_STATE_REVERSED) {
        return absl::FailedPreconditionError(
            absl::StrCat("settlement ", write.settlement_id, " is already reversed"));
      }
      if (state != medical::v1::SETTLEMENT_STATE_SETTLED) {
        return absl::FailedPreconditionError(
            absl::StrCat("settlement ", write.settlement_id, " is in state ", state, ", not settled"));
      }
      treatment_city = sqlite3_column_int64(stmt, 1);
      insured_city = sqlite3_column_int64(stmt, 2);
      amount = sqlite3_column_int64(stmt, 3);
    }
    std::string serialized;
    if (!reversed.SerializeToString(&serialized)) {
      return absl::InternalError(absl::StrCat("settlement ", write.settlement_id, " does not serialize"));
    }
    {
      sqlite3_stmt* stmt = update_reversed_.get();
      BindText(stmt, 1, write.settlement_id);
      sqlite3_bind_int64(stmt, 2, medical::v1::SETTLEMENT_STATE_REVERSED);
      BindBlob(stmt, 3, serialized);
      sqlite3_bind_int64(stmt, 4, reversed.reversed_at_unix());
      absl::Status status = StepToDone(db, stmt, absl::StrCat("reversing settlement ", write.settlement_id));
      if (!status.ok()) return status;
    }
    return InsertEvent(db, write.settlement_id, -1, DayKey(ChinaDayOf(reversed.reversed_at_unix())),
                       treatment_city, insured_city, amount);
  }

  absl::Status InsertEvent(sqlite3* db, const std::string& settlement_id, int kind, int64_t day,
                           int64_t treatment_city, int64_t insured_city, int64_t amount) {
    sqlite3_stmt* stmt = insert_event_.get();
    BindText(stmt, 1, settlement_id);
    sqlite3_bind_int(stmt, 2, kind);
    sqlite3_bind_int64(stmt, 3, day);
    sqlite3_bind_int64(stmt, 4, treatment_city);
    sqlite3_bind_int64(stmt, 5, insured_city);
    sqlite3_bind_int64(stmt, 6, amount);
    return StepToDone(db, stmt, absl::StrCat("recording an event of settlement ", settlement_id));
  }

  // Declared before the statements, so that the statements are finalized before the connections close.
  const std::unique_ptr<store::SqliteDatabase> writer_db_;
  const std::unique_ptr<store::SqliteDatabase> reader_db_;

  // Writer connection statements: used only by the writer thread (and Start()).
  Statement begin_, commit_, rollback_, savepoint_, release_, rollback_to_;
  Statement find_id_, find_key_, insert_settlement_, update_reversed_, insert_event_, upsert_intent_, delete_intent_;

  // Reader connection statements: used only inside reader_db_->WithConnection (its mutex guards them).
  Statement read_entry_, list_insured_, clearing_, read_intent_, list_intents_;


  std::atomic<uint64_t> batches_started_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> failed_commits_{0};
  std::atomic<uint64_t> writes_committed_{0};
  std::atomic<uint64_t> largest_batch_{0};

  // Declared last: stopped (its final commit and deliveries done) before anything it uses goes.
  GroupCommitQueue<PendingWrite> writes_{
      {kMaxBatch, "ledger-write", "ledger-done"},
      [this](std::vector<PendingWrite>& batch) { CommitBatch(batch); }, RunDoneCallbacks<PendingWrite>};
};

}  // namespace

absl::StatusOr<std::unique_ptr<SettlementLedger>> OpenSqliteSettlementLedger(const std::string& path) {
  if (path.empty() || path == ":memory:") {
    return absl::InvalidArgumentError(
        "the settlement ledger needs a database file (\"\" and \":memory:\" are not supported)");
  }
  absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> writer_db =
      store::SqliteDatabase::Open(path, store::GatewaySchemaMigrations());
  if (!writer_db.ok()) return writer_db.status();
  absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> reader_db =
      store::SqliteDatabase::Open(path, store::GatewaySchemaMigrations());
  if (!reader_db.ok()) return reader_db.status();
  auto ledger = std::make_unique<SqliteSettlementLedger>(std::move(*writer_db), std::move(*reader_db));
  absl::Status started = ledger->Start();
  if (!started.ok()) return started;
  return ledger;
}

}  // namespace interop::settlement
