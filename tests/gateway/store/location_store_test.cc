// Tests of the record locator's index (gateway/store/location_store.h), run against both back ends:
// SqliteLocationStore and PostgresLocationStore (the suite's private PostgreSQL server, a fresh
// schema per test). SQLite-only: the schema migrations of the embedded store and opening without
// them. PostgreSQL-only: what matters with several replicas sharing one database.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/store/location_store.h"
#include "gateway/store/postgres/postgres_database.h"
#include "gateway/store/postgres/postgres_location_store.h"
#include "gateway/store/schema.h"
#include "gateway/store/sqlite_database.h"
#include "gateway/store/sqlite_location_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/postgres/pg_test_support.h"

namespace interop::store {
namespace {

using ::interop::common::v1::City;
using ::testing::ElementsAre;

constexpr char kAlice[] = "140105199003071250";
constexpr char kBob[] = "14090219850615002X";

// Whole milliseconds: the stores keep learned_at at millisecond precision.
const absl::Time kLearned = absl::FromUnixMillis(1'790'000'000'123);

RecordLocation Location(std::vector<City> cities, absl::Time learned_at = kLearned) {
  return RecordLocation{std::move(cities), learned_at};
}

std::optional<RecordLocation> GetOrDie(LocationStore& store, const std::string& id, RecordDomain domain) {
  absl::StatusOr<std::optional<RecordLocation>> got = store.Get(id, domain);
  EXPECT_TRUE(got.ok()) << got.status();
  return got.ok() ? *got : std::nullopt;
}

class TempDatabaseFile {
 public:
  TempDatabaseFile() {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = absl::StrCat(test->test_suite_name(), "_", test->name());
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    path_ = absl::StrCat(::testing::TempDir(), "location_store_test_", getpid(), "_", name, ".db");
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

int SqliteRowCount(SqliteDatabase& db) {
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

int PostgresRowCount(pg::PostgresDatabase& db) {
  int count = -1;
  EXPECT_TRUE(db.WithConnection([&count](pg::Connection& c) -> absl::Status {
                  absl::StatusOr<pg::Result> rows = c.Exec("SELECT count(*) FROM record_locations");
                  if (!rows.ok()) return rows.status();
                  count = static_cast<int>(rows->Int(0, 0));
                  return absl::OkStatus();
                }).ok());
  return count;
}

enum class Backend { kSqlite, kPostgres };

void PrintTo(Backend backend, std::ostream* os) { *os << (backend == Backend::kSqlite ? "sqlite" : "postgres"); }

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "sqlite" : "postgres";
}

// One back end's database (kept across Reopen()) and a store on it.
class LocationStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) schema_ = std::make_unique<pg::TestSchema>();
    ASSERT_TRUE(Reopen());
  }
  void TearDown() override { Close(); }

  // Closes the store and its database connection(s), then opens both again on the same data.
  bool Reopen() {
    Close();
    if (GetParam() == Backend::kSqlite) {
      absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(file_.path(), GatewaySchemaMigrations());
      EXPECT_TRUE(db.ok()) << db.status();
      if (!db.ok()) return false;
      sqlite_db_ = *std::move(db);
      absl::StatusOr<std::unique_ptr<SqliteLocationStore>> store = SqliteLocationStore::Open(*sqlite_db_);
      EXPECT_TRUE(store.ok()) << store.status();
      if (!store.ok()) return false;
      sqlite_store_ = *std::move(store);
      return true;
    }
    absl::StatusOr<std::unique_ptr<pg::PostgresDatabase>> db = pg::PostgresDatabase::Open({schema_->conninfo(), 3});
    EXPECT_TRUE(db.ok()) << db.status();
    if (!db.ok()) return false;
    pg_db_ = *std::move(db);
    absl::StatusOr<std::unique_ptr<pg::PostgresLocationStore>> store = pg::PostgresLocationStore::Open(*pg_db_);
    EXPECT_TRUE(store.ok()) << store.status();
    if (!store.ok()) return false;
    pg_store_ = *std::move(store);
    return true;
  }

  void Close() {
    sqlite_store_.reset();
    sqlite_db_.reset();
    pg_store_.reset();
    pg_db_.reset();
  }

  LocationStore& store() {
    if (sqlite_store_ != nullptr) return *sqlite_store_;
    return *pg_store_;
  }
  absl::Status Flush() { return sqlite_store_ != nullptr ? sqlite_store_->Flush() : pg_store_->Flush(); }
  int RowCount() { return sqlite_db_ != nullptr ? SqliteRowCount(*sqlite_db_) : PostgresRowCount(*pg_db_); }

