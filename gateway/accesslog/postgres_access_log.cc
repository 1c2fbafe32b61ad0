// The PostgreSQL-backed access log (OpenPostgresAccessLog) and its offline verifier
// (VerifyPostgresAccessLog), for several gateway replicas sharing one database. The chain and
// checkpoint encodings are in access_log.cc; the row encoding of cities_consulted and the chain
// check are shared with the SQLite log (stored_chain.h).
//
// Storage (component "access_log", kMigrations below): access_records, one row per record, the same
// columns as in SQLite, except that every string is BYTEA (PostgreSQL TEXT can hold neither NUL bytes
// nor invalid UTF-8, and the hash covers the exact bytes), with an ordinary index on (person,
// sequence); access_checkpoints exactly as in SQLite; and access_chain_head, one row: the sequence
// and record_hash of the newest record of the chain, and the sequence and signed_at of the newest
// checkpoint (the state that every append reads under the row lock; see kLockHead).
//
// One order across replicas: every transaction that appends locks the head row (SELECT ... FOR
// UPDATE), numbers and hashes its records from it, inserts them, moves the head, and commits, with
// synchronous_commit on (the COMMIT returns after PostgreSQL has flushed its WAL). A second replica's
// transaction waits on the row lock and, under READ COMMITTED, then reads the head as the first
// committed it. So sequences have no gap and no duplicate, and record n+1 always links to record n,
// whichever replica wrote either. The primary key of access_records would refuse a duplicate even if
// the lock were bypassed.
//
// Checkpoints are decided under the same lock, from the head row rather than from what one replica
// has seen: a transaction signs (with the gateway key every replica holds) when, counting its own
// records, checkpoint_every_records or more are unsigned, or checkpoint_interval has passed since the
// newest stored checkpoint's signed_at (or, if there is none, since this replica opened the log).
// CheckpointNow() and closing a log sign the head of the whole chain, whoever wrote it. A replica
// that is idle wakes after checkpoint_interval if its last transaction left unsigned records, and
// signs them unless another replica already did.
//
// The person index is the ordinary B-tree index of access_records: PostgreSQL logs an index insert as
// a small WAL record, not as the page SQLite's WAL rewrites, so it stays on the commit path and
// ListByPerson() is one index range scan. (person_index_interval is ignored.)
//
// Threads: Append() only queues, in the CommitLoop (commit_loop.h, as the SQLite log), whose writer
// thread runs the group-commit transactions (up to max_batch records each) on a pooled connection and
// whose completion thread calls the `done` callbacks while the writer commits the next batch. Reads
// and Verify() take their own pooled connections.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/accesslog/commit_loop.h"
#include "gateway/accesslog/signing.h"
#include "gateway/accesslog/stored_chain.h"
#include "gateway/base/log.h"
#include "gateway/store/postgres/postgres_database.h"

