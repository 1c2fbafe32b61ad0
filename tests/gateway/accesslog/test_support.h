// Helpers shared by the access log tests: a fresh temp directory per test, a generated EC P-256
// signing key pair written as PEM files, raw SQLite access for tampering, example records, and
// LogStore, which runs a test against either back end (SQLite, or a fresh schema on the suite's
// PostgreSQL server, ctest fixture "postgres").
#ifndef INTEROP_TESTS_GATEWAY_ACCESSLOG_TEST_SUPPORT_H_
#define INTEROP_TESTS_GATEWAY_ACCESSLOG_TEST_SUPPORT_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "gateway/accesslog/access_log.h"
#include "gateway/store/postgres/postgres_database.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/postgres/pg_test_support.h"

struct sqlite3;

namespace interop::accesslog::testing {

// PEM files of one freshly generated key pair (EVP_PKEY_Q_keygen "EC" "P-256").
struct KeyFiles {
  std::string private_key;  // PRIVATE KEY
  std::string public_key;   // PUBLIC KEY
  std::string certificate;  // a self-signed X.509 certificate of the same key
};

// Generates a key pair and writes its PEM files into `dir` as <name>.key, <name>.pub, <name>.pem.
// `curve` may be "P-256" or another curve (for negative tests). Aborts the test program on failure.
KeyFiles WriteKeyFiles(const std::string& dir, const std::string& name, const std::string& curve = "P-256");

// A new empty directory under the test temp dir, unique to this process and test; removed by the
// destructor with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Options for a log at dir/access.db with `keys`.
AccessLogOptions Options(const TempDir& dir, const KeyFiles& keys);

// A plausible record; `n` varies the request id, `person` the person.
AccessRecord ExampleRecord(int n, const std::string& person = "140105199003078915");

// Appends `record` and waits for its `done`; returns what `done` got.
absl::StatusOr<uint64_t> AppendAndWait(AccessLog& log, AccessRecord record);

// Runs SQL on the database file (created if missing) through a separate raw sqlite3 connection
// (the attacker's view).
// Returns SQLite's error message, or "" on success.
std::string ExecRawSql(const std::string& db_path, const std::string& sql);

// The first column of the first row of `sql` as an integer (-1 if there is no row).
int64_t QueryRawInt(const std::string& db_path, const std::string& sql);

// Holds the database's write lock (BEGIN IMMEDIATE on its own connection) from construction until
// Release() or destruction, so that the log's writer waits in its BEGIN. Aborts if it cannot.
class WriteLockHolder {
 public:
  explicit WriteLockHolder(const std::string& db_path);
  ~WriteLockHolder() { Release(); }
  WriteLockHolder(const WriteLockHolder&) = delete;
  WriteLockHolder& operator=(const WriteLockHolder&) = delete;
  void Release();

 private:
  ::sqlite3* db_ = nullptr;
};

// Waits (polling) until log.Stats().batches_started reaches `batches`: the writer has taken that
// many batches from the queue. Fails the test after 30 s.
void WaitForBatchesStarted(AccessLog& log, uint64_t batches);

// The back ends a contract test runs against (INSTANTIATE_TEST_SUITE_P(Backends, Suite,
// ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName)). Test names end in
// "/Sqlite" or "/Postgres"; CMakeLists.txt gives the latter the PostgreSQL fixture.
enum class Backend { kSqlite, kPostgres };
std::string BackendName(const ::testing::TestParamInfo<Backend>& info);
void PrintTo(Backend backend, std::ostream* out);  // for gtest: "Sqlite" or "Postgres"

// Stops the log's writer from committing until destroyed or released: the writer's transaction
// waits for what this holds (SQLite: the database's write lock; PostgreSQL: the chain head row).
class WriterBlocker {
 public:
  virtual ~WriterBlocker() = default;
  virtual void Release() = 0;
};

// Where one test's log lives: a temp dir (keys, and the SQLite file) and, for PostgreSQL, a fresh
// schema on the test server with a connection pool that the logs of Open() share. Raw SQL goes
// around the log (the attacker's view). Destroy every log opened here before the LogStore.
class LogStore {
 public:
  explicit LogStore(Backend backend);
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  Backend backend() const { return backend_; }
  const TempDir& dir() const { return dir_; }

  // Options for a log with `keys` (sqlite_path in dir() for SQLite).
  AccessLogOptions Options(const KeyFiles& keys) const;
  // OpenSqliteAccessLog, or OpenPostgresAccessLog on this store's pool.
  absl::StatusOr<std::unique_ptr<AccessLog>> Open(const AccessLogOptions& options);
  // As `accesslog-verify` does: VerifyAccessLogFile, or VerifyPostgresAccessLog on a pool of its own.
  absl::StatusOr<VerificationResult> VerifyOffline(const std::string& cert_file, uint64_t first = 0,
                                                   uint64_t last = 0);

  // Runs SQL (one or more statements); returns the error message, or "" on success.
  std::string Exec(const std::string& sql);
  // The first column of the first row as an integer (-1 if there is no row or on error).
  int64_t QueryInt(const std::string& sql);
  // The first column of the first row as bytes (BLOB / BYTEA); "" if there is no row.
  std::string QueryBytes(const std::string& sql);
  // `sqlite` or `postgres`, whichever is this store's dialect.
  std::string Sql(const std::string& sqlite, const std::string& postgres) const {
    return backend_ == Backend::kSqlite ? sqlite : postgres;
  }
  // An SQL literal of `bytes` for a BLOB / BYTEA column.
  std::string BytesLiteral(const std::string& bytes) const;

  std::unique_ptr<WriterBlocker> BlockWriter();

  // PostgreSQL only: the test schema's connection string, and a new pool on it (another replica).
  const std::string& conninfo() const;
  std::unique_ptr<store::pg::PostgresDatabase> NewPool(int pool_size = 4) const;

 private:
  const Backend backend_;
  TempDir dir_;
  std::unique_ptr<store::pg::TestSchema> schema_;
  std::unique_ptr<store::pg::PostgresDatabase> pool_;
};

// What a command printed (stdout and stderr) and its exit code (-1 if it did not exit normally).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
// Runs `command_line` through /bin/sh and waits for it.
CommandResult RunCommand(const std::string& command_line);
// `text` as one shell word.
std::string ShellQuoted(const std::string& text);

}  // namespace interop::accesslog::testing

#endif  // INTEROP_TESTS_GATEWAY_ACCESSLOG_TEST_SUPPORT_H_
