// The schema of the gateway's embedded store, as versioned migrations.
//
// One SQL script per version, applied in order by SqliteDatabase::Open (which records the version in
// SQLite's user_version). Append only: never edit a released step; add a new one.
#ifndef INTEROP_GATEWAY_STORE_SCHEMA_H_
#define INTEROP_GATEWAY_STORE_SCHEMA_H_

#include <string>
#include <vector>

namespace interop::store {

const std::vector<std::string>& GatewaySchemaMigrations();

}  // namespace interop::store

#endif  // INTEROP_GATEWAY_STORE_SCHEMA_H_
