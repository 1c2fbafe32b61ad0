// Helpers shared by the access log tests: a fresh temp directory per test, a generated EC P-256
// signing key pair written as PEM files, raw SQLite access for tampering, and example records.
#ifndef INTEROP_TESTS_GATEWAY_ACCESSLOG_TEST_SUPPORT_H_
#define INTEROP_TESTS_GATEWAY_ACCESSLOG_TEST_SUPPORT_H_

#include <cstdint>
#include <string>

#include "gateway/accesslog/access_log.h"

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

}  // namespace interop::accesslog::testing

#endif  // INTEROP_TESTS_GATEWAY_ACCESSLOG_TEST_SUPPORT_H_
