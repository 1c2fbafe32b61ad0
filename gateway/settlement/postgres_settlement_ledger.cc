// The PostgreSQL-backed settlement ledger (OpenPostgresSettlementLedger). Contract in ledger.h;
// tables in kLedgerMigrations below (component "settlement_ledger").
//
// Threads and connections, as in the SQLite ledger:
//   - RecordSettlement()/RecordReversal()/RecordIntent()/AbandonIntent() validate their arguments
//     and only queue (a GroupCommitQueue, gateway/base/group_commit_queue.h, runs the threads).
//   - One writer thread takes everything queued (up to kMaxBatch) and writes it in one transaction
//     (READ COMMITTED) on a connection of the pool; the completion thread runs the callbacks in
//     commit order, holding no lock, while the writer commits the next batch.
//   - Reads take any connection of the pool; each is one statement, hence one snapshot.
//
// What holds across replicas comes from the database, not from this process:
//   - settlements: primary key on settlement_id and UNIQUE (caller_organization, idempotency_key).
//     A settlement is inserted with ON CONFLICT DO NOTHING, together with its +1 event and the
//     removal of its intent in the same statement; inserting nothing means ALREADY_EXISTS.
//   - a reversal is one UPDATE ... WHERE state = SETTLED (PostgreSQL re-checks the condition on the
//     latest row version after waiting for a concurrent writer), together with its -1 event;
//     updating nothing means NOT_FOUND or FAILED_PRECONDITION, told apart by a read.
//   - settlement_events is append-only (a trigger refuses UPDATE, DELETE and TRUNCATE) and has at
//     most one +1 and one -1 event per settlement (a unique index), so no clearing counts twice.
//   - Deadlocks between batches of two replicas: a batch first takes a transaction-scoped advisory
//     lock for every settlement id and every (organisation, key) it writes, in ascending order of
//     their 64-bit hash, so batches that touch the same rows wait for each other instead of
//     crossing. The locks only order the waits; correctness rests on the constraints above.
//
// Failure semantics (ledger.h): each write is one atomic statement, so a refused write changes
// nothing and the batch goes on. A write whose statement fails leaves the transaction aborted:
// the batch is rolled back and run again without it, and it alone fails with its error (this
// replaces the SQLite version's savepoint per write, which in PostgreSQL would cost two round trips
// and a subtransaction per write). ABORTED (serialization failure, deadlock) runs the batch again
// (PostgresDatabase::InTransaction); any other failure of the transaction fails every write in it.
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
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "gateway/base/cities.h"
#include "gateway/base/group_commit_queue.h"
#include "gateway/settlement/ledger.h"
#include "gateway/store/postgres/postgres_database.h"
#include "interop/medical/v1/settlement.pb.h"

