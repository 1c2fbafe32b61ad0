// PostgresLocationStore: the record locator's index (location_store.h) in the PostgreSQL database
// that several gateway replicas share (component "record_locations", table record_locations).
//
// Same contract as SqliteLocationStore: Put and Forget return at once and are written behind by a
// background thread that commits them in batches, so no request thread waits for the database;
// Flush() waits for them; destroying the store commits what is queued. Writes queued but not yet
// committed when the process dies are lost, which this cache allows (location_store.h).
//
// Unlike SqliteLocationStore, reads are not served from a copy loaded at Open(): Get() reads the
// shared table (one indexed lookup), so that a replica sees what the others learned and forgot.
// Its own writes not yet committed are answered from memory (a replica reads its own writes). Put
// a CachingLocationStore in front to keep hot reads off the network.
//
// Across replicas: each write is an upsert or a delete of one (resident_id, domain) row, and the
// last one committed wins. A batch writes its rows in key order (and only the last write of each
// key), so two replicas' batches never deadlock on each other.
//
// Thread-safe.
#ifndef INTEROP_GATEWAY_STORE_POSTGRES_POSTGRES_LOCATION_STORE_H_
#define INTEROP_GATEWAY_STORE_POSTGRES_POSTGRES_LOCATION_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "gateway/store/location_store.h"
#include "gateway/store/postgres/postgres_database.h"

namespace interop::store::pg {

class PostgresLocationStore final : public LocationStore {
 public:
  // Applies the store's migrations to `database` (errors as PostgresDatabase::Migrate) and starts
  // the writer thread. `database` must outlive the store.
  static absl::StatusOr<std::unique_ptr<PostgresLocationStore>> Open(PostgresDatabase& database);
  // Commits queued writes, then stops the writer thread.
  ~PostgresLocationStore() override;

  // The location this replica wrote last if not yet committed, else the committed row. INTERNAL or
  // UNAVAILABLE if the database fails.
  absl::StatusOr<std::optional<RecordLocation>> Get(const std::string& resident_id,
                                                    RecordDomain domain) override;
  // Queue the write; always OK (a failed commit is reported by Flush()).
  absl::Status Put(const std::string& resident_id, RecordDomain domain, const RecordLocation& location) override;
  absl::Status Forget(const std::string& resident_id, RecordDomain domain) override;

  // Blocks until every write queued before the call is committed (or failed). Returns the first
  // commit error since the previous Flush(), if any.
  absl::Status Flush();

 private:
  using Key = std::pair<std::string, int>;  // (resident_id, domain), ordered as the rows are locked
  struct Unflushed {
    std::optional<RecordLocation> location;  // nullopt: forgotten
    uint64_t sequence = 0;                   // of the latest write of this key
  };

  explicit PostgresLocationStore(PostgresDatabase& database) : database_(database) {}
  void WriterLoop();
  absl::Status CommitBatch(const std::map<Key, Unflushed>& batch);

  PostgresDatabase& database_;
  absl::Mutex mu_;
  // Writes not yet committed, the latest per key: what Get() answers for them, and what the writer
  // takes next (those with sequence > taken_).
  std::map<Key, Unflushed> unflushed_ ABSL_GUARDED_BY(mu_);
  uint64_t queued_ ABSL_GUARDED_BY(mu_) = 0;     // sequence of the latest write queued
  uint64_t taken_ ABSL_GUARDED_BY(mu_) = 0;      // writes up to this sequence are taken by the writer
  uint64_t committed_ ABSL_GUARDED_BY(mu_) = 0;  // writes up to this sequence are committed (or failed)
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace interop::store::pg

#endif  // INTEROP_GATEWAY_STORE_POSTGRES_POSTGRES_LOCATION_STORE_H_
