#include "gateway/store/caching_location_store.h"

#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace interop::store {
namespace {

using ::interop::common::v1::City;

constexpr char kAlice[] = "140105199003071250";

// A backing store in memory that counts its calls and can be made to fail.
class CountingStore final : public LocationStore {
 public:
  absl::StatusOr<std::optional<RecordLocation>> Get(const std::string& id, RecordDomain domain) override {
    ++gets;
    if (!fail.ok()) return fail;
    auto it = entries.find({id, static_cast<int>(domain)});
    if (it == entries.end()) return std::optional<RecordLocation>();
    return std::optional<RecordLocation>(it->second);
  }
  absl::Status Put(const std::string& id, RecordDomain domain, const RecordLocation& location) override {
    ++puts;
    if (!fail.ok()) return fail;
    entries[{id, static_cast<int>(domain)}] = location;
    return absl::OkStatus();
  }
  absl::Status Forget(const std::string& id, RecordDomain domain) override {
    if (!fail.ok()) return fail;
    entries.erase({id, static_cast<int>(domain)});
    return absl::OkStatus();
  }

  int gets = 0;
  int puts = 0;
  absl::Status fail;
  std::map<std::pair<std::string, int>, RecordLocation> entries;
};

RecordLocation In(City city) {
  RecordLocation location;
  location.cities = {city};
  location.learned_at = absl::FromUnixSeconds(1'800'000'000);
  return location;
}

TEST(CachingLocationStoreTest, ARememberedLocationIsReadFromMemory) {
  CountingStore backing;
  CachingLocationStore cache(backing, 1000);
  ASSERT_TRUE(cache.Put(kAlice, RecordDomain::kMedicalEnrollment, In(City::CITY_JINZHONG)).ok());
  EXPECT_EQ(backing.puts, 1);  // written through
  for (int i = 0; i < 3; ++i) {
    auto got = cache.Get(kAlice, RecordDomain::kMedicalEnrollment);
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->cities, std::vector<City>{City::CITY_JINZHONG});
  }
  EXPECT_EQ(backing.gets, 0);
  // Another domain of the same person is another entry.
  auto other = cache.Get(kAlice, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
  EXPECT_EQ(backing.gets, 1);
}

TEST(CachingLocationStoreTest, ReadsThroughOnceAndNeverCachesAnAbsence) {
  CountingStore backing;
  backing.entries[{kAlice, 1}] = In(City::CITY_XINZHOU);  // learned before this process started
  CachingLocationStore cache(backing, 1000);
  ASSERT_TRUE(cache.Get(kAlice, RecordDomain::kMedicalEnrollment).ok());
  ASSERT_TRUE(cache.Get(kAlice, RecordDomain::kMedicalEnrollment).ok());
  EXPECT_EQ(backing.gets, 1);

  EXPECT_FALSE(cache.Get(kAlice, RecordDomain::kContributionHistory)->has_value());
  backing.entries[{kAlice, 2}] = In(City::CITY_TAIYUAN);  // put by another replica
  auto now = cache.Get(kAlice, RecordDomain::kContributionHistory);
  ASSERT_TRUE(now.ok() && now->has_value());
  EXPECT_EQ((*now)->cities, std::vector<City>{City::CITY_TAIYUAN});
}

TEST(CachingLocationStoreTest, ForgetDropsTheEntryEvenIfTheBackingStoreFails) {
  CountingStore backing;
  CachingLocationStore cache(backing, 1000);
  ASSERT_TRUE(cache.Put(kAlice, RecordDomain::kMedicalEnrollment, In(City::CITY_JINZHONG)).ok());
  backing.fail = absl::InternalError("disk gone");
  EXPECT_EQ(cache.Forget(kAlice, RecordDomain::kMedicalEnrollment).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Get(kAlice, RecordDomain::kMedicalEnrollment).status().code(), absl::StatusCode::kInternal);
}

TEST(CachingLocationStoreTest, AFailedPutChangesNothingInMemory) {
  CountingStore backing;
  CachingLocationStore cache(backing, 1000);
  backing.fail = absl::InternalError("disk full");
  EXPECT_FALSE(cache.Put(kAlice, RecordDomain::kMedicalEnrollment, In(City::CITY_JINZHONG)).ok());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CachingLocationStoreTest, HoldsAtMostItsCapacity) {
  CountingStore backing;
  CachingLocationStore cache(backing, 64);  // 4 per shard
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(cache.Put(absl::StrCat("1401051990030", 10000 + i), RecordDomain::kMedicalEnrollment,
                          In(City::CITY_TAIYUAN))
                    .ok());
  }
  EXPECT_LE(cache.size(), 64u);
  EXPECT_GE(cache.size(), 16u);
  // Every location is still found (through the backing store for dropped ones).
  for (int i = 0; i < 1000; ++i) {
    auto got = cache.Get(absl::StrCat("1401051990030", 10000 + i), RecordDomain::kMedicalEnrollment);
    ASSERT_TRUE(got.ok() && got->has_value()) << i;
  }
}

}  // namespace
}  // namespace interop::store
