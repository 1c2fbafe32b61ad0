#include "gateway/store/postgres/replica_membership.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace interop::store::pg {
namespace {

// Append-only: never edit a script once released; add one.
const std::vector<std::string>& MembershipMigrations() {
  static const auto* migrations = new std::vector<std::string>{
      // 1: one row per replica id, with its last heartbeat (the database server's time).
      "CREATE TABLE gateway_replicas ("
      "  replica_id TEXT PRIMARY KEY,"
      "  heartbeat_at TIMESTAMPTZ NOT NULL)",
      // 2: which callers (certificate identities) each replica served lately.
      "CREATE TABLE gateway_replica_callers ("
      "  replica_id TEXT NOT NULL,"
      "  caller TEXT NOT NULL,"
      "  seen_at TIMESTAMPTZ NOT NULL,"
      "  PRIMARY KEY (replica_id, caller))",
  };
  return *migrations;
}

// Records the heartbeat, then counts the other replicas whose heartbeat is within the window ($2,
// in milliseconds) plus this one. (The statement's SELECT does not see its own CTE's write, hence
// the other replicas, and one.)
constexpr char kHeartbeatSql[] =
    "WITH beat AS (INSERT INTO gateway_replicas (replica_id, heartbeat_at) VALUES ($1, now())"
    "  ON CONFLICT (replica_id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at)"
    " SELECT 1 + count(*) FROM gateway_replicas"
    " WHERE replica_id <> $1 AND heartbeat_at > now() - $2::bigint * interval '1 millisecond'";

// Records that this replica ($1) served the callers of the array literal $2, now.
constexpr char kReportCallersSql[] =
    "INSERT INTO gateway_replica_callers (replica_id, caller, seen_at)"
    " SELECT DISTINCT $1, caller, now() FROM unnest($2::text[]) AS caller"
    " ON CONFLICT (replica_id, caller) DO UPDATE SET seen_at = EXCLUDED.seen_at";

// This replica's ($1) caller rows older than the window ($2 ms).
constexpr char kForgetCallersSql[] =
    "DELETE FROM gateway_replica_callers"
    " WHERE replica_id = $1 AND seen_at <= now() - $2::bigint * interval '1 millisecond'";

// The callers that more than one live replica served within the window ($1 ms), with how many did.
constexpr char kSharedCallersSql[] =
    "SELECT c.caller, count(*) FROM gateway_replica_callers c JOIN gateway_replicas r USING (replica_id)"
    " WHERE c.seen_at > now() - $1::bigint * interval '1 millisecond'"
    "   AND r.heartbeat_at > now() - $1::bigint * interval '1 millisecond'"
    " GROUP BY c.caller HAVING count(*) > 1";

// A PostgreSQL array literal of `values`: each element double-quoted, with " and \ escaped.
std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string literal = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) literal += ',';
    literal += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') literal += '\\';
      literal += c;
    }
    literal += '"';
  }
  literal += '}';
  return literal;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplicaMembership>> ReplicaMembership::Open(PostgresDatabase& database,
                                                                           std::string replica_id,
                                                                           absl::Duration live_window) {
  if (replica_id.empty()) return absl::InvalidArgumentError("replica_id: must not be empty");
  if (live_window < absl::Seconds(1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("live_window: must be at least 1s, got ", absl::FormatDuration(live_window)));
  }
  absl::Status migrated = database.Migrate("replica_membership", MembershipMigrations());
  if (!migrated.ok()) return migrated;
  return std::unique_ptr<ReplicaMembership>(new ReplicaMembership(database, std::move(replica_id), live_window));
}

absl::StatusOr<ReplicaMembership::View> ReplicaMembership::Heartbeat(const std::vector<std::string>& callers_seen) {
  View view;
  const Param window = Param::Int(absl::ToInt64Milliseconds(live_window_));
  absl::Status status = database_.WithConnection([&](Connection& connection) -> absl::Status {
    absl::StatusOr<Result> live = connection.Exec(kHeartbeatSql, {Param::Text(replica_id_), window});
    if (!live.ok()) return live.status();
    view.live_replicas = static_cast<int>(live->Int(0, 0));
    if (!callers_seen.empty()) {
      absl::Status reported =
          connection.Exec(kReportCallersSql, {Param::Text(replica_id_), Param::Text(ArrayLiteral(callers_seen))})
              .status();
      if (!reported.ok()) return reported;
    }
    absl::Status forgot = connection.Exec(kForgetCallersSql, {Param::Text(replica_id_), window}).status();
    if (!forgot.ok()) return forgot;
    absl::StatusOr<Result> shared = connection.Exec(kSharedCallersSql, {window});
    if (!shared.ok()) return shared.status();
    for (int row = 0; row < shared->rows(); ++row) {
      view.replicas_per_caller[shared->Text(row, 0)] = static_cast<int>(shared->Int(row, 1));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return view;
}

absl::Status ReplicaMembership::Leave() {
  return database_.WithConnection([&](Connection& connection) -> absl::Status {
    absl::Status callers =
        connection.Exec("DELETE FROM gateway_replica_callers WHERE replica_id = $1", {Param::Text(replica_id_)})
            .status();
    if (!callers.ok()) return callers;
    return connection.Exec("DELETE FROM gateway_replicas WHERE replica_id = $1", {Param::Text(replica_id_)})
        .status();
  });
}

}  // namespace interop::store::pg
