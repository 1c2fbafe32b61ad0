#include "gateway/store/sqlite_location_store.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::store {
namespace {

using ::interop::common::v1::City;
using ::testing::ElementsAre;

constexpr char kAlice[] = "140105199003071250";
constexpr char kBob[] = "14090219850615002X";

// Whole milliseconds: the store keeps learned_at at millisecond precision.
const absl::Time kLearned = absl::FromUnixMillis(1'790'000'000'123);

class TempDatabaseFile {
 public:
  TempDatabaseFile() {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = absl::StrCat(::testing::TempDir(), "sqlite_location_store_test_", getpid(), "_", test->name(), ".db");
    Remove();
  }
  ~TempDatabaseFile() { Remove(); }
  const std::string& path() const { return path_; }

 private:
  void Remove() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove(absl::StrCat(path_, suffix).c_str());
  }
  std::string path_;
};

// A database and a store on it, opened together and closed in the right order (store first).
struct OpenStore {
  std::unique_ptr<SqliteDatabase> database;
  std::unique_ptr<SqliteLocationStore> store;

  static OpenStore At(const std::string& path) {
    OpenStore s;
    absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(path, GatewaySchemaMigrations());
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return s;
    s.database = *std::move(db);
    absl::StatusOr<std::unique_ptr<SqliteLocationStore>> store = SqliteLocationStore::Open(*s.database);
    EXPECT_TRUE(store.ok()) << store.status();
    if (store.ok()) s.store = *std::move(store);
    return s;
  }
  void Close() {
    store.reset();
    database.reset();
  }
  ~OpenStore() { Close(); }
  OpenStore() = default;
  OpenStore(OpenStore&&) = default;
};

RecordLocation Location(std::vector<City> cities, absl::Time learned_at = kLearned) {
  return RecordLocation{std::move(cities), learned_at};
}

std::optional<RecordLocation> GetOrDie(LocationStore& store, const std::string& id, RecordDomain domain) {
  absl::StatusOr<std::optional<RecordLocation>> got = store.Get(id, domain);
  EXPECT_TRUE(got.ok()) << got.status();
  return got.ok() ? *got : std::nullopt;
}

int RowCount(SqliteDatabase& db) {
  int count = -1;
  EXPECT_TRUE(db.WithConnection([&count](sqlite3* conn) {
                  sqlite3_stmt* stmt = nullptr;
                  if (sqlite3_prepare_v2(conn, "SELECT count(*) FROM record_locations", -1, &stmt, nullptr) !=
                      SQLITE_OK) {
                    return absl::InternalError(sqlite3_errmsg(conn));
                  }
                  if (sqlite3_step(stmt) == SQLITE_ROW) count = sqlite3_column_int(stmt, 0);
                  sqlite3_finalize(stmt);
                  return absl::OkStatus();
                }).ok());
  return count;
}

TEST(GatewaySchemaMigrationsTest, ApplyToAFreshDatabase) {
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(":memory:", GatewaySchemaMigrations());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(RowCount(**db), 0);
}

// A store whose schema is missing is an error from Open(), not a crash.
TEST(SqliteLocationStoreTest, OpenFailsWithoutTheSchema) {
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(":memory:", {});
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<std::unique_ptr<SqliteLocationStore>> store = SqliteLocationStore::Open(**db);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInternal) << store.status();
}

TEST(SqliteLocationStoreTest, GetOfUnknownPersonIsEmpty) {
  OpenStore s = OpenStore::At(":memory:");
  ASSERT_NE(s.store, nullptr);
  EXPECT_FALSE(GetOrDie(*s.store, kAlice, RecordDomain::kMedicalEnrollment).has_value());
}

