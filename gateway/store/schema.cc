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
  };
  return *migrations;
}

}  // namespace interop::store
