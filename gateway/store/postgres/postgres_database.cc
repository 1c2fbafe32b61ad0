#include "gateway/store/postgres/postgres_database.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace interop::store::pg {
namespace {

// Serialises Migrate() across every process on the database (a constant of this project).
constexpr int64_t kMigrationLockKey = 0x494E54455250;  // "INTERP"

std::string TrimmedError(const char* message) {
  return std::string(absl::StripTrailingAsciiWhitespace(message == nullptr ? "" : message));
}

absl::Status StatusForResult(const PGresult* result, pg_conn* conn, absl::string_view sql) {
  const char* state = result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_SQLSTATE);
  const std::string sqlstate = state == nullptr ? "" : state;
  const std::string message =
      TrimmedError(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn));
  const std::string text = absl::StrCat("postgresql: ", message, " [", sqlstate, "] in: ", sql.substr(0, 120));
  if (PQstatus(conn) == CONNECTION_BAD || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01") {
    return absl::UnavailableError(text);
  }
  if (sqlstate == "23505") return absl::AlreadyExistsError(text);
  if (sqlstate == "40001" || sqlstate == "40P01") return absl::AbortedError(text);
  return absl::InternalError(text);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result::Result(pg_result* result) : result_(result) {}
Result::~Result() {
  if (result_ != nullptr) PQclear(result_);
}
Result::Result(Result&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

int Result::rows() const { return PQntuples(result_); }

int Result::columns() const { return PQnfields(result_); }

int64_t Result::affected() const {
  int64_t n = 0;
  return absl::SimpleAtoi(PQcmdTuples(result_), &n) ? n : 0;
}

bool Result::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

std::string Result::Text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column), static_cast<size_t>(PQgetlength(result_, row, column)));
}

int64_t Result::Int(int row, int column) const {
  int64_t value = 0;
  return absl::SimpleAtoi(Text(row, column), &value) ? value : 0;
}

std::string Result::Bytes(int row, int column) const {
  const std::string text = Text(row, column);
  // bytea_output = hex (PostgreSQL's default since 9.0): "\x" then two hex digits per byte.
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x') return text;
  std::string bytes;
  bytes.reserve((text.size() - 2) / 2);
  for (size_t i = 2; i + 1 < text.size(); i += 2) {
    const int high = HexValue(text[i]);
    const int low = HexValue(text[i + 1]);
    if (high < 0 || low < 0) break;
    bytes.push_back(static_cast<char>(high * 16 + low));
  }
  return bytes;
}

Connection::~Connection() { PQfinish(conn_); }

absl::StatusOr<Result> Connection::Exec(absl::string_view sql, const std::vector<Param>& params) {
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  std::vector<int> formats(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    values[i] = params[i].is_null ? nullptr : params[i].value.data();
    lengths[i] = static_cast<int>(params[i].value.size());
    formats[i] = params[i].binary ? 1 : 0;
  }
  const std::string statement(sql);
  PGresult* raw = PQexecParams(conn_, statement.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                               lengths.data(), formats.data(), /*resultFormat=*/0);
  const ExecStatusType status = PQresultStatus(raw);  // PGRES_FATAL_ERROR for a null result
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    absl::Status error = StatusForResult(raw, conn_, sql);
    PQclear(raw);
    return error;
  }
  Result result(raw);
  return result;
}

absl::Status Connection::ExecScript(absl::string_view sql) {
  const std::string script(sql);
  PGresult* result = PQexec(conn_, script.c_str());
  const ExecStatusType status = PQresultStatus(result);
  absl::Status outcome = (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
                             ? absl::OkStatus()
                             : StatusForResult(result, conn_, sql);
  PQclear(result);
  return outcome;
}

bool Connection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

absl::Status Connection::Reset() {
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat("postgresql: ", TrimmedError(PQerrorMessage(conn_))));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Connection>> Connect(const std::string& conninfo) {
  if (conninfo.empty()) return absl::InvalidArgumentError("store.postgres.conninfo: required");
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string why = parse_error == nullptr ? "malformed" : TrimmedError(parse_error);
    PQfreemem(parse_error);
    return absl::InvalidArgumentError(absl::StrCat("store.postgres.conninfo: ", why));
  }
  PQconninfoFree(parsed);
  pg_conn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) return absl::ResourceExhaustedError("postgresql: out of memory");
  auto connection = std::make_unique<Connection>(conn);
  if (PQstatus(conn) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat("postgresql: cannot connect: ", TrimmedError(PQerrorMessage(conn))));
  }
  // Warnings (NOTICE) would go to stderr as unstructured text; the gateway logs its own lines.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return connection;
}

