#include "tests/gateway/accesslog/test_support.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace interop::accesslog::testing {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "test_support: %s\n", what.c_str());
  std::abort();
}

void WritePem(const std::string& path, const std::function<int(BIO*)>& write) {
  BIO* bio = BIO_new_file(path.c_str(), "w");
  if (bio == nullptr || write(bio) != 1) Die(absl::StrCat("writing ", path));
  BIO_free(bio);
}

}  // namespace

KeyFiles WriteKeyFiles(const std::string& dir, const std::string& name, const std::string& curve) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve.c_str());
  if (key == nullptr) Die("generating a key");
  KeyFiles files{absl::StrCat(dir, "/", name, ".key"), absl::StrCat(dir, "/", name, ".pub"),
                 absl::StrCat(dir, "/", name, ".pem")};
  WritePem(files.private_key, [key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
  WritePem(files.public_key, [key](BIO* bio) { return PEM_write_bio_PUBKEY(bio, key); });

  X509* cert = X509_new();
  X509_set_version(cert, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("test gateway"), -1, -1, 0);
  X509_set_issuer_name(cert, subject);
  if (X509_sign(cert, key, EVP_sha256()) == 0) Die("signing the test certificate");
  WritePem(files.certificate, [cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); });
  X509_free(cert);
  EVP_PKEY_free(key);
  return files;
}

TempDir::TempDir() {
  std::string base = ::testing::TempDir();
  if (!base.empty() && base.back() != '/') base += '/';
  std::string pattern = absl::StrCat(base, "accesslog_test_", getpid(), "_XXXXXX");
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) Die(absl::StrCat("mkdtemp ", pattern));
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

AccessLogOptions Options(const TempDir& dir, const KeyFiles& keys) {
  AccessLogOptions options;
  options.sqlite_path = dir.File("access.db");
  options.signing_key_file = keys.private_key;
  options.signing_cert_file = keys.certificate;
  return options;
}

AccessRecord ExampleRecord(int n, const std::string& person) {
  AccessRecord record;
  record.time = absl::FromUnixMicros(1764115200000000 + int64_t{n} * 1000);  // 2025-11-26, one ms apart
  record.request_id = absl::StrCat("req-", n);
  record.caller_organization = "Taiyuan Central Hospital";
  record.caller_city = "taiyuan";
  record.caller_role = "hospital";
  record.method = "/interop.medical.v1.MedicalInsuranceService/GetInsuranceStatus";
  record.person = person;
  record.purpose = "PURPOSE_TREATMENT";
  record.result_code = 0;
  record.cities_consulted = {"jinzhong"};
  return record;
}

absl::StatusOr<uint64_t> AppendAndWait(AccessLog& log, AccessRecord record) {
  absl::Notification done;
  absl::StatusOr<uint64_t> result = absl::UnknownError("done was not called");
  log.Append(std::move(record), [&](absl::StatusOr<uint64_t> r) {
    result = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

std::string ExecRawSql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string error;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    error = db ? sqlite3_errmsg(db) : "out of memory";
  } else {
    sqlite3_busy_timeout(db, 5000);
    char* message = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      error = message ? message : "unknown error";
      sqlite3_free(message);
    }
  }
  sqlite3_close(db);
  return error;
}

int64_t QueryRawInt(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t value = -1;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

WriteLockHolder::WriteLockHolder(const std::string& db_path) {
  if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK ||
      sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Die(absl::StrCat("taking the write lock of ", db_path, ": ", sqlite3_errmsg(db_)));
  }
}

void WriteLockHolder::Release() {
  if (db_ == nullptr) return;
  sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db_);
  db_ = nullptr;
}