namespace interop::settlement {
namespace {

using ::interop::medical::v1::ClearingMatrix;
using ::interop::medical::v1::Settlement;
using ::interop::store::pg::Connection;
using ::interop::store::pg::Param;
using ::interop::store::pg::PostgresDatabase;
using ::interop::store::pg::Result;

// The ledger's migrations (append-only: never edit a script once released; add one). Columns as in
// the SQLite store (gateway/store/schema.cc, migration 4): cities are interop.common.v1.City
// numbers, days the China Standard Time day as the integer yyyymmdd, state the SettlementState
// number, settlement the serialized Settlement as answered, amount_fen the claim on the insured
// city (fund pay + personal-account pay), times unix seconds (reversed_at_unix 0 until reversed),
// request_digest the SHA-256 of the request.
const std::vector<std::string>& LedgerMigrations() {
  static const auto* migrations = new std::vector<std::string>{
      // 1: settlements, their append-only events, and intents.
      "CREATE TABLE settlements ("
      "  settlement_id TEXT PRIMARY KEY,"
      "  caller_organization TEXT NOT NULL,"
      "  idempotency_key TEXT NOT NULL,"
      "  request_digest BYTEA NOT NULL,"
      "  resident_id TEXT NOT NULL,"
      "  treatment_city INTEGER NOT NULL,"
      "  insured_city INTEGER NOT NULL,"
      "  settled_day INTEGER NOT NULL,"
      "  state INTEGER NOT NULL,"
      "  amount_fen BIGINT NOT NULL,"
      "  settlement BYTEA NOT NULL,"
      "  settled_at_unix BIGINT NOT NULL,"
      "  reversed_at_unix BIGINT NOT NULL DEFAULT 0,"
      "  UNIQUE (caller_organization, idempotency_key));"
      "CREATE INDEX settlements_by_insured_city ON settlements (insured_city, settled_day);"
      "CREATE TABLE settlement_events ("
      "  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
      "  settlement_id TEXT NOT NULL,"
      "  kind SMALLINT NOT NULL CHECK (kind IN (1, -1)),"
      "  day INTEGER NOT NULL,"
      "  treatment_city INTEGER NOT NULL,"
      "  insured_city INTEGER NOT NULL,"
      "  amount_fen BIGINT NOT NULL);"
      "CREATE INDEX settlement_events_by_day ON settlement_events (day);"
      // One settled and one reversed event per settlement at most: counted once, whatever happens.
      "CREATE UNIQUE INDEX settlement_events_once_per_kind ON settlement_events (settlement_id, kind);"
      "CREATE FUNCTION settlement_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$"
      "  BEGIN RAISE EXCEPTION 'settlement_events is append-only (% refused)', TG_OP; END $$;"
      "CREATE TRIGGER settlement_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON settlement_events"
      "  FOR EACH STATEMENT EXECUTE FUNCTION settlement_events_refuse_change();"
      "CREATE TABLE settlement_intents ("
      "  settlement_id TEXT PRIMARY KEY,"
      "  caller_organization TEXT NOT NULL,"
      "  idempotency_key TEXT NOT NULL,"
      "  request_digest BYTEA NOT NULL,"
      "  settlement BYTEA NOT NULL)",
      // 2: an intent names the replica that wrote it (LedgerEntry::intent_owner); '' for the intents
      // written before.
      "ALTER TABLE settlement_intents ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
  };
  return *migrations;
}

// The most writes in one transaction, as in the SQLite ledger.
constexpr size_t kMaxBatch = 512;
// Runs of a batch that meets a serialization failure or a deadlock.
constexpr int kTransactionAttempts = 5;

constexpr char kEntryColumns[] = "settlement_id, caller_organization, idempotency_key, request_digest, settlement";
// An intent's row: the entry's columns, then its owner.
constexpr char kIntentColumns[] =
    "settlement_id, caller_organization, idempotency_key, request_digest, settlement, owner";

// Inserts the settlement unless its id or (organisation, key) is recorded; if inserted, removes its
// intent and appends its +1 event. Answers the number of settlements inserted (0 or 1).
constexpr char kInsertSettlementSql[] =
    "WITH inserted AS ("
    "  INSERT INTO settlements (settlement_id, caller_organization, idempotency_key, request_digest,"
    "    resident_id, treatment_city, insured_city, settled_day, state, amount_fen, settlement,"
    "    settled_at_unix, reversed_at_unix)"
    "  VALUES ($1, $2, $3, $4, $5, $6::integer, $7::integer, $8::integer, $9::integer, $10::bigint, $11,"
    "    $12::bigint, 0)"
    "  ON CONFLICT DO NOTHING RETURNING settlement_id, treatment_city, insured_city, settled_day, amount_fen),"
    " removed AS (DELETE FROM settlement_intents WHERE settlement_id IN (SELECT settlement_id FROM inserted)),"
    " event AS (INSERT INTO settlement_events (settlement_id, kind, day, treatment_city, insured_city, amount_fen)"
    "  SELECT settlement_id, 1, settled_day, treatment_city, insured_city, amount_fen FROM inserted)"
    " SELECT count(*) FROM inserted";

// Reverses the settlement if it is SETTLED (re-checked on the latest row version) and appends its
// -1 event with the stored cities and amount. Answers the number reversed (0 or 1).
constexpr char kReverseSettlementSql[] =
    "WITH updated AS ("
    "  UPDATE settlements SET state = $2::integer, settlement = $3, reversed_at_unix = $4::bigint"
    "  WHERE settlement_id = $1 AND state = $5::integer"
    "  RETURNING settlement_id, treatment_city, insured_city, amount_fen),"
    " event AS (INSERT INTO settlement_events (settlement_id, kind, day, treatment_city, insured_city, amount_fen)"
    "  SELECT settlement_id, -1, $6::integer, treatment_city, insured_city, amount_fen FROM updated)"
    " SELECT count(*) FROM updated";

constexpr char kUpsertIntentSql[] =
    "INSERT INTO settlement_intents (settlement_id, caller_organization, idempotency_key, request_digest, "
    "settlement, owner) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (settlement_id) DO UPDATE SET "
    "caller_organization = EXCLUDED.caller_organization, idempotency_key = EXCLUDED.idempotency_key, "
    "request_digest = EXCLUDED.request_digest, settlement = EXCLUDED.settlement, owner = EXCLUDED.owner";





// Reads row `row` of kEntryColumns, or of kIntentColumns. DATA_LOSS naming the settlement if its
// Settlement does not parse.
absl::StatusOr<LedgerEntry> ReadEntryRow(const Result& rows, int row) {
  LedgerEntry entry;
  const std::string settlement_id = rows.Text(row, 0);
  entry.caller_organization = rows.Text(row, 1);
  entry.idempotency_key = rows.Text(row, 2);
  entry.request_digest = rows.Bytes(row, 3);
  if (rows.columns() > 5) entry.intent_owner = rows.Text(row, 5);
  if (!entry.settlement.ParseFromString(rows.Bytes(row, 4))) {
    return absl::DataLossError(
        absl::StrCat("settlement ", settlement_id, ": the stored Settlement does not parse"));
  }
  return entry;
}

absl::StatusOr<std::vector<LedgerEntry>> ReadEntryRows(const Result& rows) {
  std::vector<LedgerEntry> entries;
  entries.reserve(static_cast<size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) {
    absl::StatusOr<LedgerEntry> entry = ReadEntryRow(rows, row);
    if (!entry.ok()) return entry.status();
    entries.push_back(std::move(*entry));
  }
  return entries;
}

// The advisory lock key of a row a write touches: FNV-1a (64 bits) of a tag and the row's key. The
// same on every replica and build (unlike absl::Hash, which is seeded per process).
int64_t AdvisoryLockKey(absl::string_view tag, absl::string_view first, absl::string_view second = {}) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  auto mix = [&hash](absl::string_view bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 0x100000001b3ULL;
    }
  };
  mix(tag);
  mix(absl::string_view("\0", 1));
  mix(first);
  mix(absl::string_view("\0", 1));
  mix(second);
  return static_cast<int64_t>(hash);
}

