// Tests of the settlement ledger (gateway/settlement/ledger.h): recording, reversal, the clearing
// matrix, listing by insured city, intents, group commit and its failure semantics, durability
// across reopening, and ChinaDayOf. The suite (LedgerTest, BatchTest) runs against both back ends:
// SQLite and PostgreSQL (the suite's private server, ctest fixture "postgres", a fresh schema per
// test). SQLite-only: OpenSqliteSettlementLedgerTest (paths). PostgreSQL-only: TwoReplicasLedgerTest,
// two ledgers with pools of their own on one schema, as two gateway replicas.
#include "gateway/settlement/ledger.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <ostream>
#include <random>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gateway/store/postgres/postgres_database.h"
#include "gtest/gtest.h"
#include "interop/medical/v1/settlement.pb.h"
#include "tests/gateway/settlement/ledger_write.h"
#include "tests/gateway/store/postgres/pg_test_support.h"

namespace interop::settlement {
namespace {

using ::interop::medical::v1::ClearingCell;
using ::interop::medical::v1::ClearingMatrix;
using ::interop::medical::v1::NetPosition;
using ::interop::medical::v1::Settlement;
using ::interop::settlement::testing::AbandonAndWait;
using ::interop::settlement::testing::IntentAndWait;
using ::interop::settlement::testing::RecordAndWait;
using ::interop::settlement::testing::ReverseAndWait;
using ::testing::HasSubstr;

constexpr City kTaiyuan = City::CITY_TAIYUAN;
constexpr City kYangquan = City::CITY_YANGQUAN;
constexpr City kJinzhong = City::CITY_JINZHONG;
constexpr City kXinzhou = City::CITY_XINZHOU;
constexpr City kLvliang = City::CITY_LVLIANG;
constexpr City kCityOrder[] = {kTaiyuan, kYangquan, kJinzhong, kXinzhou, kLvliang};

const absl::TimeZone& ChinaTime() {
  static const absl::TimeZone* zone = new absl::TimeZone(absl::FixedTimeZone(8 * 60 * 60));
  return *zone;
}

// Unix seconds of a China Standard Time wall-clock time.
int64_t ChinaUnix(int year, int month, int day, int hour = 10, int minute = 0, int second = 0) {
  return absl::ToUnixSeconds(absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second), ChinaTime()));
}

// A new empty directory under the test temp dir; removed with its contents by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string pattern = absl::StrCat(::testing::TempDir(), "/ledger_test_XXXXXX");
    char* made = mkdtemp(pattern.data());
    if (made == nullptr) {
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
      abort();
    }
    path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs SQL on the database through its own raw connection; returns SQLite's error message or "".
std::string ExecRawSql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return message;
  }
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  std::string message;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    message = error ? error : "unknown error";
  }
  sqlite3_free(error);
  sqlite3_close(db);
  return message;
}

int64_t QueryRawInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t value = -1;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

// Holds the ledger's writer back until Release() (or destruction), so that more writes queue up
// behind the batch it is writing.
class WriterBlocker {
 public:
  virtual ~WriterBlocker() = default;
  virtual void Release() = 0;
};

// SQLite: holds the database's write lock (BEGIN IMMEDIATE on its own connection), so that the
// ledger's writer waits in its BEGIN (for up to the store's 5 s busy timeout).
class WriteLockHolder final : public WriterBlocker {
 public:
  explicit WriteLockHolder(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
  }
  ~WriteLockHolder() override { Release(); }
  WriteLockHolder(const WriteLockHolder&) = delete;
  WriteLockHolder& operator=(const WriteLockHolder&) = delete;
  void Release() override {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

// PostgreSQL: holds the ledger's tables in EXCLUSIVE mode on a connection of its own, so that the
// ledger's writer waits at its first write (plain reads are not blocked by that mode).
class TableLockHolder final : public WriterBlocker {
 public:
  explicit TableLockHolder(const std::string& conninfo) {
    absl::StatusOr<std::unique_ptr<store::pg::Connection>> connection = store::pg::Connect(conninfo);
    EXPECT_TRUE(connection.ok()) << connection.status();
    if (!connection.ok()) return;
    connection_ = std::move(*connection);
    absl::Status locked = connection_->ExecScript(
        "BEGIN; LOCK TABLE settlements, settlement_events, settlement_intents IN EXCLUSIVE MODE");
    EXPECT_TRUE(locked.ok()) << locked;
  }
  ~TableLockHolder() override { Release(); }
  TableLockHolder(const TableLockHolder&) = delete;
  TableLockHolder& operator=(const TableLockHolder&) = delete;
  void Release() override {
    if (connection_ == nullptr) return;
    (void)connection_->ExecScript("ROLLBACK");
    connection_.reset();
  }

 private:
  std::unique_ptr<store::pg::Connection> connection_;
};

// Runs SQL on a connection of its own; returns the error message or "".
std::string ExecPostgresSql(const std::string& conninfo, const std::string& sql) {
  absl::StatusOr<std::unique_ptr<store::pg::Connection>> connection = store::pg::Connect(conninfo);
  if (!connection.ok()) return std::string(connection.status().message());
  absl::Status status = (*connection)->ExecScript(sql);
  return status.ok() ? "" : std::string(status.message());
}

// The integer in the first column of the first row; -1 on any failure.
int64_t QueryPostgresInt(const std::string& conninfo, const std::string& sql) {
  absl::StatusOr<std::unique_ptr<store::pg::Connection>> connection = store::pg::Connect(conninfo);
  if (!connection.ok()) return -1;
  absl::StatusOr<store::pg::Result> rows = (*connection)->Exec(sql);
  if (!rows.ok() || rows->rows() == 0) return -1;
  return rows->Int(0, 0);
}

enum class Backend { kSqlite, kPostgres };

void PrintTo(Backend backend, std::ostream* os) { *os << (backend == Backend::kSqlite ? "sqlite" : "postgres"); }

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "sqlite" : "postgres";
}

// A settlement of `fund` + `account` + `cash` fen (total their sum), settled at `settled_at`.
LedgerEntry MakeEntry(const std::string& id, City treatment, City insured, int64_t settled_at, int64_t fund,
                      int64_t account, int64_t cash = 500, const std::string& organization = "H140105000001",
                      const std::string& key = "") {
  LedgerEntry entry;
  Settlement& s = entry.settlement;
  s.set_settlement_id(id);
  s.set_state(medical::v1::SETTLEMENT_STATE_SETTLED);
  s.set_resident_id("140105199003078915");
  s.mutable_insured_city()->set_city(insured);
  s.mutable_treatment_city()->set_city(treatment);
  s.mutable_hospital()->set_institution_code("H14010500001");
  s.set_visit_type(config::v1::VISIT_TYPE_OUTPATIENT);
  s.mutable_total()->set_fen(fund + account + cash);
  s.mutable_in_scope()->set_fen(fund + account + cash);
  s.mutable_deductible_applied()->set_fen(cash);
  s.mutable_fund_pay()->set_fen(fund);
  s.mutable_personal_account_pay()->set_fen(account);
  s.mutable_cash_pay()->set_fen(cash);
  s.mutable_balance_after()->set_fen(100000 - account);
  medical::v1::SettledLine* line = s.add_lines();
  line->set_code("001201000010000-120100001");
  line->mutable_total()->set_fen(fund + account + cash);
  s.set_settled_at_unix(settled_at);
  entry.caller_organization = organization;
  entry.idempotency_key = key.empty() ? absl::StrCat("key-", id) : key;
  entry.request_digest = std::string("\x00\x01\xff", 3) + std::string(29, 'd');
  return entry;
}

Settlement Reversed(const LedgerEntry& entry, int64_t reversed_at) {
  Settlement reversed = entry.settlement;
  reversed.set_state(medical::v1::SETTLEMENT_STATE_REVERSED);
  reversed.set_reversed_at_unix(reversed_at);
  reversed.mutable_balance_after()->set_fen(100000);
  return reversed;
}

// Collects the statuses of writes submitted without waiting.
class Outcomes {
 public:
  explicit Outcomes(size_t n) : statuses_(n), remaining_(n) {}
  std::function<void(absl::Status)> Callback(size_t i) {
    return [this, i](absl::Status status) {
      absl::MutexLock lock(&mu_);
      statuses_[i] = std::move(status);
      --remaining_;
    };
  }
  // Waits for every callback and returns the statuses.
  std::vector<absl::Status> Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(+[](size_t* remaining) { return *remaining == 0; }, &remaining_));
    return statuses_;
  }

 private:
  absl::Mutex mu_;
  std::vector<absl::Status> statuses_ ABSL_GUARDED_BY(mu_);
  size_t remaining_ ABSL_GUARDED_BY(mu_);
};

