// The SQLite-backed access log (OpenSqliteAccessLog) and the verifier of a log file
// (VerifyAccessLogFile). The chain and checkpoint encodings are in access_log.cc.
//
// Storage (GatewaySchemaMigrations() in gateway/store/schema.cc): one row of access_records per
// record, its sequence the INTEGER PRIMARY KEY; strings as TEXT holding the exact bytes; time as unix
// microseconds; cities_consulted as a JSON array of strings (EncodeCities in stored_chain.h); hashes
// as 32-byte BLOBs. One row of access_checkpoints per signed checkpoint. access_records itself has
// no index but its primary key.
//
// The person index is derived data in a database file of its own (options.person_index_path,
// PersonIndexSchemaMigrations()), attached as `idx` to the reader's and the indexer's connections:
// idx.person_index holds (person, sequence) for every record up to idx.index_state.indexed_through
// (one row), written only by the indexer thread. index_state.record_hash, the hash of the record at
// indexed_through, binds the file to this log: at start, an index whose bound record is missing or
// different (a log restored from a backup, truncated or replaced beside it) is emptied and rebuilt.
// A file of its own, because SQLite has one write lock per file: in the log's file, every indexer
// transaction stopped the group commits (and the ledger's and the workflows') for its duration,
// and its pages were fsynced by their commits.
//
// Threads and connections:
//   - Append() only queues, in the CommitLoop (commit_loop.h), whose writer thread owns the writer
//     connection (synchronous=FULL, WAL) and the chain head: CommitBatch() hashes each batch and
//     writes it with reused prepared statements in one BEGIN IMMEDIATE ... COMMIT. Its completion
//     thread calls the `done` callbacks while the writer already commits the next batch.
//   - ListByPerson()/ReadRange() use a second, query-only connection, so they never wait for an fsync.
//     ListByPerson() reads, in one read transaction: indexed_through (first, so the index's snapshot
//     is never newer than the log's); the records above it about the person (a scan of that short
//     tail of access_records by sequence); and, if the page is not full yet, the person's entries up
//     to indexed_through from idx.person_index, joined to their records. Tail sequences are all above
//     indexed sequences, so the two parts simply concatenate.
//   - The person indexer thread owns a fourth connection. Every person_index_interval (and once more
//     when the log is destroyed, after the writer's last commit) it reads the records above
//     indexed_through in sequence order, up to kIndexChunkRecords at a time; sorts (person, sequence)
//     so that neighbouring inserts share index pages; and inserts them (INSERT OR IGNORE: redoing a
//     chunk is harmless) in transactions of kIndexEntriesPerTransaction, split by person range, the
//     last of which also advances indexed_through. Its transactions write only the index file, so
//     they never wait for, nor delay, the writer. Entries above indexed_through (from the earlier
//     transactions of an unfinished chunk) are never read: ListByPerson() takes only entries up to
//     indexed_through from the index, and finds the rest in the tail. A crash means the next run
//     (after the restart) starts again at the last committed indexed_through.
//   - Verify() opens a fresh read-only connection per call and reads one snapshot.
//   - WAL checkpoints (copying committed pages from the WAL into the database file, and its fsync;
//     not to be confused with the log's signed checkpoints) run on a third connection in their own
//     thread, so that they do not lengthen the writer's commits. The writer's WAL hook wakes that
//     thread every kWalCheckpointFrames frames, and checkpoints inline only if the WAL has grown to
//     kWalInlineCheckpointFrames (the background thread cannot keep up).
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/accesslog/commit_loop.h"
#include "gateway/accesslog/signing.h"
#include "gateway/accesslog/stored_chain.h"
#include "gateway/base/log.h"
#include "gateway/base/thread_name.h"
#include "gateway/store/schema.h"
#include "gateway/store/sqlite_database.h"

namespace interop::accesslog {
namespace {

constexpr char kRecordColumns[] =
    "sequence, time_unix_us, request_id, caller_organization, caller_city, caller_role, method, person, "
    "purpose, result_code, result_reason, cities_consulted, previous_hash, record_hash";
constexpr int64_t kMaxSequence = std::numeric_limits<int64_t>::max();

// SQLite's own default autocheckpoint threshold (about 4 MiB of 4 KiB pages).
constexpr int kWalCheckpointFrames = 1000;
constexpr int kWalInlineCheckpointFrames = 50000;
// After a WAL reset, the WAL file is truncated to this size.
constexpr char kJournalSizeLimitPragma[] = "PRAGMA journal_size_limit=67108864";
// The person indexer reads at most this many records per run of IndexNextChunk() ...
constexpr int kIndexChunkRecords = 50000;
// ... and writes their sorted entries in transactions of at most this many, so that the writer,
// which cannot commit while an indexer transaction holds the database's write lock, waits for at
// most about 10 ms at a time rather than for the whole chunk. (Measured with 64 appenders, window 4:
// the append p99 fell from about 50 to about 30 ms, throughput unchanged or slightly higher.)
constexpr size_t kIndexEntriesPerTransaction = 4000;
// The indexer's page cache (64 MiB): the sorted inserts of one chunk touch up to a few thousand index
// pages, which should stay in the cache until the commit writes each of them to the WAL once
// (otherwise SQLite spills dirty pages to the WAL early, and may write a page several times).
// With the index file's own durability (see StartIndexer) and WAL size limit (as the log's), on the
// indexer's connection where the index file is attached as `idx`.
constexpr char kIndexFilePragmas[] =
    "PRAGMA idx.cache_size=-65536; PRAGMA idx.synchronous=NORMAL; PRAGMA idx.journal_size_limit=67108864";

// kRecordColumns, each qualified with `prefix` (e.g. "r.") for a join.
std::string PrefixedRecordColumns(absl::string_view prefix) {
  std::string out;
  for (absl::string_view column : absl::StrSplit(kRecordColumns, ", ")) {
    if (!out.empty()) out += ", ";
    absl::StrAppend(&out, prefix, column);
  }
  return out;
}

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat("sqlite: ", what, ": ", db ? sqlite3_errmsg(db) : "out of memory"));
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

// Resets a statement (and its bindings) when the scope ends, so it can be reused.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_;
};

absl::StatusOr<Statement> Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db, absl::StrCat("preparing \"", sql, "\""));
  }
  return Statement(stmt);
}

// --- rows ---

