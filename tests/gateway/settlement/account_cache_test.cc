// AccountCache (gateway/settlement/account_cache.h): hits and misses, expiry by a ManualClock, the
// higher version kept, Forget and ForgetStale, the bound on entries (least recently used first
// out), and concurrent use from several threads.
#include "gateway/settlement/account_cache.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gateway/base/clock.h"
#include "gtest/gtest.h"

namespace interop::settlement {
namespace {

using adapters::MedicalAccount;

constexpr char kPatient[] = "140105199003071234";
constexpr int kYear = 2026;
const absl::Time kStart = absl::FromCivil(absl::CivilSecond(2026, 6, 30, 10, 0, 0), absl::UTCTimeZone());

MedicalAccount Account(int64_t version, int64_t balance_fen, const std::string& resident_id = kPatient) {
  MedicalAccount account;
  account.resident_id = resident_id;
  account.insurance_type = medical::v1::INSURANCE_TYPE_EMPLOYEE;
  account.status = medical::v1::ENROLLMENT_STATUS_ACTIVE;
  account.balance_fen = balance_fen;
  account.year = kYear;
  account.deductible_used_outpatient_fen = 12300;
  account.fund_paid_fen = 45600;
  account.version = version;
  return account;
}

// A distinct valid-looking resident id per index.
std::string ResidentId(int i) { return absl::StrFormat("1401051990%07dX", i).substr(0, 18); }

TEST(AccountCacheTest, AStoredAccountIsFoundUntilMaxAgeAndCounted) {
  ManualClock clock(kStart);
  AccountCache cache(clock, {/*max_age=*/absl::Seconds(30)});
  EXPECT_FALSE(cache.Find(City::CITY_YANGQUAN, kPatient, kYear).has_value());
  cache.Store(City::CITY_YANGQUAN, kPatient, kYear, Account(7, 150000));

  clock.Advance(absl::Seconds(29));
  std::optional<MedicalAccount> found = cache.Find(City::CITY_YANGQUAN, kPatient, kYear);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->version, 7);
  EXPECT_EQ(found->balance_fen, 150000);
  EXPECT_EQ(found->deductible_used_outpatient_fen, 12300);
  EXPECT_EQ(found->fund_paid_fen, 45600);
  EXPECT_EQ(found->status, medical::v1::ENROLLMENT_STATUS_ACTIVE);

  // Another city, person or year is another entry.
  EXPECT_FALSE(cache.Find(City::CITY_JINZHONG, kPatient, kYear).has_value());
  EXPECT_FALSE(cache.Find(City::CITY_YANGQUAN, ResidentId(1), kYear).has_value());
  EXPECT_FALSE(cache.Find(City::CITY_YANGQUAN, kPatient, kYear - 1).has_value());

  // At max_age it is no longer answered, and dropped.
  clock.Advance(absl::Seconds(1));
  EXPECT_FALSE(cache.Find(City::CITY_YANGQUAN, kPatient, kYear).has_value());
  AccountCache::Stats stats = cache.GetStats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.misses, 5u);
  EXPECT_EQ(stats.expired, 1u);
  EXPECT_EQ(stats.entries, 0u);

  // Storing again starts the age again.
  cache.Store(City::CITY_YANGQUAN, kPatient, kYear, Account(8, 140000));
  clock.Advance(absl::Seconds(20));
  ASSERT_TRUE(cache.Find(City::CITY_YANGQUAN, kPatient, kYear).has_value());
  EXPECT_EQ(cache.GetStats().hits, 2u);
}

TEST(AccountCacheTest, TheHigherVersionIsKept) {
  ManualClock clock(kStart);
  AccountCache cache(clock);
  cache.Store(City::CITY_XINZHOU, kPatient, kYear, Account(5, 100000));
  // The account after a commit replaces the one read before it...
  cache.Store(City::CITY_XINZHOU, kPatient, kYear, Account(6, 90000));
  EXPECT_EQ(cache.Find(City::CITY_XINZHOU, kPatient, kYear)->version, 6);
  // ...and a read that raced the commit and answers later does not bring the old one back.
  cache.Store(City::CITY_XINZHOU, kPatient, kYear, Account(5, 100000));
  std::optional<MedicalAccount> found = cache.Find(City::CITY_XINZHOU, kPatient, kYear);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->version, 6);
  EXPECT_EQ(found->balance_fen, 90000);

  // An equal version refreshes the age.
  clock.Advance(absl::Seconds(25));
  cache.Store(City::CITY_XINZHOU, kPatient, kYear, Account(6, 90000));
  clock.Advance(absl::Seconds(25));
  EXPECT_TRUE(cache.Find(City::CITY_XINZHOU, kPatient, kYear).has_value());

  // An expired higher version does not hold a newer read back.
  clock.Advance(absl::Seconds(30));
  cache.Store(City::CITY_XINZHOU, kPatient, kYear, Account(4, 1));
  EXPECT_EQ(cache.Find(City::CITY_XINZHOU, kPatient, kYear)->version, 4);
  EXPECT_EQ(cache.GetStats().entries, 1u);
}

