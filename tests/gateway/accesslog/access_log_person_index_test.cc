// The person index is derived data, filled by the indexer thread after the records are durable
// (schema migration 3). ListByPerson() must be exact whatever the indexer has done: right after
// `done`, across the boundary between the indexed records and the unindexed tail, after a crash that
// lost the indexer's last transactions, while the indexer runs, and on a database created by schema
// version 2 (whose records migration 3 indexes).
//
// Determinism: a log opened with person_index_interval = InfiniteDuration() indexes only when it is
// destroyed, so the tests choose exactly which records are indexed and which are in the tail.
//
// What ListByPerson() promises whatever the back end (listed right after `done`, exact paging, exact
// while appends go on) runs on both (ListByPersonTest.*/Sqlite and /Postgres; the PostgreSQL log
// indexes each record in its own commit, so it has no tail); the rest is about SQLite's indexer.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/store/schema.h"
#include "gateway/store/sqlite_database.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/accesslog/test_support.h"

namespace interop::accesslog {
namespace {

using ::interop::accesslog::testing::AppendAndWait;
using ::interop::accesslog::testing::Backend;
using ::interop::accesslog::testing::BackendName;
using ::interop::accesslog::testing::ExampleRecord;
using ::interop::accesslog::testing::ExecRawSql;
using ::interop::accesslog::testing::KeyFiles;
using ::interop::accesslog::testing::LogStore;
using ::interop::accesslog::testing::QueryRawInt;
using ::interop::accesslog::testing::WriteKeyFiles;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

const std::string kAlice = "140105199003078915";
const std::string kBob = "142201196502170019";
const std::string kCarol = "140702198807120026";

// The sequences of `records`.
std::vector<uint64_t> Sequences(const std::vector<AccessRecord>& records) {
  std::vector<uint64_t> sequences;
  for (const AccessRecord& record : records) sequences.push_back(record.sequence);
  return sequences;
}

// Appends records 1..n in turn about alice, bob and carol; returns each person's sequences,
// newest first.
std::map<std::string, std::vector<uint64_t>> AppendRoundRobin(AccessLog& log, int first, int n) {
  std::map<std::string, std::vector<uint64_t>> sequences;
  const std::string persons[] = {kAlice, kBob, kCarol};
  for (int i = first; i < first + n; ++i) {
    const std::string& person = persons[i % 3];
    absl::StatusOr<uint64_t> sequence = AppendAndWait(log, ExampleRecord(i, person));
    EXPECT_TRUE(sequence.ok()) << sequence.status();
    if (sequence.ok()) sequences[person].insert(sequences[person].begin(), *sequence);
  }
  return sequences;
}

// Every record about `person`, newest first, from a full ReadRange (no index involved).
std::vector<uint64_t> ScanAll(AccessLog& log, const std::string& person) {
  absl::StatusOr<std::vector<AccessRecord>> all = log.ReadRange(1, log.LastSequence());
  EXPECT_TRUE(all.ok()) << all.status();
  std::vector<uint64_t> sequences;
  if (!all.ok()) return sequences;
  for (auto it = all->rbegin(); it != all->rend(); ++it) {
    if (it->person == person) sequences.push_back(it->sequence);
  }
  return sequences;
}

// Every record about `person` through ListByPerson() in pages of `page_size`, newest first.
std::vector<uint64_t> ListAll(AccessLog& log, const std::string& person, int page_size) {
  std::vector<uint64_t> sequences;
  uint64_t before = 0;
  while (true) {
    absl::StatusOr<std::vector<AccessRecord>> page = log.ListByPerson(person, before, page_size);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok() || page->empty()) break;
    EXPECT_LE(page->size(), static_cast<size_t>(page_size));
    for (const AccessRecord& record : *page) {
      EXPECT_EQ(record.person, person);
      sequences.push_back(record.sequence);
    }
    before = page->back().sequence;
  }
  return sequences;
}

// ListByPerson() on either back end.
class ListByPersonTest : public ::testing::TestWithParam<Backend> {
 protected:
  ListByPersonTest() : store_(GetParam()), keys_(WriteKeyFiles(store_.dir().path(), "gateway")) {}

  bool sqlite() const { return GetParam() == Backend::kSqlite; }

  // Options whose indexer (SQLite) runs only when the log is destroyed.
  AccessLogOptions ManualIndexOptions() const {
    AccessLogOptions options = store_.Options(keys_);
    options.person_index_interval = absl::InfiniteDuration();
    return options;
  }

