#include "tests/gateway/accesslog/test_support.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <vector>

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

}  // namespace interop::accesslog::testing