void WaitForBatchesStarted(SettlementLedger& ledger, uint64_t batches) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (ledger.Stats().batches_started < batches) {
    ASSERT_LT(absl::Now(), deadline) << "the writer did not take batch " << batches;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

bool SameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

const ClearingCell& Cell(const ClearingMatrix& matrix, City treatment, City insured) {
  for (const ClearingCell& cell : matrix.cells()) {
    if (cell.treatment_city() == treatment && cell.insured_city() == insured) return cell;
  }
  ADD_FAILURE() << "no cell " << treatment << " -> " << insured;
  static const ClearingCell* empty = new ClearingCell();
  return *empty;
}

const NetPosition& Position(const ClearingMatrix& matrix, City city) {
  for (const NetPosition& position : matrix.positions()) {
    if (position.city() == city) return position;
  }
  ADD_FAILURE() << "no position of " << city;
  static const NetPosition* empty = new NetPosition();
  return *empty;
}

int64_t SumOfNets(const ClearingMatrix& matrix) {
  int64_t sum = 0;
  for (const NetPosition& position : matrix.positions()) sum += position.net().fen();
  return sum;
}

// A ledger on one back end. Open() gives a new ledger on the same data (for PostgreSQL with a new
// pool, as a restarted process would have).
class LedgerTest : public ::testing::TestWithParam<Backend> {
 protected:
  bool postgres() const { return GetParam() == Backend::kPostgres; }
  std::string db_path() const { return dir_.File("store.db"); }

  std::unique_ptr<SettlementLedger> Open() {
    absl::StatusOr<std::unique_ptr<SettlementLedger>> ledger;
    if (postgres()) {
      absl::StatusOr<std::unique_ptr<store::pg::PostgresDatabase>> database =
          store::pg::PostgresDatabase::Open({schema_->conninfo(), 4});
      EXPECT_TRUE(database.ok()) << database.status();
      if (!database.ok()) return nullptr;
      databases_.push_back(std::move(*database));
      ledger = OpenPostgresSettlementLedger(*databases_.back());
    } else {
      ledger = OpenSqliteSettlementLedger(db_path());
    }
    EXPECT_TRUE(ledger.ok()) << ledger.status();
    return ledger.ok() ? std::move(*ledger) : nullptr;
  }

  void SetUp() override {
    if (postgres()) schema_ = std::make_unique<store::pg::TestSchema>();
    ledger_ = Open();
    ASSERT_NE(ledger_, nullptr);
  }

  // Each back end's own SQL, where the two differ.
  const char* Sql(const char* sqlite, const char* postgresql) const { return postgres() ? postgresql : sqlite; }
  // The integer the query answers, through a connection of its own; -1 on failure.
  int64_t QueryInt(const std::string& sql) {
    return postgres() ? QueryPostgresInt(schema_->conninfo(), sql) : QueryRawInt(db_path(), sql);
  }
  // Runs SQL through a connection of its own; the error message or "".
  std::string ExecSql(const std::string& sql) {
    return postgres() ? ExecPostgresSql(schema_->conninfo(), sql) : ExecRawSql(db_path(), sql);
  }
  std::unique_ptr<WriterBlocker> BlockWriter() {
    if (postgres()) return std::make_unique<TableLockHolder>(schema_->conninfo());
    return std::make_unique<WriteLockHolder>(db_path());
  }

  ClearingMatrix ClearingOrDie(absl::CivilDay from, absl::CivilDay to) {
    absl::StatusOr<ClearingMatrix> matrix = ledger_->Clearing(from, to);
    EXPECT_TRUE(matrix.ok()) << matrix.status();
    return matrix.ok() ? *matrix : ClearingMatrix();
  }

  std::optional<LedgerEntry> FindOrDie(const std::string& id) { return FindOrDie(*ledger_, id); }
  static std::optional<LedgerEntry> FindOrDie(SettlementLedger& ledger, const std::string& id) {
    absl::StatusOr<std::optional<LedgerEntry>> found = ledger.Find(id);
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() ? *found : std::nullopt;
  }

  TempDir dir_;
  std::unique_ptr<store::pg::TestSchema> schema_;
  // Every pool opened; ledgers hold references to them, so they go after ledger_.
  std::vector<std::unique_ptr<store::pg::PostgresDatabase>> databases_;
  std::unique_ptr<SettlementLedger> ledger_;
};

INSTANTIATE_TEST_SUITE_P(Backends, LedgerTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

// --- ChinaDayOf ---

TEST(ChinaDayOfTest, TheDayChangesAtSixteenHundredUtc) {
  const int64_t utc_1559 = absl::ToUnixSeconds(absl::FromCivil(absl::CivilSecond(2024, 3, 14, 15, 59, 59),
                                                               absl::UTCTimeZone()));
  EXPECT_EQ(ChinaDayOf(utc_1559), absl::CivilDay(2024, 3, 14));
  EXPECT_EQ(ChinaDayOf(utc_1559 + 1), absl::CivilDay(2024, 3, 15));
  EXPECT_EQ(ChinaDayOf(0), absl::CivilDay(1970, 1, 1));
  EXPECT_EQ(ChinaDayOf(16 * 3600 - 1), absl::CivilDay(1970, 1, 1));
  EXPECT_EQ(ChinaDayOf(16 * 3600), absl::CivilDay(1970, 1, 2));
  // New Year in China while it is still the old year in UTC.
  EXPECT_EQ(ChinaDayOf(ChinaUnix(2025, 1, 1, 0, 0, 0)), absl::CivilDay(2025, 1, 1));
}

// --- the helpers both back ends share ---

TEST(LedgerHelpersTest, DayKeyAndCityIndexAreWhatTheTablesStore) {
  EXPECT_EQ(DayKey(absl::CivilDay(2024, 3, 1)), 20240301);
  EXPECT_EQ(DayKey(absl::CivilDay(1999, 12, 31)), 19991231);
  for (size_t i = 0; i < kAllCities.size(); ++i) {
    EXPECT_EQ(CityIndex(static_cast<int64_t>(kAllCities[i])), static_cast<int>(i));
  }
  EXPECT_EQ(CityIndex(0), -1);  // CITY_UNSPECIFIED
  EXPECT_EQ(CityIndex(999), -1);
}

TEST(LedgerHelpersTest, TheClearingMatrixHasACellPerPairOfDifferentCitiesAndNetsEachCity) {
  CityPairTotals totals;
  totals.settlements[0][1] = 2;  // treated in the first city, insured in the second
  totals.amount_fen[0][1] = 500;
  totals.settlements[1][0] = 1;
  totals.amount_fen[1][0] = 200;
  totals.settlements[2][2] = 7;  // within one city: not a cross-city claim
  totals.amount_fen[2][2] = 9999;
  ClearingMatrix matrix = BuildClearingMatrix(absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 3, 31), totals);
  EXPECT_EQ(matrix.period().from().month(), 3);
  EXPECT_EQ(matrix.period().to().day(), 31);
  ASSERT_EQ(matrix.cells_size(), 20);
  int64_t cells_fen = 0;
  for (const auto& cell : matrix.cells()) {
    EXPECT_NE(cell.treatment_city(), cell.insured_city());
    cells_fen += cell.amount().fen();
    if (cell.treatment_city() == kAllCities[0] && cell.insured_city() == kAllCities[1]) {
      EXPECT_EQ(cell.settlements(), 2);
    }
  }
  EXPECT_EQ(cells_fen, 700);
  ASSERT_EQ(matrix.positions_size(), 5);
  EXPECT_EQ(matrix.positions(0).receivable().fen(), 500);
  EXPECT_EQ(matrix.positions(0).payable().fen(), 200);
  EXPECT_EQ(matrix.positions(0).net().fen(), 300);
  EXPECT_EQ(matrix.positions(1).net().fen(), -300);
  EXPECT_EQ(matrix.positions(2).net().fen(), 0);
}

// --- opening ---

TEST(OpenSqliteSettlementLedgerTest, RefusesAnInMemoryDatabase) {
  for (const char* path : {"", ":memory:"}) {
    absl::StatusOr<std::unique_ptr<SettlementLedger>> ledger = OpenSqliteSettlementLedger(path);
    ASSERT_FALSE(ledger.ok()) << path;
    EXPECT_EQ(ledger.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(OpenSqliteSettlementLedgerTest, FailsOnAnUnopenablePath) {
  absl::StatusOr<std::unique_ptr<SettlementLedger>> ledger =
      OpenSqliteSettlementLedger("/nonexistent-directory-for-ledger-test/sub/store.db");
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), absl::StatusCode::kInternal);
}

TEST_P(LedgerTest, CreatesTheLedgerTablesAtTheLatestSchemaVersion) {
  if (postgres()) {
    EXPECT_EQ(QueryInt("SELECT MAX(version) FROM interop_schema_migrations WHERE component = 'settlement_ledger'"),
              2);
    EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND "
                       "table_name IN ('settlements', 'settlement_events', 'settlement_intents')"),
              3);
    return;
  }
  EXPECT_GE(QueryInt("PRAGMA user_version"), 4);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND "
                     "name IN ('settlements', 'settlement_events')"),
            2);
}

// --- recording and finding ---

TEST_P(LedgerTest, RecordThenFindRoundTrips) {
  LedgerEntry entry = MakeEntry("ST000000000000000000000001", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000);
  ASSERT_TRUE(RecordAndWait(*ledger_, entry).ok());

  std::optional<LedgerEntry> found = FindOrDie(entry.settlement.settlement_id());
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameMessage(found->settlement, entry.settlement)) << found->settlement.DebugString();
  EXPECT_EQ(found->caller_organization, entry.caller_organization);
  EXPECT_EQ(found->idempotency_key, entry.idempotency_key);
  EXPECT_EQ(found->request_digest, entry.request_digest) << "binary digest, NUL bytes included";
  EXPECT_EQ(found->request_digest.size(), 32u);
}

