// The access log: one record per call to a personal record, allowed or denied, durable before the
// reply is sent, hash-chained and periodically signed so that nobody can quietly change it.
//
// Chain: every record carries `sequence` (1, 2, 3, ... with no gaps), `previous_hash` (the
// `record_hash` of record sequence-1; 32 zero bytes for the first) and
//   record_hash = SHA-256(previous_hash || canonical encoding of the record's fields)
// where the canonical encoding is defined in access_log.cc (length-prefixed fields in a fixed order,
// so that it is the same on every machine and does not depend on protobuf serialisation).
// Changing, deleting, inserting or reordering any stored record breaks the chain at that record.
//
// Checkpoints: at intervals (every `checkpoint_every_records` records or `checkpoint_interval`,
// whichever comes first, when CheckpointNow() is called, and when the log is destroyed) the log
// signs (sequence, record_hash of that record, time) with the gateway's private key (ECDSA P-256
// with SHA-256 through OpenSSL EVP) and stores the signature. A checkpoint fixes the chain up to its
// sequence: even someone who rewrites the records and recomputes every hash cannot produce a matching
// signature without the key.
//
// Group commit: Append() queues the record and returns at once; a single writer thread takes every
// queued record, assigns sequences and hashes, writes them in ONE transaction with
// synchronous=FULL, and only then are the records' `done` callbacks called (with OK, or the error),
// on a completion thread, while the writer commits the next batch. So the cost of an fsync is
// shared by all concurrent appenders, and delivering the answers overlaps the next fsync.
//
// Person index: the durability promise is about the records. The index by person that ListByPerson()
// uses is derived from them and is not written by the group commits (in a commit, every record would
// dirty its own random index page, and the WAL fsyncs whole pages). An indexer thread adds the
// entries of committed records in bulk, sorted by person, every `person_index_interval`; ListByPerson()
// combines the index with a direct scan of the few records not indexed yet, so it is exact at all
// times. After a crash the indexer resumes where its last committed batch ended. With SQLite the
// index lives in a database file of its own (person_index_path), so that its bulk transactions never
// hold the write lock the group commits need, and its pages never ride on their fsyncs.
//
// Two implementations: OpenSqliteAccessLog (one gateway process; what this comment describes) and
// OpenPostgresAccessLog (several gateway replicas on one database: one chain, one order; the group
// commit is per replica, the person index is written with the records; see its comment below).
//
// Thread-safe. Destroying the log (there is no separate Close()) waits for every queued record to be
// committed and its `done` called, writes a final checkpoint, adds the remaining records to the person
// index, and stops the log's threads.
#ifndef INTEROP_GATEWAY_ACCESSLOG_ACCESS_LOG_H_
#define INTEROP_GATEWAY_ACCESSLOG_ACCESS_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace interop::store::pg {
class PostgresDatabase;
}  // namespace interop::store::pg

namespace interop::accesslog {

// What is recorded about one call. Strings are UTF-8.
struct AccessRecord {
  // Filled by the log when the record is committed.
  uint64_t sequence = 0;
  // When the gateway received the call.
  absl::Time time;
  // The gateway's request id (also in the x-request-id response header).
  std::string request_id;
  // The caller, from its certificate; empty if the caller could not be identified.
  std::string caller_organization;
  std::string caller_city;  // "taiyuan", ...
  std::string caller_role;  // "hospital", ...
  // Full gRPC method name, e.g. "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus".
  std::string method;
  // The person whose record was asked for (normalised 18 characters), or the raw value if invalid,
  // truncated to 64 bytes; empty if none was given.
  std::string person;
  // Purpose code name as stated by the caller (e.g. "PURPOSE_TREATMENT"), or empty.
  std::string purpose;
  // gRPC status code of the answer (0 = OK) and, for refusals, the google.rpc.ErrorInfo reason.
  int result_code = 0;
  std::string result_reason;
  // Cities whose backends were consulted, by name, in order.
  std::vector<std::string> cities_consulted;