  std::unique_ptr<AccessLog> OpenLog(const AccessLogOptions& options) {
    absl::StatusOr<std::unique_ptr<AccessLog>> log = store_.Open(options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // SQLite: the database file, the person index's file, and the indexer's state in it.
  std::string db_path() const { return store_.dir().File("access.db"); }
  std::string index_path() const { return PersonIndexPathFor(db_path()); }
  int64_t IndexedThrough() { return QueryRawInt(index_path(), "SELECT indexed_through FROM index_state"); }
  int64_t IndexEntries() { return QueryRawInt(index_path(), "SELECT COUNT(*) FROM person_index"); }
  // Runs `sql` on the index file, with the log's file attached as `log`; "" or SQLite's error.
  std::string IndexExec(const std::string& sql) {
    return ExecRawSql(index_path(), "ATTACH DATABASE '" + db_path() + "' AS log; " + sql);
  }
  // SQL that sets indexed_through to `sequence` as the indexer would: bound to that record's hash.
  static std::string SetIndexedThrough(int sequence) {
    return absl::StrCat(
        "UPDATE index_state SET indexed_through = ", sequence, ", record_hash = ",
        sequence == 0
            ? std::string("x''")
            : absl::StrCat("(SELECT record_hash FROM log.access_records WHERE sequence = ", sequence, ")"),
        ";");
  }

  LogStore store_;
  KeyFiles keys_;
};

INSTANTIATE_TEST_SUITE_P(Backends, ListByPersonTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

// SQLite's person indexer.
class PersonIndexTest : public ListByPersonTest {};

INSTANTIATE_TEST_SUITE_P(Sqlite, PersonIndexTest, ::testing::Values(Backend::kSqlite), BackendName);

TEST_P(ListByPersonTest, AppendsAreListedAsSoonAsDoneBeforeTheIndexerRuns) {
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 5; ++i) {
      absl::StatusOr<uint64_t> sequence = AppendAndWait(*log, ExampleRecord(i, i % 2 ? kAlice : kBob));
      ASSERT_TRUE(sequence.ok()) << sequence.status();
      absl::StatusOr<std::vector<AccessRecord>> newest = log->ListByPerson(i % 2 ? kAlice : kBob, 0, 1);
      ASSERT_TRUE(newest.ok()) << newest.status();
      ASSERT_EQ(newest->size(), 1u) << "record " << *sequence << " is listed right after its done";
      EXPECT_EQ((*newest)[0].sequence, *sequence);
    }
    absl::StatusOr<std::vector<AccessRecord>> alice = log->ListByPerson(kAlice, 0, 10);
    ASSERT_TRUE(alice.ok());
    EXPECT_THAT(Sequences(*alice), ElementsAre(5u, 3u, 1u));
    EXPECT_EQ((*alice)[0].request_id, "req-5");
    if (!sqlite()) return;  // the rest is about SQLite's indexer
    EXPECT_EQ(log->Stats().person_indexed_through, 0u);
    EXPECT_EQ(IndexEntries(), 0) << "nothing was indexed: all of it was read from the tail";
    EXPECT_EQ(IndexedThrough(), 0);
  }
  EXPECT_EQ(IndexEntries(), 5) << "destroying the log indexes the tail";
  EXPECT_EQ(IndexedThrough(), 5);
  EXPECT_EQ(QueryRawInt(index_path(), "SELECT COUNT(*) FROM person_index WHERE person = '" + kAlice + "'"),
            3);
}

TEST_P(ListByPersonTest, PagesAcrossTheBoundaryBetweenIndexAndTail) {
  std::map<std::string, std::vector<uint64_t>> indexed;
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    indexed = AppendRoundRobin(*log, 0, 30);
  }
  if (sqlite()) {
    ASSERT_EQ(IndexedThrough(), 30);
  }
  std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
  ASSERT_NE(log, nullptr);
  std::map<std::string, std::vector<uint64_t>> tail = AppendRoundRobin(*log, 30, 20);
  if (sqlite()) {
    EXPECT_EQ(log->Stats().person_indexed_through, 30u);
    EXPECT_EQ(IndexedThrough(), 30) << "records 31..50 are the unindexed tail";
  }