  TempDatabaseFile file_;
  std::unique_ptr<pg::TestSchema> schema_;
  std::unique_ptr<SqliteDatabase> sqlite_db_;
  std::unique_ptr<SqliteLocationStore> sqlite_store_;
  std::unique_ptr<pg::PostgresDatabase> pg_db_;
  std::unique_ptr<pg::PostgresLocationStore> pg_store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, LocationStoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

TEST_P(LocationStoreTest, GetOfUnknownPersonIsEmpty) {
  EXPECT_FALSE(GetOrDie(store(), kAlice, RecordDomain::kMedicalEnrollment).has_value());
}

TEST_P(LocationStoreTest, PutThenGet) {
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  std::optional<RecordLocation> got = GetOrDie(store(), kAlice, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(got->cities, ElementsAre(City::CITY_TAIYUAN));
  EXPECT_EQ(got->learned_at, kLearned);
  // The same once committed.
  ASSERT_TRUE(Flush().ok());
  got = GetOrDie(store(), kAlice, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(got->cities, ElementsAre(City::CITY_TAIYUAN));
  EXPECT_EQ(got->learned_at, kLearned);
}

TEST_P(LocationStoreTest, EntriesAreKeyedByPersonAndDomain) {
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(
      store()
          .Put(kAlice, RecordDomain::kContributionHistory, Location({City::CITY_TAIYUAN, City::CITY_XINZHOU}))
          .ok());
  ASSERT_TRUE(store().Put(kBob, RecordDomain::kMedicalEnrollment, Location({City::CITY_LVLIANG})).ok());

  for (bool flushed : {false, true}) {
    SCOPED_TRACE(flushed ? "after Flush" : "before Flush");
    EXPECT_THAT(GetOrDie(store(), kAlice, RecordDomain::kMedicalEnrollment)->cities, ElementsAre(City::CITY_TAIYUAN));
    EXPECT_THAT(GetOrDie(store(), kAlice, RecordDomain::kContributionHistory)->cities,
                ElementsAre(City::CITY_TAIYUAN, City::CITY_XINZHOU));
    EXPECT_FALSE(GetOrDie(store(), kAlice, RecordDomain::kHouseholdRegistration).has_value());
    EXPECT_THAT(GetOrDie(store(), kBob, RecordDomain::kMedicalEnrollment)->cities, ElementsAre(City::CITY_LVLIANG));
    EXPECT_FALSE(GetOrDie(store(), kBob, RecordDomain::kContributionHistory).has_value());
    ASSERT_TRUE(Flush().ok());
  }
}

TEST_P(LocationStoreTest, PutReplaces) {
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kHouseholdRegistration, Location({City::CITY_XINZHOU})).ok());
  ASSERT_TRUE(Flush().ok());
  const absl::Time later = kLearned + absl::Hours(3);
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kHouseholdRegistration, Location({City::CITY_JINZHONG}, later)).ok());
  std::optional<RecordLocation> got = GetOrDie(store(), kAlice, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(got->cities, ElementsAre(City::CITY_JINZHONG));
  EXPECT_EQ(got->learned_at, later);
  ASSERT_TRUE(Flush().ok());
  EXPECT_EQ(RowCount(), 1);
  got = GetOrDie(store(), kAlice, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(got->cities, ElementsAre(City::CITY_JINZHONG));
}

TEST_P(LocationStoreTest, ForgetRemovesOnlyThatEntry) {
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kHouseholdRegistration, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(Flush().ok());
  ASSERT_TRUE(store().Forget(kAlice, RecordDomain::kMedicalEnrollment).ok());
  EXPECT_FALSE(GetOrDie(store(), kAlice, RecordDomain::kMedicalEnrollment).has_value());
  EXPECT_TRUE(GetOrDie(store(), kAlice, RecordDomain::kHouseholdRegistration).has_value());
  // Forgetting what is not there is fine.
  EXPECT_TRUE(store().Forget(kBob, RecordDomain::kContributionHistory).ok());
  EXPECT_TRUE(Flush().ok());
  EXPECT_FALSE(GetOrDie(store(), kAlice, RecordDomain::kMedicalEnrollment).has_value());
  EXPECT_TRUE(GetOrDie(store(), kAlice, RecordDomain::kHouseholdRegistration).has_value());
}

TEST_P(LocationStoreTest, FlushCommitsToTheDatabase) {
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(store().Put(kBob, RecordDomain::kMedicalEnrollment, Location({City::CITY_YANGQUAN})).ok());
  ASSERT_TRUE(Flush().ok());
  EXPECT_EQ(RowCount(), 2);
  ASSERT_TRUE(store().Forget(kBob, RecordDomain::kMedicalEnrollment).ok());
  ASSERT_TRUE(Flush().ok());
  EXPECT_EQ(RowCount(), 1);
}

TEST_P(LocationStoreTest, PersistsAcrossReopenAfterFlush) {
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(store()
                  .Put(kAlice, RecordDomain::kContributionHistory,
                       Location({City::CITY_YANGQUAN, City::CITY_XINZHOU, City::CITY_LVLIANG}))
                  .ok());
  ASSERT_TRUE(store().Put(kBob, RecordDomain::kHouseholdRegistration, Location({City::CITY_JINZHONG})).ok());
  ASSERT_TRUE(Flush().ok());
  ASSERT_TRUE(Reopen());
  std::optional<RecordLocation> medical = GetOrDie(store(), kAlice, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(medical.has_value());
  EXPECT_THAT(medical->cities, ElementsAre(City::CITY_TAIYUAN));
  EXPECT_EQ(medical->learned_at, kLearned);
  std::optional<RecordLocation> history = GetOrDie(store(), kAlice, RecordDomain::kContributionHistory);
  ASSERT_TRUE(history.has_value());
  EXPECT_THAT(history->cities, ElementsAre(City::CITY_YANGQUAN, City::CITY_XINZHOU, City::CITY_LVLIANG));
  std::optional<RecordLocation> household = GetOrDie(store(), kBob, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(household.has_value());
  EXPECT_THAT(household->cities, ElementsAre(City::CITY_JINZHONG));
  EXPECT_FALSE(GetOrDie(store(), kBob, RecordDomain::kMedicalEnrollment).has_value());
}

TEST_P(LocationStoreTest, DestructorCommitsQueuedWrites) {
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_LVLIANG})).ok());
  // No Flush(): closing the store must commit what is queued.
  ASSERT_TRUE(Reopen());
  std::optional<RecordLocation> got = GetOrDie(store(), kAlice, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(got->cities, ElementsAre(City::CITY_LVLIANG));
}

TEST_P(LocationStoreTest, ForgetIsPersisted) {
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kHouseholdRegistration, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(Flush().ok());
  ASSERT_TRUE(Reopen());
  ASSERT_TRUE(GetOrDie(store(), kAlice, RecordDomain::kMedicalEnrollment).has_value());
  ASSERT_TRUE(store().Forget(kAlice, RecordDomain::kMedicalEnrollment).ok());
  ASSERT_TRUE(Flush().ok());
  ASSERT_TRUE(Reopen());
  EXPECT_FALSE(GetOrDie(store(), kAlice, RecordDomain::kMedicalEnrollment).has_value());
  EXPECT_TRUE(GetOrDie(store(), kAlice, RecordDomain::kHouseholdRegistration).has_value());
}

TEST_P(LocationStoreTest, LastWriteWinsWithinOneBatch) {
  // Put, Forget, Put, Put and Forget again for another key, all queued before one Flush.
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(store().Forget(kAlice, RecordDomain::kMedicalEnrollment).ok());
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_XINZHOU})).ok());
  ASSERT_TRUE(store().Put(kBob, RecordDomain::kMedicalEnrollment, Location({City::CITY_TAIYUAN})).ok());
  ASSERT_TRUE(store().Forget(kBob, RecordDomain::kMedicalEnrollment).ok());
  ASSERT_TRUE(Flush().ok());
  ASSERT_TRUE(Reopen());
  std::optional<RecordLocation> alice = GetOrDie(store(), kAlice, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(alice.has_value());
  EXPECT_THAT(alice->cities, ElementsAre(City::CITY_XINZHOU));
  EXPECT_FALSE(GetOrDie(store(), kBob, RecordDomain::kMedicalEnrollment).has_value());
}