TEST_P(LedgerTest, FindOfAnUnknownIdIsEmpty) {
  EXPECT_FALSE(FindOrDie("ST0000000000000000000000ff").has_value());
}

TEST_P(LedgerTest, DuplicateSettlementIdIsAlreadyExists) {
  LedgerEntry first = MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000);
  ASSERT_TRUE(RecordAndWait(*ledger_, first).ok());
  LedgerEntry again = MakeEntry("ST1", kXinzhou, kLvliang, ChinaUnix(2024, 3, 16), 1, 1, 1, "H140900000009",
                                "another-key");
  absl::Status status = RecordAndWait(*ledger_, again);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_THAT(status.message(), HasSubstr("ST1"));
  std::optional<LedgerEntry> found = FindOrDie("ST1");
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameMessage(found->settlement, first.settlement)) << "the first one is kept";
  EXPECT_EQ(Cell(ClearingOrDie(absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 3, 31)), kXinzhou, kLvliang)
                .settlements(),
            0)
      << "no event for the refused one";
}

TEST_P(LedgerTest, DuplicateOrganisationAndKeyWithAnotherIdIsAlreadyExists) {
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000,
                                                500, "H140105000001", "visit-0001"))
                  .ok());
  absl::Status status = RecordAndWait(*ledger_, MakeEntry("ST2", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000,
                                                          3000, 500, "H140105000001", "visit-0001"));
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  EXPECT_THAT(status.message(), HasSubstr("visit-0001"));
  EXPECT_THAT(status.message(), HasSubstr("ST1")) << "names the settlement that holds the key";
  EXPECT_FALSE(FindOrDie("ST2").has_value());

  // The same key of another organisation is another settlement.
  EXPECT_TRUE(RecordAndWait(*ledger_, MakeEntry("ST3", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000, 500,
                                                "H140700000002", "visit-0001"))
                  .ok());
}

TEST_P(LedgerTest, InvalidEntriesAreRefusedAndNotWritten) {
  struct Case {
    const char* what;
    std::function<void(LedgerEntry&)> spoil;
  };
  const Case cases[] = {
      {"settlement_id", [](LedgerEntry& e) { e.settlement.clear_settlement_id(); }},
      {"state", [](LedgerEntry& e) { e.settlement.set_state(medical::v1::SETTLEMENT_STATE_PRE_SETTLED); }},
      {"settled_at_unix", [](LedgerEntry& e) { e.settlement.set_settled_at_unix(0); }},
      {"insured_city", [](LedgerEntry& e) { e.settlement.mutable_insured_city()->set_city(City::CITY_UNSPECIFIED); }},
      {"treatment_city", [](LedgerEntry& e) { e.settlement.mutable_treatment_city()->set_city(static_cast<City>(9)); }},
      {"caller_organization", [](LedgerEntry& e) { e.caller_organization.clear(); }},
      {"idempotency_key", [](LedgerEntry& e) { e.idempotency_key.clear(); }},
  };
  for (const Case& c : cases) {
    LedgerEntry entry = MakeEntry("STBAD", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 100);
    c.spoil(entry);
    absl::Status status = RecordAndWait(*ledger_, entry);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.what << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(c.what));
  }
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlements"), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlement_events"), 0);
}

// --- reversal ---

TEST_P(LedgerTest, ReversalOnceThenFailedPrecondition) {
  LedgerEntry entry = MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000);
  ASSERT_TRUE(RecordAndWait(*ledger_, entry).ok());
  Settlement reversed = Reversed(entry, ChinaUnix(2024, 3, 16));
  ASSERT_TRUE(ReverseAndWait(*ledger_, "ST1", reversed).ok());

  std::optional<LedgerEntry> found = FindOrDie("ST1");
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameMessage(found->settlement, reversed)) << found->settlement.DebugString();
  EXPECT_EQ(found->settlement.state(), medical::v1::SETTLEMENT_STATE_REVERSED);
  EXPECT_EQ(found->idempotency_key, entry.idempotency_key);

  Settlement twice = Reversed(entry, ChinaUnix(2024, 3, 17));
  twice.mutable_balance_after()->set_fen(1);
  absl::Status status = ReverseAndWait(*ledger_, "ST1", twice);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  found = FindOrDie("ST1");
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameMessage(found->settlement, reversed)) << "nothing written by the second reversal";
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlement_events WHERE kind = -1"), 1);
}

TEST_P(LedgerTest, ReversalOfAnUnknownSettlementIsNotFound) {
  LedgerEntry entry = MakeEntry("ST404", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000);
  absl::Status status = ReverseAndWait(*ledger_, "ST404", Reversed(entry, ChinaUnix(2024, 3, 16)));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(status.message(), HasSubstr("ST404"));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlement_events"), 0);
}

TEST_P(LedgerTest, InvalidReversalsAreRefused) {
  LedgerEntry entry = MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000);
  ASSERT_TRUE(RecordAndWait(*ledger_, entry).ok());
  Settlement other_id = Reversed(entry, ChinaUnix(2024, 3, 16));
  other_id.set_settlement_id("ST2");
  Settlement not_reversed = Reversed(entry, ChinaUnix(2024, 3, 16));
  not_reversed.set_state(medical::v1::SETTLEMENT_STATE_SETTLED);
  Settlement no_time = Reversed(entry, 0);
  for (const Settlement& bad : {other_id, not_reversed, no_time}) {
    absl::Status status = ReverseAndWait(*ledger_, "ST1", bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  }
  std::optional<LedgerEntry> found = FindOrDie("ST1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->settlement.state(), medical::v1::SETTLEMENT_STATE_SETTLED);
}

// A callback may write again (it runs holding no lock of the ledger).
TEST_P(LedgerTest, CallbackMayRecordAgain) {
  LedgerEntry entry = MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000);
  Settlement reversed = Reversed(entry, ChinaUnix(2024, 3, 15, 11));
  absl::Notification reversal_done;
  absl::Status reversal_status;
  ledger_->RecordSettlement(entry, [&](absl::Status status) {
    ASSERT_TRUE(status.ok()) << status;
    ledger_->RecordReversal("ST1", reversed, [&](absl::Status status) {
      reversal_status = status;
      reversal_done.Notify();
    });
  });
  reversal_done.WaitForNotification();
  EXPECT_TRUE(reversal_status.ok()) << reversal_status;
}

// --- clearing ---

TEST_P(LedgerTest, EmptyClearingHasTwentyZeroCellsAndFivePositionsInCityOrder) {
  ClearingMatrix matrix = ClearingOrDie(absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 3, 31));
  EXPECT_EQ(matrix.period().from().year(), 2024);
  EXPECT_EQ(matrix.period().from().month(), 3);
  EXPECT_EQ(matrix.period().from().day(), 1);
  EXPECT_EQ(matrix.period().to().day(), 31);
  ASSERT_EQ(matrix.cells_size(), 20);
  int i = 0;
  for (City treatment : kCityOrder) {
    for (City insured : kCityOrder) {
      if (treatment == insured) continue;
      const ClearingCell& cell = matrix.cells(i++);
      EXPECT_EQ(cell.treatment_city(), treatment) << "cell " << i - 1;
      EXPECT_EQ(cell.insured_city(), insured) << "cell " << i - 1;
      EXPECT_EQ(cell.settlements(), 0);
      EXPECT_EQ(cell.amount().fen(), 0);
    }
  }
  ASSERT_EQ(matrix.positions_size(), 5);
  for (int c = 0; c < 5; ++c) {
    EXPECT_EQ(matrix.positions(c).city(), kCityOrder[c]);
    EXPECT_EQ(matrix.positions(c).net().fen(), 0);
  }
}

TEST_P(LedgerTest, ClearingSumsFundAndAccountPayPerCityPair) {
  // Jinzhong hospitals treated Taiyuan patients twice, Taiyuan hospitals a Lvliang patient once,
  // and a Xinzhou hospital a Xinzhou patient (not a cross-city claim). Cash is never claimed.
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000, 700)).ok());
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("ST2", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 20), 1000, 0, 900)).ok());
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("ST3", kTaiyuan, kLvliang, ChinaUnix(2024, 3, 2), 50000, 2500, 100)).ok());
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("ST4", kXinzhou, kXinzhou, ChinaUnix(2024, 3, 3), 7000, 700, 70)).ok());
  // Outside the period.
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("ST5", kJinzhong, kTaiyuan, ChinaUnix(2024, 4, 1), 999, 1)).ok());

  ClearingMatrix matrix = ClearingOrDie(absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 3, 31));
  ASSERT_EQ(matrix.cells_size(), 20) << "same-city settlements add no cell";
  EXPECT_EQ(Cell(matrix, kJinzhong, kTaiyuan).settlements(), 2);
  EXPECT_EQ(Cell(matrix, kJinzhong, kTaiyuan).amount().fen(), 12000 + 3000 + 1000);
  EXPECT_EQ(Cell(matrix, kTaiyuan, kLvliang).settlements(), 1);
  EXPECT_EQ(Cell(matrix, kTaiyuan, kLvliang).amount().fen(), 52500);
  EXPECT_EQ(Cell(matrix, kTaiyuan, kJinzhong).settlements(), 0) << "direction matters";

  EXPECT_EQ(Position(matrix, kJinzhong).receivable().fen(), 16000);
  EXPECT_EQ(Position(matrix, kJinzhong).payable().fen(), 0);
  EXPECT_EQ(Position(matrix, kJinzhong).net().fen(), 16000);
  EXPECT_EQ(Position(matrix, kTaiyuan).receivable().fen(), 52500);
  EXPECT_EQ(Position(matrix, kTaiyuan).payable().fen(), 16000);
  EXPECT_EQ(Position(matrix, kTaiyuan).net().fen(), 36500);
  EXPECT_EQ(Position(matrix, kLvliang).net().fen(), -52500);
  EXPECT_EQ(Position(matrix, kXinzhou).receivable().fen(), 0) << "treating one's own insured is no claim";
  EXPECT_EQ(Position(matrix, kXinzhou).payable().fen(), 0);
  EXPECT_EQ(Position(matrix, kYangquan).net().fen(), 0);
  EXPECT_EQ(SumOfNets(matrix), 0);
}