namespace interop::accesslog {
namespace {

using store::pg::Connection;
using store::pg::Param;
using store::pg::PostgresDatabase;
using store::pg::Result;

constexpr char kComponent[] = "access_log";

// Append-only: each script is applied once per database, in order (PostgresDatabase::Migrate).
const std::vector<std::string>& Migrations() {
  static const auto* migrations = new std::vector<std::string>{
      // 1: records, checkpoints and the chain head. Times are unix microseconds; hashes 32-byte
      // SHA-256 values; strings the exact bytes the gateway recorded; cities_consulted the JSON
      // array of stored_chain.h, as bytes.
      "CREATE TABLE access_records ("
      "  sequence BIGINT PRIMARY KEY,"
      "  time_unix_us BIGINT NOT NULL,"
      "  request_id BYTEA NOT NULL,"
      "  caller_organization BYTEA NOT NULL,"
      "  caller_city BYTEA NOT NULL,"
      "  caller_role BYTEA NOT NULL,"
      "  method BYTEA NOT NULL,"
      "  person BYTEA NOT NULL,"
      "  purpose BYTEA NOT NULL,"
      "  result_code BIGINT NOT NULL,"
      "  result_reason BYTEA NOT NULL,"
      "  cities_consulted BYTEA NOT NULL,"
      "  previous_hash BYTEA NOT NULL,"
      "  record_hash BYTEA NOT NULL);"
      "CREATE INDEX access_records_by_person ON access_records (person, sequence);"
      "CREATE TABLE access_checkpoints ("
      "  sequence BIGINT PRIMARY KEY,"
      "  record_hash BYTEA NOT NULL,"
      "  signed_at_unix_us BIGINT NOT NULL,"
      "  signature BYTEA NOT NULL);"
      "CREATE TABLE access_chain_head ("
      "  only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),"
      "  sequence BIGINT NOT NULL,"
      "  record_hash BYTEA NOT NULL,"
      "  checkpoint_sequence BIGINT NOT NULL,"
      "  checkpoint_signed_at_unix_us BIGINT NOT NULL);"
      "INSERT INTO access_chain_head (sequence, record_hash, checkpoint_sequence, "
      "checkpoint_signed_at_unix_us) "
      "VALUES (0, decode(repeat('00', 32), 'hex'), 0, 0)",
  };
  return *migrations;
}

constexpr char kRecordColumns[] =
    "sequence, time_unix_us, request_id, caller_organization, caller_city, caller_role, method, person, "
    "purpose, result_code, result_reason, cities_consulted, previous_hash, record_hash";
constexpr int kRecordColumnCount = 14;
constexpr int64_t kMaxSequence = std::numeric_limits<int64_t>::max();
// Verify() reads the records through a cursor, this many at a time.
constexpr int kVerifyFetchRecords = 5000;

// The head row, locked. It also holds the newest checkpoint's sequence and time: having waited for
// the lock, a READ COMMITTED statement sees the newest version of the locked row, but any other table
// it reads (such as access_checkpoints) as of before the wait.
constexpr char kLockHead[] =
    "SELECT sequence, record_hash, checkpoint_sequence, checkpoint_signed_at_unix_us FROM access_chain_head "
    "FOR UPDATE";

int64_t ClampSequence(uint64_t sequence) {
  return sequence > static_cast<uint64_t>(kMaxSequence) ? kMaxSequence : static_cast<int64_t>(sequence);
}

// Reads row `row` of a result of kRecordColumns. DATA_LOSS naming the record if cities_consulted
// cannot be decoded.
absl::StatusOr<AccessRecord> ReadRecordRow(const Result& rows, int row) {
  AccessRecord record;
  record.sequence = static_cast<uint64_t>(rows.Int(row, 0));
  record.time = absl::FromUnixMicros(rows.Int(row, 1));
  record.request_id = rows.Bytes(row, 2);
  record.caller_organization = rows.Bytes(row, 3);
  record.caller_city = rows.Bytes(row, 4);
  record.caller_role = rows.Bytes(row, 5);
  record.method = rows.Bytes(row, 6);
  record.person = rows.Bytes(row, 7);
  record.purpose = rows.Bytes(row, 8);
  // Stored as 64 bits; a value outside int's range can only come from tampering, and changes the hash.
  record.result_code = static_cast<int>(rows.Int(row, 9));
  record.result_reason = rows.Bytes(row, 10);
  if (!DecodeCities(rows.Bytes(row, 11), &record.cities_consulted)) {
    return absl::DataLossError(
        absl::StrCat("record ", record.sequence, ": cities_consulted is not a JSON array of strings"));
  }
  record.previous_hash = rows.Bytes(row, 12);
  record.record_hash = rows.Bytes(row, 13);
  return record;
}

absl::Status AppendRecords(const Result& rows, std::vector<AccessRecord>* records) {
  for (int row = 0; row < rows.rows(); ++row) {
    absl::StatusOr<AccessRecord> record = ReadRecordRow(rows, row);
    if (!record.ok()) return record.status();
    records->push_back(std::move(*record));
  }
  return absl::OkStatus();
}

// Runs `fn` inside a read-only REPEATABLE READ transaction (one snapshot) on `connection`.
absl::Status InSnapshot(Connection& connection, const std::function<absl::Status()>& fn) {
  absl::Status status = connection.ExecScript("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  if (!status.ok()) return status;
  status = fn();
  absl::Status ended = connection.ExecScript(status.ok() ? "COMMIT" : "ROLLBACK");
  return status.ok() ? ended : status;
}

// Verifies records first..last (see AccessLog::Verify) in one snapshot.
absl::StatusOr<VerificationResult> VerifyChain(PostgresDatabase& db, const CheckpointVerifier& verifier,
                                               uint64_t first, uint64_t last) {
  if (first == 0) first = 1;
  if (last != 0 && first > last) {
    return absl::InvalidArgumentError(absl::StrCat("first (", first, ") is after last (", last, ")"));
  }
  first = static_cast<uint64_t>(ClampSequence(first));
  last = static_cast<uint64_t>(ClampSequence(last));
  VerificationResult result;
  absl::Status status = db.WithConnection([&](Connection& connection) {
    return InSnapshot(connection, [&]() -> absl::Status {
      if (last == 0) {
        // The chain head too: records deleted from the end after the newest checkpoint still show.
        absl::StatusOr<Result> newest = connection.Exec(
            "SELECT GREATEST((SELECT COALESCE(MAX(sequence), 0) FROM access_records), "
            "(SELECT COALESCE(MAX(sequence), 0) FROM access_checkpoints), "
            "(SELECT COALESCE(MAX(sequence), 0) FROM access_chain_head))");
        if (!newest.ok()) return newest.status();
        last = static_cast<uint64_t>(std::max<int64_t>(0, newest->Int(0, 0)));
      }
      if (last < first) {  // an empty log, or a range past its end
        result.ok = true;
        return absl::OkStatus();
      }
      std::string previous(32, '\0');
      if (first > 1) {
        absl::StatusOr<Result> row =
            connection.Exec("SELECT record_hash FROM access_records WHERE sequence = $1",
                            {Param::Int(static_cast<int64_t>(first - 1))});
        if (!row.ok()) return row.status();
        if (row->rows() == 0) {
          result = ChainCheck::MissingBefore(first);
          return absl::OkStatus();
        }
        previous = row->Bytes(0, 0);
      }
      std::vector<Checkpoint> checkpoints;
      absl::StatusOr<Result> rows = connection.Exec(
          "SELECT sequence, record_hash, signed_at_unix_us, signature FROM access_checkpoints "
          "WHERE sequence BETWEEN $1 AND $2 ORDER BY sequence",
          {Param::Int(static_cast<int64_t>(first)), Param::Int(static_cast<int64_t>(last))});
      if (!rows.ok()) return rows.status();
      for (int row = 0; row < rows->rows(); ++row) {
        checkpoints.push_back(Checkpoint{static_cast<uint64_t>(rows->Int(row, 0)), rows->Bytes(row, 1),
                                         absl::FromUnixMicros(rows->Int(row, 2)), rows->Bytes(row, 3)});
      }
      ChainCheck check(verifier, first, last, std::move(previous), std::move(checkpoints));
      absl::StatusOr<Result> declared = connection.Exec(
          absl::StrCat("DECLARE access_verify NO SCROLL CURSOR FOR SELECT ", kRecordColumns,
                       " FROM access_records WHERE sequence BETWEEN $1 AND $2 ORDER BY sequence"),
          {Param::Int(static_cast<int64_t>(first)), Param::Int(static_cast<int64_t>(last))});
      if (!declared.ok()) return declared.status();
      const std::string fetch = absl::StrCat("FETCH ", kVerifyFetchRecords, " FROM access_verify");
      bool going = true;
      while (going) {
        absl::StatusOr<Result> chunk = connection.Exec(fetch);
        if (!chunk.ok()) return chunk.status();
        for (int row = 0; row < chunk->rows() && going; ++row) {
          going = check.Add(static_cast<uint64_t>(chunk->Int(row, 0)), ReadRecordRow(*chunk, row));
        }
        if (chunk->rows() < kVerifyFetchRecords) break;
      }
      result = check.Finish();
      return absl::OkStatus();
    });
  });
  if (!status.ok()) return status;
  return result;
}

class PostgresAccessLog final : public AccessLog {
 public:
  PostgresAccessLog(const AccessLogOptions& options, CheckpointKeys keys, PostgresDatabase& db)
      : options_(options),
        signer_(std::move(keys.signer)),
        verifier_(std::move(keys.verifier)),
        db_(db),
        opened_at_(absl::Now()),
        commit_loop_(options_.max_batch,
                     {[this](std::vector<PendingAppend>& batch, bool sign_head, absl::Status* checkpoint_status) {
                        return CommitBatch(batch, sign_head, checkpoint_status);
                      },
                      [this] { return NextIntervalCheckpoint(); }}) {}

  ~PostgresAccessLog() override { commit_loop_.Stop(); }

  // Makes the head row agree with what is stored, then starts the threads.
  absl::Status Start() {
    absl::Status status =
        db_.InTransaction([this](Connection& connection) { return RepairHead(connection); });
    if (!status.ok()) return status;
    commit_loop_.Start();
    return absl::OkStatus();
  }

  void Append(AccessRecord record, std::function<void(absl::StatusOr<uint64_t>)> done) override {
    commit_loop_.Append(std::move(record), std::move(done));
  }

  absl::StatusOr<std::vector<AccessRecord>> ListByPerson(const std::string& person, uint64_t before_sequence,
                                                         int limit) override {
    if (limit <= 0) return absl::InvalidArgumentError(absl::StrCat("limit must be positive, got ", limit));
    const int64_t before = before_sequence == 0 ? kMaxSequence : ClampSequence(before_sequence);
    std::vector<AccessRecord> records;
    absl::Status status = db_.WithConnection([&](Connection& connection) -> absl::Status {
      absl::StatusOr<Result> rows = connection.Exec(
          absl::StrCat(
              "SELECT ", kRecordColumns,
              " FROM access_records WHERE person = $1 AND sequence < $2 ORDER BY sequence DESC LIMIT $3"),
          {Param::Bytes(person), Param::Int(before), Param::Int(limit)});
      if (!rows.ok()) return rows.status();
      return AppendRecords(*rows, &records);
    });
    if (!status.ok()) return status;
    return records;
  }

  absl::StatusOr<std::vector<AccessRecord>> ReadRange(uint64_t first, uint64_t last) override {
    if (first > last) {
      return absl::InvalidArgumentError(absl::StrCat("first (", first, ") is after last (", last, ")"));
    }
    std::vector<AccessRecord> records;
    absl::Status status = db_.WithConnection([&](Connection& connection) -> absl::Status {
      absl::StatusOr<Result> rows = connection.Exec(
          absl::StrCat("SELECT ", kRecordColumns,
                       " FROM access_records WHERE sequence BETWEEN $1 AND $2 ORDER BY sequence"),
          {Param::Int(ClampSequence(first)), Param::Int(ClampSequence(last))});
      if (!rows.ok()) return rows.status();
      return AppendRecords(*rows, &records);
    });
    if (!status.ok()) return status;
    return records;
  }

  absl::StatusOr<VerificationResult> Verify(uint64_t first, uint64_t last) override {
    return VerifyChain(db_, *verifier_, first, last);
  }

  absl::Status CheckpointNow() override { return commit_loop_.CheckpointNow(); }

  // The head of the shared chain (records of every replica); what this replica last committed or saw
  // if the database cannot be reached.
  uint64_t LastSequence() override {
    int64_t head = -1;
    db_.WithConnection([&](Connection& connection) -> absl::Status {
         absl::StatusOr<Result> row = connection.Exec("SELECT sequence FROM access_chain_head");
         if (row.ok() && row->rows() == 1) head = row->Int(0, 0);
         return row.status();
       })
        .IgnoreError();
    return head >= 0 ? static_cast<uint64_t>(head) : last_sequence_.load(std::memory_order_acquire);
  }

  AccessLogStats Stats() override {
    AccessLogStats stats;
    stats.batches_started = commit_loop_.batches_started();
    stats.commits = commits_.load(std::memory_order_relaxed);
    stats.records_committed = records_committed_.load(std::memory_order_relaxed);
    stats.largest_batch = largest_batch_.load(std::memory_order_relaxed);
    stats.checkpoints = checkpoints_.load(std::memory_order_relaxed);
    stats.failed_commits = failed_commits_.load(std::memory_order_relaxed);
    // The index is written with the records: everything this replica has seen committed is indexed.
    stats.person_indexed_through = last_sequence_.load(std::memory_order_acquire);
    return stats;
  }

 private:
  // The chain as a transaction found it under the head lock.
  struct Head {
    uint64_t sequence = 0;
    std::string record_hash;
    uint64_t checkpoint_sequence = 0;
    absl::Time checkpoint_signed_at;
  };

  // At open, under the head lock: a missing head row is recreated, a head behind the newest stored
  // record or checkpoint (the row was changed behind the log's back) moves up to it, as the SQLite log
  // resumes, so that appends neither collide with stored sequences nor hide a gap, and the head's
  // checkpoint columns are set to the newest stored checkpoint. A head beyond the newest record
  // (records deleted from the end) stays: the next record links to it and Verify() reports the gap.
  absl::Status RepairHead(Connection& connection) {
    absl::StatusOr<Result> head = connection.Exec(kLockHead);
    if (!head.ok()) return head.status();
    // Statements after the lock see what was committed before it.
    absl::StatusOr<Result> record =
        connection.Exec("SELECT sequence, record_hash FROM access_records ORDER BY sequence DESC LIMIT 1");
    if (!record.ok()) return record.status();
    absl::StatusOr<Result> checkpoint = connection.Exec(
        "SELECT sequence, record_hash, signed_at_unix_us FROM access_checkpoints ORDER BY sequence DESC "
        "LIMIT 1");
    if (!checkpoint.ok()) return checkpoint.status();

    const int64_t record_sequence = record->rows() == 1 ? record->Int(0, 0) : 0;
    const int64_t checkpoint_sequence = checkpoint->rows() == 1 ? checkpoint->Int(0, 0) : 0;
    const int64_t checkpoint_time = checkpoint->rows() == 1 ? checkpoint->Int(0, 2) : 0;
    int64_t sequence = head->rows() == 1 ? head->Int(0, 0) : -1;
    std::string hash = head->rows() == 1 ? head->Bytes(0, 1) : std::string();
    if (sequence < std::max(record_sequence, checkpoint_sequence)) {
      if (record_sequence >= checkpoint_sequence) {
        sequence = record_sequence;
        hash = record_sequence > 0 ? record->Bytes(0, 1) : std::string(32, '\0');
      } else {
        sequence = checkpoint_sequence;
        hash = checkpoint->Bytes(0, 1);
      }
    }
    last_sequence_.store(static_cast<uint64_t>(sequence), std::memory_order_release);
    if (head->rows() == 1 && head->Int(0, 0) == sequence && head->Int(0, 2) == checkpoint_sequence &&
        head->Int(0, 3) == checkpoint_time) {
      return absl::OkStatus();
    }
    LogWarning("access log: repairing the chain head",
               {{"head_rows", absl::StrCat(head->rows())},
                {"head", head->rows() == 1 ? absl::StrCat(head->Int(0, 0)) : "none"},
                {"newest_record", absl::StrCat(record_sequence)},
                {"newest_checkpoint", absl::StrCat(checkpoint_sequence)}});
    return connection
        .Exec(
            "INSERT INTO access_chain_head (sequence, record_hash, checkpoint_sequence, "
            "checkpoint_signed_at_unix_us) VALUES ($1, $2, $3, $4) ON CONFLICT (only_row) DO UPDATE SET "
            "sequence = EXCLUDED.sequence, record_hash = EXCLUDED.record_hash, "
            "checkpoint_sequence = EXCLUDED.checkpoint_sequence, "
            "checkpoint_signed_at_unix_us = EXCLUDED.checkpoint_signed_at_unix_us",
            {Param::Int(sequence), Param::Bytes(hash), Param::Int(checkpoint_sequence),
             Param::Int(checkpoint_time)})
        .status();
  }

  bool IntervalCheckpointsEnabled() const {
    return options_.checkpoint_interval > absl::ZeroDuration() &&
           options_.checkpoint_interval != absl::InfiniteDuration();
  }

  // When the interval of the chain whose newest checkpoint is `head` runs from.
  absl::Time IntervalStart(const Head& head) const {
    return head.checkpoint_sequence > 0 ? head.checkpoint_signed_at : opened_at_;
  }

  // When the writer, with nothing queued, should look again at the records its last transaction left
  // unsigned: the interval after the newest checkpoint it saw, and not before a failed attempt's
  // retry time (writer thread).
  absl::Time NextIntervalCheckpoint() {
    absl::MutexLock lock(&seen_mu_);
    if (!IntervalCheckpointsEnabled() || seen_.sequence <= seen_.checkpoint_sequence) return absl::InfiniteFuture();
    return std::max(IntervalStart(seen_) + options_.checkpoint_interval, checkpoint_retry_after_);
  }

  // One transaction: locks the head, numbers and hashes `batch` from it, signs a checkpoint of the
  // new head if `sign_head` or one is due (see the top of this file), writes it all, moves the head,
  // commits. Returns the status of the records; *checkpoint_status gets that of the checkpoint.
  absl::Status CommitBatch(std::vector<PendingAppend>& batch, bool sign_head,
                           absl::Status* checkpoint_status) {
    bool signed_checkpoint = false;
    Head head;
    const absl::Time started = absl::Now();
    absl::Status status = db_.WithConnection([&](Connection& connection) -> absl::Status {
      absl::Status written =
          WriteTransaction(connection, batch, sign_head, &head, &signed_checkpoint, checkpoint_status);
      if (!written.ok()) (void)connection.ExecScript("ROLLBACK");
      return written;
    });
    const absl::Time ended = absl::Now();
    if (options_.commit_observer && (!batch.empty() || signed_checkpoint || !status.ok())) {
      options_.commit_observer({batch.size(), status.ok(), ended - started});
    }
    if (!status.ok()) {
      if (IntervalCheckpointsEnabled()) {
        absl::MutexLock lock(&seen_mu_);
        checkpoint_retry_after_ = ended + options_.checkpoint_interval;  // not in a tight loop
      }
      failed_commits_.fetch_add(1, std::memory_order_relaxed);
      LogError("access log: commit failed", {{"error", status.ToString()}});
      return absl::InternalError(absl::StrCat("access log: ", status.message()));
    }
    {
      absl::MutexLock lock(&seen_mu_);
      seen_ = head;
    }
    last_sequence_.store(head.sequence, std::memory_order_release);
    if (signed_checkpoint) checkpoints_.fetch_add(1, std::memory_order_relaxed);
    if (!batch.empty()) {
      commits_.fetch_add(1, std::memory_order_relaxed);
      records_committed_.fetch_add(batch.size(), std::memory_order_relaxed);
      if (batch.size() > largest_batch_.load(std::memory_order_relaxed)) {
        largest_batch_.store(batch.size(), std::memory_order_relaxed);
      }
    } else if (signed_checkpoint) {
      commits_.fetch_add(1, std::memory_order_relaxed);
    }
    return absl::OkStatus();
  }

  // The body of CommitBatch's transaction. On success *head is the chain after it.
  absl::Status WriteTransaction(Connection& connection, std::vector<PendingAppend>& batch, bool sign_head,
                                Head* head, bool* signed_checkpoint, absl::Status* checkpoint_status) {
    // synchronous_commit may be off for the database or the role; not for these transactions.
    absl::Status status = connection.ExecScript("BEGIN; SET LOCAL synchronous_commit = on");
    if (!status.ok()) return status;
    absl::StatusOr<Result> locked = connection.Exec(kLockHead);
    if (!locked.ok()) return locked.status();
    if (locked->rows() != 1) {
      return absl::InternalError("the access_chain_head row is missing (reopen the log to repair it)");
    }
    const uint64_t stored_head = static_cast<uint64_t>(locked->Int(0, 0));
    head->record_hash = locked->Bytes(0, 1);
    head->checkpoint_sequence = static_cast<uint64_t>(locked->Int(0, 2));
    head->checkpoint_signed_at = absl::FromUnixMicros(locked->Int(0, 3));

    uint64_t sequence = stored_head;
    for (PendingAppend& pending : batch) {
      AccessRecord& record = pending.record;
      record.sequence = ++sequence;
      record.time = absl::FromUnixMicros(absl::ToUnixMicros(record.time));
      record.previous_hash = head->record_hash;
      record.record_hash = ComputeRecordHash(record, head->record_hash);
      head->record_hash = record.record_hash;
    }
    head->sequence = sequence;

    const absl::Time now = absl::Now();
    bool checkpoint = false;
    if (sequence > head->checkpoint_sequence) {
      const bool retry_allowed = [&] {
        absl::MutexLock lock(&seen_mu_);
        return now >= checkpoint_retry_after_;
      }();
      checkpoint = sign_head ||
                   (options_.checkpoint_every_records > 0 &&
                    sequence - head->checkpoint_sequence >= options_.checkpoint_every_records) ||
                   (IntervalCheckpointsEnabled() && retry_allowed &&
                    now - IntervalStart(*head) >= options_.checkpoint_interval);
    }
    std::vector<Param> params;
    params.reserve(batch.size() * kRecordColumnCount + 6);
    std::string sql;
    if (!batch.empty()) {
      sql = absl::StrCat("WITH appended AS (INSERT INTO access_records (", kRecordColumns, ") VALUES ");
      for (size_t i = 0; i < batch.size(); ++i) {
        const AccessRecord& record = batch[i].record;
        const size_t base = params.size();
        absl::StrAppend(&sql, i > 0 ? ", (" : "(");
        for (int column = 1; column <= kRecordColumnCount; ++column) {
          absl::StrAppend(&sql, column > 1 ? ", $" : "$", base + column);
        }
        sql += ')';
        params.push_back(Param::Int(static_cast<int64_t>(record.sequence)));
        params.push_back(Param::Int(absl::ToUnixMicros(record.time)));
        params.push_back(Param::Bytes(record.request_id));
        params.push_back(Param::Bytes(record.caller_organization));
        params.push_back(Param::Bytes(record.caller_city));
        params.push_back(Param::Bytes(record.caller_role));
        params.push_back(Param::Bytes(record.method));
        params.push_back(Param::Bytes(record.person));
        params.push_back(Param::Bytes(record.purpose));
        params.push_back(Param::Int(record.result_code));
        params.push_back(Param::Bytes(record.result_reason));
        params.push_back(Param::Bytes(EncodeCities(record.cities_consulted)));
        params.push_back(Param::Bytes(record.previous_hash));
        params.push_back(Param::Bytes(record.record_hash));
      }
      sql += ')';
    }
    if (checkpoint) {
      const absl::Time signed_at = absl::FromUnixMicros(absl::ToUnixMicros(now));
      absl::StatusOr<std::string> signature =
          signer_->Sign(CheckpointMessage(sequence, head->record_hash, signed_at));
      if (signature.ok()) {
        const size_t base = params.size();
        absl::StrAppend(
            &sql, sql.empty() ? "WITH " : ", ",
            "signed AS (INSERT INTO access_checkpoints (sequence, record_hash, signed_at_unix_us, "
            "signature) VALUES ($",
            base + 1, ", $", base + 2, ", $", base + 3, ", $", base + 4, "))");
        params.push_back(Param::Int(static_cast<int64_t>(sequence)));
        params.push_back(Param::Bytes(head->record_hash));
        params.push_back(Param::Int(absl::ToUnixMicros(signed_at)));
        params.push_back(Param::Bytes(*std::move(signature)));
        head->checkpoint_sequence = sequence;
        head->checkpoint_signed_at = signed_at;
        *signed_checkpoint = true;
      } else {
        // The records are still worth committing; a later checkpoint will cover them.
        LogError("access log: cannot sign a checkpoint", {{"error", signature.status().ToString()}});
        *checkpoint_status = signature.status();
        absl::MutexLock lock(&seen_mu_);
        if (IntervalCheckpointsEnabled()) checkpoint_retry_after_ = now + options_.checkpoint_interval;
      }
    }
    if (sql.empty()) return connection.ExecScript("COMMIT");  // nothing to write
    const size_t base = params.size();
    absl::StrAppend(&sql, " UPDATE access_chain_head SET sequence = $", base + 1, ", record_hash = $",
                    base + 2, ", checkpoint_sequence = $", base + 3, ", checkpoint_signed_at_unix_us = $",
                    base + 4);
    params.push_back(Param::Int(static_cast<int64_t>(sequence)));
    params.push_back(Param::Bytes(head->record_hash));
    params.push_back(Param::Int(static_cast<int64_t>(head->checkpoint_sequence)));
    params.push_back(Param::Int(absl::ToUnixMicros(head->checkpoint_signed_at)));
    absl::StatusOr<Result> written = connection.Exec(sql, params);
    if (!written.ok()) return written.status();
    return connection.ExecScript("COMMIT");
  }

  AccessLogOptions options_;
  const std::unique_ptr<CheckpointSigner> signer_;
  const std::unique_ptr<CheckpointVerifier> verifier_;
  PostgresDatabase& db_;
  const absl::Time opened_at_;

  absl::Mutex seen_mu_;
  // The chain as this replica's last successful transaction left it (written by the writer thread).
  Head seen_ ABSL_GUARDED_BY(seen_mu_);
  // No interval checkpoint is attempted before this (after a failed commit or signature).
  absl::Time checkpoint_retry_after_ ABSL_GUARDED_BY(seen_mu_) = absl::InfinitePast();

  std::atomic<uint64_t> last_sequence_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> records_committed_{0};
  std::atomic<uint64_t> largest_batch_{0};
  std::atomic<uint64_t> checkpoints_{0};
  std::atomic<uint64_t> failed_commits_{0};

  // The writer and completion threads; stopped first by the destructor.
  CommitLoop commit_loop_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AccessLog>> OpenPostgresAccessLog(const AccessLogOptions& options,
                                                                 store::pg::PostgresDatabase& db) {
  absl::StatusOr<CheckpointKeys> keys = LoadCheckpointKeys(options);
  if (!keys.ok()) return keys.status();
  absl::Status migrated = db.Migrate(kComponent, Migrations());
  if (!migrated.ok()) return migrated;
  auto log = std::make_unique<PostgresAccessLog>(options, std::move(*keys), db);
  absl::Status started = log->Start();
  if (!started.ok()) return started;
  return log;
}

absl::StatusOr<VerificationResult> VerifyPostgresAccessLog(store::pg::PostgresDatabase& db,
                                                           const std::string& signing_cert_file,
                                                           uint64_t first, uint64_t last) {
  absl::StatusOr<std::unique_ptr<CheckpointVerifier>> verifier =
      CheckpointVerifier::FromPemFile(signing_cert_file);
  if (!verifier.ok()) return verifier.status();
  if (last != 0 && first > last) {
    return absl::InvalidArgumentError(absl::StrCat("first (", first, ") is after last (", last, ")"));
  }
  bool present = false;
  absl::Status status = db.WithConnection([&](Connection& connection) -> absl::Status {
    absl::StatusOr<Result> tables = connection.Exec(
        "SELECT to_regclass('access_records') IS NOT NULL AND to_regclass('access_checkpoints') IS NOT NULL "
        "AND to_regclass('access_chain_head') IS NOT NULL");
    if (!tables.ok()) return tables.status();
    present = tables->Text(0, 0) == "t";
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!present) return absl::NotFoundError("the database holds no access log (no access_records table)");
  return VerifyChain(db, **verifier, first, last);
}

}  // namespace interop::accesslog
