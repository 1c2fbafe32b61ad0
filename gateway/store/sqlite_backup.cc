#include "gateway/store/sqlite_backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace interop::store {
namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, CloseDb>;

absl::Status SqliteError(sqlite3* db, const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

// fsync of the file or directory at `path`.
absl::Status SyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("opening ", path, " to sync it failed"));
  const int synced = ::fsync(fd);
  ::close(fd);
  if (synced != 0) return absl::InternalError(absl::StrCat("syncing ", path, " failed"));
  return absl::OkStatus();
}

// The copy, from the open source into a new file at `partial`, checked.
absl::StatusOr<SqliteBackupResult> CopyInto(sqlite3* source, const std::string& partial) {
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open_v2(partial.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  DbPtr copy(raw);
  if (opened != SQLITE_OK) return SqliteError(copy.get(), absl::StrCat("creating ", partial));
  sqlite3_backup* backup = sqlite3_backup_init(copy.get(), "main", source, "main");
  if (backup == nullptr) return SqliteError(copy.get(), "starting the backup");
  // All pages in one step: one read transaction on the source, so one snapshot.
  const int stepped = sqlite3_backup_step(backup, -1);
  SqliteBackupResult result;
  result.pages = sqlite3_backup_pagecount(backup);
  if (sqlite3_backup_finish(backup) != SQLITE_OK || stepped != SQLITE_DONE) {
    return SqliteError(copy.get(), "copying the pages");
  }
  // The source's WAL mode came with the pages; the copy is a single file.
  if (sqlite3_exec(copy.get(), "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(copy.get(), "leaving WAL mode in the copy");
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(copy.get(), "PRAGMA quick_check", -1, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(copy.get(), "checking the copy");
  }
  std::string verdict;
  if (sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    verdict = text != nullptr ? reinterpret_cast<const char*>(text) : "";
  }
  sqlite3_finalize(stmt);
  if (verdict != "ok") return absl::InternalError(absl::StrCat("the copy fails PRAGMA quick_check: ", verdict));
  sqlite3_stmt* size = nullptr;
  if (sqlite3_prepare_v2(copy.get(), "PRAGMA page_size", -1, &size, nullptr) == SQLITE_OK &&
      sqlite3_step(size) == SQLITE_ROW) {
    result.page_size = sqlite3_column_int64(size, 0);
  }
  sqlite3_finalize(size);
  return result;
}

}  // namespace

absl::StatusOr<SqliteBackupResult> BackUpSqliteFile(const std::string& from, const std::string& to) {
  std::error_code error;
  if (!std::filesystem::exists(from, error)) return absl::NotFoundError(absl::StrCat(from, ": no such database"));
  if (std::filesystem::exists(to, error)) {
    return absl::AlreadyExistsError(absl::StrCat(to, ": exists already; a backup is never overwritten"));
  }
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open_v2(from.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  DbPtr source(raw);
  if (opened != SQLITE_OK) return SqliteError(source.get(), absl::StrCat("opening ", from));
  sqlite3_busy_timeout(source.get(), 10000);

  const std::string partial = to + ".partial";
  std::filesystem::remove(partial, error);
  absl::StatusOr<SqliteBackupResult> result = CopyInto(source.get(), partial);
  absl::Status status = result.status();
  if (status.ok()) status = SyncPath(partial);
  if (status.ok()) {
    std::filesystem::rename(partial, to, error);
    if (error) status = absl::InternalError(absl::StrCat("renaming ", partial, " to ", to, ": ", error.message()));
  }
  if (status.ok()) {
    const std::filesystem::path directory = std::filesystem::absolute(to).parent_path();
    status = SyncPath(directory.string());
  }
  if (!status.ok()) {
    std::filesystem::remove(partial, error);
    std::filesystem::remove(partial + "-journal", error);
    return status;
  }
  return result;
}

}  // namespace interop::store