TEST_P(LedgerTest, ReversalOnALaterDayCountsInTheLaterPeriod) {
  LedgerEntry entry = MakeEntry("ST1", kYangquan, kXinzhou, ChinaUnix(2024, 3, 31, 22), 8000, 2000);
  ASSERT_TRUE(RecordAndWait(*ledger_, entry).ok());
  ASSERT_TRUE(ReverseAndWait(*ledger_, "ST1", Reversed(entry, ChinaUnix(2024, 4, 2, 9))).ok());

  ClearingMatrix march = ClearingOrDie(absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 3, 31));
  EXPECT_EQ(Cell(march, kYangquan, kXinzhou).settlements(), 1);
  EXPECT_EQ(Cell(march, kYangquan, kXinzhou).amount().fen(), 10000);
  EXPECT_EQ(SumOfNets(march), 0);

  ClearingMatrix april = ClearingOrDie(absl::CivilDay(2024, 4, 1), absl::CivilDay(2024, 4, 30));
  EXPECT_EQ(Cell(april, kYangquan, kXinzhou).settlements(), -1);
  EXPECT_EQ(Cell(april, kYangquan, kXinzhou).amount().fen(), -10000);
  EXPECT_EQ(Position(april, kYangquan).receivable().fen(), -10000);
  EXPECT_EQ(Position(april, kXinzhou).payable().fen(), -10000);
  EXPECT_EQ(Position(april, kYangquan).net().fen(), -10000);
  EXPECT_EQ(SumOfNets(april), 0);

  ClearingMatrix both = ClearingOrDie(absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 4, 30));
  EXPECT_EQ(Cell(both, kYangquan, kXinzhou).settlements(), 0);
  EXPECT_EQ(Cell(both, kYangquan, kXinzhou).amount().fen(), 0);
}

TEST_P(LedgerTest, SettlementAndReversalInOnePeriodNetToZero) {
  LedgerEntry entry = MakeEntry("ST1", kLvliang, kJinzhong, ChinaUnix(2024, 5, 10), 4321, 1234);
  ASSERT_TRUE(RecordAndWait(*ledger_, entry).ok());
  // The reversal carries other amounts: the -1 event still takes the stored claim.
  Settlement reversed = Reversed(entry, ChinaUnix(2024, 5, 12));
  reversed.mutable_fund_pay()->set_fen(1);
  ASSERT_TRUE(ReverseAndWait(*ledger_, "ST1", reversed).ok());
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("ST2", kLvliang, kJinzhong, ChinaUnix(2024, 5, 11), 100, 10)).ok());

  ClearingMatrix may = ClearingOrDie(absl::CivilDay(2024, 5, 1), absl::CivilDay(2024, 5, 31));
  EXPECT_EQ(Cell(may, kLvliang, kJinzhong).settlements(), 1);
  EXPECT_EQ(Cell(may, kLvliang, kJinzhong).amount().fen(), 110);
  EXPECT_EQ(SumOfNets(may), 0);
}

TEST_P(LedgerTest, ClearingDaysAreChinaStandardTimeDays) {
  // 2024-03-31 15:59:59 UTC is 23:59:59 on the 31st in China; one second later it is April 1st.
  const int64_t last_second_of_march = ChinaUnix(2024, 3, 31, 23, 59, 59);
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("ST1", kTaiyuan, kYangquan, last_second_of_march, 100, 0)).ok());
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("ST2", kTaiyuan, kYangquan, last_second_of_march + 1, 200, 0)).ok());
  EXPECT_EQ(Cell(ClearingOrDie(absl::CivilDay(2024, 3, 31), absl::CivilDay(2024, 3, 31)), kTaiyuan, kYangquan)
                .amount()
                .fen(),
            100);
  EXPECT_EQ(Cell(ClearingOrDie(absl::CivilDay(2024, 4, 1), absl::CivilDay(2024, 4, 1)), kTaiyuan, kYangquan)
                .amount()
                .fen(),
            200);
}

TEST_P(LedgerTest, NetPositionsSumToZeroOverManyPairs) {
  int n = 0;
  for (City treatment : kCityOrder) {
    for (City insured : kCityOrder) {
      ++n;
      ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry(absl::StrCat("ST", n), treatment, insured,
                                                    ChinaUnix(2024, 6, 1 + n % 20), 1000 * n, 37 * n))
                      .ok());
    }
  }
  ClearingMatrix matrix = ClearingOrDie(absl::CivilDay(2024, 6, 1), absl::CivilDay(2024, 6, 30));
  EXPECT_EQ(SumOfNets(matrix), 0);
  int64_t cells_total = 0;
  int64_t receivable_total = 0;
  for (const ClearingCell& cell : matrix.cells()) {
    EXPECT_NE(cell.treatment_city(), cell.insured_city());
    EXPECT_EQ(cell.settlements(), 1);
    cells_total += cell.amount().fen();
  }
  for (const NetPosition& position : matrix.positions()) {
    receivable_total += position.receivable().fen();
    EXPECT_EQ(position.net().fen(), position.receivable().fen() - position.payable().fen());
  }
  EXPECT_EQ(receivable_total, cells_total);
}

TEST_P(LedgerTest, ClearingOfAnInvertedPeriodIsInvalidArgument) {
  absl::StatusOr<ClearingMatrix> matrix = ledger_->Clearing(absl::CivilDay(2024, 3, 2), absl::CivilDay(2024, 3, 1));
  ASSERT_FALSE(matrix.ok());
  EXPECT_EQ(matrix.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(matrix.status().message(), "period.from (2024-03-02) is after period.to (2024-03-01)");
}

// --- listing by insured city ---

TEST_P(LedgerTest, ListByInsuredCityFiltersByCityAndSettlementDay) {
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("STc", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 1, 1)).ok());
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("STa", kXinzhou, kTaiyuan, ChinaUnix(2024, 3, 1, 0, 0, 0), 1, 1)).ok());
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("STb", kTaiyuan, kTaiyuan, ChinaUnix(2024, 3, 31, 23, 59, 59), 1, 1)).ok());
  LedgerEntry reversed_later = MakeEntry("STd", kYangquan, kTaiyuan, ChinaUnix(2024, 3, 20), 1, 1);
  ASSERT_TRUE(RecordAndWait(*ledger_, reversed_later).ok());
  ASSERT_TRUE(ReverseAndWait(*ledger_, "STd", Reversed(reversed_later, ChinaUnix(2024, 4, 5))).ok());
  // Other city, and outside the period.
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("STe", kJinzhong, kLvliang, ChinaUnix(2024, 3, 15), 1, 1)).ok());
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("STf", kJinzhong, kTaiyuan, ChinaUnix(2024, 2, 29, 23, 59, 59), 1, 1)).ok());
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("STg", kJinzhong, kTaiyuan, ChinaUnix(2024, 4, 1, 0, 0, 0), 1, 1)).ok());

  absl::StatusOr<std::vector<LedgerEntry>> listed =
      ledger_->ListByInsuredCity(kTaiyuan, absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 3, 31));
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::string> ids;
  for (const LedgerEntry& entry : *listed) ids.push_back(entry.settlement.settlement_id());
  EXPECT_THAT(ids, ::testing::ElementsAre("STa", "STb", "STc", "STd"));
  EXPECT_EQ((*listed)[3].settlement.state(), medical::v1::SETTLEMENT_STATE_REVERSED)
      << "listed by settlement day, as it is now";
  EXPECT_EQ((*listed)[0].idempotency_key, "key-STa");

  listed = ledger_->ListByInsuredCity(kLvliang, absl::CivilDay(2024, 3, 15), absl::CivilDay(2024, 3, 15));
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].settlement.settlement_id(), "STe");

  listed = ledger_->ListByInsuredCity(kYangquan, absl::CivilDay(2024, 1, 1), absl::CivilDay(2024, 12, 31));
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->empty());
}

TEST_P(LedgerTest, ListByInsuredCityRefusesBadArguments) {
  absl::StatusOr<std::vector<LedgerEntry>> listed =
      ledger_->ListByInsuredCity(City::CITY_UNSPECIFIED, absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 3, 31));
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kInvalidArgument);
  listed = ledger_->ListByInsuredCity(kTaiyuan, absl::CivilDay(2024, 3, 31), absl::CivilDay(2024, 3, 1));
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kInvalidArgument);
}

// --- group commit ---