TEST_P(LocationStoreTest, NegativeEntryWithNoCitiesRoundTrips) {
  ASSERT_TRUE(store().Put(kAlice, RecordDomain::kHouseholdRegistration, Location({})).ok());
  ASSERT_TRUE(Flush().ok());
  ASSERT_TRUE(Reopen());
  std::optional<RecordLocation> got = GetOrDie(store(), kAlice, RecordDomain::kHouseholdRegistration);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(got->cities.empty());
  EXPECT_EQ(got->learned_at, kLearned);
}

// --- SQLite only: the embedded store's schema ---

TEST(GatewaySchemaMigrationsTest, ApplyToAFreshDatabase) {
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(":memory:", GatewaySchemaMigrations());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(SqliteRowCount(**db), 0);
}

// A store whose schema is missing is an error from Open(), not a crash. (The PostgreSQL store
// migrates its own table when it opens.)
TEST(SqliteLocationStoreTest, OpenFailsWithoutTheSchema) {
  absl::StatusOr<std::unique_ptr<SqliteDatabase>> db = SqliteDatabase::Open(":memory:", {});
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<std::unique_ptr<SqliteLocationStore>> store = SqliteLocationStore::Open(**db);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInternal) << store.status();
}

// --- PostgreSQL only: several replicas on one database ---

