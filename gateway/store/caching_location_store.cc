#include "gateway/store/caching_location_store.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace interop::store {

CachingLocationStore::CachingLocationStore(LocationStore& backing, size_t capacity)
    : backing_(backing), capacity_per_shard_(std::max<size_t>(1, capacity / kShards)) {}

CachingLocationStore::Shard& CachingLocationStore::ShardFor(const Key& key) {
  return shards_[absl::HashOf(key) % kShards];
}

void CachingLocationStore::Remember(const Key& key, const RecordLocation& location) {
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(key);
  if (it != shard.entries.end()) {
    it->second = location;
    return;
  }
  if (shard.entries.size() >= capacity_per_shard_) shard.entries.erase(shard.entries.begin());
  shard.entries.emplace(key, location);
}

absl::StatusOr<std::optional<RecordLocation>> CachingLocationStore::Get(const std::string& resident_id,
                                                                        RecordDomain domain) {
  const Key key(resident_id, static_cast<int>(domain));
  {
    Shard& shard = ShardFor(key);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.entries.find(key);
    if (it != shard.entries.end()) return std::optional<RecordLocation>(it->second);
  }
  absl::StatusOr<std::optional<RecordLocation>> stored = backing_.Get(resident_id, domain);
  if (stored.ok() && stored->has_value()) Remember(key, **stored);
  return stored;
}

absl::Status CachingLocationStore::Put(const std::string& resident_id, RecordDomain domain,
                                       const RecordLocation& location) {
  absl::Status status = backing_.Put(resident_id, domain, location);
  if (status.ok()) Remember(Key(resident_id, static_cast<int>(domain)), location);
  return status;
}

absl::Status CachingLocationStore::Forget(const std::string& resident_id, RecordDomain domain) {
  const Key key(resident_id, static_cast<int>(domain));
  {
    // Forgotten in memory even if the backing store fails: a stale entry must not outlive a Forget.
    Shard& shard = ShardFor(key);
    absl::MutexLock lock(&shard.mu);
    shard.entries.erase(key);
  }
  return backing_.Forget(resident_id, domain);
}

size_t CachingLocationStore::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total += shard.entries.size();
  }
  return total;
}

}  // namespace interop::store