// With the writer held in its first BEGIN, 64 concurrent writers queue behind it: they commit in at
// most two transactions (deterministically more than one write per batch), and all are durable.
TEST_P(LedgerTest, ConcurrentWritersShareTransactions) {
  constexpr int kWriters = 64;
  std::vector<absl::Status> statuses(kWriters);
  {
    std::unique_ptr<WriterBlocker> lock = BlockWriter();
    std::atomic<int> submitted{0};
    std::vector<std::thread> threads;
    std::vector<std::unique_ptr<absl::Notification>> done;
    for (int i = 0; i < kWriters; ++i) done.push_back(std::make_unique<absl::Notification>());
    for (int i = 0; i < kWriters; ++i) {
      threads.emplace_back([&, i] {
        ledger_->RecordSettlement(MakeEntry(absl::StrCat("STW", i), kJinzhong, kTaiyuan, ChinaUnix(2024, 7, 1), 100, 10),
                                  [&, i](absl::Status status) {
                                    statuses[i] = std::move(status);
                                    done[i]->Notify();
                                  });
        submitted.fetch_add(1);
        done[i]->WaitForNotification();
      });
    }
    while (submitted.load() < kWriters) absl::SleepFor(absl::Milliseconds(1));
    // Every write is queued or in the writer's first (blocked) batch.
    lock->Release();
    for (std::thread& thread : threads) thread.join();
  }
  for (int i = 0; i < kWriters; ++i) EXPECT_TRUE(statuses[i].ok()) << i << ": " << statuses[i];
  SettlementLedgerStats stats = ledger_->Stats();
  EXPECT_EQ(stats.writes_committed, static_cast<uint64_t>(kWriters));
  EXPECT_LE(stats.commits, 2u);
  EXPECT_GE(stats.largest_batch, static_cast<uint64_t>(kWriters / 2));
  EXPECT_EQ(stats.failed_commits, 0u);
  EXPECT_EQ(stats.queued, 0u);

  ledger_.reset();
  ledger_ = Open();
  ASSERT_NE(ledger_, nullptr);
  for (int i = 0; i < kWriters; ++i) EXPECT_TRUE(FindOrDie(absl::StrCat("STW", i)).has_value()) << i;
  EXPECT_EQ(Cell(ClearingOrDie(absl::CivilDay(2024, 7, 1), absl::CivilDay(2024, 7, 1)), kJinzhong, kTaiyuan)
                .settlements(),
            kWriters);
}

// 64 threads each recording and reversing in a loop, with no help: everything is durable and
// consistent. (Batching is measured by the test above; here it is only reported.)
TEST_P(LedgerTest, SixtyFourConcurrentWritersAreAllDurable) {
  constexpr int kWriters = 64;
  constexpr int kEach = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        const std::string id = absl::StrCat("ST-", w, "-", i);
        LedgerEntry entry = MakeEntry(id, kCityOrder[w % 5], kCityOrder[(w + 1 + i % 4) % 5],
                                      ChinaUnix(2024, 8, 1 + i), 1000 + w, i);
        if (!RecordAndWait(*ledger_, entry).ok()) failures.fetch_add(1);
        if (i % 3 == 0 && !ReverseAndWait(*ledger_, id, Reversed(entry, ChinaUnix(2024, 8, 20))).ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  const SettlementLedgerStats stats = ledger_->Stats();
  const uint64_t reversals = kWriters * 4;  // i = 0, 3, 6, 9
  EXPECT_EQ(stats.writes_committed, kWriters * kEach + reversals);
  EXPECT_EQ(stats.failed_commits, 0u);
  EXPECT_EQ(stats.commits, stats.batches_started);
  RecordProperty("commits", static_cast<int>(stats.commits));
  RecordProperty("largest_batch", static_cast<int>(stats.largest_batch));

  ledger_.reset();
  ledger_ = Open();
  ASSERT_NE(ledger_, nullptr);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlements"), kWriters * kEach);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlements WHERE state = 3"),
            static_cast<int64_t>(reversals));
  ClearingMatrix august = ClearingOrDie(absl::CivilDay(2024, 8, 1), absl::CivilDay(2024, 8, 31));
  int64_t settlements = 0;
  for (const ClearingCell& cell : august.cells()) settlements += cell.settlements();
  EXPECT_EQ(settlements, kWriters * kEach - static_cast<int64_t>(reversals));
  EXPECT_EQ(SumOfNets(august), 0);
}

// Destroying the ledger commits what is queued and runs every callback first.
TEST_P(LedgerTest, DestructionDrainsTheQueue) {
  constexpr int kWrites = 200;
  Outcomes outcomes(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    ledger_->RecordSettlement(MakeEntry(absl::StrCat("STQ", i), kXinzhou, kLvliang, ChinaUnix(2024, 9, 1), 10, 1),
                              outcomes.Callback(i));
  }
  ledger_.reset();
  std::vector<absl::Status> statuses = outcomes.Wait();  // already complete: the destructor waited
  for (int i = 0; i < kWrites; ++i) EXPECT_TRUE(statuses[i].ok()) << i << ": " << statuses[i];
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlements"), kWrites);
}

// Reads use their own connection (SQLite) or another of the pool (PostgreSQL): they do not wait while
// the writer is stuck waiting for a lock.
TEST_P(LedgerTest, ReadsDoNotWaitForTheWriter) {
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1)).ok());
  std::unique_ptr<WriterBlocker> lock = BlockWriter();
  absl::Notification done;
  ledger_->RecordSettlement(MakeEntry("ST2", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1),
                            [&](absl::Status) { done.Notify(); });
  WaitForBatchesStarted(*ledger_, 2);
  const absl::Time start = absl::Now();
  EXPECT_TRUE(FindOrDie("ST1").has_value());
  EXPECT_FALSE(FindOrDie("ST2").has_value()) << "not committed yet";
  EXPECT_EQ(Cell(ClearingOrDie(absl::CivilDay(2024, 3, 15), absl::CivilDay(2024, 3, 15)), kJinzhong, kTaiyuan)
                .settlements(),
            1);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << "a read waited for the writer's lock";
  lock->Release();
  done.WaitForNotification();
  EXPECT_TRUE(FindOrDie("ST2").has_value());
}

// --- failures inside a batch ---

// The writer is held in batch 1 = {opener}; everything submitted meanwhile forms batch 2.
class BatchTest : public LedgerTest {
 protected:
  // Submits `writes` (each a function submitting one write with the given callback) as one batch,
  // and returns their statuses.
  std::vector<absl::Status> RunAsOneBatch(const std::vector<std::function<void(std::function<void(absl::Status)>)>>& writes) {
    std::unique_ptr<WriterBlocker> lock = BlockWriter();
    const uint64_t started = ledger_->Stats().batches_started;
    absl::Notification first_done;
    ledger_->RecordSettlement(MakeEntry(absl::StrCat("ST-batch-opener-", started), kTaiyuan, kJinzhong,
                                        ChinaUnix(2024, 10, 1), 1, 1),
                              [&](absl::Status) { first_done.Notify(); });
    WaitForBatchesStarted(*ledger_, started + 1);
    Outcomes outcomes(writes.size());
    for (size_t i = 0; i < writes.size(); ++i) writes[i](outcomes.Callback(i));
    EXPECT_EQ(ledger_->Stats().queued, writes.size());
    lock->Release();
    first_done.WaitForNotification();
    std::vector<absl::Status> statuses = outcomes.Wait();
    EXPECT_EQ(ledger_->Stats().batches_started, started + 2) << "the writes shared one batch";
    return statuses;
  }

  std::function<void(std::function<void(absl::Status)>)> Settle(LedgerEntry entry) {
    return [this, entry](std::function<void(absl::Status)> done) { ledger_->RecordSettlement(entry, std::move(done)); };
  }
  std::function<void(std::function<void(absl::Status)>)> Reverse(const std::string& id, Settlement reversed) {
    return [this, id, reversed](std::function<void(absl::Status)> done) {
      ledger_->RecordReversal(id, reversed, std::move(done));
    };
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, BatchTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

TEST_P(BatchTest, ARefusedWriteFailsAloneAndTheOthersCommit) {
  LedgerEntry existing = MakeEntry("STX", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1);
  ASSERT_TRUE(RecordAndWait(*ledger_, existing).ok());
  ASSERT_TRUE(ReverseAndWait(*ledger_, "STX", Reversed(existing, ChinaUnix(2024, 3, 16))).ok());
  const uint64_t commits_before = ledger_->Stats().commits;

  LedgerEntry a = MakeEntry("STA", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1);
  LedgerEntry b = MakeEntry("STB", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1);
  LedgerEntry bad_state = MakeEntry("STS", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1);
  bad_state.settlement.set_state(medical::v1::SETTLEMENT_STATE_UNSPECIFIED);
  std::vector<absl::Status> statuses = RunAsOneBatch({
      Settle(a),
      Settle(MakeEntry("STA", kXinzhou, kTaiyuan, ChinaUnix(2024, 3, 15), 5, 5, 5, "H140900000009", "other")),
      Settle(MakeEntry("STC", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1, 500, a.caller_organization,
                       a.idempotency_key)),
      Reverse("STUNKNOWN", Reversed(MakeEntry("STUNKNOWN", kJinzhong, kTaiyuan, 1, 1, 1), 2)),
      Reverse("STX", Reversed(existing, ChinaUnix(2024, 3, 17))),
      Settle(bad_state),
      Settle(b),
      Reverse("STB", Reversed(b, ChinaUnix(2024, 3, 18))),  // sees STB written earlier in the batch
  });
  ASSERT_EQ(statuses.size(), 8u);
  EXPECT_TRUE(statuses[0].ok()) << statuses[0];
  EXPECT_EQ(statuses[1].code(), absl::StatusCode::kAlreadyExists) << statuses[1];
  EXPECT_EQ(statuses[2].code(), absl::StatusCode::kAlreadyExists) << statuses[2];
  EXPECT_EQ(statuses[3].code(), absl::StatusCode::kNotFound) << statuses[3];
  EXPECT_EQ(statuses[4].code(), absl::StatusCode::kFailedPrecondition) << statuses[4];
  EXPECT_EQ(statuses[5].code(), absl::StatusCode::kInvalidArgument) << statuses[5];
  EXPECT_TRUE(statuses[6].ok()) << statuses[6];
  EXPECT_TRUE(statuses[7].ok()) << statuses[7];
  EXPECT_EQ(ledger_->Stats().commits, commits_before + 2) << "the opener's batch and this one";
  EXPECT_EQ(ledger_->Stats().failed_commits, 0u);

  std::optional<LedgerEntry> found = FindOrDie("STA");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->settlement.insured_city().city(), kTaiyuan);
  EXPECT_EQ(found->settlement.treatment_city().city(), kJinzhong) << "the first of the two STA";
  EXPECT_FALSE(FindOrDie("STC").has_value());
  found = FindOrDie("STB");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->settlement.state(), medical::v1::SETTLEMENT_STATE_REVERSED);
  // STX (+1 -1), STA (+1), STB (+1 -1): the refused writes left no event.
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlement_events WHERE settlement_id NOT LIKE 'ST-batch-opener-%'"),
            5);
}

