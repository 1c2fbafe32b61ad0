// AccountCache: the insured cities' medical accounts (adapters::MedicalAccount: balance, one year's
// accumulators, version) as the gateway last saw them, kept in memory for a short while so that a
// settlement usually needs one call to the insured city (the commit) instead of two (read, commit).
//
// Why a cached account is safe to compute a settlement from: CommitSettlement is conditional on
// the account version the split was computed against
// (protos/interop/citybackend/v1/city_backend.proto).
// If the account moved since it was cached (a settlement made through another gateway replica, a
// reversal, a commit at the city's own counter), the city answers ABORTED and applies nothing; the
// caller forgets the entry (ForgetStale), reads the account afresh and recomputes. So a stale entry
// costs one ABORTED round trip to the city, never a wrong settlement. What the version does not
// guard (the enrolment status and insurance type, should a city change them without moving the
// version) is trusted for at most `max_age`.
//
// Usage, as gateway/services/settlement_service.cc does it:
//
//   AccountCache accounts(clock);
//   std::optional<MedicalAccount> account = accounts.Find(city, resident_id, year);
//   if (!account) {
//     account = <GetMedicalAccount from the city>;
//     accounts.Store(city, resident_id, year, *account);
//   }
//   <compute the split, then CommitSettlement(record, account->version)>
//     OK       -> accounts.Store(city, resident_id, year, committed.account)  // the account after
//     ABORTED  -> accounts.ForgetStale(city, resident_id, year); re-read and recompute
//     other    -> accounts.Forget(city, resident_id, year)
//
// Entries are keyed by (insured city, 18-character resident id, year of the accumulators). An entry
// older than `max_age` (by the injected clock) is never answered: Find drops it and reports a miss.
// At most `max_entries` entries are kept; beyond that the least recently used entry of the same
// shard is dropped (a dropped entry costs one read of the city).
//
// Versions are taken to increase with every change of the account (as the mock cities do); Store
// keeps the entry with the higher version, so that a read that raced a commit does not overwrite
// the account after the commit. Should a city's versions not increase, the cost is again at most one
// ABORTED round trip.
//
// Thread-safe: every method may be called from any thread. The entries are split over `shards`
// independently locked shards (by a hash of the key), so concurrent calls for different persons
// rarely wait for each other; every operation is O(1).
#ifndef INTEROP_GATEWAY_SETTLEMENT_ACCOUNT_CACHE_H_
#define INTEROP_GATEWAY_SETTLEMENT_ACCOUNT_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "adapters/city_adapter.h"
#include "gateway/base/clock.h"
#include "interop/common/v1/common.pb.h"

namespace interop::settlement {

using ::interop::common::v1::City;

struct AccountCacheOptions {
  // How long an entry may be answered after it was stored. Must be positive.
  absl::Duration max_age = absl::Seconds(30);
  // The most entries kept (about 250 bytes each); at least one per shard is always allowed.
  size_t max_entries = 100000;
  // Independently locked parts (at least 1). The default suits a few dozen concurrent callers.
  size_t shards = 32;
};

class AccountCache {
 public:
  // What the cache has done since it was built. Monotonic counters, except `entries`.
  struct Stats {
    uint64_t hits = 0;     // Find answered an entry
    uint64_t misses = 0;   // Find answered nothing (no entry, or an expired one)
    uint64_t expired = 0;  // of the misses: an entry was there but older than max_age (dropped)
    uint64_t stale = 0;    // ForgetStale calls that dropped an entry: a hit the city found outdated
    uint64_t evicted = 0;  // entries dropped to keep within max_entries
    size_t entries = 0;    // entries held now (expired ones not yet dropped included)
  };

  // `clock` must outlive the cache.
  explicit AccountCache(const Clock& clock, AccountCacheOptions options = {});

  AccountCache(const AccountCache&) = delete;
  AccountCache& operator=(const AccountCache&) = delete;

  // The account stored for (city, resident_id, year) if it is younger than max_age; nullopt
  // otherwise (an expired entry is dropped). Counts a hit or a miss; a hit makes the entry the most
  // recently used.
  std::optional<adapters::MedicalAccount> Find(City city, absl::string_view resident_id, int year);

  // Remembers `account` as the insured city answered it now (clock->Now()). If a fresh entry with a
  // higher version is already there it is kept and `account` ignored; otherwise `account` replaces
  // it (an equal version refreshes the entry's age).
  void Store(City city, absl::string_view resident_id, int year, const adapters::MedicalAccount& account);

  // Drops the entry, if any.
  void Forget(City city, absl::string_view resident_id, int year);

  // Drops the entry, if any, as Forget does, because the city refused a commit computed from it
  // (ABORTED: the version moved); counted in Stats::stale when there was one.
  void ForgetStale(City city, absl::string_view resident_id, int year);

  Stats GetStats() const;

  const AccountCacheOptions& options() const { return options_; }

 private:
  struct Key {
    int city = 0;
    std::string resident_id;
    int year = 0;

    friend bool operator==(const Key& a, const Key& b) {
      return a.city == b.city && a.year == b.year && a.resident_id == b.resident_id;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& key) {
      return H::combine(std::move(h), key.city, key.resident_id, key.year);
    }
  };
  struct Entry {
    Key key;
    adapters::MedicalAccount account;
    absl::Time stored_at;
  };
  // One lock's worth of the cache: a recency list (most recently used first) and an index into it.
  struct Shard {
    mutable absl::Mutex mu;
    std::list<Entry> lru ABSL_GUARDED_BY(mu);
    absl::flat_hash_map<Key, std::list<Entry>::iterator> index ABSL_GUARDED_BY(mu);
    uint64_t hits ABSL_GUARDED_BY(mu) = 0;
    uint64_t misses ABSL_GUARDED_BY(mu) = 0;
    uint64_t expired ABSL_GUARDED_BY(mu) = 0;
    uint64_t stale ABSL_GUARDED_BY(mu) = 0;
    uint64_t evicted ABSL_GUARDED_BY(mu) = 0;
  };

  Shard& ShardFor(const Key& key) const;
  bool Expired(const Entry& entry, absl::Time now) const { return now - entry.stored_at >= options_.max_age; }
  // Drops the entry of `key`; true if there was one.
  static bool Erase(Shard& shard, const Key& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  const Clock& clock_;
  const AccountCacheOptions options_;
  const size_t shard_count_;
  const size_t capacity_per_shard_;
  std::unique_ptr<Shard[]> shards_;  // shard_count_ of them
};

}  // namespace interop::settlement

#endif  // INTEROP_GATEWAY_SETTLEMENT_ACCOUNT_CACHE_H_