void BindBytes(sqlite3_stmt* stmt, int index, const std::string& value) {
  sqlite3_bind_text(stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
}

void BindBlob(sqlite3_stmt* stmt, int index, const std::string& value) {
  sqlite3_bind_blob(stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
}

std::string ColumnBytes(sqlite3_stmt* stmt, int column) {
  const void* data = sqlite3_column_blob(stmt, column);
  int size = sqlite3_column_bytes(stmt, column);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

// Binds `record` (with its cities already encoded) to the INSERT of kRecordColumns.
void BindRecord(sqlite3_stmt* stmt, const AccessRecord& record, const std::string& cities_json) {
  sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(record.sequence));
  sqlite3_bind_int64(stmt, 2, absl::ToUnixMicros(record.time));
  BindBytes(stmt, 3, record.request_id);
  BindBytes(stmt, 4, record.caller_organization);
  BindBytes(stmt, 5, record.caller_city);
  BindBytes(stmt, 6, record.caller_role);
  BindBytes(stmt, 7, record.method);
  BindBytes(stmt, 8, record.person);
  BindBytes(stmt, 9, record.purpose);
  sqlite3_bind_int64(stmt, 10, record.result_code);
  BindBytes(stmt, 11, record.result_reason);
  BindBytes(stmt, 12, cities_json);
  BindBlob(stmt, 13, record.previous_hash);
  BindBlob(stmt, 14, record.record_hash);
}

// Reads a row of kRecordColumns. DATA_LOSS naming the record if cities_consulted cannot be decoded.
absl::StatusOr<AccessRecord> ReadRecordRow(sqlite3_stmt* stmt) {
  AccessRecord record;
  record.sequence = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
  record.time = absl::FromUnixMicros(sqlite3_column_int64(stmt, 1));
  record.request_id = ColumnBytes(stmt, 2);
  record.caller_organization = ColumnBytes(stmt, 3);
  record.caller_city = ColumnBytes(stmt, 4);
  record.caller_role = ColumnBytes(stmt, 5);
  record.method = ColumnBytes(stmt, 6);
  record.person = ColumnBytes(stmt, 7);
  record.purpose = ColumnBytes(stmt, 8);
  // Stored as 64 bits; a value outside int's range can only come from tampering, and changes the hash.
  record.result_code = static_cast<int>(sqlite3_column_int64(stmt, 9));
  record.result_reason = ColumnBytes(stmt, 10);
  if (!DecodeCities(ColumnBytes(stmt, 11), &record.cities_consulted)) {
    return absl::DataLossError(
        absl::StrCat("record ", record.sequence, ": cities_consulted is not a JSON array of strings"));
  }
  record.previous_hash = ColumnBytes(stmt, 12);
  record.record_hash = ColumnBytes(stmt, 13);
  return record;
}

// Runs a statement that returns no rows (or whose rows are ignored) to completion.
absl::Status StepToDone(sqlite3* db, sqlite3_stmt* stmt, absl::string_view what) {
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  absl::Status status = rc == SQLITE_DONE ? absl::OkStatus() : SqliteError(db, what);
  sqlite3_reset(stmt);
  return status;
}

// The newest record (sequence, hash) and the newest checkpoint (sequence, hash, signed_at).
struct StoredHead {
  uint64_t record_sequence = 0;
  std::string record_hash;
  uint64_t checkpoint_sequence = 0;
  std::string checkpoint_hash;
  absl::Time checkpoint_signed_at = absl::InfinitePast();
};

absl::StatusOr<StoredHead> ReadStoredHead(sqlite3* db) {
  StoredHead head;
  {
    absl::StatusOr<Statement> stmt =
        Prepare(db, "SELECT sequence, record_hash FROM access_records ORDER BY sequence DESC LIMIT 1");
    if (!stmt.ok()) return stmt.status();
    int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_ROW) {
      head.record_sequence = static_cast<uint64_t>(sqlite3_column_int64(stmt->get(), 0));
      head.record_hash = ColumnBytes(stmt->get(), 1);
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db, "reading the newest access record");
    }
  }
  {
    absl::StatusOr<Statement> stmt = Prepare(db,
                                             "SELECT sequence, record_hash, signed_at_unix_us FROM "
                                             "access_checkpoints ORDER BY sequence DESC LIMIT 1");
    if (!stmt.ok()) return stmt.status();
    int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_ROW) {
      head.checkpoint_sequence = static_cast<uint64_t>(sqlite3_column_int64(stmt->get(), 0));
      head.checkpoint_hash = ColumnBytes(stmt->get(), 1);
      head.checkpoint_signed_at = absl::FromUnixMicros(sqlite3_column_int64(stmt->get(), 2));
    } else if (rc != SQLITE_DONE) {
      return SqliteError(db, "reading the newest access log checkpoint");
    }
  }
  return head;
}

// --- verification ---

absl::StatusOr<uint64_t> QueryMaxSequence(sqlite3* db, const char* table) {
  absl::StatusOr<Statement> stmt = Prepare(db, absl::StrCat("SELECT MAX(sequence) FROM ", table));
  if (!stmt.ok()) return stmt.status();
  if (sqlite3_step(stmt->get()) != SQLITE_ROW) return SqliteError(db, absl::StrCat("reading ", table));
  int64_t value = sqlite3_column_int64(stmt->get(), 0);  // NULL (empty table) reads as 0
  return value > 0 ? static_cast<uint64_t>(value) : 0;
}