  // Filled by the log.
  std::string previous_hash;  // 32 bytes
  std::string record_hash;    // 32 bytes
};

// A signed checkpoint of the chain.
struct Checkpoint {
  uint64_t sequence = 0;    // the last record covered
  std::string record_hash;  // that record's hash, 32 bytes
  absl::Time signed_at;
  std::string signature;  // DER-encoded ECDSA signature over CheckpointMessage()
};

// The exact bytes a checkpoint signature covers.
std::string CheckpointMessage(uint64_t sequence, const std::string& record_hash, absl::Time signed_at);

// The hash of a record given its previous hash (what the chain requires of record_hash).
std::string ComputeRecordHash(const AccessRecord& record, const std::string& previous_hash);

// Result of verifying a range.
struct VerificationResult {
  bool ok = false;
  uint64_t records_checked = 0;
  uint64_t checkpoints_checked = 0;
  // When !ok: the sequence of the first record (or checkpoint) found bad, and why, e.g.
  // "record 1041: hash does not match its contents", "record 1042: missing (sequence gap)",
  // "checkpoint at 2000: signature does not verify".
  uint64_t first_bad_sequence = 0;
  std::string problem;
  // The highest sequence covered by a checkpoint that verified (0 if none). Records after it are
  // chained but not yet signed: someone with write access could still rewrite them undetected.
  uint64_t last_signed_sequence = 0;
};

// Counters of the writer since the log was opened, for tests, benchmarks and metrics.
// Mean batch size = records_committed / commits.
struct AccessLogStats {
  uint64_t batches_started = 0;    // batches of records taken from the queue (done or in progress)
  uint64_t commits = 0;            // transactions that committed at least one record or checkpoint
  uint64_t records_committed = 0;  // records made durable
  uint64_t largest_batch = 0;      // most records committed in one transaction
  uint64_t checkpoints = 0;        // checkpoints signed and committed
  uint64_t failed_commits = 0;     // transactions rolled back (their records got an error)
  // The person indexer: the highest sequence whose person entry is in the index (LastSequence()
  // minus this is the tail that ListByPerson() scans directly), and its committed transactions.
  uint64_t person_indexed_through = 0;
  uint64_t person_index_commits = 0;
};

// One transaction of the writer, as AccessLogOptions::commit_observer sees it.
struct AccessLogCommit {
  size_t records = 0;       // access records in it (0: a checkpoint alone)
  bool committed = false;   // false: rolled back, its records got an error
  absl::Duration duration;  // from asking for the write lock to the end of COMMIT (fsync included)
};

struct AccessLogOptions {
  // SQLite only (the PostgreSQL log gets its database as an argument). SQLite database file; the log
  // creates its tables if missing (schema migrations of gateway/store/schema.cc). It may be the file
  // the rest of the gateway uses: the log opens its own connections (a writer with synchronous=FULL,
  // a reader, one for WAL checkpoints, one for the person indexer, and one per Verify() call).
  // ":memory:" is not supported.
  std::string sqlite_path;
  // SQLite only. The person index's own database file (schema: PersonIndexSchemaMigrations() in
  // gateway/store/schema.h), created if missing. Derived data: a missing file, or one that was not
  // built from this log (restored, truncated or replaced log), is rebuilt from the records in the
  // background; ListByPerson() stays exact meanwhile. Empty (the default): PersonIndexPathFor(
  // sqlite_path).
  std::string person_index_path;
  // PEM files of the gateway's signing key pair. The private key signs checkpoints; the public key
  // (or certificate) verifies them.
  std::string signing_key_file;
  std::string signing_cert_file;
  // After a key rotation: PEM files of the earlier keys' certificates (or public keys; a file may be
  // a bundle). They only verify, so that the checkpoints signed before the rotation still do.
  std::vector<std::string> previous_signing_cert_files;
  // Sign a checkpoint once this many records are unsigned (0: never by count).
  uint64_t checkpoint_every_records = 10000;
  // ... or once this long has passed since the last checkpoint and there are unsigned records
  // (zero, negative or InfiniteDuration(): never by time).
  absl::Duration checkpoint_interval = absl::Seconds(60);
  // At most this many queued records are written in one transaction (0 is taken as 1).
  size_t max_batch = 1024;
  // How often the indexer adds the records committed since its last run to the person index (see
  // the top of this file); it also runs when the log is destroyed. Longer: bigger, cheaper index
  // batches, and a longer tail of unindexed records for every ListByPerson() to scan (about
  // interval x append rate records). Zero, negative or InfiniteDuration(): only when the log is
  // destroyed (for tests; in production the tail would grow without bound). SQLite only: the
  // PostgreSQL log indexes each record in the transaction that commits it.
  absl::Duration person_index_interval = absl::Milliseconds(200);
  // For metrics: called on the writer thread after each transaction, committed or not. Must be
  // quick, must not block and must not call the log. Empty (the default): nothing is timed.
  std::function<void(const AccessLogCommit&)> commit_observer;
};

class AccessLog {
 public:
  virtual ~AccessLog() = default;