// A write whose own statement fails (here: a trigger aborts it) is rolled back alone (SQLite: to its
// savepoint; PostgreSQL: the batch runs again without it); the others of its batch commit.
TEST_P(BatchTest, AWriteWhoseStatementFailsFailsAlone) {
  ASSERT_EQ(ExecSql(Sql("CREATE TRIGGER refuse_poison BEFORE INSERT ON settlement_events "
                        "WHEN NEW.settlement_id = 'STPOISON' BEGIN SELECT RAISE(ABORT, 'poisoned event'); END",
                        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                        "  IF NEW.settlement_id = 'STPOISON' THEN RAISE EXCEPTION 'poisoned event'; END IF; "
                        "  RETURN NEW; END $$;"
                        "CREATE TRIGGER refuse_poison BEFORE INSERT ON settlement_events "
                        "  FOR EACH ROW EXECUTE FUNCTION refuse_poison()")),
            "");
  std::vector<absl::Status> statuses = RunAsOneBatch({
      Settle(MakeEntry("STA", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1)),
      Settle(MakeEntry("STPOISON", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1)),
      Settle(MakeEntry("STB", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1)),
  });
  EXPECT_TRUE(statuses[0].ok()) << statuses[0];
  EXPECT_EQ(statuses[1].code(), absl::StatusCode::kInternal) << statuses[1];
  EXPECT_THAT(statuses[1].message(), HasSubstr("poisoned event"));
  EXPECT_TRUE(statuses[2].ok()) << statuses[2];
  EXPECT_TRUE(FindOrDie("STA").has_value());
  EXPECT_FALSE(FindOrDie("STPOISON").has_value()) << "its settlements row went with its savepoint";
  EXPECT_TRUE(FindOrDie("STB").has_value());
}

// If the batch's transaction fails (here: COMMIT, on a deferred foreign key that a trigger
// violates), nothing of it is kept and every write in it fails; the ledger goes on afterwards.
TEST_P(BatchTest, AFailedTransactionFailsEveryWriteInItAndKeepsNothing) {
  ASSERT_EQ(ExecSql(absl::StrCat(
                "CREATE TABLE poison_parent (id INTEGER PRIMARY KEY);"
                "CREATE TABLE poison_child (parent INTEGER REFERENCES poison_parent (id) "
                "  DEFERRABLE INITIALLY DEFERRED);",
                Sql("CREATE TRIGGER poison_commit AFTER INSERT ON settlements "
                    "WHEN NEW.settlement_id = 'STPOISON' BEGIN INSERT INTO poison_child VALUES (42); END",
                    "CREATE FUNCTION poison_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    "  IF NEW.settlement_id = 'STPOISON' THEN INSERT INTO poison_child VALUES (42); END IF; "
                    "  RETURN NULL; END $$;"
                    "CREATE TRIGGER poison_commit AFTER INSERT ON settlements "
                    "  FOR EACH ROW EXECUTE FUNCTION poison_commit()"))),
            "");
  LedgerEntry existing = MakeEntry("STX", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1);
  ASSERT_TRUE(RecordAndWait(*ledger_, existing).ok());
  LedgerEntry a = MakeEntry("STA", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1);
  LedgerEntry invalid = MakeEntry("", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1);
  std::vector<absl::Status> statuses = RunAsOneBatch({
      Settle(a),
      Reverse("STX", Reversed(existing, ChinaUnix(2024, 3, 16))),
      Settle(MakeEntry("STPOISON", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 1)),
      Settle(MakeEntry("STA", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 1, 1)),  // refused, then failed
      Settle(invalid),
  });
  for (int i : {0, 1, 2, 3}) {
    EXPECT_EQ(statuses[i].code(), absl::StatusCode::kInternal) << i << ": " << statuses[i];
    EXPECT_THAT(absl::AsciiStrToLower(statuses[i].message()), HasSubstr("foreign key")) << i;
  }
  EXPECT_EQ(statuses[4].code(), absl::StatusCode::kInvalidArgument) << "invalid whatever the batch did";
  EXPECT_EQ(ledger_->Stats().failed_commits, 1u);

  EXPECT_FALSE(FindOrDie("STA").has_value());
  EXPECT_FALSE(FindOrDie("STPOISON").has_value());
  std::optional<LedgerEntry> found = FindOrDie("STX");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->settlement.state(), medical::v1::SETTLEMENT_STATE_SETTLED) << "its reversal was not kept";
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlement_events WHERE kind = -1"), 0);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM poison_child"), 0);

  // Not sticky: the same writes succeed in a later batch.
  EXPECT_TRUE(RecordAndWait(*ledger_, a).ok());
  EXPECT_TRUE(ReverseAndWait(*ledger_, "STX", Reversed(existing, ChinaUnix(2024, 3, 16))).ok());
  EXPECT_TRUE(FindOrDie("STA").has_value());
}

// --- durability ---

TEST_P(LedgerTest, RecordsSurviveClosingAndReopening) {
  LedgerEntry a = MakeEntry("STA", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000);
  LedgerEntry b = MakeEntry("STB", kLvliang, kYangquan, ChinaUnix(2024, 3, 16), 500, 50);
  ASSERT_TRUE(RecordAndWait(*ledger_, a).ok());
  ASSERT_TRUE(RecordAndWait(*ledger_, b).ok());
  Settlement reversed = Reversed(b, ChinaUnix(2024, 3, 17));
  ASSERT_TRUE(ReverseAndWait(*ledger_, "STB", reversed).ok());
  const ClearingMatrix before = ClearingOrDie(absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 3, 31));

  ledger_.reset();
  ledger_ = Open();
  ASSERT_NE(ledger_, nullptr);
  std::optional<LedgerEntry> found = FindOrDie("STA");
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameMessage(found->settlement, a.settlement));
  found = FindOrDie("STB");
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameMessage(found->settlement, reversed));
  EXPECT_TRUE(SameMessage(ClearingOrDie(absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 3, 31)), before));
  // The constraints hold across the reopening.
  EXPECT_EQ(RecordAndWait(*ledger_, a).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReverseAndWait(*ledger_, "STB", reversed).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_P(LedgerTest, AStoredSettlementThatDoesNotParseIsDataLoss) {
  ASSERT_TRUE(RecordAndWait(*ledger_, MakeEntry("STA", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 1, 1)).ok());
  ASSERT_EQ(ExecSql(Sql("UPDATE settlements SET settlement = x'ffffffff' WHERE settlement_id = 'STA'",
                        "UPDATE settlements SET settlement = '\\xffffffff'::bytea WHERE settlement_id = 'STA'")),
            "");
  absl::StatusOr<std::optional<LedgerEntry>> found = ledger_->Find("STA");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(found.status().message(), HasSubstr("STA"));
}

}  // namespace
}  // namespace interop::settlement

// --- intents ---

namespace interop::settlement {
namespace {

size_t IntentCount(SettlementLedger& ledger) {
  absl::StatusOr<std::vector<LedgerEntry>> intents = ledger.ListIntents();
  EXPECT_TRUE(intents.ok()) << intents.status();
  return intents.ok() ? intents->size() : 0;
}

TEST_P(LedgerTest, AnIntentIsReplacedRemovedWithItsSettlementAndHasNoClearingEvent) {
  LedgerEntry entry = MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000);
  ASSERT_TRUE(IntentAndWait(*ledger_, entry).ok());
  entry.settlement.mutable_fund_pay()->set_fen(11000);  // recomputed after a version conflict
  ASSERT_TRUE(IntentAndWait(*ledger_, entry).ok());
  absl::StatusOr<std::optional<LedgerEntry>> intent = ledger_->FindIntent("ST1");
  ASSERT_TRUE(intent.ok() && intent->has_value());
  EXPECT_EQ((*intent)->settlement.fund_pay().fen(), 11000);
  EXPECT_EQ((*intent)->request_digest, entry.request_digest);
  EXPECT_EQ(IntentCount(*ledger_), 1u);
  // An intent is not a settlement: not found, no claim.
  EXPECT_FALSE(FindOrDie("ST1").has_value());
  EXPECT_EQ(Cell(ClearingOrDie(absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 3, 31)), kJinzhong, kTaiyuan)
                .amount()
                .fen(),
            0);
  // Recording the settlement removes its intent in the same transaction.
  ASSERT_TRUE(RecordAndWait(*ledger_, entry).ok());
  EXPECT_EQ(IntentCount(*ledger_), 0u);
  EXPECT_TRUE(FindOrDie("ST1").has_value());
}