// Verifies records first..last (see AccessLog::Verify) inside one read transaction on `db`.
absl::StatusOr<VerificationResult> VerifyChain(sqlite3* db, const CheckpointVerifier& verifier,
                                               uint64_t first, uint64_t last) {
  if (first == 0) first = 1;
  if (last != 0 && first > last) {
    return absl::InvalidArgumentError(absl::StrCat("first (", first, ") is after last (", last, ")"));
  }
  // Clamp to what SQLite's signed 64-bit keys can hold.
  first = std::min<uint64_t>(first, kMaxSequence);
  last = std::min<uint64_t>(last, kMaxSequence);

  if (sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db, "starting a read transaction");
  }
  struct EndTransaction {
    sqlite3* db;
    ~EndTransaction() { sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr); }
  } end_transaction{db};

  if (last == 0) {
    absl::StatusOr<uint64_t> newest_record = QueryMaxSequence(db, "access_records");
    if (!newest_record.ok()) return newest_record.status();
    absl::StatusOr<uint64_t> newest_checkpoint = QueryMaxSequence(db, "access_checkpoints");
    if (!newest_checkpoint.ok()) return newest_checkpoint.status();
    last = std::max(*newest_record, *newest_checkpoint);
  }

  if (last < first) {  // an empty log, or a range past its end
    VerificationResult result;
    result.ok = true;
    return result;
  }

  std::string expected_previous(32, '\0');
  if (first > 1) {
    absl::StatusOr<Statement> stmt = Prepare(db, "SELECT record_hash FROM access_records WHERE sequence = ?");
    if (!stmt.ok()) return stmt.status();
    sqlite3_bind_int64(stmt->get(), 1, static_cast<int64_t>(first - 1));
    int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) return ChainCheck::MissingBefore(first);
    if (rc != SQLITE_ROW) return SqliteError(db, "reading the access record before the range");
    expected_previous = ColumnBytes(stmt->get(), 0);
  }

  std::vector<Checkpoint> checkpoints;
  {
    absl::StatusOr<Statement> stmt =
        Prepare(db,
                "SELECT sequence, record_hash, signed_at_unix_us, signature FROM access_checkpoints "
                "WHERE sequence BETWEEN ? AND ? ORDER BY sequence");
    if (!stmt.ok()) return stmt.status();
    sqlite3_bind_int64(stmt->get(), 1, static_cast<int64_t>(first));
    sqlite3_bind_int64(stmt->get(), 2, static_cast<int64_t>(last));
    int rc;
    while ((rc = sqlite3_step(stmt->get())) == SQLITE_ROW) {
      Checkpoint checkpoint;
      checkpoint.sequence = static_cast<uint64_t>(sqlite3_column_int64(stmt->get(), 0));
      checkpoint.record_hash = ColumnBytes(stmt->get(), 1);
      checkpoint.signed_at = absl::FromUnixMicros(sqlite3_column_int64(stmt->get(), 2));
      checkpoint.signature = ColumnBytes(stmt->get(), 3);
      checkpoints.push_back(std::move(checkpoint));
    }
    if (rc != SQLITE_DONE) return SqliteError(db, "reading access log checkpoints");
  }

  absl::StatusOr<Statement> records =
      Prepare(db, absl::StrCat("SELECT ", kRecordColumns,
                               " FROM access_records WHERE sequence BETWEEN ? AND ? ", "ORDER BY sequence"));
  if (!records.ok()) return records.status();
  sqlite3_bind_int64(records->get(), 1, static_cast<int64_t>(first));
  sqlite3_bind_int64(records->get(), 2, static_cast<int64_t>(last));

  ChainCheck check(verifier, first, last, std::move(expected_previous), std::move(checkpoints));
  int rc;
  while ((rc = sqlite3_step(records->get())) == SQLITE_ROW) {
    const uint64_t sequence = static_cast<uint64_t>(sqlite3_column_int64(records->get(), 0));
    if (!check.Add(sequence, ReadRecordRow(records->get()))) return check.Finish();
  }
  if (rc != SQLITE_DONE) return SqliteError(db, "reading access records");
  return check.Finish();
}

