// Online backup of one of the gateway's SQLite files, while the gateway keeps writing to it.
//
//   absl::StatusOr<SqliteBackupResult> copied = BackUpSqliteFile("/var/lib/interop/gateway.db",
//                                                               "/backup/2026-11-27/gateway.db");
//
// The copy is one consistent snapshot of the file (what its committed transactions had written at
// one instant, WAL included), made with SQLite's online backup API from a read-only connection: the
// gateway's writers are not stopped (in WAL mode a reader never blocks a writer), and the source is
// never changed. The copy is written to `to` + ".partial", synced, checked (PRAGMA quick_check) and
// only then renamed to `to`, so `to` is either absent or a whole, checked database.
#ifndef INTEROP_GATEWAY_STORE_SQLITE_BACKUP_H_
#define INTEROP_GATEWAY_STORE_SQLITE_BACKUP_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace interop::store {

struct SqliteBackupResult {
  int64_t pages = 0;      // pages copied
  int64_t page_size = 0;  // bytes per page
};

// Copies the database at `from` to `to` as described above. NOT_FOUND if `from` does not exist;
// ALREADY_EXISTS if `to` does (a backup is never overwritten); INTERNAL with SQLite's message if the
// copy or its check fails (nothing is left at `to` then).
absl::StatusOr<SqliteBackupResult> BackUpSqliteFile(const std::string& from, const std::string& to);

}  // namespace interop::store

#endif  // INTEROP_GATEWAY_STORE_SQLITE_BACKUP_H_
