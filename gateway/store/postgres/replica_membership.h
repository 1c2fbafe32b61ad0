// ReplicaMembership: which gateway replicas sharing a PostgreSQL database are alive, and which
// callers each of them serves, from their heartbeats in that database, so that what each replica
// enforces alone can be shared among them (the access policy's per-organisation rate limits: each
// replica serving a caller admits its share of that caller's limit; policy::RateLimiter).
//
// Each replica calls Heartbeat() at an interval well under `live_window`, with the callers it has
// served since its previous heartbeat. A replica counts as live while its last heartbeat is younger
// than `live_window`, and as serving a caller while it reported that caller within `live_window`
// and is live. Times are the database server's own (now()), so the replicas' clocks do not matter.
// Leave() removes this replica at once (a clean shutdown); a replica that dies stops counting after
// `live_window`.
//
// Tables (component "replica_membership"): gateway_replicas, one row per replica id with its last
// heartbeat; gateway_replica_callers, one row per (replica, caller) with when that replica last
// reported the caller. Each replica removes its own caller rows once they are older than the window;
// the rows of replicas gone for good stay, counted by nobody.
//
// Thread-safe (every call is one statement on a pooled connection).
#ifndef INTEROP_GATEWAY_STORE_POSTGRES_REPLICA_MEMBERSHIP_H_
#define INTEROP_GATEWAY_STORE_POSTGRES_REPLICA_MEMBERSHIP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/store/postgres/postgres_database.h"

namespace interop::store::pg {

class ReplicaMembership {
 public:
  // Creates or migrates the table; errors as PostgresDatabase::Migrate(). INVALID_ARGUMENT for an
  // empty `replica_id` or a `live_window` under one second. `database` must outlive the membership.
  static absl::StatusOr<std::unique_ptr<ReplicaMembership>> Open(PostgresDatabase& database,
                                                                 std::string replica_id, absl::Duration live_window);

  // What a heartbeat learns.
  struct View {
    // Replicas live now, this one included (so at least 1).
    int live_replicas = 1;
    // For each caller that more than one live replica serves, how many do (callers served by one
    // replica at most are not listed).
    absl::flat_hash_map<std::string, int> replicas_per_caller;
  };

  // Records this replica's heartbeat and that it served `callers_seen` (any order, duplicates
  // allowed) since its previous heartbeat, and answers the View after it. Errors as
  // PostgresDatabase (UNAVAILABLE while the database cannot be reached); a failed heartbeat may have
  // recorded part of it, which the next one completes.
  absl::StatusOr<View> Heartbeat(const std::vector<std::string>& callers_seen);

  // Removes this replica's rows: the others stop counting it, and its callers, at once.
  absl::Status Leave();

  const std::string& replica_id() const { return replica_id_; }

 private:
  ReplicaMembership(PostgresDatabase& database, std::string replica_id, absl::Duration live_window)
      : database_(database), replica_id_(std::move(replica_id)), live_window_(live_window) {}

  PostgresDatabase& database_;
  const std::string replica_id_;
  const absl::Duration live_window_;
};

}  // namespace interop::store::pg

#endif  // INTEROP_GATEWAY_STORE_POSTGRES_REPLICA_MEMBERSHIP_H_
