// SqliteDatabase: a small owner of one SQLite connection, with versioned schema migrations.
//
// The gateway's embedded store. Opened in WAL mode so readers never wait for the writer. Migrations
// are an ordered list of SQL scripts; the database's `user_version` records how many have been
// applied, and Open() applies the rest in one transaction each.
//
// Thread-safe: the connection is serialised by an internal mutex; callers use WithConnection().
#ifndef INTEROP_GATEWAY_STORE_SQLITE_DATABASE_H_
#define INTEROP_GATEWAY_STORE_SQLITE_DATABASE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

struct sqlite3;

namespace interop::store {

class SqliteDatabase {
 public:
  // Opens (creating if missing) the database at `path` (":memory:" for a private in-memory one) and
  // applies `migrations[user_version..]`. INTERNAL with SQLite's message on failure;
  // FAILED_PRECONDITION if the file's schema is newer than `migrations` (a downgrade).
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> Open(const std::string& path,
                                                              const std::vector<std::string>& migrations);
  ~SqliteDatabase();

  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  // Runs `fn` with exclusive use of the connection.
  absl::Status WithConnection(const std::function<absl::Status(sqlite3*)>& fn);

  // Executes SQL without results. INTERNAL with SQLite's message on failure.
  static absl::Status Exec(sqlite3* db, const std::string& sql);

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace interop::store

#endif  // INTEROP_GATEWAY_STORE_SQLITE_DATABASE_H_
