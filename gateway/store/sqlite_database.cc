#include "gateway/store/sqlite_database.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace interop::store {
namespace {

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(absl::StrCat("sqlite: ", what, ": ", db ? sqlite3_errmsg(db) : "out of memory"));
}

absl::StatusOr<int> UserVersion(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db, "reading user_version");
  }
  int version = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  if (version < 0) return SqliteError(db, "reading user_version");
  return version;
}

}  // namespace

absl::Status SqliteDatabase::Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return absl::InternalError(absl::StrCat("sqlite: ", message));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(const std::string& path,
                                                                     const std::vector<std::string>& migrations) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    absl::Status status = SqliteError(db, absl::StrCat("opening \"", path, "\""));
    sqlite3_close(db);
    return status;
  }
  std::unique_ptr<SqliteDatabase> database(new SqliteDatabase(db));
  sqlite3_busy_timeout(db, 5000);
  // temp_store=MEMORY keeps the sub-journal of SAVEPOINTs (the settlement ledger runs each write of
  // a group commit in one) in memory. By default it spills to a temporary file after 64 KiB and then
  // stays a file for the rest of the transaction: two pwrite() calls per page touched, which were
  // most of the gateway's disk writes under a settlement load. The sub-journal only serves rollback
  // to a savepoint; durability is the WAL's and is unchanged.
  absl::Status status =
      Exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;");
  if (!status.ok()) return status;

  absl::StatusOr<int> version = UserVersion(db);
  if (!version.ok()) return version.status();
  if (*version > static_cast<int>(migrations.size())) {
    return absl::FailedPreconditionError(absl::StrCat("store \"", path, "\" has schema version ", *version,
                                                      " but this gateway knows only ", migrations.size()));
  }
  for (size_t i = *version; i < migrations.size(); ++i) {
    std::string script = absl::StrCat("BEGIN IMMEDIATE;", migrations[i], "; PRAGMA user_version = ", i + 1,
                                      "; COMMIT;");
    status = Exec(db, script);
    if (!status.ok()) {
      Exec(db, "ROLLBACK;").IgnoreError();
      return absl::InternalError(absl::StrCat("applying schema migration ", i + 1, ": ", status.message()));
    }
  }
  return database;
}

SqliteDatabase::~SqliteDatabase() {
  absl::MutexLock lock(&mu_);
  sqlite3_close(db_);
}

absl::Status SqliteDatabase::WithConnection(const std::function<absl::Status(sqlite3*)>& fn) {
  absl::MutexLock lock(&mu_);
  return fn(db_);
}

}  // namespace interop::store
