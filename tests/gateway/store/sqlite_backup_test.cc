// BackUpSqliteFile (gateway/store/sqlite_backup.h): a copy made while a writer commits is one
// consistent snapshot and a whole database; the source is left as it was; a backup is never
// overwritten; a failed backup leaves nothing behind.
#include "gateway/store/sqlite_backup.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::store {
namespace {

class SqliteBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("sqlite_backup_", getpid(), "_", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ASSERT_EQ(sqlite3_open(Source().c_str(), &writer_), SQLITE_OK);
    Exec(writer_, "PRAGMA journal_mode=WAL; CREATE TABLE t (i INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  }
  void TearDown() override {
    sqlite3_close(writer_);
    std::filesystem::remove_all(dir_);
  }

  std::string Source() const { return (dir_ / "store.db").string(); }
  std::string Copy() const { return (dir_ / "backup" / "store.db").string(); }

  static void Exec(sqlite3* db, const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  }
  static int64_t QueryInt(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    int64_t value = -1;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
        value = sqlite3_column_int64(stmt, 0);
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return value;
  }
  // Commits `rows` rows in one transaction.
  void InsertTransaction(sqlite3* db, int rows) {
    std::string sql = "BEGIN;";
    for (int i = 0; i < rows; ++i) absl::StrAppend(&sql, "INSERT INTO t (v) VALUES ('", std::string(200, 'x'), "');");
    sql += "COMMIT";
    Exec(db, sql);
  }

  std::filesystem::path dir_;
  sqlite3* writer_ = nullptr;
};

TEST_F(SqliteBackupTest, ACopyMadeWhileAWriterCommitsIsOneSnapshotOfWholeTransactions) {
  for (int i = 0; i < 100; ++i) InsertTransaction(writer_, 10);  // some pages in the WAL, some not
  std::atomic<bool> stop{false};
  std::atomic<int> committed{0};
  std::thread writer([&] {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Source().c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    while (!stop.load()) {
      InsertTransaction(db, 10);
      ++committed;
    }
    sqlite3_close(db);
  });
  while (committed.load() < 20) std::this_thread::yield();
  std::filesystem::create_directories(dir_ / "backup");
  absl::StatusOr<SqliteBackupResult> result = BackUpSqliteFile(Source(), Copy());
  const int committed_after = committed.load() + 100;
  stop = true;
  writer.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->pages, 0);
  EXPECT_EQ(result->page_size, 4096);

  const int64_t rows = QueryInt(Copy(), "SELECT count(*) FROM t");
  EXPECT_EQ(rows % 10, 0) << "a transaction half in the copy";
  EXPECT_GE(rows, 1200);
  EXPECT_LE(rows, 10 * (committed_after + 1));
  EXPECT_EQ(QueryInt(Copy(), "SELECT max(i) FROM t"), rows) << "the first rows, without a gap";
  EXPECT_FALSE(std::filesystem::exists(Copy() + "-wal")) << "the copy is one file";
  EXPECT_FALSE(std::filesystem::exists(Copy() + ".partial"));
  EXPECT_EQ(QueryInt(Copy(), "PRAGMA page_count"), result->pages);
}

TEST_F(SqliteBackupTest, TheSourceIsLeftAsItWas) {
  for (int i = 0; i < 20; ++i) InsertTransaction(writer_, 10);
  auto read_all = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string database = read_all(Source());
  const std::string wal = read_all(Source() + "-wal");
  std::filesystem::create_directories(dir_ / "backup");
  ASSERT_TRUE(BackUpSqliteFile(Source(), Copy()).ok());
  EXPECT_EQ(read_all(Source()), database);
  EXPECT_EQ(read_all(Source() + "-wal"), wal) << "no checkpoint of the source's WAL";
  EXPECT_EQ(QueryInt(Copy(), "SELECT count(*) FROM t"), 200);
}

TEST_F(SqliteBackupTest, ABackupIsNeverOverwrittenAndAMissingSourceIsNotFound) {
  std::filesystem::create_directories(dir_ / "backup");
  std::ofstream(Copy()) << "an earlier backup";
  absl::StatusOr<SqliteBackupResult> again = BackUpSqliteFile(Source(), Copy());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  std::ifstream kept(Copy());
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(kept), std::istreambuf_iterator<char>()),
            "an earlier backup");
  absl::StatusOr<SqliteBackupResult> missing = BackUpSqliteFile((dir_ / "nope.db").string(), Copy() + "2");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(Copy() + "2"));
}

TEST_F(SqliteBackupTest, AFailedBackupLeavesNothingBehind) {
  // The destination's directory does not exist: the copy cannot be created.
  absl::StatusOr<SqliteBackupResult> failed = BackUpSqliteFile(Source(), (dir_ / "no-such-dir" / "store.db").string());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal) << failed.status();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "no-such-dir"));
  // Not a database: nothing is renamed into place.
  std::ofstream(dir_ / "garbage.db") << std::string(8192, 'g');
  std::filesystem::create_directories(dir_ / "backup");
  failed = BackUpSqliteFile((dir_ / "garbage.db").string(), Copy());
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(std::filesystem::exists(Copy()));
  EXPECT_FALSE(std::filesystem::exists(Copy() + ".partial"));
}

}  // namespace
}  // namespace interop::store
