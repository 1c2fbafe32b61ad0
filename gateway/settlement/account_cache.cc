#include "gateway/settlement/account_cache.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace interop::settlement {

AccountCache::AccountCache(const Clock& clock, AccountCacheOptions options)
    : clock_(clock),
      options_(std::move(options)),
      shard_count_(std::max<size_t>(1, options_.shards)),
      capacity_per_shard_(std::max<size_t>(1, options_.max_entries / shard_count_)),
      shards_(new Shard[shard_count_]) {}

AccountCache::Shard& AccountCache::ShardFor(const Key& key) const {
  return shards_[absl::HashOf(key) % shard_count_];
}

bool AccountCache::Erase(Shard& shard, const Key& key) {
  auto it = shard.index.find(key);
  if (it == shard.index.end()) return false;
  shard.lru.erase(it->second);
  shard.index.erase(it);
  return true;
}

std::optional<adapters::MedicalAccount> AccountCache::Find(City city, absl::string_view resident_id,
                                                           int year) {
  const Key key{static_cast<int>(city), std::string(resident_id), year};
  const absl::Time now = clock_.Now();
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.index.find(key);
  if (it == shard.index.end()) {
    ++shard.misses;
    return std::nullopt;
  }
  std::list<Entry>::iterator entry = it->second;
  if (Expired(*entry, now)) {
    shard.lru.erase(entry);
    shard.index.erase(it);
    ++shard.expired;
    ++shard.misses;
    return std::nullopt;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, entry);  // most recently used; iterators stay valid
  ++shard.hits;
  return entry->account;
}

void AccountCache::Store(City city, absl::string_view resident_id, int year,
                         const adapters::MedicalAccount& account) {
  Key key{static_cast<int>(city), std::string(resident_id), year};
  const absl::Time now = clock_.Now();
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.index.find(key);
  if (it != shard.index.end()) {
    Entry& entry = *it->second;
    if (entry.account.version > account.version && !Expired(entry, now)) return;
    entry.account = account;
    entry.stored_at = now;
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return;
  }
  if (shard.index.size() >= capacity_per_shard_) {
    shard.index.erase(shard.lru.back().key);
    shard.lru.pop_back();
    ++shard.evicted;
  }
  shard.lru.push_front(Entry{key, account, now});
  shard.index.emplace(std::move(key), shard.lru.begin());
}

void AccountCache::Forget(City city, absl::string_view resident_id, int year) {
  const Key key{static_cast<int>(city), std::string(resident_id), year};
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  Erase(shard, key);
}

void AccountCache::ForgetStale(City city, absl::string_view resident_id, int year) {
  const Key key{static_cast<int>(city), std::string(resident_id), year};
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  if (Erase(shard, key)) ++shard.stale;
}

AccountCache::Stats AccountCache::GetStats() const {
  Stats stats;
  for (size_t i = 0; i < shard_count_; ++i) {
    const Shard& shard = shards_[i];
    absl::MutexLock lock(&shard.mu);
    stats.hits += shard.hits;
    stats.misses += shard.misses;
    stats.expired += shard.expired;
    stats.stale += shard.stale;
    stats.evicted += shard.evicted;
    stats.entries += shard.index.size();
  }
  return stats;
}

}  // namespace interop::settlement