TEST(SqliteLocationStoreTest, PutThenGet) {
  OpenStore s = OpenStore::At(":memory:");
  ASSERT_NE(s.store, nullptr);
  ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  std::optional<RecordLocation> got = GetOrDie(*s.store, kAlice, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(got->cities, ElementsAre(City::CITY_TAIYUAN));
  EXPECT_EQ(got->learned_at, kLearned);
}

TEST(SqliteLocationStoreTest, EntriesAreKeyedByPersonAndDomain) {
  OpenStore s = OpenStore::At(":memory:");
  ASSERT_NE(s.store, nullptr);
  ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(s.store
                  ->Put(kAlice, RecordDomain::kContributionHistory,
                        Location({City::CITY_TAIYUAN, City::CITY_XINZHOU}))
                  .ok());
  ASSERT_TRUE(s.store->Put(kBob, RecordDomain::kMedicalEnrollment, Location({City::CITY_LVLIANG})).ok());

  EXPECT_THAT(GetOrDie(*s.store, kAlice, RecordDomain::kMedicalEnrollment)->cities, ElementsAre(City::CITY_TAIYUAN));
  EXPECT_THAT(GetOrDie(*s.store, kAlice, RecordDomain::kContributionHistory)->cities,
              ElementsAre(City::CITY_TAIYUAN, City::CITY_XINZHOU));
  EXPECT_FALSE(GetOrDie(*s.store, kAlice, RecordDomain::kHouseholdRegistration).has_value());
  EXPECT_THAT(GetOrDie(*s.store, kBob, RecordDomain::kMedicalEnrollment)->cities, ElementsAre(City::CITY_LVLIANG));
  EXPECT_FALSE(GetOrDie(*s.store, kBob, RecordDomain::kContributionHistory).has_value());
}

TEST(SqliteLocationStoreTest, PutReplaces) {
  OpenStore s = OpenStore::At(":memory:");
  ASSERT_NE(s.store, nullptr);
  ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kHouseholdRegistration, Location({City::CITY_XINZHOU})).ok());
  const absl::Time later = kLearned + absl::Hours(3);
  ASSERT_TRUE(
      s.store->Put(kAlice, RecordDomain::kHouseholdRegistration, Location({City::CITY_JINZHONG}, later)).ok());
  std::optional<RecordLocation> got = GetOrDie(*s.store, kAlice, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(got->cities, ElementsAre(City::CITY_JINZHONG));
  EXPECT_EQ(got->learned_at, later);
}

TEST(SqliteLocationStoreTest, ForgetRemovesOnlyThatEntry) {
  OpenStore s = OpenStore::At(":memory:");
  ASSERT_NE(s.store, nullptr);
  ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kHouseholdRegistration, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(s.store->Forget(kAlice, RecordDomain::kMedicalEnrollment).ok());
  EXPECT_FALSE(GetOrDie(*s.store, kAlice, RecordDomain::kMedicalEnrollment).has_value());
  EXPECT_TRUE(GetOrDie(*s.store, kAlice, RecordDomain::kHouseholdRegistration).has_value());
  // Forgetting what is not there is fine.
  EXPECT_TRUE(s.store->Forget(kBob, RecordDomain::kContributionHistory).ok());
  EXPECT_TRUE(s.store->Flush().ok());
}

TEST(SqliteLocationStoreTest, FlushCommitsToTheDatabase) {
  OpenStore s = OpenStore::At(":memory:");
  ASSERT_NE(s.store, nullptr);
  ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(s.store->Put(kBob, RecordDomain::kMedicalEnrollment, Location({City::CITY_YANGQUAN})).ok());
  ASSERT_TRUE(s.store->Flush().ok());
  EXPECT_EQ(RowCount(*s.database), 2);
  ASSERT_TRUE(s.store->Forget(kBob, RecordDomain::kMedicalEnrollment).ok());
  ASSERT_TRUE(s.store->Flush().ok());
  EXPECT_EQ(RowCount(*s.database), 1);
}