class PostgresSettlementLedger final : public SettlementLedger {
 public:
  explicit PostgresSettlementLedger(PostgresDatabase& database) : database_(database) {}

  ~PostgresSettlementLedger() override { writes_.Stop(); }

  void Start() {
    writes_.Start();
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
    return FindIn("settlement_intents", kIntentColumns, settlement_id);
  }

  absl::StatusOr<std::vector<LedgerEntry>> ListIntents() override {
    return ListWhere(absl::StrCat("SELECT ", kIntentColumns, " FROM settlement_intents ORDER BY settlement_id"), {},
                     "listing settlement intents");
  }

  absl::StatusOr<std::optional<LedgerEntry>> Find(const std::string& settlement_id) override {
    return FindIn("settlements", kEntryColumns, settlement_id);
  }

  absl::StatusOr<ClearingMatrix> Clearing(absl::CivilDay from, absl::CivilDay to) override {
    absl::Status period = ValidatePeriod(from, to);
    if (!period.ok()) return period;
    CityPairTotals totals;
    absl::Status status = database_.WithConnection([&](Connection& connection) -> absl::Status {
      absl::StatusOr<Result> rows = connection.Exec(
          "SELECT treatment_city, insured_city, SUM(kind), SUM(kind * amount_fen) FROM settlement_events "
          "WHERE day BETWEEN $1::integer AND $2::integer AND treatment_city <> insured_city "
          "GROUP BY treatment_city, insured_city",
          {Param::Int(DayKey(from)), Param::Int(DayKey(to))});
      if (!rows.ok()) return rows.status();
      for (int row = 0; row < rows->rows(); ++row) {
        const int treatment = CityIndex(rows->Int(row, 0));
        const int insured = CityIndex(rows->Int(row, 1));
        if (treatment < 0 || insured < 0) {
          return absl::DataLossError(absl::StrCat("settlement_events holds a city that is not one of the five (",
                                                  rows->Text(row, 0), ", ", rows->Text(row, 1), ")"));
        }
        totals.settlements[treatment][insured] = rows->Int(row, 2);
        totals.amount_fen[treatment][insured] = rows->Int(row, 3);
      }
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
    return ListWhere(absl::StrCat("SELECT ", kEntryColumns,
                                  " FROM settlements WHERE insured_city = $1::integer AND settled_day BETWEEN "
                                  "$2::integer AND $3::integer ORDER BY settlement_id"),
                     {Param::Int(static_cast<int64_t>(insured_city)), Param::Int(DayKey(from)), Param::Int(DayKey(to))},
                     "listing settlements by insured city");
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

  absl::StatusOr<std::optional<LedgerEntry>> FindIn(absl::string_view table, absl::string_view columns,
                                                     const std::string& settlement_id) {
    absl::StatusOr<std::vector<LedgerEntry>> found =
        ListWhere(absl::StrCat("SELECT ", columns, " FROM ", table, " WHERE settlement_id = $1"),
                  {Param::Text(settlement_id)}, absl::StrCat("reading settlement ", settlement_id));
    if (!found.ok()) return found.status();
    if (found->empty()) return std::optional<LedgerEntry>();
    return std::optional<LedgerEntry>(std::move(found->front()));
  }

  absl::StatusOr<std::vector<LedgerEntry>> ListWhere(const std::string& sql, const std::vector<Param>& params,
                                                     absl::string_view what) {
    std::vector<LedgerEntry> entries;
    absl::Status status = database_.WithConnection([&](Connection& connection) -> absl::Status {
      absl::StatusOr<Result> rows = connection.Exec(sql, params);
      if (!rows.ok()) return absl::Status(rows.status().code(), absl::StrCat(what, ": ", rows.status().message()));
      absl::StatusOr<std::vector<LedgerEntry>> read = ReadEntryRows(*rows);
      if (!read.ok()) return read.status();
      entries = std::move(*read);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return entries;
  }

  void Enqueue(PendingWrite write) {
    if (writes_.Enqueue(write)) return;
    // Only reachable by writing while the ledger is being destroyed, which callers must not do; the
    // one case where `done` runs inside the call.
    if (write.done) write.done(absl::FailedPreconditionError("the settlement ledger is closed"));
  }

  // The sorted, distinct advisory lock keys of the writes of `batch` that will run.
  static std::string LockKeysArray(const std::vector<PendingWrite>& batch) {
    std::vector<int64_t> keys;
    for (const PendingWrite& write : batch) {
      if (!write.attempted || write.failed_alone) continue;
      keys.push_back(AdvisoryLockKey("settlement", write.settlement_id));
      if (write.kind == WriteKind::kSettlement) {
        keys.push_back(AdvisoryLockKey("key", write.entry.caller_organization, write.entry.idempotency_key));
      }
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return absl::StrCat("{", absl::StrJoin(keys, ","), "}");
  }

  // Writes `batch` in one transaction and sets each write's status (see the top of this file).
  void CommitBatch(std::vector<PendingWrite>& batch) {
    batches_started_.fetch_add(1, std::memory_order_relaxed);
    uint64_t largest = largest_batch_.load(std::memory_order_relaxed);
    while (batch.size() > largest &&
           !largest_batch_.compare_exchange_weak(largest, batch.size(), std::memory_order_relaxed)) {
    }
    for (PendingWrite& write : batch) write.attempted = write.status.ok();

    // Each round either commits, fails as a whole, or finds one more write that fails alone.
    while (true) {
      std::vector<absl::Status> refusals(batch.size());
      std::optional<size_t> failed_write;
      absl::Status failed_write_status;
      uint64_t written = 0;
      const std::string lock_keys = LockKeysArray(batch);
      absl::Status batch_status = database_.InTransaction(
          [&](Connection& connection) -> absl::Status {
            // A fresh start for every run of the transaction.
            std::fill(refusals.begin(), refusals.end(), absl::OkStatus());
            written = 0;
            failed_write.reset();
            if (lock_keys != "{}") {
              absl::StatusOr<Result> locked = connection.Exec(
                  "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k", {Param::Text(lock_keys)});
              if (!locked.ok()) return locked.status();
            }
            for (size_t i = 0; i < batch.size(); ++i) {
              PendingWrite& write = batch[i];
              if (!write.attempted || write.failed_alone) continue;
              absl::Status applied = Apply(connection, write, &refusals[i]);
              if (!applied.ok()) {
                // The transaction is aborted now. Serialization failures, deadlocks and a lost
                // connection belong to the batch; anything else to this write.
                if (applied.code() != absl::StatusCode::kAborted &&
                    applied.code() != absl::StatusCode::kUnavailable) {
                  failed_write = i;
                  failed_write_status = applied;
                }
                return applied;
              }
              if (refusals[i].ok()) ++written;
            }
            return absl::OkStatus();
          },
          store::pg::Isolation::kReadCommitted, kTransactionAttempts);

      if (batch_status.ok()) {
        for (size_t i = 0; i < batch.size(); ++i) {
          if (batch[i].attempted && !batch[i].failed_alone) batch[i].status = refusals[i];
        }
        commits_.fetch_add(1, std::memory_order_relaxed);
        writes_committed_.fetch_add(written, std::memory_order_relaxed);
        return;
      }
      if (failed_write.has_value()) {
        PendingWrite& write = batch[*failed_write];
        write.failed_alone = true;
        write.status = std::move(failed_write_status);
        continue;  // the rest of the batch, without it
      }
      failed_commits_.fetch_add(1, std::memory_order_relaxed);
      for (PendingWrite& write : batch) {
        // Refused or not, a write judged in the rolled-back transaction failed with it; an invalid
        // one keeps its INVALID_ARGUMENT, and one that failed alone its own error.
        if (write.attempted && !write.failed_alone) write.status = batch_status;
      }
      return;
    }
  }

  // Runs one write. A refusal (nothing written) goes to *refusal and OK is returned; an error of a
  // statement (which aborts the transaction) is returned.
  absl::Status Apply(Connection& connection, const PendingWrite& write, absl::Status* refusal) {
    switch (write.kind) {
      case WriteKind::kSettlement:
        return ApplySettlement(connection, write, refusal);
      case WriteKind::kReversal:
        return ApplyReversal(connection, write, refusal);
      case WriteKind::kIntent:
        return ApplyIntent(connection, write);
      case WriteKind::kAbandonIntent:
        return Annotated(connection
                             .Exec("DELETE FROM settlement_intents WHERE settlement_id = $1",
                                   {Param::Text(write.settlement_id)})
                             .status(),
                         absl::StrCat("removing the intent of settlement ", write.settlement_id));
    }
    return absl::InternalError("unknown ledger write");
  }

  static absl::Status Annotated(const absl::Status& status, absl::string_view what) {
    if (status.ok()) return status;
    return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
  }

  absl::Status ApplyIntent(Connection& connection, const PendingWrite& write) {
    std::string serialized;
    if (!write.entry.settlement.SerializeToString(&serialized)) {
      return absl::InternalError(absl::StrCat("settlement ", write.settlement_id, " does not serialize"));
    }
    return Annotated(connection
                         .Exec(kUpsertIntentSql,
                               {Param::Text(write.settlement_id), Param::Text(write.entry.caller_organization),
                                Param::Text(write.entry.idempotency_key), Param::Bytes(write.entry.request_digest),
                                Param::Bytes(std::move(serialized)), Param::Text(write.entry.intent_owner)})
                         .status(),
                     absl::StrCat("recording the intent of settlement ", write.settlement_id));
  }

  absl::Status ApplySettlement(Connection& connection, const PendingWrite& write, absl::Status* refusal) {
    const LedgerEntry& entry = write.entry;
    const Settlement& s = entry.settlement;
    std::string serialized;
    if (!s.SerializeToString(&serialized)) {
      return absl::InternalError(absl::StrCat("settlement ", write.settlement_id, " does not serialize"));
    }
    absl::StatusOr<Result> inserted = connection.Exec(
        kInsertSettlementSql,
        {Param::Text(write.settlement_id), Param::Text(entry.caller_organization), Param::Text(entry.idempotency_key),
         Param::Bytes(entry.request_digest), Param::Text(s.resident_id()), Param::Int(s.treatment_city().city()),
         Param::Int(s.insured_city().city()), Param::Int(DayKey(ChinaDayOf(s.settled_at_unix()))),
         Param::Int(s.state()), Param::Int(ClaimFen(s)), Param::Bytes(std::move(serialized)),
         Param::Int(s.settled_at_unix())});
    if (!inserted.ok()) {
      return Annotated(inserted.status(), absl::StrCat("inserting settlement ", write.settlement_id));
    }
    if (inserted->Int(0, 0) == 1) return absl::OkStatus();

    // Nothing inserted: the id or the (organisation, key) pair is recorded (and committed, or
    // written earlier in this batch: either way visible to this new statement).
    absl::StatusOr<Result> holder = connection.Exec(
        "SELECT settlement_id, settlement_id = $1 FROM settlements WHERE settlement_id = $1 OR "
        "(caller_organization = $2 AND idempotency_key = $3) ORDER BY 2 DESC LIMIT 1",
        {Param::Text(write.settlement_id), Param::Text(entry.caller_organization), Param::Text(entry.idempotency_key)});
    if (!holder.ok()) return Annotated(holder.status(), "looking up a recorded settlement");
    if (holder->rows() == 0 || holder->Text(0, 1) == "t") {
      *refusal = absl::AlreadyExistsError(absl::StrCat("settlement ", write.settlement_id, " is already recorded"));
    } else {
      *refusal = absl::AlreadyExistsError(absl::StrCat("idempotency key \"", entry.idempotency_key,
                                                       "\" of organization \"", entry.caller_organization,
                                                       "\" is already recorded for settlement ", holder->Text(0, 0)));
    }
    return absl::OkStatus();
  }

  absl::Status ApplyReversal(Connection& connection, const PendingWrite& write, absl::Status* refusal) {
    const Settlement& reversed = write.entry.settlement;
    std::string serialized;
    if (!reversed.SerializeToString(&serialized)) {
      return absl::InternalError(absl::StrCat("settlement ", write.settlement_id, " does not serialize"));
    }
    absl::StatusOr<Result> updated = connection.Exec(
        kReverseSettlementSql,
        {Param::Text(write.settlement_id), Param::Int(medical::v1::SETTLEMENT_STATE_REVERSED),
         Param::Bytes(std::move(serialized)), Param::Int(reversed.reversed_at_unix()),
         Param::Int(medical::v1::SETTLEMENT_STATE_SETTLED),
         Param::Int(DayKey(ChinaDayOf(reversed.reversed_at_unix())))});
    if (!updated.ok()) return Annotated(updated.status(), absl::StrCat("reversing settlement ", write.settlement_id));
    if (updated->Int(0, 0) == 1) return absl::OkStatus();

    absl::StatusOr<Result> state = connection.Exec("SELECT state FROM settlements WHERE settlement_id = $1",
                                                   {Param::Text(write.settlement_id)});
    if (!state.ok()) return Annotated(state.status(), "looking up a settlement id");
    if (state->rows() == 0) {
      *refusal = absl::NotFoundError(absl::StrCat("settlement ", write.settlement_id, " is not in the ledger"));
    } else if (state->Int(0, 0) == medical::v1::SETTLEMENT_STATE_REVERSED) {
      *refusal = absl::FailedPreconditionError(absl::StrCat("settlement ", write.settlement_id, " is already reversed"));
    } else {
      *refusal = absl::FailedPreconditionError(
          absl::StrCat("settlement ", write.settlement_id, " is in state ", state->Text(0, 0), ", not settled"));
    }
    return absl::OkStatus();
  }

  PostgresDatabase& database_;


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

absl::StatusOr<std::unique_ptr<SettlementLedger>> OpenPostgresSettlementLedger(PostgresDatabase& database) {
  absl::Status migrated = database.Migrate("settlement_ledger", LedgerMigrations());
  if (!migrated.ok()) return migrated;
  auto ledger = std::make_unique<PostgresSettlementLedger>(database);
  ledger->Start();
  return ledger;
}

}  // namespace interop::settlement
