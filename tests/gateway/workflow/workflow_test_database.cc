#include "tests/gateway/workflow/workflow_test_database.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace interop::workflow {

std::string BackendName(Backend backend) { return backend == Backend::kSqlite ? "Sqlite" : "Postgres"; }

std::vector<Backend> AllBackends() { return {Backend::kSqlite, Backend::kPostgres}; }

TestDatabase::TestDatabase(Backend backend) : backend_(backend) {
  if (backend_ == Backend::kPostgres) {
    schema_ = std::make_unique<store::pg::TestSchema>();
    return;
  }
  std::string pattern = absl::StrCat(::testing::TempDir(), "/workflow_test_XXXXXX");
  char* made = mkdtemp(pattern.data());
  if (made == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << pattern;
    abort();
  }
  sqlite_dir_ = made;
}

TestDatabase::~TestDatabase() {
  pools_.clear();
  schema_.reset();
  if (!sqlite_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(sqlite_dir_, ignored);
  }
}

absl::StatusOr<std::unique_ptr<WorkflowStore>> TestDatabase::OpenStore(int pool_size) {
  if (backend_ == Backend::kSqlite) return OpenSqliteWorkflowStore(sqlite_dir_ + "/gateway.db");
  absl::StatusOr<std::unique_ptr<store::pg::PostgresDatabase>> pool =
      store::pg::PostgresDatabase::Open({schema_->conninfo(), pool_size});
  if (!pool.ok()) return pool.status();
  pools_.push_back(*std::move(pool));
  return OpenPostgresWorkflowStore(*pools_.back());
}

absl::Status TestDatabase::ExecRaw(const std::string& sql) {
  if (backend_ == Backend::kPostgres) {
    absl::StatusOr<std::unique_ptr<store::pg::Connection>> connection =
        store::pg::Connect(schema_->conninfo());
    if (!connection.ok()) return connection.status();
    return (*connection)->ExecScript(sql);
  }
  sqlite3* db = nullptr;
  if (sqlite3_open((sqlite_dir_ + "/gateway.db").c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return absl::InternalError("cannot open the SQLite file");
  }
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error == nullptr ? "" : error;
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc == SQLITE_OK) return absl::OkStatus();
  if (rc == SQLITE_CONSTRAINT) return absl::AlreadyExistsError(message);
  return absl::InternalError(message);
}

}  // namespace interop::workflow