void WaitForBatchesStarted(AccessLog& log, uint64_t batches) {
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (log.Stats().batches_started < batches) {
    if (absl::Now() > give_up) {
      ADD_FAILURE() << "the writer did not start batch " << batches;
      return;
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
}

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

void PrintTo(Backend backend, std::ostream* out) {
  *out << (backend == Backend::kSqlite ? "Sqlite" : "Postgres");
}

namespace {

class SqliteWriterBlocker : public WriterBlocker {
 public:
  explicit SqliteWriterBlocker(const std::string& path) : holder_(path) {}
  void Release() override { holder_.Release(); }

 private:
  WriteLockHolder holder_;
};

// Holds the chain head row lock in an open transaction of its own connection.
class PostgresWriterBlocker : public WriterBlocker {
 public:
  explicit PostgresWriterBlocker(const std::string& conninfo) {
    absl::StatusOr<std::unique_ptr<store::pg::Connection>> connection = store::pg::Connect(conninfo);
    if (!connection.ok()) Die(connection.status().ToString());
    connection_ = std::move(*connection);
    absl::Status locked = connection_->ExecScript("BEGIN; SELECT 1 FROM access_chain_head FOR UPDATE");
    if (!locked.ok()) Die(absl::StrCat("locking the chain head: ", locked.ToString()));
  }
  ~PostgresWriterBlocker() override { Release(); }
  void Release() override {
    if (connection_ == nullptr) return;
    (void)connection_->ExecScript("COMMIT");
    connection_.reset();
  }

 private:
  std::unique_ptr<store::pg::Connection> connection_;
};

}  // namespace

LogStore::LogStore(Backend backend) : backend_(backend) {
  if (backend_ == Backend::kPostgres) {
    schema_ = std::make_unique<store::pg::TestSchema>();
    pool_ = NewPool();
  }
}

LogStore::~LogStore() {
  pool_.reset();  // before the schema is dropped
  schema_.reset();
}

AccessLogOptions LogStore::Options(const KeyFiles& keys) const {
  AccessLogOptions options = testing::Options(dir_, keys);
  if (backend_ == Backend::kPostgres) options.sqlite_path.clear();
  return options;
}

absl::StatusOr<std::unique_ptr<AccessLog>> LogStore::Open(const AccessLogOptions& options) {
  if (backend_ == Backend::kSqlite) return OpenSqliteAccessLog(options);
  return OpenPostgresAccessLog(options, *pool_);
}

absl::StatusOr<VerificationResult> LogStore::VerifyOffline(const std::string& cert_file, uint64_t first,
                                                           uint64_t last) {
  if (backend_ == Backend::kSqlite)
    return VerifyAccessLogFile(dir_.File("access.db"), cert_file, first, last);
  std::unique_ptr<store::pg::PostgresDatabase> pool = NewPool(1);
  return VerifyPostgresAccessLog(*pool, cert_file, first, last);
}

std::string LogStore::Exec(const std::string& sql) {
  if (backend_ == Backend::kSqlite) return ExecRawSql(dir_.File("access.db"), sql);
  absl::Status status =
      pool_->WithConnection([&](store::pg::Connection& connection) { return connection.ExecScript(sql); });
  return status.ok() ? "" : std::string(status.message());
}

int64_t LogStore::QueryInt(const std::string& sql) {
  if (backend_ == Backend::kSqlite) return QueryRawInt(dir_.File("access.db"), sql);
  int64_t value = -1;
  pool_
      ->WithConnection([&](store::pg::Connection& connection) -> absl::Status {
        absl::StatusOr<store::pg::Result> rows = connection.Exec(sql);
        if (rows.ok() && rows->rows() > 0) value = rows->Int(0, 0);
        return rows.status();
      })
      .IgnoreError();
  return value;
}

std::string LogStore::QueryBytes(const std::string& sql) {
  std::string value;
  if (backend_ == Backend::kSqlite) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(dir_.File("access.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        value.assign(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                     static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return value;
  }
  pool_
      ->WithConnection([&](store::pg::Connection& connection) -> absl::Status {
        absl::StatusOr<store::pg::Result> rows = connection.Exec(sql);
        if (rows.ok() && rows->rows() > 0) value = rows->Bytes(0, 0);
        return rows.status();
      })
      .IgnoreError();
  return value;
}

std::string LogStore::BytesLiteral(const std::string& bytes) const {
  const std::string hex = absl::BytesToHexString(bytes);
  return backend_ == Backend::kSqlite ? absl::StrCat("X'", hex, "'") : absl::StrCat("'\\x", hex, "'::bytea");
}

std::unique_ptr<WriterBlocker> LogStore::BlockWriter() {
  if (backend_ == Backend::kSqlite) return std::make_unique<SqliteWriterBlocker>(dir_.File("access.db"));
  return std::make_unique<PostgresWriterBlocker>(conninfo());
}

const std::string& LogStore::conninfo() const {
  if (schema_ == nullptr) Die("conninfo() of a SQLite LogStore");
  return schema_->conninfo();
}

std::unique_ptr<store::pg::PostgresDatabase> LogStore::NewPool(int pool_size) const {
  absl::StatusOr<std::unique_ptr<store::pg::PostgresDatabase>> pool =
      store::pg::PostgresDatabase::Open({conninfo(), pool_size});
  if (!pool.ok()) {
    Die(absl::StrCat(pool.status().ToString(), " (is the ctest fixture 'postgres' running? ",
                     "tools/postgres/test-server.sh)"));
  }
  return std::move(*pool);
}

CommandResult RunCommand(const std::string& command_line) {
  CommandResult result;
  FILE* pipe = popen((command_line + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  int status = pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string ShellQuoted(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

}  // namespace interop::accesslog::testing