TEST(AccountCacheTest, ForgetDropsTheEntryAndForgetStaleCountsIt) {
  ManualClock clock(kStart);
  AccountCache cache(clock);
  cache.Store(City::CITY_LVLIANG, kPatient, kYear, Account(3, 5000));
  cache.Store(City::CITY_LVLIANG, kPatient, kYear - 1, Account(3, 5000));
  cache.Forget(City::CITY_LVLIANG, kPatient, kYear);
  EXPECT_FALSE(cache.Find(City::CITY_LVLIANG, kPatient, kYear).has_value());
  EXPECT_TRUE(cache.Find(City::CITY_LVLIANG, kPatient, kYear - 1).has_value());  // only that year
  cache.Forget(City::CITY_LVLIANG, kPatient, kYear);                             // nothing there: no effect
  EXPECT_EQ(cache.GetStats().stale, 0u);

  cache.ForgetStale(City::CITY_LVLIANG, kPatient, kYear - 1);
  EXPECT_FALSE(cache.Find(City::CITY_LVLIANG, kPatient, kYear - 1).has_value());
  cache.ForgetStale(City::CITY_LVLIANG, kPatient, kYear - 1);  // already gone: not counted again
  AccountCache::Stats stats = cache.GetStats();
  EXPECT_EQ(stats.stale, 1u);
  EXPECT_EQ(stats.entries, 0u);

  // A forgotten entry can be stored again, even at a lower version.
  cache.Store(City::CITY_LVLIANG, kPatient, kYear, Account(2, 7000));
  EXPECT_EQ(cache.Find(City::CITY_LVLIANG, kPatient, kYear)->version, 2);
}

TEST(AccountCacheTest, TheLeastRecentlyUsedEntryMakesRoom) {
  ManualClock clock(kStart);
  AccountCacheOptions options;
  options.max_entries = 3;
  options.shards = 1;  // one shard: the order is exact
  AccountCache cache(clock, options);
  for (int i = 0; i < 3; ++i)
    cache.Store(City::CITY_TAIYUAN, ResidentId(i), kYear, Account(1, i, ResidentId(i)));
  ASSERT_TRUE(cache.Find(City::CITY_TAIYUAN, ResidentId(0), kYear).has_value());  // 0 is now the most recent
  cache.Store(City::CITY_TAIYUAN, ResidentId(3), kYear, Account(1, 3, ResidentId(3)));  // 1 goes
  EXPECT_FALSE(cache.Find(City::CITY_TAIYUAN, ResidentId(1), kYear).has_value());
  EXPECT_TRUE(cache.Find(City::CITY_TAIYUAN, ResidentId(0), kYear).has_value());
  EXPECT_TRUE(cache.Find(City::CITY_TAIYUAN, ResidentId(2), kYear).has_value());
  EXPECT_TRUE(cache.Find(City::CITY_TAIYUAN, ResidentId(3), kYear).has_value());
  // Replacing an entry makes no room.
  cache.Store(City::CITY_TAIYUAN, ResidentId(2), kYear, Account(2, 2, ResidentId(2)));
  AccountCache::Stats stats = cache.GetStats();
  EXPECT_EQ(stats.entries, 3u);
  EXPECT_EQ(stats.evicted, 1u);
}

TEST(AccountCacheTest, ManyPersonsStayWithinTheBound) {
  ManualClock clock(kStart);
  AccountCacheOptions options;
  options.max_entries = 256;
  options.shards = 16;
  AccountCache cache(clock, options);
  for (int i = 0; i < 5000; ++i)
    cache.Store(City::CITY_TAIYUAN, ResidentId(i), kYear, Account(1, i, ResidentId(i)));
  AccountCache::Stats stats = cache.GetStats();
  EXPECT_LE(stats.entries, 256u);
  EXPECT_GE(stats.entries, 200u);  // shards fill about evenly
  EXPECT_EQ(stats.evicted, 5000u - stats.entries);
  // The latest is there.
  std::optional<MedicalAccount> last = cache.Find(City::CITY_TAIYUAN, ResidentId(4999), kYear);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->balance_fen, 4999);
}

TEST(AccountCacheTest, ConcurrentUseKeepsTheNewestVersionOfEachPerson) {
  ManualClock clock(kStart);
  AccountCacheOptions options;
  options.max_entries = 1000;
  AccountCache cache(clock, options);
  constexpr int kThreads = 8;
  constexpr int kPersons = 50;
  constexpr int kRounds = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        for (int p = 0; p < kPersons; ++p) {
          const std::string id = ResidentId(p);
          const int64_t version = round * kThreads + t;
          cache.Store(City::CITY_JINZHONG, id, kYear, Account(version, version * 10, id));
          std::optional<MedicalAccount> found = cache.Find(City::CITY_JINZHONG, id, kYear);
          // What is found is some thread's store, whole; for a person never forgotten, never older
          // than this thread's own store.
          const bool forgotten = p % 7 == 0;
          if (!forgotten && !found.has_value()) ++wrong;
          if (found.has_value() && (found->resident_id != id || found->balance_fen != found->version * 10 ||
                                    (!forgotten && found->version < version))) {
            ++wrong;
          }
          if (forgotten && round % kThreads == t) cache.Forget(City::CITY_JINZHONG, id, kYear);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  AccountCache::Stats stats = cache.GetStats();
  EXPECT_EQ(stats.hits + stats.misses, static_cast<uint64_t>(kThreads * kRounds * kPersons));
  EXPECT_LE(stats.entries, static_cast<size_t>(kPersons));
  // After the threads, every person still held is at a version of the last round.
  for (int p = 0; p < kPersons; ++p) {
    std::optional<MedicalAccount> found = cache.Find(City::CITY_JINZHONG, ResidentId(p), kYear);
    if (found.has_value()) {
      EXPECT_GE(found->version, (kRounds - 1) * kThreads) << p;
    }
  }
}

}  // namespace
}  // namespace interop::settlement