TEST_P(LedgerTest, AnIntentKeepsItsOwnerAndAReplacementTakesTheNewOne) {
  LedgerEntry entry = MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000);
  entry.intent_owner = "replica-a";
  ASSERT_TRUE(IntentAndWait(*ledger_, entry).ok());
  LedgerEntry other = MakeEntry("ST2", kJinzhong, kLvliang, ChinaUnix(2024, 3, 15), 100, 0, 0, "H140700000001",
                                "key-2");
  other.intent_owner = "replica-b";
  ASSERT_TRUE(IntentAndWait(*ledger_, other).ok());
  absl::StatusOr<std::optional<LedgerEntry>> found = ledger_->FindIntent("ST1");
  ASSERT_TRUE(found.ok() && found->has_value()) << found.status();
  EXPECT_EQ((*found)->intent_owner, "replica-a");
  // Written again by another replica (a retry of the same key there): the intent is now its.
  entry.intent_owner = "replica-b";
  ASSERT_TRUE(IntentAndWait(*ledger_, entry).ok());
  ledger_.reset();
  ledger_ = Open();  // what a restarted process reads
  absl::StatusOr<std::vector<LedgerEntry>> intents = ledger_->ListIntents();
  ASSERT_TRUE(intents.ok()) << intents.status();
  ASSERT_EQ(intents->size(), 2u);
  EXPECT_EQ((*intents)[0].intent_owner, "replica-b");
  EXPECT_EQ((*intents)[1].intent_owner, "replica-b");
  // A settlement has no owner, whatever its entry said.
  ASSERT_TRUE(RecordAndWait(*ledger_, entry).ok());
  std::optional<LedgerEntry> settled = FindOrDie("ST1");
  ASSERT_TRUE(settled.has_value());
  EXPECT_EQ(settled->intent_owner, "");
}

// An intent written before the ledger stored owners (its row from the older schema, owner
// defaulted) reads with an empty owner.
TEST_P(LedgerTest, AnIntentFromBeforeOwnersReadsWithoutOne) {
  ASSERT_TRUE(IntentAndWait(*ledger_, MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 0)).ok());
  ledger_.reset();
  // The row as the previous schema wrote it: every column but the owner.
  ASSERT_EQ(ExecSql("INSERT INTO settlement_intents (settlement_id, caller_organization, idempotency_key, "
                    "request_digest, settlement) SELECT 'ST-old', caller_organization, 'key-old', request_digest, "
                    "settlement FROM settlement_intents WHERE settlement_id = 'ST1'"),
            "");
  ledger_ = Open();
  absl::StatusOr<std::optional<LedgerEntry>> old = ledger_->FindIntent("ST-old");
  ASSERT_TRUE(old.ok() && old->has_value()) << old.status();
  EXPECT_EQ((*old)->intent_owner, "");
  EXPECT_EQ((*old)->idempotency_key, "key-old");
}

TEST_P(LedgerTest, AbandonedIntentsAreGoneAndSurviveNothing) {
  ASSERT_TRUE(IntentAndWait(*ledger_, MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 100, 0)).ok());
  ASSERT_TRUE(IntentAndWait(*ledger_, MakeEntry("ST2", kJinzhong, kLvliang, ChinaUnix(2024, 3, 15), 100, 0, 0,
                                                "H140700000001", "key-2"))
                  .ok());
  ASSERT_TRUE(AbandonAndWait(*ledger_, "ST1").ok());
  ASSERT_TRUE(AbandonAndWait(*ledger_, "ST-none").ok());  // nothing to remove is fine
  EXPECT_EQ(AbandonAndWait(*ledger_, "").code(), absl::StatusCode::kInvalidArgument);
  // What is left is durable: a new process finds it.
  ledger_.reset();
  ledger_ = Open();
  absl::StatusOr<std::vector<LedgerEntry>> intents = ledger_->ListIntents();
  ASSERT_TRUE(intents.ok());
  ASSERT_EQ(intents->size(), 1u);
  EXPECT_EQ((*intents)[0].settlement.settlement_id(), "ST2");
  EXPECT_EQ((*intents)[0].settlement.insured_city().city(), kLvliang);
}

}  // namespace
}  // namespace interop::settlement


// --- several replicas (PostgreSQL only) ---

namespace interop::settlement {
namespace {

std::optional<LedgerEntry> FindEntryOrDie(SettlementLedger& ledger, const std::string& id) {
  absl::StatusOr<std::optional<LedgerEntry>> found = ledger.Find(id);
  EXPECT_TRUE(found.ok()) << found.status();
  return found.ok() ? *found : std::nullopt;
}

// The claim on the insured city, as the ledger counts it: fund pay + personal-account pay.
int64_t ClaimFenOf(const LedgerEntry& entry) {
  return entry.settlement.fund_pay().fen() + entry.settlement.personal_account_pay().fen();
}

// Two gateway replicas: two ledgers, each with a pool of its own, on one schema.
class TwoReplicasLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int r = 0; r < 2; ++r) {
      absl::StatusOr<std::unique_ptr<store::pg::PostgresDatabase>> database =
          store::pg::PostgresDatabase::Open({schema_.conninfo(), 4});
      ASSERT_TRUE(database.ok()) << database.status();
      databases_[r] = std::move(*database);
      absl::StatusOr<std::unique_ptr<SettlementLedger>> ledger = OpenPostgresSettlementLedger(*databases_[r]);
      ASSERT_TRUE(ledger.ok()) << ledger.status();
      ledgers_[r] = std::move(*ledger);
    }
  }

  int64_t QueryInt(const std::string& sql) { return QueryPostgresInt(schema_.conninfo(), sql); }

  // Submits one write on each replica while both writers are held back, so that both batches are
  // in flight at once; returns the two statuses.
  std::vector<absl::Status> AtOnceOnBoth(
      const std::function<void(SettlementLedger&, int replica, std::function<void(absl::Status)>)>& write) {
    TableLockHolder lock(schema_.conninfo());
    Outcomes outcomes(2);
    for (int r = 0; r < 2; ++r) {
      const uint64_t started = ledgers_[r]->Stats().batches_started;
      write(*ledgers_[r], r, outcomes.Callback(r));
      WaitForBatchesStarted(*ledgers_[r], started + 1);
    }
    lock.Release();
    return outcomes.Wait();
  }

  store::pg::TestSchema schema_;
  std::unique_ptr<store::pg::PostgresDatabase> databases_[2];
  std::unique_ptr<SettlementLedger> ledgers_[2];
};

TEST_F(TwoReplicasLedgerTest, TheSameSettlementAtOnceOnBothIsRecordedOnce) {
  std::vector<absl::Status> statuses = AtOnceOnBoth([](SettlementLedger& ledger, int r, auto done) {
    // The same id and key; each replica computed other amounts.
    ledger.RecordSettlement(MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 1000 + r, 10),
                            std::move(done));
  });
  const int winner = statuses[0].ok() ? 0 : 1;
  ASSERT_TRUE(statuses[winner].ok()) << statuses[winner];
  EXPECT_EQ(statuses[1 - winner].code(), absl::StatusCode::kAlreadyExists) << statuses[1 - winner];
  for (int r = 0; r < 2; ++r) {
    std::optional<LedgerEntry> found = FindEntryOrDie(*ledgers_[r], "ST1");
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->settlement.fund_pay().fen(), 1000 + winner) << "both replicas read the winner's";
  }
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlements"), 1);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlement_events"), 1);
}

TEST_F(TwoReplicasLedgerTest, OneKeyUnderTwoIdsAtOnceIsRecordedOnceAndTheLoserIsToldTheWinner) {
  std::vector<absl::Status> statuses = AtOnceOnBoth([](SettlementLedger& ledger, int r, auto done) {
    ledger.RecordSettlement(MakeEntry(absl::StrCat("ST-replica-", r), kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15),
                                      1000, 10, 500, "H140105000001", "visit-0001"),
                            std::move(done));
  });
  const int winner = statuses[0].ok() ? 0 : 1;
  ASSERT_TRUE(statuses[winner].ok()) << statuses[winner];
  EXPECT_EQ(statuses[1 - winner].code(), absl::StatusCode::kAlreadyExists) << statuses[1 - winner];
  EXPECT_THAT(statuses[1 - winner].message(), HasSubstr(absl::StrCat("ST-replica-", winner)));
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlements"), 1);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlement_events"), 1);
}