TEST(SqliteLocationStoreTest, PersistsAcrossReopenAfterFlush) {
  TempDatabaseFile file;
  {
    OpenStore s = OpenStore::At(file.path());
    ASSERT_NE(s.store, nullptr);
    ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
    ASSERT_TRUE(s.store
                    ->Put(kAlice, RecordDomain::kContributionHistory,
                          Location({City::CITY_YANGQUAN, City::CITY_XINZHOU, City::CITY_LVLIANG}))
                    .ok());
    ASSERT_TRUE(s.store->Put(kBob, RecordDomain::kHouseholdRegistration, Location({City::CITY_JINZHONG})).ok());
    ASSERT_TRUE(s.store->Flush().ok());
  }
  OpenStore s = OpenStore::At(file.path());
  ASSERT_NE(s.store, nullptr);
  std::optional<RecordLocation> medical = GetOrDie(*s.store, kAlice, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(medical.has_value());
  EXPECT_THAT(medical->cities, ElementsAre(City::CITY_TAIYUAN));
  EXPECT_EQ(medical->learned_at, kLearned);
  std::optional<RecordLocation> history = GetOrDie(*s.store, kAlice, RecordDomain::kContributionHistory);
  ASSERT_TRUE(history.has_value());
  EXPECT_THAT(history->cities, ElementsAre(City::CITY_YANGQUAN, City::CITY_XINZHOU, City::CITY_LVLIANG));
  std::optional<RecordLocation> household = GetOrDie(*s.store, kBob, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(household.has_value());
  EXPECT_THAT(household->cities, ElementsAre(City::CITY_JINZHONG));
  EXPECT_FALSE(GetOrDie(*s.store, kBob, RecordDomain::kMedicalEnrollment).has_value());
}

TEST(SqliteLocationStoreTest, DestructorCommitsQueuedWrites) {
  TempDatabaseFile file;
  {
    OpenStore s = OpenStore::At(file.path());
    ASSERT_NE(s.store, nullptr);
    ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_LVLIANG})).ok());
    // No Flush(): closing the store must commit what is queued.
  }
  OpenStore s = OpenStore::At(file.path());
  ASSERT_NE(s.store, nullptr);
  std::optional<RecordLocation> got = GetOrDie(*s.store, kAlice, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(got->cities, ElementsAre(City::CITY_LVLIANG));
}

TEST(SqliteLocationStoreTest, ForgetIsPersisted) {
  TempDatabaseFile file;
  {
    OpenStore s = OpenStore::At(file.path());
    ASSERT_NE(s.store, nullptr);
    ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
    ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kHouseholdRegistration, Location({City::CITY_TAIYUAN})).ok());
    ASSERT_TRUE(s.store->Flush().ok());
  }
  {
    OpenStore s = OpenStore::At(file.path());
    ASSERT_NE(s.store, nullptr);
    ASSERT_TRUE(GetOrDie(*s.store, kAlice, RecordDomain::kMedicalEnrollment).has_value());
    ASSERT_TRUE(s.store->Forget(kAlice, RecordDomain::kMedicalEnrollment).ok());
    ASSERT_TRUE(s.store->Flush().ok());
  }
  OpenStore s = OpenStore::At(file.path());
  ASSERT_NE(s.store, nullptr);
  EXPECT_FALSE(GetOrDie(*s.store, kAlice, RecordDomain::kMedicalEnrollment).has_value());
  EXPECT_TRUE(GetOrDie(*s.store, kAlice, RecordDomain::kHouseholdRegistration).has_value());
}

TEST(SqliteLocationStoreTest, LastWriteWinsWithinOneBatch) {
  TempDatabaseFile file;
  {
    OpenStore s = OpenStore::At(file.path());
    ASSERT_NE(s.store, nullptr);
    // Put, Forget, Put, Put and Forget again for another key, all queued before one Flush.
    ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
    ASSERT_TRUE(s.store->Forget(kAlice, RecordDomain::kMedicalEnrollment).ok());
    ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_XINZHOU})).ok());
    ASSERT_TRUE(s.store->Put(kBob, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
    ASSERT_TRUE(s.store->Forget(kBob, RecordDomain::kMedicalEnrollment).ok());
    ASSERT_TRUE(s.store->Flush().ok());
  }
  OpenStore s = OpenStore::At(file.path());
  ASSERT_NE(s.store, nullptr);
  std::optional<RecordLocation> alice = GetOrDie(*s.store, kAlice, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(alice.has_value());
  EXPECT_THAT(alice->cities, ElementsAre(City::CITY_XINZHOU));
  EXPECT_FALSE(GetOrDie(*s.store, kBob, RecordDomain::kMedicalEnrollment).has_value());
}

TEST(SqliteLocationStoreTest, NegativeEntryWithNoCitiesRoundTrips) {
  TempDatabaseFile file;
  {
    OpenStore s = OpenStore::At(file.path());
    ASSERT_NE(s.store, nullptr);
    ASSERT_TRUE(s.store->Put(kAlice, RecordDomain::kHouseholdRegistration, Location({})).ok());
    ASSERT_TRUE(s.store->Flush().ok());
  }
  OpenStore s = OpenStore::At(file.path());
  ASSERT_NE(s.store, nullptr);
  std::optional<RecordLocation> got = GetOrDie(*s.store, kAlice, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->cities.empty());
  EXPECT_EQ(got->learned_at, kLearned);
}

}  // namespace
}  // namespace interop::store