absl::StatusOr<std::unique_ptr<PostgresDatabase>> PostgresDatabase::Open(const Options& options) {
  std::unique_ptr<PostgresDatabase> db(new PostgresDatabase(options.conninfo));
  const int size = options.pool_size > 0 ? options.pool_size : 8;
  for (int i = 0; i < size; ++i) {
    absl::StatusOr<std::unique_ptr<Connection>> connection = Connect(options.conninfo);
    if (!connection.ok()) return connection.status();
    absl::MutexLock lock(&db->mu_);
    db->idle_.push_back(std::move(*connection));
  }
  return db;
}

PostgresDatabase::~PostgresDatabase() = default;

absl::Status PostgresDatabase::WithConnection(const std::function<absl::Status(Connection&)>& fn) {
  std::unique_ptr<Connection> connection;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](std::vector<std::unique_ptr<Connection>>* idle) { return !idle->empty(); }, &idle_));
    connection = std::move(idle_.back());
    idle_.pop_back();
  }
  absl::Status status = connection->healthy() ? absl::OkStatus() : connection->Reset();
  if (status.ok()) status = fn(*connection);
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(connection));
  return status;
}

absl::Status PostgresDatabase::InTransaction(const std::function<absl::Status(Connection&)>& fn, Isolation isolation,
                                             int attempts) {
  const char* begin = isolation == Isolation::kSerializable     ? "BEGIN ISOLATION LEVEL SERIALIZABLE"
                      : isolation == Isolation::kRepeatableRead ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                                                                : "BEGIN";
  absl::Status status;
  for (int attempt = 0; attempt < std::max(1, attempts); ++attempt) {
    status = WithConnection([&](Connection& connection) -> absl::Status {
      absl::Status begun = connection.ExecScript(begin);
      if (!begun.ok()) return begun;
      absl::Status body = fn(connection);
      if (body.ok()) body = connection.ExecScript("COMMIT");
      if (!body.ok()) (void)connection.ExecScript("ROLLBACK");
      return body;
    });
    if (status.code() != absl::StatusCode::kAborted) return status;
  }
  return status;
}

absl::Status PostgresDatabase::Migrate(absl::string_view component, const std::vector<std::string>& migrations) {
  return WithConnection([&](Connection& connection) -> absl::Status {
    absl::StatusOr<Result> locked =
        connection.Exec("SELECT pg_advisory_lock($1)", {Param::Int(kMigrationLockKey)});
    if (!locked.ok()) return locked.status();
    auto apply = [&]() -> absl::Status {
      absl::Status created = connection.ExecScript(
          "CREATE TABLE IF NOT EXISTS interop_schema_migrations ("
          "  component TEXT NOT NULL,"
          "  version INTEGER NOT NULL,"
          "  applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
          "  PRIMARY KEY (component, version))");
      if (!created.ok()) return created;
      absl::StatusOr<Result> applied = connection.Exec(
          "SELECT COALESCE(MAX(version), 0) FROM interop_schema_migrations WHERE component = $1",
          {Param::Text(std::string(component))});
      if (!applied.ok()) return applied.status();
      const int64_t version = applied->Int(0, 0);
      if (version > static_cast<int64_t>(migrations.size())) {
        return absl::FailedPreconditionError(absl::StrCat("postgresql: the schema of ", component, " is at version ",
                                                          version, ", newer than this gateway's ",
                                                          migrations.size(), " (a downgrade)"));
      }
      for (size_t i = static_cast<size_t>(version); i < migrations.size(); ++i) {
        absl::Status step = connection.ExecScript("BEGIN");
        if (step.ok()) step = connection.ExecScript(migrations[i]);
        if (step.ok()) {
          step = connection
                     .Exec("INSERT INTO interop_schema_migrations (component, version) VALUES ($1, $2)",
                           {Param::Text(std::string(component)), Param::Int(static_cast<int64_t>(i + 1))})
                     .status();
        }
        if (step.ok()) step = connection.ExecScript("COMMIT");
        if (!step.ok()) {
          (void)connection.ExecScript("ROLLBACK");
          return absl::Status(step.code(), absl::StrCat("migrating ", component, " to version ", i + 1, ": ",
                                                        step.message()));
        }
      }
      return absl::OkStatus();
    };
    absl::Status status = apply();
    (void)connection.Exec("SELECT pg_advisory_unlock($1)", {Param::Int(kMigrationLockKey)});
    return status;
  });
}

}  // namespace interop::store::pg