// Two replicas: each a pool of its own and a store on one schema.
class TwoReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<std::unique_ptr<pg::PostgresDatabase>> db = pg::PostgresDatabase::Open({schema_.conninfo(), 3});
      ASSERT_TRUE(db.ok()) << db.status();
      databases_[i] = *std::move(db);
      absl::StatusOr<std::unique_ptr<pg::PostgresLocationStore>> store =
          pg::PostgresLocationStore::Open(*databases_[i]);
      ASSERT_TRUE(store.ok()) << store.status();
      stores_[i] = *std::move(store);
    }
  }

  pg::TestSchema schema_;
  std::unique_ptr<pg::PostgresDatabase> databases_[2];
  std::unique_ptr<pg::PostgresLocationStore> stores_[2];
};

TEST_F(TwoReplicasTest, EachSeesWhatTheOtherCommitted) {
  pg::PostgresLocationStore& a = *stores_[0];
  pg::PostgresLocationStore& b = *stores_[1];
  ASSERT_TRUE(a.Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_JINZHONG})).ok());
  ASSERT_TRUE(a.Flush().ok());
  std::optional<RecordLocation> seen = GetOrDie(b, kAlice, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(seen.has_value()) << "replica b reads what replica a committed";
  EXPECT_THAT(seen->cities, ElementsAre(City::CITY_JINZHONG));

  // b learns that the record moved, then forgets it: a follows each time.
  const absl::Time later = kLearned + absl::Minutes(5);
  ASSERT_TRUE(b.Put(kAlice, RecordDomain::kMedicalEnrollment, Location({City::CITY_LVLIANG}, later)).ok());
  ASSERT_TRUE(b.Flush().ok());
  seen = GetOrDie(a, kAlice, RecordDomain::kMedicalEnrollment);
  ASSERT_TRUE(seen.has_value());
  EXPECT_THAT(seen->cities, ElementsAre(City::CITY_LVLIANG));
  EXPECT_EQ(seen->learned_at, later);
  ASSERT_TRUE(b.Forget(kAlice, RecordDomain::kMedicalEnrollment).ok());
  ASSERT_TRUE(b.Flush().ok());
  EXPECT_FALSE(GetOrDie(a, kAlice, RecordDomain::kMedicalEnrollment).has_value());
}

// Both replicas write the same keys at once, in opposite orders and in many batches: no batch fails
// (no deadlock between them), and every key ends with one of the values written to it.
TEST_F(TwoReplicasTest, ConcurrentWritesOfTheSameKeysAllCommit) {
  constexpr int kPeople = 40;
  constexpr int kRounds = 25;
  auto person = [](int i) { return absl::StrCat("1401051990030", 10000 + i); };
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      pg::PostgresLocationStore& store = *stores_[r];
      const City city = r == 0 ? City::CITY_TAIYUAN : City::CITY_XINZHOU;
      for (int round = 0; round < kRounds; ++round) {
        for (int n = 0; n < kPeople; ++n) {
          const int i = r == 0 ? n : kPeople - 1 - n;
          EXPECT_TRUE(store.Put(person(i), RecordDomain::kContributionHistory, Location({city})).ok());
        }
        EXPECT_TRUE(store.Flush().ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(PostgresRowCount(*databases_[0]), kPeople);
  for (int i = 0; i < kPeople; ++i) {
    std::optional<RecordLocation> a = GetOrDie(*stores_[0], person(i), RecordDomain::kContributionHistory);
    std::optional<RecordLocation> b = GetOrDie(*stores_[1], person(i), RecordDomain::kContributionHistory);
    ASSERT_TRUE(a.has_value() && b.has_value()) << i;
    EXPECT_EQ(a->cities, b->cities) << "both replicas read the one committed row of " << i;
    ASSERT_EQ(a->cities.size(), 1u);
    EXPECT_TRUE(a->cities[0] == City::CITY_TAIYUAN || a->cities[0] == City::CITY_XINZHOU);
  }
}

// Migrations are recorded once, whichever replica opens first; reopening adds nothing.
TEST_F(TwoReplicasTest, TheTableIsMigratedOnce) {
  int64_t versions = -1;
  ASSERT_TRUE(databases_[0]
                  ->WithConnection([&](pg::Connection& c) -> absl::Status {
                    absl::StatusOr<pg::Result> rows = c.Exec(
                        "SELECT count(*) FROM interop_schema_migrations WHERE component = 'record_locations'");
                    if (!rows.ok()) return rows.status();
                    versions = rows->Int(0, 0);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(versions, 1);
}

}  // namespace
}  // namespace interop::store
