// PostgresDatabase: a pool of libpq connections to the PostgreSQL database that several gateway
// replicas share (docs/DEPLOYMENT.md), with versioned schema migrations per component applied safely
// when several replicas start at once.
//
// Each store that lives in PostgreSQL (location index, access log, settlement ledger, workflows)
// owns its tables and calls Migrate() with its own ordered list of SQL scripts when it opens. The
// table interop_schema_migrations records (component, version); Migrate() takes a session advisory
// lock, so two replicas starting together apply each script exactly once, one after the other.
//
// Errors carry PostgreSQL's message and are mapped by SQLSTATE: unique_violation (23505) is
// ALREADY_EXISTS; serialization_failure (40001) and deadlock_detected (40P01) are ABORTED (the
// transaction may be retried: InTransaction() does so); a lost or refused connection is UNAVAILABLE;
// anything else is INTERNAL. A connection found broken is re-established on its next use.
//
// Thread-safe: connections are handed out one caller at a time.
#ifndef INTEROP_GATEWAY_STORE_POSTGRES_POSTGRES_DATABASE_H_
#define INTEROP_GATEWAY_STORE_POSTGRES_POSTGRES_DATABASE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

struct pg_conn;
struct pg_result;

namespace interop::store::pg {

// One statement parameter: text (PostgreSQL parses it as the column's type), bytes (sent in binary,
// for BYTEA), or NULL.
struct Param {
  static Param Text(std::string value) { return Param{std::move(value), false, false}; }
  static Param Int(int64_t value) { return Param{std::to_string(value), false, false}; }
  static Param Bytes(std::string value) { return Param{std::move(value), true, false}; }
  static Param Null() { return Param{"", false, true}; }

  std::string value;
  bool binary = false;
  bool is_null = false;
};

// The rows of a statement, in text format. Owns the libpq result.
class Result {
 public:
  explicit Result(pg_result* result);
  ~Result();
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  int rows() const;
  int columns() const;
  // Rows changed by an INSERT, UPDATE or DELETE.
  int64_t affected() const;
  bool IsNull(int row, int column) const;
  std::string Text(int row, int column) const;
  // The value as an integer; 0 for NULL.
  int64_t Int(int row, int column) const;
  // A BYTEA value, decoded from PostgreSQL's hex text form.
  std::string Bytes(int row, int column) const;

 private:
  pg_result* result_;
};

class Connection {
 public:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement with $1.. parameters.
  absl::StatusOr<Result> Exec(absl::string_view sql, const std::vector<Param>& params = {});
  // Runs one or more statements without parameters (a migration script, BEGIN, COMMIT).
  absl::Status ExecScript(absl::string_view sql);

  bool healthy() const;
  // Re-establishes a broken connection. UNAVAILABLE if the server cannot be reached.
  absl::Status Reset();

 private:
  pg_conn* conn_;
};

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

class PostgresDatabase {
 public:
  struct Options {
    std::string conninfo;
    int pool_size = 8;
  };

  // Connects `pool_size` connections. UNAVAILABLE naming the server if it cannot be reached;
  // INVALID_ARGUMENT if conninfo is empty or malformed.
  static absl::StatusOr<std::unique_ptr<PostgresDatabase>> Open(const Options& options);
  ~PostgresDatabase();

  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;

  // Applies migrations[n..] of `component`, where n scripts are recorded as applied, each in its own
  // transaction together with its record. FAILED_PRECONDITION if the database records more scripts
  // for the component than `migrations` has (a downgrade).
  absl::Status Migrate(absl::string_view component, const std::vector<std::string>& migrations);

  // Runs `fn` with a connection of its own, waiting for one if all are in use.
  absl::Status WithConnection(const std::function<absl::Status(Connection&)>& fn) ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `fn` in a transaction at `isolation`: committed if `fn` answers OK, rolled back otherwise.
  // If the transaction fails with ABORTED (a serialization failure or a deadlock), runs it again,
  // up to `attempts` times in all; `fn` must therefore have no effect outside the transaction until
  // it has committed.
  absl::Status InTransaction(const std::function<absl::Status(Connection&)>& fn,
                             Isolation isolation = Isolation::kReadCommitted, int attempts = 5);

 private:
  explicit PostgresDatabase(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  const std::string conninfo_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_ ABSL_GUARDED_BY(mu_);
};

// Connects one connection. Errors as for PostgresDatabase::Open.
absl::StatusOr<std::unique_ptr<Connection>> Connect(const std::string& conninfo);

}  // namespace interop::store::pg

#endif  // INTEROP_GATEWAY_STORE_POSTGRES_POSTGRES_DATABASE_H_
