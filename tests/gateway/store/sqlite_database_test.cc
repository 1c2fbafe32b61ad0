#include "gateway/store/sqlite_database.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::store {
namespace {

using ::testing::HasSubstr;

// A database file in the test's temp dir, removed (with its WAL files) before and after the test.
class TempDatabaseFile {
 public:
  TempDatabaseFile() {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = absl::StrCat(::testing::TempDir(), "sqlite_database_test_", getpid(), "_", test->name(), ".db");
    Remove();
  }
  ~TempDatabaseFile() { Remove(); }
  const std::string& path() const { return path_; }

 private:
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove(absl::StrCat(path_, suffix).c_str());
  }
  std::string path_;
};

// Runs a query that returns one integer (or text, via QueryText).
absl::StatusOr<std::string> QueryText(SqliteDatabase& db, const std::string& sql) {
  std::string value;
  absl::Status status = db.WithConnection([&](sqlite3* conn) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(conn, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      return absl::InternalError(sqlite3_errmsg(conn));
    }
    absl::Status result = absl::NotFoundError("no row");
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      value = text ? reinterpret_cast<const char*>(text) : "";
      result = absl::OkStatus();
    }
    sqlite3_finalize(stmt);
    return result;
  });
  if (!status.ok()) return status;
  return value;
}

int QueryInt(SqliteDatabase& db, const std::string& sql) {
  absl::StatusOr<std::string> text = QueryText(db, sql);
  EXPECT_TRUE(text.ok()) << sql << ": " << text.status();
  return text.ok() ? std::stoi(*text) : -1;
}

bool TableExists(SqliteDatabase& db, const std::string& table) {
  return QueryInt(db, absl::StrCat("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='", table,
                                   "'")) == 1;
}

const std::vector<std::string> kTwoMigrations = {
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
    "INSERT INTO notes (text) VALUES ('from migration 2')",
};

TEST(SqliteDatabaseTest, InMemoryAppliesEveryMigration) {
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(":memory:", kTwoMigrations);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(QueryInt(**db, "PRAGMA user_version"), 2);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM notes"), 1);
}

TEST(SqliteDatabaseTest, NoMigrationsLeavesVersionZero) {
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(":memory:", {});
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(QueryInt(**db, "PRAGMA user_version"), 0);
}

TEST(SqliteDatabaseTest, FileIsOpenedInWalMode) {
  TempDatabaseFile file;
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(file.path(), kTwoMigrations);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<std::string> mode = QueryText(**db, "PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok()) << mode.status();
  EXPECT_EQ(*mode, "wal");
}

TEST(SqliteDatabaseTest, ReopeningDoesNotReapplyMigrations) {
  TempDatabaseFile file;
  {
    absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(file.path(), kTwoMigrations);
    ASSERT_TRUE(db.ok()) << db.status();
    EXPECT_EQ(QueryInt(**db, "PRAGMA user_version"), 2);
    EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM notes"), 1);
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(file.path(), kTwoMigrations);
    ASSERT_TRUE(db.ok()) << db.status();
    EXPECT_EQ(QueryInt(**db, "PRAGMA user_version"), 2);
    // Migration 2 inserts a row: had it run again there would be two.
    EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM notes"), 1);
  }
}

TEST(SqliteDatabaseTest, ReopeningWithMoreMigrationsAppliesOnlyTheNewOnes) {
  TempDatabaseFile file;
  {
    absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(file.path(), kTwoMigrations);
    ASSERT_TRUE(db.ok()) << db.status();
  }
  std::vector<std::string> three = kTwoMigrations;
  three.push_back("ALTER TABLE notes ADD COLUMN author TEXT; INSERT INTO notes (text, author) VALUES ('3', 'me')");
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(file.path(), three);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(QueryInt(**db, "PRAGMA user_version"), 3);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM notes"), 2);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM notes WHERE author = 'me'"), 1);
}

TEST(SqliteDatabaseTest, NewerSchemaThanKnownIsFailedPrecondition) {
  TempDatabaseFile file;
  std::vector<std::string> three = kTwoMigrations;
  three.push_back("CREATE TABLE later (x)");
  {
    absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(file.path(), three);
    ASSERT_TRUE(db.ok()) << db.status();
  }
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> older = SqliteDatabase::Open(file.path(), kTwoMigrations);
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.status().code(), absl::StatusCode::kFailedPrecondition) << older.status();
  EXPECT_THAT(std::string(older.status().message()), HasSubstr("3"));
  EXPECT_THAT(std::string(older.status().message()), HasSubstr(file.path()));

  // The refused open changed nothing.
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(file.path(), three);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(QueryInt(**db, "PRAGMA user_version"), 3);
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM notes"), 1);
}

TEST(SqliteDatabaseTest, FailedMigrationIsRolledBackAndReported) {
  TempDatabaseFile file;
  std::vector<std::string> broken = {
      kTwoMigrations[0],
      "CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1)",
  };
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> failed = SqliteDatabase::Open(file.path(), broken);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal) << failed.status();
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("migration 2"));
  EXPECT_THAT(std::string(failed.status().message()), HasSubstr("no_such_table"));

  // Migration 1 stayed applied; migration 2 left nothing behind.
  std::vector<std::string> fixed = {kTwoMigrations[0]};
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(file.path(), fixed);
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(QueryInt(**db, "PRAGMA user_version"), 1);
  EXPECT_TRUE(TableExists(**db, "notes"));
  EXPECT_FALSE(TableExists(**db, "half_done"));
}

TEST(SqliteDatabaseTest, UnopenablePathIsInternal) {
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db =
      SqliteDatabase::Open("/nonexistent-directory-for-test/sub/store.db", kTwoMigrations);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kInternal) << db.status();
}

TEST(SqliteDatabaseTest, ExecReportsSqliteErrorsAsInternal) {
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(":memory:", kTwoMigrations);
  ASSERT_TRUE(db.ok()) << db.status();
  absl::Status status = (*db)->WithConnection(
      [](sqlite3* conn) { return SqliteDatabase::Exec(conn, "INSERT INTO missing_table VALUES (1)"); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("missing_table"));

  EXPECT_TRUE((*db)->WithConnection([](sqlite3* conn) {
                      return SqliteDatabase::Exec(conn, "INSERT INTO notes (text) VALUES ('x')");
                    }).ok());
  EXPECT_EQ(QueryInt(**db, "SELECT count(*) FROM notes"), 2);
}

TEST(SqliteDatabaseTest, WithConnectionReturnsTheFunctionsStatus) {
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(":memory:", {});
  ASSERT_TRUE(db.ok()) << db.status();
  absl::Status status = (*db)->WithConnection([](sqlite3*) { return absl::AbortedError("mine"); });
  EXPECT_EQ(status, absl::AbortedError("mine"));
}

}  // namespace
}  // namespace interop::store