  // Queues `record` for the next group commit and returns at once. `done` is called exactly once, on
  // the log's completion thread (never inside Append(), and with no lock of the log held, so it may
  // Append() again), after the record is durable (OK, with the assigned sequence) or could not be
  // written (INTERNAL; the caller must then not send a successful reply). Callbacks run one at a
  // time, in the order the records were committed (or failed). `done` must not block: it delays
  // every later callback.
  virtual void Append(AccessRecord record, std::function<void(absl::StatusOr<uint64_t>)> done) = 0;

  // Every record about `person`, newest first, starting below `before_sequence` (0 = from the newest),
  // at most `limit` records. To page, pass the smallest sequence returned as the next `before_sequence`.
  // Exact whether or not the person indexer has caught up: every record whose `done` was called
  // before the call is included. Reads one snapshot. Cost: an index range plus a scan of the
  // records not yet indexed (Stats().person_indexed_through). A record whose person was changed in
  // the file behind the log's back may be missing from the result (Verify() reports the change).
  // INVALID_ARGUMENT if `limit` <= 0; INTERNAL (SQLite); DATA_LOSS if a stored row cannot be decoded.
  virtual absl::StatusOr<std::vector<AccessRecord>> ListByPerson(const std::string& person,
                                                                 uint64_t before_sequence, int limit) = 0;

  // The records with `first <= sequence <= last` as stored (for verification and export), in sequence
  // order; missing sequences are simply absent. INVALID_ARGUMENT if first > last; INTERNAL; DATA_LOSS.
  virtual absl::StatusOr<std::vector<AccessRecord>> ReadRange(uint64_t first, uint64_t last) = 0;

  // Verifies records `first..last` (last = 0: up to the newest): sequence continuity, every hash, the
  // link to record first-1, and every checkpoint in the range against the public key. With last = 0
  // the range extends to the newest record or checkpoint, so a checkpoint beyond the newest record
  // (a truncated log) is reported as missing records. A bad log is an OK status with !result.ok;
  // the status is an error only if the check could not run (INVALID_ARGUMENT if last != 0 and
  // first > last; INTERNAL for SQLite). first = 0 is taken as 1. Reads one snapshot through its own
  // read-only connection, so it neither blocks nor is blocked by appends and ListByPerson().
  virtual absl::StatusOr<VerificationResult> Verify(uint64_t first, uint64_t last) = 0;

  // Writes a checkpoint of the newest record now (if it is not already checkpointed), after
  // committing every record appended before the call. Blocks until it is durable. OK and nothing
  // written if the log is empty. INTERNAL if signing or the commit fails.
  virtual absl::Status CheckpointNow() = 0;

  // Highest committed sequence (0 if empty).
  virtual uint64_t LastSequence() = 0;