// Opens `path` read-only and verifies it.
absl::StatusOr<VerificationResult> VerifyDatabaseFile(const std::string& path,
                                                      const CheckpointVerifier& verifier, uint64_t first,
                                                      uint64_t last) {
  if (last != 0 && first > last) {
    return absl::InvalidArgumentError(absl::StrCat("first (", first, ") is after last (", last, ")"));
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    absl::Status status = absl::NotFoundError(absl::StrCat(
        "cannot open the access log database \"", path, "\": ", db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return status;
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> closer(db, sqlite3_close);
  sqlite3_busy_timeout(db, 5000);
  absl::StatusOr<Statement> tables = Prepare(db,
                                             "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                                             "name IN ('access_records', 'access_checkpoints')");
  if (!tables.ok()) {
    return absl::NotFoundError(
        absl::StrCat("\"", path, "\" is not a readable SQLite database: ", tables.status().message()));
  }
  if (sqlite3_step(tables->get()) != SQLITE_ROW || sqlite3_column_int(tables->get(), 0) != 2) {
    return absl::NotFoundError(absl::StrCat("\"", path, "\" holds no access log"));
  }
  tables = Statement();
  return VerifyChain(db, verifier, first, last);
}

// Attaches the person index file at `path` to `db` as `idx`.
absl::Status AttachPersonIndex(sqlite3* db, const std::string& path) {
  absl::StatusOr<Statement> attach = Prepare(db, "ATTACH DATABASE ?1 AS idx");
  if (!attach.ok()) return attach.status();
  BindBytes(attach->get(), 1, path);
  if (sqlite3_step(attach->get()) != SQLITE_DONE) {
    return SqliteError(db, absl::StrCat("attaching the person index ", path));
  }
  return absl::OkStatus();
}

// --- the log ---

class SqliteAccessLog final : public AccessLog {
 public:
  SqliteAccessLog(const AccessLogOptions& options, std::unique_ptr<CheckpointSigner> signer,
                  std::unique_ptr<CheckpointVerifier> verifier,
                  std::unique_ptr<store::SqliteDatabase> writer_db,
                  std::unique_ptr<store::SqliteDatabase> reader_db,
                  std::unique_ptr<store::SqliteDatabase> wal_checkpointer_db,
                  std::unique_ptr<store::SqliteDatabase> indexer_db)
      : options_(options),
        signer_(std::move(signer)),
        verifier_(std::move(verifier)),
        writer_db_(std::move(writer_db)),
        reader_db_(std::move(reader_db)),
        wal_checkpointer_db_(std::move(wal_checkpointer_db)),
        indexer_db_(std::move(indexer_db)),
        commit_loop_(options_.max_batch,
                     {[this](std::vector<PendingAppend>& batch, bool sign_head, absl::Status* checkpoint_status) {
                        return CommitBatch(batch, sign_head || CheckpointDue(batch.size()), checkpoint_status);
                      },
                      [this] { return NextIntervalCheckpoint(); }}) {}

  ~SqliteAccessLog() override {
    commit_loop_.Stop();
    {
      // After the writer's last commit: the indexer's final run indexes every record.
      absl::MutexLock lock(&indexer_mu_);
      indexer_stopping_ = true;
    }
    if (indexer_.joinable()) indexer_.join();
    {
      absl::MutexLock lock(&wal_mu_);
      wal_stopping_ = true;
      wal_cv_.Signal();
    }
    if (wal_checkpointer_.joinable()) wal_checkpointer_.join();
  }

  // Prepares statements, loads the chain head and the indexer's state, and starts the threads.
  absl::Status Start() {
    absl::Status status = writer_db_->WithConnection([this](sqlite3* db) -> absl::Status {
      absl::Status pragma =
          store::SqliteDatabase::Exec(db, absl::StrCat("PRAGMA synchronous=FULL; ", kJournalSizeLimitPragma));
      if (!pragma.ok()) return pragma;
      // Replaces SQLite's autocheckpoint on this connection (see the top of this file).
      sqlite3_wal_hook(db, &SqliteAccessLog::WalHook, this);
      absl::StatusOr<Statement> stmt = Prepare(db, "BEGIN IMMEDIATE");
      if (!stmt.ok()) return stmt.status();
      begin_ = std::move(*stmt);
      stmt = Prepare(db, "COMMIT");
      if (!stmt.ok()) return stmt.status();
      commit_ = std::move(*stmt);
      stmt = Prepare(db, "ROLLBACK");
      if (!stmt.ok()) return stmt.status();
      rollback_ = std::move(*stmt);
      stmt = Prepare(db, absl::StrCat("INSERT INTO access_records (", kRecordColumns,
                                      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
      if (!stmt.ok()) return stmt.status();
      insert_record_ = std::move(*stmt);
      stmt = Prepare(db,
                     "INSERT INTO access_checkpoints (sequence, record_hash, signed_at_unix_us, signature) "
                     "VALUES (?, ?, ?, ?)");
      if (!stmt.ok()) return stmt.status();
      insert_checkpoint_ = std::move(*stmt);
      return LoadHead(db, /*opening=*/true);
    });
    if (!status.ok()) return status;
    status = reader_db_->WithConnection([this](sqlite3* db) -> absl::Status {
      absl::Status attached = AttachPersonIndex(db, options_.person_index_path);
      if (!attached.ok()) return attached;
      absl::Status pragma = store::SqliteDatabase::Exec(db, "PRAGMA query_only=ON");
      if (!pragma.ok()) return pragma;
      absl::StatusOr<Statement> stmt = Prepare(db, "BEGIN");
      if (!stmt.ok()) return stmt.status();
      read_begin_ = std::move(*stmt);
      stmt = Prepare(db, "COMMIT");
      if (!stmt.ok()) return stmt.status();
      read_end_ = std::move(*stmt);
      stmt = Prepare(db, "SELECT MIN(indexed_through) FROM idx.index_state");
      if (!stmt.ok()) return stmt.status();
      read_indexed_through_ = std::move(*stmt);
      // The tail: a range of the primary key, filtered by person.
      stmt = Prepare(db, absl::StrCat("SELECT ", kRecordColumns,
                                      " FROM access_records WHERE sequence > ?1 AND sequence < ?2 AND "
                                      "person = ?3 ORDER BY sequence DESC LIMIT ?4"));
      if (!stmt.ok()) return stmt.status();
      list_tail_ = std::move(*stmt);
      // The index: a range of its primary key, newest first, each entry joined to its record. An
      // entry whose record no longer has that person (changed behind the log's back) is skipped.
      stmt = Prepare(db, absl::StrCat("SELECT ", PrefixedRecordColumns("r."),
                                      " FROM idx.person_index AS i JOIN access_records AS r "
                                      "ON r.sequence = i.sequence AND r.person = i.person "
                                      "WHERE i.person = ?1 AND i.sequence <= ?2 "
                                      "ORDER BY i.sequence DESC LIMIT ?3"));
      if (!stmt.ok()) return stmt.status();
      list_indexed_ = std::move(*stmt);
      stmt =
          Prepare(db, absl::StrCat("SELECT ", kRecordColumns,
                                   " FROM access_records WHERE sequence BETWEEN ? AND ? ORDER BY sequence"));
      if (!stmt.ok()) return stmt.status();
      read_range_ = std::move(*stmt);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    status = wal_checkpointer_db_->WithConnection([](sqlite3* db) {
      return store::SqliteDatabase::Exec(db,
                                         absl::StrCat("PRAGMA synchronous=FULL; ", kJournalSizeLimitPragma));
    });
    if (!status.ok()) return status;
    status = indexer_db_->WithConnection([this](sqlite3* db) { return StartIndexer(db); });
    if (!status.ok()) return status;
    wal_checkpointer_ = std::thread([this] {
      SetCurrentThreadName("log-checkpoint");
      WalCheckpointLoop();
    });
    commit_loop_.Start();
    indexer_ = std::thread([this] { SetCurrentThreadName("log-index"); IndexerLoop(); });
    return absl::OkStatus();
  }

  void Append(AccessRecord record, std::function<void(absl::StatusOr<uint64_t>)> done) override {
    commit_loop_.Append(std::move(record), std::move(done));
  }

  absl::StatusOr<std::vector<AccessRecord>> ListByPerson(const std::string& person, uint64_t before_sequence,
                                                         int limit) override {
    if (limit <= 0) return absl::InvalidArgumentError(absl::StrCat("limit must be positive, got ", limit));
    const int64_t before = before_sequence == 0 || before_sequence > static_cast<uint64_t>(kMaxSequence)
                               ? kMaxSequence
                               : static_cast<int64_t>(before_sequence);
    std::vector<AccessRecord> records;
    absl::Status status = reader_db_->WithConnection([&](sqlite3* db) -> absl::Status {
      // One read transaction: indexed_through, the tail and the index are read from one snapshot of
      // each file, the index's taken first (SQLite starts a file's read transaction at its first
      // read), so every record up to indexed_through is in the log's snapshot. (The index part is
      // also bounded by that indexed_through, so a later indexer commit could not duplicate a tail
      // record either.)
      absl::Status began = StepToDone(db, read_begin_.get(), "beginning a read transaction");
      if (!began.ok()) return began;
      struct EndRead {
        sqlite3* db;
        sqlite3_stmt* end;
        ~EndRead() { StepToDone(db, end, "ending a read transaction").IgnoreError(); }
      } end_read{db, read_end_.get()};

      int64_t indexed_through = 0;
      {
        sqlite3_stmt* stmt = read_indexed_through_.get();
        ResetOnExit reset(stmt);
        if (sqlite3_step(stmt) != SQLITE_ROW) return SqliteError(db, "reading access_index_state");
        indexed_through = std::max<int64_t>(0, sqlite3_column_int64(stmt, 0));  // NULL (no row) reads as 0
      }
      {
        sqlite3_stmt* stmt = list_tail_.get();
        ResetOnExit reset(stmt);
        sqlite3_bind_int64(stmt, 1, indexed_through);
        sqlite3_bind_int64(stmt, 2, before);
        BindBytes(stmt, 3, person);
        sqlite3_bind_int(stmt, 4, limit);
        absl::Status tail = CollectRecords(db, stmt, &records);
        if (!tail.ok()) return tail;
      }
      if (static_cast<int>(records.size()) == limit || indexed_through == 0) return absl::OkStatus();
      sqlite3_stmt* stmt = list_indexed_.get();
      ResetOnExit reset(stmt);
      BindBytes(stmt, 1, person);
      sqlite3_bind_int64(stmt, 2, std::min(before - 1, indexed_through));
      sqlite3_bind_int(stmt, 3, limit - static_cast<int>(records.size()));
      return CollectRecords(db, stmt, &records);
    });
    if (!status.ok()) return status;
    return records;
  }

  absl::StatusOr<std::vector<AccessRecord>> ReadRange(uint64_t first, uint64_t last) override {
    if (first > last) {
      return absl::InvalidArgumentError(absl::StrCat("first (", first, ") is after last (", last, ")"));
    }
    std::vector<AccessRecord> records;
    absl::Status status = reader_db_->WithConnection([&](sqlite3* db) {
      sqlite3_stmt* stmt = read_range_.get();
      ResetOnExit reset(stmt);
      sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(std::min<uint64_t>(first, kMaxSequence)));
      sqlite3_bind_int64(stmt, 2, static_cast<int64_t>(std::min<uint64_t>(last, kMaxSequence)));
      return CollectRecords(db, stmt, &records);
    });
    if (!status.ok()) return status;
    return records;
  }

  absl::StatusOr<VerificationResult> Verify(uint64_t first, uint64_t last) override {
    return VerifyDatabaseFile(options_.sqlite_path, *verifier_, first, last);
  }

  absl::Status CheckpointNow() override { return commit_loop_.CheckpointNow(); }

  uint64_t LastSequence() override { return last_sequence_.load(std::memory_order_acquire); }

  AccessLogStats Stats() override {
    AccessLogStats stats;
    stats.batches_started = commit_loop_.batches_started();
    stats.commits = commits_.load(std::memory_order_relaxed);
    stats.records_committed = records_committed_.load(std::memory_order_relaxed);
    stats.largest_batch = largest_batch_.load(std::memory_order_relaxed);
    stats.checkpoints = checkpoints_.load(std::memory_order_relaxed);
    stats.failed_commits = failed_commits_.load(std::memory_order_relaxed);
    stats.person_indexed_through = person_indexed_through_.load(std::memory_order_relaxed);
    stats.person_index_commits = person_index_commits_.load(std::memory_order_relaxed);
    return stats;
  }

 private:
  // Called by SQLite on the writer thread after each commit, with the number of frames in the WAL.
  static int WalHook(void* self, sqlite3* db, const char* schema, int frames) {
    if (frames >= kWalInlineCheckpointFrames) {
      // The background checkpointer is not keeping up: make the writer pay, to bound the WAL.
      sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (frames >= kWalCheckpointFrames) {
      auto* log = static_cast<SqliteAccessLog*>(self);
      absl::MutexLock lock(&log->wal_mu_);
      log->wal_checkpoint_wanted_ = true;
      log->wal_cv_.Signal();
    }
    return SQLITE_OK;
  }

  void WalCheckpointLoop() {
    while (true) {
      {
        absl::MutexLock lock(&wal_mu_);
        while (!wal_checkpoint_wanted_ && !wal_stopping_) wal_cv_.Wait(&wal_mu_);
        if (wal_stopping_) return;
        wal_checkpoint_wanted_ = false;
      }
      wal_checkpointer_db_
          ->WithConnection([](sqlite3* db) {
            // PASSIVE: copies what it can without waiting for readers or the writer. SQLITE_BUSY
            // (another checkpoint is running) is harmless.
            sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
            return absl::OkStatus();
          })
          .IgnoreError();
    }
  }

  static absl::Status CollectRecords(sqlite3* db, sqlite3_stmt* stmt, std::vector<AccessRecord>* records) {
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      absl::StatusOr<AccessRecord> record = ReadRecordRow(stmt);
      if (!record.ok()) return record.status();
      records->push_back(std::move(*record));
    }
    if (rc != SQLITE_DONE) return SqliteError(db, "reading access records");
    return absl::OkStatus();
  }

  // Sets the chain head from the database (writer connection). The head is the newest record, or
  // the newest checkpoint if that is newer (records after it were lost: continue after it, so that
  // the gap stays visible instead of its sequences being reused).
  absl::Status LoadHead(sqlite3* db, bool opening) {
    absl::StatusOr<StoredHead> stored = ReadStoredHead(db);
    if (!stored.ok()) return stored.status();
    head_sequence_ = stored->record_sequence;
    head_hash_ = stored->record_sequence > 0 ? stored->record_hash : std::string(32, '\0');
    if (stored->checkpoint_sequence > stored->record_sequence) {
      LogWarning("access log: the newest checkpoint is after the newest record; records are missing",
                 {{"path", options_.sqlite_path},
                  {"newest_record", absl::StrCat(stored->record_sequence)},
                  {"newest_checkpoint", absl::StrCat(stored->checkpoint_sequence)}});
      head_sequence_ = stored->checkpoint_sequence;
      head_hash_ = stored->checkpoint_hash;
    }
    checkpointed_sequence_ = stored->checkpoint_sequence;
    if (opening) {
      // The interval runs from the newest checkpoint, so that an unsigned tail left by a crash is
      // signed soon after a restart.
      last_checkpoint_time_ =
          stored->checkpoint_sequence > 0 ? std::min(stored->checkpoint_signed_at, absl::Now()) : absl::Now();
    }
    last_sequence_.store(head_sequence_, std::memory_order_release);
    return absl::OkStatus();
  }

  bool IntervalCheckpointsEnabled() const {
    return options_.checkpoint_interval > absl::ZeroDuration() &&
           options_.checkpoint_interval != absl::InfiniteDuration();
  }

  // Whether a checkpoint is due once `batch_size` more records are committed (writer thread).
  bool CheckpointDue(size_t batch_size) const {
    const uint64_t head = head_sequence_ + batch_size;
    if (head <= checkpointed_sequence_) return false;
    if (options_.checkpoint_every_records > 0 &&
        head - checkpointed_sequence_ >= options_.checkpoint_every_records) {
      return true;
    }
    return IntervalCheckpointsEnabled() &&
           absl::Now() - last_checkpoint_time_ >= options_.checkpoint_interval;
  }

  // When the writer, with nothing queued, should commit to sign the unsigned records: the interval
  // after the last checkpoint (writer thread).
  absl::Time NextIntervalCheckpoint() const {
    if (!IntervalCheckpointsEnabled() || head_sequence_ <= checkpointed_sequence_) return absl::InfiniteFuture();
    return last_checkpoint_time_ + options_.checkpoint_interval;
  }

  // Assigns sequences and hashes to `batch`, writes it (and, if `checkpoint` and there is something
  // new to sign, a checkpoint of its last record) in one transaction. On success advances the chain
  // head; on failure leaves it at the last committed record. Returns the status of the records;
  // *checkpoint_status gets that of the checkpoint.
  absl::Status CommitBatch(std::vector<PendingAppend>& batch, bool checkpoint,
                           absl::Status* checkpoint_status) {
    uint64_t sequence = head_sequence_;
    std::string previous = head_hash_;
    for (PendingAppend& pending : batch) {
      AccessRecord& record = pending.record;
      record.sequence = ++sequence;
      record.time = absl::FromUnixMicros(absl::ToUnixMicros(record.time));
      record.previous_hash = previous;
      record.record_hash = ComputeRecordHash(record, previous);
      previous = record.record_hash;
    }

    bool write_checkpoint = checkpoint && sequence > checkpointed_sequence_;
    absl::Time signed_at;
    std::string signature;
    if (write_checkpoint) {
      signed_at = absl::FromUnixMicros(absl::ToUnixMicros(absl::Now()));
      absl::StatusOr<std::string> signed_message =
          signer_->Sign(CheckpointMessage(sequence, previous, signed_at));
      if (signed_message.ok()) {
        signature = std::move(*signed_message);
      } else {
        // The records are still worth committing; the next checkpoint will cover them.
        LogError("access log: cannot sign a checkpoint", {{"error", signed_message.status().ToString()}});
        *checkpoint_status = signed_message.status();
        write_checkpoint = false;
        last_checkpoint_time_ = signed_at;  // retry after another interval, not in a tight loop
      }
    }
    if (batch.empty() && !write_checkpoint) return absl::OkStatus();

    absl::Status status;
    const absl::Time started = options_.commit_observer ? absl::Now() : absl::InfinitePast();
    status = writer_db_->WithConnection([&](sqlite3* db) {
      absl::Status written =
          WriteTransaction(db, batch, write_checkpoint, sequence, previous, signed_at, signature);
      if (!written.ok()) {
        if (!sqlite3_get_autocommit(db)) StepToDone(db, rollback_.get(), "rolling back").IgnoreError();
        // Whatever happened, continue from what is really stored.
        absl::Status reloaded = LoadHead(db, /*opening=*/false);
        if (!reloaded.ok())
          LogError("access log: cannot reload the chain head", {{"error", reloaded.ToString()}});
      }
      return written;
    });
    if (options_.commit_observer)
      options_.commit_observer({batch.size(), status.ok(), absl::Now() - started});
    if (!status.ok()) {
      // An interval checkpoint that failed is retried after another interval, not in a tight loop.
      if (write_checkpoint) last_checkpoint_time_ = absl::Now();
      failed_commits_.fetch_add(1, std::memory_order_relaxed);
      LogError("access log: commit failed", {{"error", status.ToString()}});
      return absl::InternalError(absl::StrCat("access log: ", status.message()));
    }

    head_sequence_ = sequence;
    head_hash_ = std::move(previous);
    if (write_checkpoint) {
      checkpointed_sequence_ = sequence;
      last_checkpoint_time_ = signed_at;
      checkpoints_.fetch_add(1, std::memory_order_relaxed);
    }
    last_sequence_.store(sequence, std::memory_order_release);
    commits_.fetch_add(1, std::memory_order_relaxed);
    records_committed_.fetch_add(batch.size(), std::memory_order_relaxed);
    if (batch.size() > largest_batch_.load(std::memory_order_relaxed)) {
      largest_batch_.store(batch.size(), std::memory_order_relaxed);
    }
    return absl::OkStatus();
  }

  absl::Status WriteTransaction(sqlite3* db, const std::vector<PendingAppend>& batch, bool write_checkpoint,
                                uint64_t checkpoint_sequence, const std::string& checkpoint_hash,
                                absl::Time signed_at, const std::string& signature) {
    absl::Status status = StepToDone(db, begin_.get(), "beginning an access log transaction");
    if (!status.ok()) return status;
    sqlite3_stmt* insert = insert_record_.get();
    std::string cities_json;
    for (const PendingAppend& pending : batch) {
      cities_json = EncodeCities(pending.record.cities_consulted);
      BindRecord(insert, pending.record, cities_json);
      status = StepToDone(db, insert, absl::StrCat("writing access record ", pending.record.sequence));
      sqlite3_clear_bindings(insert);
      if (!status.ok()) return status;
    }
    if (write_checkpoint) {
      sqlite3_stmt* stmt = insert_checkpoint_.get();
      sqlite3_bind_int64(stmt, 1, static_cast<int64_t>(checkpoint_sequence));
      BindBlob(stmt, 2, checkpoint_hash);
      sqlite3_bind_int64(stmt, 3, absl::ToUnixMicros(signed_at));
      BindBlob(stmt, 4, signature);
      status = StepToDone(db, stmt, absl::StrCat("writing the checkpoint at ", checkpoint_sequence));
      sqlite3_clear_bindings(stmt);
      if (!status.ok()) return status;
    }
    return StepToDone(db, commit_.get(), "committing access records");
  }

  // --- the person indexer ---

  // Indexer connection, before the threads start: attaches the index file, pragmas, statements, and
  // indexed_through_. Empties the index (to be rebuilt from the first record) if it was not built
  // from this log: the state row is missing (or doubled), or the record at indexed_through is
  // missing or has another hash than the one the index recorded (a log restored from a backup,
  // truncated or replaced beside the index file; or tampering, which Verify() reports).
  absl::Status StartIndexer(sqlite3* db) {
    absl::Status status = AttachPersonIndex(db, options_.person_index_path);
    if (!status.ok()) return status;
    // synchronous=NORMAL: the index file's commits do not fsync. That is enough for derived data:
    // a power cut can only lose the indexer's newest transactions, each of which carries its
    // entries and the matching advance of indexed_through together, so the restarted indexer just
    // indexes those records again. The records' durability does not depend on it: they are
    // committed by the writer with synchronous=FULL in the log's own file. This connection keeps
    // SQLite's automatic WAL checkpoints; they only touch the index file, on this thread.
    status = store::SqliteDatabase::Exec(db, kIndexFilePragmas);
    if (!status.ok()) return status;
    struct {
      Statement* statement;
      const char* sql;
    } statements[] = {
        // Deferred: the first insert takes the write lock of the index file only, never the log's.
        {&index_begin_, "BEGIN"},
        {&index_commit_, "COMMIT"},
        {&index_rollback_, "ROLLBACK"},
        {&index_read_records_,
         "SELECT sequence, person FROM main.access_records WHERE sequence > ? ORDER BY sequence LIMIT ?"},
        {&index_read_hash_, "SELECT record_hash FROM main.access_records WHERE sequence = ?"},
        {&index_insert_, "INSERT OR IGNORE INTO idx.person_index (person, sequence) VALUES (?, ?)"},
        {&index_advance_, "UPDATE idx.index_state SET indexed_through = ?, record_hash = ?"},
    };
    for (const auto& [statement, sql] : statements) {
      absl::StatusOr<Statement> prepared = Prepare(db, sql);
      if (!prepared.ok()) return prepared.status();
      *statement = std::move(*prepared);
    }

    absl::StatusOr<Statement> state =
        Prepare(db,
                "SELECT (SELECT COUNT(*) FROM idx.index_state), "
                "(SELECT COALESCE(MIN(indexed_through), 0) FROM idx.index_state), "
                "(SELECT record_hash FROM idx.index_state ORDER BY indexed_through LIMIT 1)");
    if (!state.ok()) return state.status();
    if (sqlite3_step(state->get()) != SQLITE_ROW) return SqliteError(db, "reading idx.index_state");
    const int64_t rows = sqlite3_column_int64(state->get(), 0);
    const int64_t indexed_through = std::max<int64_t>(0, sqlite3_column_int64(state->get(), 1));
    const std::string bound_hash = ColumnBytes(state->get(), 2);
    *state = Statement();
    absl::StatusOr<std::optional<std::string>> stored_hash = ReadRecordHash(db, indexed_through);
    if (!stored_hash.ok()) return stored_hash.status();
    const bool bound =
        indexed_through == 0 ? bound_hash.empty() : stored_hash->has_value() && **stored_hash == bound_hash;
    if (rows != 1 || !bound) {
      LogWarning("access log: the person index was not built from this log; rebuilding it",
                 {{"path", options_.sqlite_path},
                  {"person_index_path", options_.person_index_path},
                  {"state_rows", absl::StrCat(rows)},
                  {"indexed_through", absl::StrCat(indexed_through)},
                  {"record_at_indexed_through", !stored_hash->has_value() ? "missing" : "another hash"}});
      status = store::SqliteDatabase::Exec(
          db,
          "BEGIN; DELETE FROM idx.person_index; DELETE FROM idx.index_state; "
          "INSERT INTO idx.index_state (indexed_through, record_hash) VALUES (0, x''); COMMIT");
      if (!status.ok()) {
        if (!sqlite3_get_autocommit(db)) store::SqliteDatabase::Exec(db, "ROLLBACK").IgnoreError();
        return status;
      }
      indexed_through_ = 0;
    } else {
      indexed_through_ = static_cast<uint64_t>(indexed_through);
    }
    person_indexed_through_.store(indexed_through_, std::memory_order_relaxed);
    return absl::OkStatus();
  }

  // The record_hash of the record at `sequence` in the log's file; nullopt if there is none (or
  // sequence is 0). Indexer connection only.
  absl::StatusOr<std::optional<std::string>> ReadRecordHash(sqlite3* db, int64_t sequence) {
    if (sequence == 0) return std::optional<std::string>();
    sqlite3_stmt* read = index_read_hash_.get();
    ResetOnExit reset(read);
    sqlite3_bind_int64(read, 1, sequence);
    int rc = sqlite3_step(read);
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW)
      return SqliteError(db, absl::StrCat("reading the hash of access record ", sequence));
    return std::optional<std::string>(ColumnBytes(read, 0));
  }

  // Runs every person_index_interval, and once more after the destructor has stopped the writer.
  void IndexerLoop() {
    const absl::Duration interval = options_.person_index_interval;
    const bool periodic = interval > absl::ZeroDuration() && interval != absl::InfiniteDuration();
    while (true) {
      bool stopping;
      {
        absl::MutexLock lock(&indexer_mu_);
        const absl::Condition stop_requested(&indexer_stopping_);
        if (periodic) {
          indexer_mu_.AwaitWithTimeout(stop_requested, interval);
        } else {
          indexer_mu_.Await(stop_requested);
        }
        stopping = indexer_stopping_;
      }
      // Chunk after chunk until caught up (the writer gets the write lock between chunks).
      while (true) {
        absl::StatusOr<size_t> indexed = IndexNextChunk();
        if (!indexed.ok()) {
          // Retried at the next run; ListByPerson() stays exact meanwhile (a longer tail).
          LogError("access log: person indexing failed", {{"error", indexed.status().ToString()}});
          break;
        }
        if (*indexed < static_cast<size_t>(kIndexChunkRecords)) break;
      }
      if (stopping) return;
    }
  }

  // Indexes up to kIndexChunkRecords records above indexed_through_ and advances it. Returns how
  // many records it read (fewer than kIndexChunkRecords: caught up). Indexer thread only.
  absl::StatusOr<size_t> IndexNextChunk() {
    std::vector<std::pair<std::string, int64_t>> entries;  // (person, sequence)
    int64_t through = static_cast<int64_t>(indexed_through_);
    std::string through_hash;
    // One statement, so one snapshot; no lock of the log held: appends go on meanwhile. Every record
    // up to the highest sequence read is committed (the writer commits in sequence order).
    absl::Status status = indexer_db_->WithConnection([&](sqlite3* db) -> absl::Status {
      sqlite3_stmt* read = index_read_records_.get();
      ResetOnExit reset(read);
      sqlite3_bind_int64(read, 1, through);
      sqlite3_bind_int(read, 2, kIndexChunkRecords);
      int rc;
      while ((rc = sqlite3_step(read)) == SQLITE_ROW) {
        through = sqlite3_column_int64(read, 0);
        entries.emplace_back(ColumnBytes(read, 1), through);
      }
      if (rc != SQLITE_DONE) return SqliteError(db, "reading access records to index");
      if (entries.empty()) return absl::OkStatus();
      // Committed records never change (but by tampering), so a second statement reads the same.
      absl::StatusOr<std::optional<std::string>> hash = ReadRecordHash(db, through);
      if (!hash.ok()) return hash.status();
      if (!hash->has_value())
        return absl::InternalError(absl::StrCat("access record ", through, " vanished"));
      through_hash = std::move(**hash);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    if (entries.empty()) return 0;
    // In key order, consecutive inserts mostly land on the same or the next index page, and each
    // transaction below covers its own range of persons (so its own index pages).
    std::sort(entries.begin(), entries.end());
    for (size_t begin = 0; begin < entries.size(); begin += kIndexEntriesPerTransaction) {
      const size_t end = std::min(entries.size(), begin + kIndexEntriesPerTransaction);
      const bool last = end == entries.size();
      status = indexer_db_->WithConnection([&](sqlite3* db) {
        absl::Status written =
            WriteIndexTransaction(db, entries.data() + begin, entries.data() + end,
                                  last ? std::optional<int64_t>(through) : std::nullopt, through_hash);
        if (!written.ok() && !sqlite3_get_autocommit(db)) {
          StepToDone(db, index_rollback_.get(), "rolling back").IgnoreError();
        }
        return written;
      });
      if (!status.ok()) return status;
      person_index_commits_.fetch_add(1, std::memory_order_relaxed);
    }
    indexed_through_ = static_cast<uint64_t>(through);
    person_indexed_through_.store(indexed_through_, std::memory_order_relaxed);
    return entries.size();
  }

  // One transaction inserting the entries [first, last) and, if `advance_to` is set, setting
  // indexed_through to it, bound to its record's hash `advance_hash`.
  absl::Status WriteIndexTransaction(sqlite3* db, const std::pair<std::string, int64_t>* first,
                                     const std::pair<std::string, int64_t>* last,
                                     std::optional<int64_t> advance_to, const std::string& advance_hash) {
    absl::Status status = StepToDone(db, index_begin_.get(), "beginning a person index transaction");
    if (!status.ok()) return status;
    sqlite3_stmt* insert = index_insert_.get();
    for (const auto* entry = first; entry != last; ++entry) {
      BindBytes(insert, 1, entry->first);
      sqlite3_bind_int64(insert, 2, entry->second);
      status = StepToDone(db, insert, absl::StrCat("indexing access record ", entry->second));
      sqlite3_clear_bindings(insert);
      if (!status.ok()) return status;
    }
    if (advance_to.has_value()) {
      sqlite3_stmt* advance = index_advance_.get();
      sqlite3_bind_int64(advance, 1, *advance_to);
      BindBlob(advance, 2, advance_hash);
      status = StepToDone(db, advance, "advancing indexed_through");
      sqlite3_clear_bindings(advance);
      if (!status.ok()) return status;
    }
    return StepToDone(db, index_commit_.get(), "committing the person index");
  }

  AccessLogOptions options_;
  const std::unique_ptr<CheckpointSigner> signer_;
  const std::unique_ptr<CheckpointVerifier> verifier_;
  // Declared before the statements, so that the statements are finalized before the connections close.
  const std::unique_ptr<store::SqliteDatabase> writer_db_;
  const std::unique_ptr<store::SqliteDatabase> reader_db_;
  const std::unique_ptr<store::SqliteDatabase> wal_checkpointer_db_;
  const std::unique_ptr<store::SqliteDatabase> indexer_db_;

  // Writer connection statements and chain state: used only by the writer thread (and Start()).
  Statement begin_, commit_, rollback_, insert_record_, insert_checkpoint_;
  uint64_t head_sequence_ = 0;
  std::string head_hash_;
  uint64_t checkpointed_sequence_ = 0;
  absl::Time last_checkpoint_time_;

  // Reader connection statements: used only inside reader_db_->WithConnection (its mutex guards them).
  Statement read_begin_, read_end_, read_indexed_through_, list_tail_, list_indexed_, read_range_;

  // Indexer connection statements and state: used only by the indexer thread (and Start()).
  Statement index_begin_, index_commit_, index_rollback_, index_read_records_, index_read_hash_,
      index_insert_, index_advance_;
  uint64_t indexed_through_ = 0;

  std::atomic<uint64_t> last_sequence_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> records_committed_{0};
  std::atomic<uint64_t> largest_batch_{0};
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> failed_commits_{0};
  std::atomic<uint64_t> person_indexed_through_{0};
  std::atomic<uint64_t> person_index_commits_{0};

  // The writer and completion threads; stopped first by the destructor.
  CommitLoop commit_loop_;

  absl::Mutex wal_mu_;
  absl::CondVar wal_cv_;
  bool wal_checkpoint_wanted_ ABSL_GUARDED_BY(wal_mu_) = false;
  bool wal_stopping_ ABSL_GUARDED_BY(wal_mu_) = false;
  std::thread wal_checkpointer_;

  absl::Mutex indexer_mu_;
  bool indexer_stopping_ ABSL_GUARDED_BY(indexer_mu_) = false;
  std::thread indexer_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AccessLog>> OpenSqliteAccessLog(const AccessLogOptions& options) {
  if (options.sqlite_path.empty() || options.sqlite_path == ":memory:") {
    return absl::InvalidArgumentError(
        "sqlite_path must name a database file (\":memory:\" is not supported)");
  }
  absl::StatusOr<CheckpointKeys> keys = LoadCheckpointKeys(options);
  if (!keys.ok()) return keys.status();
  AccessLogOptions resolved = options;
  if (resolved.person_index_path.empty())
    resolved.person_index_path = PersonIndexPathFor(options.sqlite_path);
  if (resolved.person_index_path == resolved.sqlite_path || resolved.person_index_path == ":memory:") {
    return absl::InvalidArgumentError(
        "person_index_path must name a database file other than sqlite_path (\":memory:\" is not supported)");
  }
  {
    // Creates the index file (WAL mode, its schema) if needed; the connections below attach it.
    absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> index_db =
        store::SqliteDatabase::Open(resolved.person_index_path, store::PersonIndexSchemaMigrations());
    if (!index_db.ok()) return index_db.status();
  }
  absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> writer_db =
      store::SqliteDatabase::Open(options.sqlite_path, store::GatewaySchemaMigrations());
  if (!writer_db.ok()) return writer_db.status();
  absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> reader_db =
      store::SqliteDatabase::Open(options.sqlite_path, store::GatewaySchemaMigrations());
  if (!reader_db.ok()) return reader_db.status();
  absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> wal_checkpointer_db =
      store::SqliteDatabase::Open(options.sqlite_path, store::GatewaySchemaMigrations());
  if (!wal_checkpointer_db.ok()) return wal_checkpointer_db.status();
  absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> indexer_db =
      store::SqliteDatabase::Open(options.sqlite_path, store::GatewaySchemaMigrations());
  if (!indexer_db.ok()) return indexer_db.status();
  auto log = std::make_unique<SqliteAccessLog>(resolved, std::move(keys->signer), std::move(keys->verifier),
                                               std::move(*writer_db), std::move(*reader_db),
                                               std::move(*wal_checkpointer_db), std::move(*indexer_db));
  absl::Status started = log->Start();
  if (!started.ok()) return started;
  return log;
}

std::string PersonIndexPathFor(const std::string& sqlite_path) { return sqlite_path + ".person-index"; }

absl::StatusOr<VerificationResult> VerifyAccessLogFile(const std::string& sqlite_path,
                                                       const std::string& signing_cert_file, uint64_t first,
                                                       uint64_t last) {
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> verifier =
      CheckpointVerifier::FromPemFile(signing_cert_file);
  if (!verifier.ok()) return verifier.status();
  return VerifyDatabaseFile(sqlite_path, **verifier, first, last);
}

}  // namespace interop::accesslog
