#include "gateway/store/schema.h"

namespace interop::store {

const std::vector<std::string>& GatewaySchemaMigrations() {
  static const auto* migrations = new std::vector<std::string>{
      // 1: the record locator's index.
      "CREATE TABLE record_locations ("
      "  resident_id TEXT NOT NULL,"
      "  domain INTEGER NOT NULL,"
      "  cities TEXT NOT NULL,"
      "  learned_at_unix_ms INTEGER NOT NULL,"
      "  PRIMARY KEY (resident_id, domain)) WITHOUT ROWID",
      // 2: the access log (gateway/accesslog): one hash-chained row per call to a personal record,
      // and the signed checkpoints of the chain. Times are unix microseconds; hashes are 32-byte
      // SHA-256 values; cities_consulted is a JSON array of city names ('["taiyuan","jinzhong"]').
      "CREATE TABLE access_records ("
      "  sequence INTEGER PRIMARY KEY,"
      "  time_unix_us INTEGER NOT NULL,"
      "  request_id TEXT NOT NULL,"
      "  caller_organization TEXT NOT NULL,"
      "  caller_city TEXT NOT NULL,"
      "  caller_role TEXT NOT NULL,"
      "  method TEXT NOT NULL,"
      "  person TEXT NOT NULL,"
      "  purpose TEXT NOT NULL,"
      "  result_code INTEGER NOT NULL,"
      "  result_reason TEXT NOT NULL,"
      "  cities_consulted TEXT NOT NULL,"
      "  previous_hash BLOB NOT NULL,"
      "  record_hash BLOB NOT NULL);"
      "CREATE INDEX access_records_by_person ON access_records (person, sequence);"
      "CREATE TABLE access_checkpoints ("
      "  sequence INTEGER PRIMARY KEY,"
      "  record_hash BLOB NOT NULL,"
      "  signed_at_unix_us INTEGER NOT NULL,"
      "  signature BLOB NOT NULL)",
      // 3: the access log's person index leaves the commit path. Maintained inside every group
      // commit, the index on access_records (person, sequence) made each record dirty its own random
      // index page. It is derived data (rebuildable from the records), so it becomes a table that the
      // log's indexer thread fills in bulk, sorted by person, after the records are durable:
      // access_person_index holds (person, sequence) of every record up to
      // access_index_state.indexed_through (one row); ListByPerson reads the records above that
      // directly from access_records. Existing records are indexed here, in the migration.
      "DROP INDEX IF EXISTS access_records_by_person;"
      "CREATE TABLE access_person_index ("
      "  person TEXT NOT NULL,"
      "  sequence INTEGER NOT NULL,"
      "  PRIMARY KEY (person, sequence)) WITHOUT ROWID;"
      "CREATE TABLE access_index_state (indexed_through INTEGER NOT NULL);"
      "INSERT INTO access_person_index (person, sequence)"
      "  SELECT person, sequence FROM access_records ORDER BY person, sequence;"
      "INSERT INTO access_index_state (indexed_through)"
      "  SELECT COALESCE(MAX(sequence), 0) FROM access_records",
      // 4: the settlement ledger (gateway/settlement/ledger.h). One row of settlements per
      // settlement: cities are interop.common.v1.City numbers; settled_day is the China Standard
      // Time day of settled_at_unix as the integer yyyymmdd (20240315); state is the
      // interop.medical.v1.SettlementState number; settlement is the serialized
      // interop.medical.v1.Settlement as answered (replaced by the reversed one on reversal);
      // amount_fen is the claim on the insured city (fund pay + personal-account pay) as settled;
      // times are unix seconds, reversed_at_unix 0 until reversed; request_digest is the 32-byte
      // SHA-256 of the request. settlement_events is append-only: kind +1 when settled and -1 when
      // reversed, day (yyyymmdd, CST) of that event, the settlement's cities and its amount_fen.
      "CREATE TABLE settlements ("
      "  settlement_id TEXT PRIMARY KEY NOT NULL,"
      "  caller_organization TEXT NOT NULL,"
      "  idempotency_key TEXT NOT NULL,"
      "  request_digest BLOB NOT NULL,"
      "  resident_id TEXT NOT NULL,"
      "  treatment_city INTEGER NOT NULL,"
      "  insured_city INTEGER NOT NULL,"
      "  settled_day INTEGER NOT NULL,"
      "  state INTEGER NOT NULL,"
      "  amount_fen INTEGER NOT NULL,"
      "  settlement BLOB NOT NULL,"
      "  settled_at_unix INTEGER NOT NULL,"
      "  reversed_at_unix INTEGER NOT NULL DEFAULT 0,"
      "  UNIQUE (caller_organization, idempotency_key));"
      "CREATE INDEX settlements_by_insured_city ON settlements (insured_city, settled_day);"
      "CREATE TABLE settlement_events ("
      "  seq INTEGER PRIMARY KEY,"
      "  settlement_id TEXT NOT NULL,"
      "  kind INTEGER NOT NULL CHECK (kind IN (1, -1)),"
      "  day INTEGER NOT NULL,"
      "  treatment_city INTEGER NOT NULL,"
      "  insured_city INTEGER NOT NULL,"
      "  amount_fen INTEGER NOT NULL);"
      "CREATE INDEX settlement_events_by_day ON settlement_events (day);"
      // settlement_intents: a settlement computed and about to be committed by its insured city,
      // written before the city is asked and removed when the settlement is recorded (or abandoned);
      // what is left after a crash is resolved with the city at start-up. `settlement` is the
      // serialized Settlement as it would be answered.
      "CREATE TABLE settlement_intents ("
      "  settlement_id TEXT PRIMARY KEY NOT NULL,"
      "  caller_organization TEXT NOT NULL,"
      "  idempotency_key TEXT NOT NULL,"
      "  request_digest BLOB NOT NULL,"
      "  settlement BLOB NOT NULL)",
      // 5: durable cross-city workflows (gateway/workflow/workflow_store.h). workflows holds one row
      // per instance: status is the WorkflowStatus number (1 RUNNING, 2 WAITING_RETRY, 3 SUCCEEDED,
      // 4 FAILED, 5 REJECTED, 6 TIMED_OUT); data is the workflow's own serialized proto; step_seq
      // counts the state changes committed (it names the outbox entries of the current step);
      // lease_owner is '' when no replica holds the lease, and lease_epoch grows with every grant (a
      // commit must present the epoch it was granted: the fencing token). Times are unix
      // microseconds. At most one unfinished (RUNNING or WAITING_RETRY) workflow per subject: the
      // partial unique index. workflow_history is append-only, numbered per workflow from 1.
      // workflow_outbox holds the requests a step sends to cities, written in the transaction that
      // decided them; idempotency_key is "<workflow_id>/<step_seq>/<state>/<name>";
      // done_at_unix_us is 0 until the step that sent it commits.
      "CREATE TABLE workflows ("
      "  workflow_id TEXT PRIMARY KEY NOT NULL,"
      "  type TEXT NOT NULL,"
      "  subject TEXT NOT NULL,"
      "  state TEXT NOT NULL,"
      "  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 6),"
      "  data BLOB NOT NULL,"
      "  reason TEXT NOT NULL,"
      "  attempts INTEGER NOT NULL,"
      "  step_seq INTEGER NOT NULL,"
      "  next_attempt_at_unix_us INTEGER NOT NULL,"
      "  deadline_unix_us INTEGER NOT NULL,"
      "  lease_owner TEXT NOT NULL,"
      "  lease_expires_at_unix_us INTEGER NOT NULL,"
      "  lease_epoch INTEGER NOT NULL,"
      "  created_at_unix_us INTEGER NOT NULL,"
      "  updated_at_unix_us INTEGER NOT NULL);"
      "CREATE UNIQUE INDEX workflows_one_unfinished_per_subject ON workflows (subject)"
      "  WHERE status IN (1, 2);"
      "CREATE INDEX workflows_due ON workflows (next_attempt_at_unix_us) WHERE status IN (1, 2);"
      "CREATE INDEX workflows_by_subject ON workflows (subject, created_at_unix_us, workflow_id);"
      "CREATE INDEX workflows_by_type ON workflows (type, created_at_unix_us, workflow_id);"
      "CREATE INDEX workflows_by_status ON workflows (status, created_at_unix_us, workflow_id);"
      "CREATE INDEX workflows_by_created ON workflows (created_at_unix_us, workflow_id);"
      "CREATE TABLE workflow_history ("
      "  workflow_id TEXT NOT NULL REFERENCES workflows (workflow_id),"
      "  seq INTEGER NOT NULL,"
      "  at_unix_us INTEGER NOT NULL,"
      "  kind INTEGER NOT NULL,"
      "  from_state TEXT NOT NULL,"
      "  to_state TEXT NOT NULL,"
      "  status INTEGER NOT NULL,"
      "  attempt INTEGER NOT NULL,"
      "  replica TEXT NOT NULL,"
      "  reason TEXT NOT NULL,"
      "  PRIMARY KEY (workflow_id, seq)) WITHOUT ROWID;"
      "CREATE TABLE workflow_outbox ("
      "  idempotency_key TEXT PRIMARY KEY NOT NULL,"
      "  workflow_id TEXT NOT NULL REFERENCES workflows (workflow_id),"
      "  step_seq INTEGER NOT NULL,"
      "  state TEXT NOT NULL,"
      "  name TEXT NOT NULL,"
      "  destination TEXT NOT NULL,"
      "  payload BLOB NOT NULL,"
      "  created_at_unix_us INTEGER NOT NULL,"
      "  done_at_unix_us INTEGER NOT NULL DEFAULT 0);"
      "CREATE INDEX workflow_outbox_by_step ON workflow_outbox (workflow_id, step_seq)",
      // 6: the access log's person index moves to a database file of its own (see
      // PersonIndexSchemaMigrations below). In this file, each indexer transaction held the write
      // lock that every group commit of the log, the ledger and the workflows needs, for up to tens
      // of milliseconds, and its pages rode on their fsyncs. The index is derived data: the log's
      // indexer rebuilds it in the new file from the records.
      "DROP TABLE IF EXISTS access_person_index;"
      "DROP TABLE IF EXISTS access_index_state",
      // 7: a settlement intent names the gateway replica that wrote it
      // (settlement::LedgerEntry::intent_owner); '' for the intents written before.
      "ALTER TABLE settlement_intents ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
  };
  return *migrations;
}

const std::vector<std::string>& PersonIndexSchemaMigrations() {
  static const auto* migrations = new std::vector<std::string>{
      // 1: person_index holds (person, sequence) of every access record up to
      // index_state.indexed_through (one row). index_state.record_hash is the record_hash of the
      // access record at indexed_through (empty while it is 0): it binds this file to the log it
      // was built from, so that an index kept beside a log restored from a backup, truncated or
      // replaced is recognized and rebuilt rather than trusted.
      "CREATE TABLE person_index ("
      "  person TEXT NOT NULL,"
      "  sequence INTEGER NOT NULL,"
      "  PRIMARY KEY (person, sequence)) WITHOUT ROWID;"
      "CREATE TABLE index_state (indexed_through INTEGER NOT NULL, record_hash BLOB NOT NULL);"
      "INSERT INTO index_state (indexed_through, record_hash) VALUES (0, x'')",
  };
  return *migrations;
}

}  // namespace interop::store