  // The writer's counters. Implementations that do not batch may keep the default (all zero).
  virtual AccessLogStats Stats() { return {}; }
};

// Opens (creating if needed) the SQLite-backed log and starts its writer thread. Resumes the chain
// from the last stored record, or from the last checkpoint if that is newer (records were lost or
// deleted: the next record links to the signed hash, and Verify reports the gap rather than the log
// silently reusing the sequences). Errors: INTERNAL (SQLite), FAILED_PRECONDITION (the file's schema
// is newer than this gateway's), INVALID_ARGUMENT naming the key file if the key cannot be loaded,
// is not EC P-256, or the private key does not match signing_cert_file, or if sqlite_path is empty
// or ":memory:".
absl::StatusOr<std::unique_ptr<AccessLog>> OpenSqliteAccessLog(const AccessLogOptions& options);

// The default person index file beside the log's database file: `sqlite_path` + ".person-index".
std::string PersonIndexPathFor(const std::string& sqlite_path);

// Verifies a log database offline, with only the public key/certificate: what `accesslog-verify`
// runs. Every key in `signing_cert_file` is trusted: after a key rotation, give a bundle of the
// current certificate and the earlier ones. Does not need (or load) the private key. Opens the file read-only and never changes it (no
// migrations); safe to run while a gateway is writing (it reads one consistent snapshot). Errors:
// INVALID_ARGUMENT naming the certificate file, or for first > last (last != 0); NOT_FOUND if the
// database cannot be opened or holds no access log; INTERNAL (SQLite).
absl::StatusOr<VerificationResult> VerifyAccessLogFile(const std::string& sqlite_path,
                                                       const std::string& signing_cert_file, uint64_t first,
                                                       uint64_t last);

// Opens the log in the PostgreSQL database `db` that several gateway replicas share (creating its
// tables through db.Migrate("access_log", ...), safe when replicas start together), and starts its
// writer thread. `db` is borrowed and must outlive the log; the log takes one of its pooled
// connections per group commit and per read (so give the pool at least 2).
//
// Across replicas (separate processes, each with its own pool and its own AccessLog on the same
// database) the chain has one order: each group commit locks the row of access_chain_head (SELECT
// ... FOR UPDATE), takes its sequences and previous hash from it, inserts its records and moves the
// head in the same transaction. Sequences are 1, 2, 3, ... without gap or duplicate whichever
// replica wrote them, and `done` is called only after COMMIT returned with synchronous_commit on
// (the WAL flushed to disk; with a synchronous standby configured, also confirmed by it). If the
// connection breaks during COMMIT the outcome is unknown: the records get INTERNAL although they may
// be stored, which fails safe (no acknowledged call lacks its record).
//
// Checkpoints across replicas: every replica signs with the same gateway key (the replicas share the
// gateway's identity), into the same access_checkpoints table, and the decision is taken under the
// head lock from the database: the transaction whose records bring the unsigned records (those after
// the newest stored checkpoint, written by any replica) to checkpoint_every_records signs its newest
// record; so does a transaction committed checkpoint_interval after the newest stored checkpoint's
// signed_at (the signing replica's clock); CheckpointNow() and destroying a log sign the head of the
// whole chain. An idle replica wakes after checkpoint_interval if its last transaction left unsigned
// records and signs unless another replica has meanwhile. Verify() on any replica checks the whole
// chain, whoever wrote and signed it.
//
// ListByPerson() reads one index range (the index is written with the records, so there is no tail
// to scan, and Stats().person_indexed_through is the newest sequence this replica has seen).
// LastSequence() reads the head of the shared chain (what this replica last saw if the database
// cannot be reached). Verify(): as documented above, in one REPEATABLE READ snapshot on its own
// pooled connection; with last = 0 the range extends to the newest record, checkpoint or chain head,
// so records deleted from the end of the chain are reported even after the newest checkpoint.
//
// On open, under the head lock, a missing or lagging head row (changed behind the log's back) is
// set to the newest stored record or checkpoint. Errors: INVALID_ARGUMENT for the keys, as for
// OpenSqliteAccessLog; UNAVAILABLE if the database cannot be reached; FAILED_PRECONDITION if its
// access_log schema is newer than this gateway's; INTERNAL for other PostgreSQL errors.
absl::StatusOr<std::unique_ptr<AccessLog>> OpenPostgresAccessLog(const AccessLogOptions& options,
                                                                 store::pg::PostgresDatabase& db);

// Verifies the log stored in `db` with only the public key/certificate (every key of
// `signing_cert_file`, a bundle after a key rotation), without changing anything
// (no migrations), in one snapshot; safe while replicas append. Errors: INVALID_ARGUMENT naming the
// certificate file, or for first > last (last != 0); NOT_FOUND if the database holds no access log;
// UNAVAILABLE or INTERNAL from PostgreSQL.
absl::StatusOr<VerificationResult> VerifyPostgresAccessLog(store::pg::PostgresDatabase& db,
                                                           const std::string& signing_cert_file,
                                                           uint64_t first, uint64_t last);

}  // namespace interop::accesslog

#endif  // INTEROP_GATEWAY_ACCESSLOG_ACCESS_LOG_H_