  for (const std::string& person : {kAlice, kBob, kCarol}) {
    std::vector<uint64_t> expected = tail[person];
    expected.insert(expected.end(), indexed[person].begin(), indexed[person].end());
    ASSERT_EQ(expected.size(), static_cast<size_t>(person == kAlice || person == kBob ? 17 : 16));
    EXPECT_EQ(ScanAll(*log, person), expected);
    // Page sizes that end a page exactly at the boundary, just before or after it, or span it.
    for (int page_size : {1, 2, 3, 5, 6, 7, 10, 16, 17, 100}) {
      EXPECT_EQ(ListAll(*log, person, page_size), expected) << person << ", pages of " << page_size;
    }
  }

  // `before` inside the tail, at the boundary, and inside the indexed part.
  const std::vector<uint64_t>& alice_tail = tail[kAlice];        // 49, 46, ..., 31
  const std::vector<uint64_t>& alice_indexed = indexed[kAlice];  // 28, 25, ..., 1
  absl::StatusOr<std::vector<AccessRecord>> page = log->ListByPerson(kAlice, alice_tail[5], 4);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(Sequences(*page),
              ElementsAreArray({alice_tail[6], alice_indexed[0], alice_indexed[1], alice_indexed[2]}));
  page = log->ListByPerson(kAlice, 31, 2);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(Sequences(*page), ElementsAreArray({alice_indexed[0], alice_indexed[1]}));
  page = log->ListByPerson(kAlice, 25, 100);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(Sequences(*page), ElementsAreArray(alice_indexed.begin() + 2, alice_indexed.end()));
  page = log->ListByPerson(kAlice, 1, 100);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(*page, IsEmpty());
}

// A crash can lose the indexer's newest transactions (its connection does not fsync): entries and
// indexed_through go back together. Simulated here on a closed log; the real kill -9 is in
// access_log_crash_test.cc.
TEST_P(PersonIndexTest, ResumesFromIndexedThroughAfterACrashLostTheNewestIndexBatches) {
  std::map<std::string, std::vector<uint64_t>> appended;
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    appended = AppendRoundRobin(*log, 0, 40);
  }
  ASSERT_EQ(IndexExec("DELETE FROM person_index WHERE sequence > 12;" + SetIndexedThrough(12)), "");
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->Stats().person_indexed_through, 12u);
    for (const std::string& person : {kAlice, kBob, kCarol}) {
      EXPECT_EQ(ListAll(*log, person, 4), appended[person]) << person;
    }
  }
  EXPECT_EQ(IndexedThrough(), 40);
  EXPECT_EQ(IndexEntries(), 40);

  // With a periodic indexer, the tail is indexed without closing the log.
  AccessLogOptions options = ManualIndexOptions();
  options.person_index_interval = absl::Milliseconds(5);
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  std::map<std::string, std::vector<uint64_t>> more = AppendRoundRobin(*log, 40, 10);
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (log->Stats().person_indexed_through < 50 && absl::Now() < give_up)
    absl::SleepFor(absl::Milliseconds(2));
  EXPECT_EQ(log->Stats().person_indexed_through, 50u);
  EXPECT_GE(log->Stats().person_index_commits, 1u);
  EXPECT_EQ(IndexedThrough(), 50);
  EXPECT_EQ(IndexEntries(), 50);
  std::vector<uint64_t> alice = more[kAlice];
  alice.insert(alice.end(), appended[kAlice].begin(), appended[kAlice].end());
  EXPECT_EQ(ListAll(*log, kAlice, 7), alice);
}

// A crash in the middle of a chunk, which the indexer writes in several transactions (by person
// range; only the last advances indexed_through): some entries above indexed_through exist, others
// not. ListByPerson() takes only entries up to indexed_through from the index, so neither kind
// matters, and the next run fills the gaps.
TEST_P(PersonIndexTest, EntriesAboveIndexedThroughFromAnUnfinishedChunkAreHarmless) {
  std::map<std::string, std::vector<uint64_t>> appended;
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    appended = AppendRoundRobin(*log, 0, 30);
  }
  ASSERT_EQ(IndexExec("DELETE FROM person_index WHERE sequence > 10 AND person <> '" + kBob + "';" +
                      SetIndexedThrough(10)),
            "");
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    for (const std::string& person : {kAlice, kBob, kCarol}) {
      EXPECT_EQ(ListAll(*log, person, 3), appended[person]) << person;
    }
  }
  EXPECT_EQ(IndexedThrough(), 30);
  EXPECT_EQ(IndexEntries(), 30);
}