TEST_F(TwoReplicasLedgerTest, OneSettlementReversedAtOnceOnBothIsReversedOnce) {
  LedgerEntry entry = MakeEntry("ST1", kYangquan, kLvliang, ChinaUnix(2024, 3, 15), 4000, 400);
  ASSERT_TRUE(RecordAndWait(*ledgers_[0], entry).ok());
  std::vector<absl::Status> statuses = AtOnceOnBoth([&](SettlementLedger& ledger, int r, auto done) {
    ledger.RecordReversal("ST1", Reversed(entry, ChinaUnix(2024, 3, 16 + r)), std::move(done));
  });
  const int winner = statuses[0].ok() ? 0 : 1;
  ASSERT_TRUE(statuses[winner].ok()) << statuses[winner];
  EXPECT_EQ(statuses[1 - winner].code(), absl::StatusCode::kFailedPrecondition) << statuses[1 - winner];
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlement_events WHERE kind = -1"), 1);
  std::optional<LedgerEntry> found = FindEntryOrDie(*ledgers_[1], "ST1");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->settlement.reversed_at_unix(), ChinaUnix(2024, 3, 16 + winner));
  absl::StatusOr<ClearingMatrix> march = ledgers_[0]->Clearing(absl::CivilDay(2024, 3, 1), absl::CivilDay(2024, 3, 31));
  ASSERT_TRUE(march.ok()) << march.status();
  EXPECT_EQ(Cell(*march, kYangquan, kLvliang).settlements(), 0);
  EXPECT_EQ(Cell(*march, kYangquan, kLvliang).amount().fen(), 0);
}

TEST_F(TwoReplicasLedgerTest, AnIntentIsOnePerSettlementAndSeenByBoth) {
  LedgerEntry entry = MakeEntry("ST1", kJinzhong, kTaiyuan, ChinaUnix(2024, 3, 15), 12000, 3000);
  ASSERT_TRUE(IntentAndWait(*ledgers_[0], entry).ok());
  absl::StatusOr<std::optional<LedgerEntry>> seen = ledgers_[1]->FindIntent("ST1");
  ASSERT_TRUE(seen.ok() && seen->has_value()) << "replica 1 sees replica 0's intent";
  entry.settlement.mutable_fund_pay()->set_fen(11000);
  ASSERT_TRUE(IntentAndWait(*ledgers_[1], entry).ok());
  seen = ledgers_[0]->FindIntent("ST1");
  ASSERT_TRUE(seen.ok() && seen->has_value());
  EXPECT_EQ((*seen)->settlement.fund_pay().fen(), 11000) << "replaced, not added";
  EXPECT_EQ(IntentCount(*ledgers_[0]), 1u);
  // Recorded on one replica, the intent is gone for both.
  ASSERT_TRUE(RecordAndWait(*ledgers_[0], entry).ok());
  EXPECT_EQ(IntentCount(*ledgers_[1]), 0u);
}

// Eight writers, four per replica, each settling the same 30 keys in its own (seeded) order as the
// settlement service does (look up, record an intent, record the settlement; on ALREADY_EXISTS
// abandon the intent), and every third settlement reversed by whoever gets there: each key ends
// with exactly one settlement (the one writer that heard OK), at most one reversal, one event per
// change, no intent left, and both replicas compute the same clearing, equal to the sum of the
// winners' claims.
TEST_F(TwoReplicasLedgerTest, ConcurrentWritersWithOverlappingKeysRecordEachKeyOnce) {
  constexpr int kKeys = 30;
  constexpr int kWritersPerReplica = 4;
  constexpr int kWriters = 2 * kWritersPerReplica;
  auto id_of = [](int key) { return absl::StrCat("ST-key-", key); };
  auto entry_of = [&](int key, int writer) {
    // The claim tells the writers apart: 1000 * (writer + 1) + key fund pay, 7 account pay.
    return MakeEntry(id_of(key), kCityOrder[key % 5], kCityOrder[(key + 1 + key / 5 % 4) % 5],
                     ChinaUnix(2024, 11, 1 + key % 28), 1000 * (writer + 1) + key, 7, 500, "H140105000001",
                     absl::StrCat("visit-", key));
  };
  struct KeyOutcome {
    std::vector<int> settled_by;  // writers that heard OK from RecordSettlement
    int reversals = 0;            // OK answers to RecordReversal
  };
  absl::Mutex mu;
  std::map<int, KeyOutcome> outcomes;
  std::atomic<int> unexpected{0};

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      SettlementLedger& ledger = *ledgers_[w % 2];
      std::vector<int> order(kKeys);
      for (int k = 0; k < kKeys; ++k) order[k] = k;
      std::shuffle(order.begin(), order.end(), std::mt19937(1234 + w));
      for (int key : order) {
        const LedgerEntry entry = entry_of(key, w);
        absl::StatusOr<std::optional<LedgerEntry>> found = ledger.Find(id_of(key));
        if (!found.ok()) {
          ADD_FAILURE() << found.status();
          ++unexpected;
          continue;
        }
        if (!found->has_value()) {
          absl::Status intent = IntentAndWait(ledger, entry);
          absl::Status settled = intent.ok() ? RecordAndWait(ledger, entry) : intent;
          if (settled.ok()) {
            absl::MutexLock lock(&mu);
            outcomes[key].settled_by.push_back(w);
          } else if (absl::IsAlreadyExists(settled)) {
            if (!AbandonAndWait(ledger, id_of(key)).ok()) ++unexpected;
          } else {
            ADD_FAILURE() << "key " << key << ": " << settled;
            ++unexpected;
          }
        }
        if (key % 3 == 0) {
          // As the service does: the reversal of the settlement as stored (whoever recorded it).
          absl::StatusOr<std::optional<LedgerEntry>> stored = ledger.Find(id_of(key));
          if (!stored.ok() || !stored->has_value()) {
            ADD_FAILURE() << "key " << key << " is not found after it was recorded";
            ++unexpected;
            continue;
          }
          absl::Status reversed = ReverseAndWait(ledger, id_of(key), Reversed(**stored, ChinaUnix(2024, 12, 1)));
          if (reversed.ok()) {
            absl::MutexLock lock(&mu);
            ++outcomes[key].reversals;
          } else if (!absl::IsFailedPrecondition(reversed)) {
            ADD_FAILURE() << "key " << key << ": " << reversed;
            ++unexpected;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(unexpected.load(), 0);

  // What each writer heard: one settlement per key, one reversal per reversed key.
  std::map<std::pair<City, City>, int64_t> expected_november;  // [treatment, insured] -> claim
  int reversed_keys = 0;
  for (int key = 0; key < kKeys; ++key) {
    const KeyOutcome& outcome = outcomes[key];
    ASSERT_EQ(outcome.settled_by.size(), 1u) << "key " << key;
    EXPECT_EQ(outcome.reversals, key % 3 == 0 ? 1 : 0) << "key " << key;
    if (key % 3 == 0) ++reversed_keys;
    const LedgerEntry winner = entry_of(key, outcome.settled_by[0]);
    for (int r = 0; r < 2; ++r) {
      std::optional<LedgerEntry> found = FindEntryOrDie(*ledgers_[r], id_of(key));
      ASSERT_TRUE(found.has_value()) << key;
      EXPECT_EQ(found->settlement.fund_pay().fen(), winner.settlement.fund_pay().fen())
          << "key " << key << ": the settlement stored is the one its writer was told was recorded";
    }
    const City treatment = winner.settlement.treatment_city().city();
    const City insured = winner.settlement.insured_city().city();
    if (treatment != insured) expected_november[{treatment, insured}] += ClaimFenOf(winner);
  }

  // What the database holds.
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlements"), kKeys);
  EXPECT_EQ(QueryInt("SELECT COUNT(DISTINCT idempotency_key) FROM settlements"), kKeys);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlement_events WHERE kind = 1"), kKeys);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlement_events WHERE kind = -1"), reversed_keys);
  EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM settlement_intents"), 0);

  // The clearing, from either replica: November holds the settlements, December their reversals.
  for (int r = 0; r < 2; ++r) {
    absl::StatusOr<ClearingMatrix> november =
        ledgers_[r]->Clearing(absl::CivilDay(2024, 11, 1), absl::CivilDay(2024, 11, 30));
    ASSERT_TRUE(november.ok()) << november.status();
    for (const ClearingCell& cell : november->cells()) {
      auto it = expected_november.find({cell.treatment_city(), cell.insured_city()});
      EXPECT_EQ(cell.amount().fen(), it == expected_november.end() ? 0 : it->second)
          << "replica " << r << ": " << cell.treatment_city() << " -> " << cell.insured_city();
    }
    EXPECT_EQ(SumOfNets(*november), 0);
    absl::StatusOr<ClearingMatrix> both =
        ledgers_[r]->Clearing(absl::CivilDay(2024, 11, 1), absl::CivilDay(2024, 12, 31));
    ASSERT_TRUE(both.ok()) << both.status();
    int64_t settlements = 0;
    for (const ClearingCell& cell : both->cells()) settlements += cell.settlements();
    int64_t expected_settlements = 0;
    for (int key = 0; key < kKeys; ++key) {
      const LedgerEntry winner = entry_of(key, outcomes[key].settled_by[0]);
      if (key % 3 != 0 && winner.settlement.treatment_city().city() != winner.settlement.insured_city().city()) {
        ++expected_settlements;
      }
    }
    EXPECT_EQ(settlements, expected_settlements) << "replica " << r;
  }
}

}  // namespace
}  // namespace interop::settlement
