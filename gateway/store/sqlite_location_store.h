// SqliteLocationStore: a LocationStore kept in memory and written behind to SQLite.
//
// Reads never touch the disk: every entry is loaded at Open() and served from memory. Writes update
// memory at once and are queued for a background thread that commits them in batches, so no request
// thread waits for the disk. Entries queued but not yet committed when the process dies are lost,
// which is acceptable for this cache (see location_store.h).
//
// Thread-safe.
#ifndef INTEROP_GATEWAY_STORE_SQLITE_LOCATION_STORE_H_
#define INTEROP_GATEWAY_STORE_SQLITE_LOCATION_STORE_H_

#include <deque>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "gateway/store/location_store.h"
#include "gateway/store/schema.h"
#include "gateway/store/sqlite_database.h"

namespace interop::store {

class SqliteLocationStore final : public LocationStore {
 public:
  // Uses `database`, which must have the gateway schema (GatewaySchemaMigrations()) applied.
  static absl::StatusOr<std::unique_ptr<SqliteLocationStore>> Open(SqliteDatabase& database);
  // Commits queued writes, then stops the writer thread.
  ~SqliteLocationStore() override;

  absl::StatusOr<std::optional<RecordLocation>> Get(const std::string& resident_id,
                                                    RecordDomain domain) override;
  absl::Status Put(const std::string& resident_id, RecordDomain domain, const RecordLocation& location) override;
  absl::Status Forget(const std::string& resident_id, RecordDomain domain) override;

  // Blocks until every write queued before the call is committed. For tests and orderly shutdown.
  // Returns the first commit error since the previous Flush(), if any.
  absl::Status Flush();

 private:
  struct Key {
    std::string resident_id;
    RecordDomain domain;
    template <typename H>
    friend H AbslHashValue(H h, const Key& key) {
      return H::combine(std::move(h), key.resident_id, static_cast<int>(key.domain));
    }
    bool operator==(const Key& other) const {
      return resident_id == other.resident_id && domain == other.domain;
    }
  };
  struct PendingWrite {
    Key key;
    std::optional<RecordLocation> location;  // nullopt: delete
  };

  explicit SqliteLocationStore(SqliteDatabase& database) : database_(database) {}
  void WriterLoop();
  absl::Status CommitBatch(const std::deque<PendingWrite>& batch);

  SqliteDatabase& database_;
  absl::Mutex mu_;
  absl::flat_hash_map<Key, RecordLocation> entries_ ABSL_GUARDED_BY(mu_);
  std::deque<PendingWrite> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t queued_ ABSL_GUARDED_BY(mu_) = 0;     // writes ever queued
  uint64_t committed_ ABSL_GUARDED_BY(mu_) = 0;  // writes ever committed (or failed)
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread writer_;
};

}  // namespace interop::store

#endif  // INTEROP_GATEWAY_STORE_SQLITE_LOCATION_STORE_H_