// More records than one indexer transaction takes: a chunk is written in several transactions.
TEST_P(PersonIndexTest, IndexesAChunkLargerThanOneTransaction) {
  constexpr int kRecords = 9000;
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    absl::Mutex mu;
    int done = 0;
    for (int i = 0; i < kRecords; ++i) {
      log->Append(ExampleRecord(i, absl::StrCat("1401051990030", 10000 + i % 500)),
                  [&](absl::StatusOr<uint64_t> sequence) {
                    EXPECT_TRUE(sequence.ok()) << sequence.status();
                    absl::MutexLock lock(&mu);
                    ++done;
                  });
    }
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == kRecords; }, &done));
  }
  EXPECT_EQ(IndexedThrough(), kRecords);
  EXPECT_EQ(IndexEntries(), kRecords);

  // Again, observed: the index rebuilt from nothing by a periodic indexer.
  ASSERT_EQ(IndexExec("DELETE FROM person_index;" + SetIndexedThrough(0)), "");
  AccessLogOptions options = ManualIndexOptions();
  options.person_index_interval = absl::Milliseconds(1);
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (log->Stats().person_indexed_through < kRecords && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  EXPECT_EQ(log->Stats().person_indexed_through, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(log->Stats().person_index_commits, 3u) << "9000 entries, at most 4000 per transaction";
  EXPECT_EQ(IndexEntries(), kRecords);
  std::vector<uint64_t> expected;
  for (int i = kRecords - 1; i >= 0; --i) {
    if (i % 500 == 123) expected.push_back(static_cast<uint64_t>(i + 1));
  }
  EXPECT_EQ(ListAll(*log, absl::StrCat("1401051990030", 10123), 7), expected);
}

// Many appenders and a periodic indexer committing while ListByPerson() pages: every record whose
// `done` came before a call is in its result, once, newest first.
TEST_P(ListByPersonTest, StaysExactWhileTheIndexerRuns) {
  AccessLogOptions options = ManualIndexOptions();
  options.person_index_interval = absl::Milliseconds(1);
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);

  constexpr int kThreads = 8;
  constexpr int kPerThread = 150;
  absl::Mutex mu;
  std::vector<uint64_t> alice_acknowledged;  // in no particular order
  std::atomic<bool> appending{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string& person = (t + i) % 4 == 0 ? kAlice : kBob;
        absl::StatusOr<uint64_t> sequence = AppendAndWait(*log, ExampleRecord(t * 1000 + i, person));
        ASSERT_TRUE(sequence.ok()) << sequence.status();
        if (person == kAlice) {
          absl::MutexLock lock(&mu);
          alice_acknowledged.push_back(*sequence);
        }
      }
    });
  }
  int checks = 0;
  std::thread reader([&] {
    while (appending.load()) {
      std::vector<uint64_t> before_call;
      {
        absl::MutexLock lock(&mu);
        before_call = alice_acknowledged;
      }
      std::vector<uint64_t> listed = ListAll(*log, kAlice, 25);
      ASSERT_TRUE(std::is_sorted(listed.rbegin(), listed.rend()) &&
                  std::adjacent_find(listed.begin(), listed.end()) == listed.end())
          << "newest first, no duplicates";
      for (uint64_t sequence : before_call) {
        ASSERT_TRUE(std::binary_search(listed.rbegin(), listed.rend(), sequence))
            << "acknowledged record " << sequence << " is missing";
      }
      ++checks;
    }
  });
  for (std::thread& thread : threads) thread.join();
  appending.store(false);
  reader.join();
  EXPECT_GT(checks, 0);
  if (sqlite()) {
    EXPECT_GT(log->Stats().person_index_commits, 1u) << "the indexer ran while the log was in use";
  }
  std::sort(alice_acknowledged.rbegin(), alice_acknowledged.rend());
  EXPECT_EQ(ListAll(*log, kAlice, 30), alice_acknowledged);
  EXPECT_EQ(ScanAll(*log, kAlice), alice_acknowledged);
}

