// The schema of the gateway's embedded store, as versioned migrations.
//
// One SQL script per version, applied in order by SqliteDatabase::Open (which records the version in
// SQLite's user_version). Append only: never edit a released step; add a new one.
#ifndef INTEROP_GATEWAY_STORE_SCHEMA_H_
#define INTEROP_GATEWAY_STORE_SCHEMA_H_

#include <string>
#include <vector>

namespace interop::store {

// The gateway's database file: location index, access log, settlement ledger, workflows.
const std::vector<std::string>& GatewaySchemaMigrations();

// The access log's person index, a database file of its own beside the gateway's (derived data:
// deleting the file only makes the log rebuild it). See gateway/accesslog/sqlite_access_log.cc.
const std::vector<std::string>& PersonIndexSchemaMigrations();

}  // namespace interop::store

#endif  // INTEROP_GATEWAY_STORE_SCHEMA_H_
