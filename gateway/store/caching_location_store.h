// CachingLocationStore: keeps recently used locations in memory in front of another LocationStore,
// so that routing a call for a person seen lately reads no disk on the gRPC thread.
//
// Reads are served from memory when the entry is there and read through from `backing` when it is
// not (a location the backing store does not hold is not cached, so a Put elsewhere is seen on the
// next call). Put and Forget write through to `backing` first and change memory only if that
// succeeded. At most `capacity` entries are kept; beyond that an arbitrary entry of the same shard
// is dropped (the store is a cache of a cache: a dropped entry costs one read of `backing`).
//
// With several gateway replicas sharing `backing`, another replica's Forget is not seen here until
// this replica's own call finds the city no longer holds the record; the locator then forgets and
// re-locates, as for any stale entry (see record_locator.h).
//
// Thread-safe.
#ifndef INTEROP_GATEWAY_STORE_CACHING_LOCATION_STORE_H_
#define INTEROP_GATEWAY_STORE_CACHING_LOCATION_STORE_H_

#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "gateway/store/location_store.h"

namespace interop::store {

class CachingLocationStore final : public LocationStore {
 public:
  // `backing` must outlive the cache.
  CachingLocationStore(LocationStore& backing, size_t capacity);

  absl::StatusOr<std::optional<RecordLocation>> Get(const std::string& resident_id, RecordDomain domain) override;
  absl::Status Put(const std::string& resident_id, RecordDomain domain, const RecordLocation& location) override;
  absl::Status Forget(const std::string& resident_id, RecordDomain domain) override;

  // Entries held in memory now.
  size_t size() const;

 private:
  static constexpr size_t kShards = 16;
  using Key = std::pair<std::string, int>;
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<Key, RecordLocation> entries ABSL_GUARDED_BY(mu);
  };
  Shard& ShardFor(const Key& key);
  void Remember(const Key& key, const RecordLocation& location);

  LocationStore& backing_;
  const size_t capacity_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace interop::store

#endif  // INTEROP_GATEWAY_STORE_CACHING_LOCATION_STORE_H_