// A database left by a gateway with schema version 2 (index inside access_records): migration 3
// drops that index and indexes the existing records in the new table.
TEST_P(PersonIndexTest, MigrationOfASchemaVersion2DatabaseKeepsEveryRecordListed) {
  const std::vector<std::string>& migrations = store::GatewaySchemaMigrations();
  ASSERT_GE(migrations.size(), 3u);
  {
    absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> v2 =
        store::SqliteDatabase::Open(db_path(), {migrations[0], migrations[1]});
    ASSERT_TRUE(v2.ok()) << v2.status();
  }
  ASSERT_EQ(store_.QueryInt("PRAGMA user_version"), 2);
  ASSERT_EQ(store_.QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE name = 'access_records_by_person'"), 1);

  // Records 1..9 as that gateway wrote them: chained, with cities_consulted as JSON.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* insert = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "INSERT INTO access_records (sequence, time_unix_us, request_id, "
                               "caller_organization, caller_city, caller_role, method, person, purpose, "
                               "result_code, result_reason, cities_consulted, previous_hash, record_hash) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[\"jinzhong\"]', ?, ?)",
                               -1, &insert, nullptr),
            SQLITE_OK);
  std::string previous(32, '\0');
  std::vector<uint64_t> alice;
  for (int i = 1; i <= 9; ++i) {
    AccessRecord record = ExampleRecord(i, i % 3 == 0 ? kAlice : kBob);
    record.sequence = static_cast<uint64_t>(i);
    const std::string hash = ComputeRecordHash(record, previous);
    const std::string texts[] = {record.request_id,  record.caller_organization,
                                 record.caller_city, record.caller_role,
                                 record.method,      record.person,
                                 record.purpose};
    sqlite3_bind_int64(insert, 1, i);
    sqlite3_bind_int64(insert, 2, absl::ToUnixMicros(record.time));
    for (int k = 0; k < 7; ++k) {
      sqlite3_bind_text(insert, 3 + k, texts[k].data(), static_cast<int>(texts[k].size()), SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(insert, 10, record.result_code);
    sqlite3_bind_text(insert, 11, "", 0, SQLITE_STATIC);
    sqlite3_bind_blob(insert, 12, previous.data(), 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(insert, 13, hash.data(), 32, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_reset(insert);
    previous = hash;
    if (record.person == kAlice) alice.insert(alice.begin(), record.sequence);
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);

  AccessLogOptions options = ManualIndexOptions();
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(store_.QueryInt("PRAGMA user_version"), static_cast<int64_t>(migrations.size()));
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE name = 'access_records_by_person'"), 0)
      << "the index that every commit had to update is gone";
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'access_%index%'"), 0)
      << "migration 3's index tables left the log's file (migration 6)";
  EXPECT_EQ(IndexEntries(), 0) << "the index file starts empty; the indexer rebuilds it";
  EXPECT_EQ(IndexedThrough(), 0);
  EXPECT_EQ(log->Stats().person_indexed_through, 0u);
  EXPECT_EQ(ListAll(*log, kAlice, 2), alice) << "exact meanwhile, from the tail";

  absl::StatusOr<uint64_t> next = AppendAndWait(*log, ExampleRecord(10, kAlice));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, 10u);
  alice.insert(alice.begin(), 10);
  EXPECT_EQ(ListAll(*log, kAlice, 2), alice);
  absl::StatusOr<VerificationResult> result = log->Verify(0, 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok) << result->problem;
  EXPECT_EQ(result->records_checked, 10u);
  log.reset();
  EXPECT_EQ(IndexedThrough(), 10);
  EXPECT_EQ(IndexEntries(), 10);
}

TEST_P(PersonIndexTest, MigrationOfAnEmptyVersion2Database) {
  {
    const std::vector<std::string>& migrations = store::GatewaySchemaMigrations();
    absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> v2 =
        store::SqliteDatabase::Open(db_path(), {migrations[0], migrations[1]});
    ASSERT_TRUE(v2.ok()) << v2.status();
  }
  std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(IndexedThrough(), 0);
  EXPECT_EQ(IndexEntries(), 0);
  ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(1, kAlice)).ok());
  EXPECT_EQ(ListAll(*log, kAlice, 5), std::vector<uint64_t>{1});
}

// Records deleted from the end of the file behind the log's back (with the checkpoints that covered
// them), after they were indexed: the writer reuses their sequences, so their index entries must not
// survive and indexed_through must not skip the new records. The record the index is bound to is
// gone, so the index is emptied and rebuilt.
TEST_P(PersonIndexTest, RebuildsAnIndexThatIsAheadOfTheRecords) {
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 20; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i, kAlice)).ok());
  }
  ASSERT_EQ(IndexedThrough(), 20);
  ASSERT_EQ(store_.Exec("DELETE FROM access_records WHERE sequence > 10;"
                        "DELETE FROM access_checkpoints WHERE sequence > 10"),
            "");
  std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(IndexedThrough(), 0);
  EXPECT_EQ(IndexEntries(), 0);
  EXPECT_EQ(log->Stats().person_indexed_through, 0u);
  absl::StatusOr<uint64_t> reused = AppendAndWait(*log, ExampleRecord(21, kBob));
  ASSERT_TRUE(reused.ok());
  EXPECT_EQ(*reused, 11u);
  EXPECT_EQ(ListAll(*log, kBob, 5), std::vector<uint64_t>{11});
  EXPECT_EQ(ListAll(*log, kAlice, 5), (std::vector<uint64_t>{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}));
  log.reset();
  EXPECT_EQ(IndexedThrough(), 11);
  EXPECT_EQ(QueryRawInt(index_path(), "SELECT COUNT(*) FROM person_index WHERE person = '" + kBob + "'"), 1);
}

// An index file kept beside another log of the same length (a log restored from another backup, or
// replaced): its entries point at records of other persons. The hash binding recognizes it.
TEST_P(PersonIndexTest, RebuildsAnIndexBuiltFromAnotherLog) {
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 8; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i, kAlice)).ok());
  }
  ASSERT_EQ(IndexEntries(), 8);
  const std::string alices_index = store_.dir().File("alice.person-index");
  ASSERT_EQ(ExecRawSql(index_path(), "VACUUM INTO '" + alices_index + "'"), "");
  // Another log in the same place, with the same number of records, all about bob.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::remove((db_path() + suffix).c_str());
    std::remove((index_path() + suffix).c_str());
  }
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 8; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i, kBob)).ok());
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((index_path() + suffix).c_str());
  ASSERT_EQ(std::rename(alices_index.c_str(), index_path().c_str()), 0);
  ASSERT_EQ(IndexedThrough(), 8) << "alice's index claims bob's log is indexed";

  std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(IndexedThrough(), 0) << "emptied: it was bound to another record 8";
  EXPECT_EQ(IndexEntries(), 0);
  EXPECT_TRUE(ListAll(*log, kAlice, 3).empty());
  EXPECT_EQ(ListAll(*log, kBob, 3), (std::vector<uint64_t>{8, 7, 6, 5, 4, 3, 2, 1}));
  log.reset();
  EXPECT_EQ(QueryRawInt(index_path(), "SELECT COUNT(*) FROM person_index WHERE person = '" + kBob + "'"), 8);
  EXPECT_EQ(QueryRawInt(index_path(), "SELECT COUNT(*) FROM person_index WHERE person = '" + kAlice + "'"),
            0);
}

// The index is derived data: deleting its file loses nothing.
TEST_P(PersonIndexTest, RebuildsADeletedIndexFile) {
  std::map<std::string, std::vector<uint64_t>> appended;
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    appended = AppendRoundRobin(*log, 0, 21);
  }
  ASSERT_EQ(IndexEntries(), 21);
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((index_path() + suffix).c_str());
  AccessLogOptions options = ManualIndexOptions();
  options.person_index_interval = absl::Milliseconds(1);
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  for (const std::string& person : {kAlice, kBob, kCarol}) {
    EXPECT_EQ(ListAll(*log, person, 4), appended[person]) << person;
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (log->Stats().person_indexed_through < 21 && absl::Now() < give_up)
    absl::SleepFor(absl::Milliseconds(2));
  EXPECT_EQ(log->Stats().person_indexed_through, 21u);
  EXPECT_EQ(IndexEntries(), 21);
  for (const std::string& person : {kAlice, kBob, kCarol}) {
    EXPECT_EQ(ListAll(*log, person, 4), appended[person]) << person;
  }
}

TEST_P(PersonIndexTest, RefusesAnIndexPathThatIsTheLogItself) {
  AccessLogOptions options = ManualIndexOptions();
  options.person_index_path = options.sqlite_path;
  absl::StatusOr<std::unique_ptr<AccessLog>> log = store_.Open(options);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(log.status().message(), ::testing::HasSubstr("person_index_path"));
}

TEST_P(PersonIndexTest, MissingIndexStateRowMeansNothingIsIndexed) {
  {
    std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 6; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i, kAlice)).ok());
  }
  ASSERT_EQ(IndexExec("DELETE FROM index_state"), "");
  std::unique_ptr<AccessLog> log = OpenLog(ManualIndexOptions());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(IndexedThrough(), 0) << "the row is restored";
  EXPECT_EQ(ListAll(*log, kAlice, 4), (std::vector<uint64_t>{6, 5, 4, 3, 2, 1}));
  log.reset();
  EXPECT_EQ(IndexedThrough(), 6);
  EXPECT_EQ(IndexEntries(), 6) << "re-indexing the same records adds nothing twice";
}

}  // namespace
}  // namespace interop::accesslog
