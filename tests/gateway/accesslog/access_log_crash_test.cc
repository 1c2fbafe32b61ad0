// Durability: a record whose `done` said OK survives a kill -9 of the process, on both back ends.
//
// A forked child appends from several threads and, for each `done` OK, writes the sequence to a
// pipe. The parent reads some acknowledged sequences, SIGKILLs the child in the middle of its
// appends, reopens the log and checks that every acknowledged record is there, the chain verifies,
// and ListByPerson() finds each person's records. On SQLite the person indexer (which runs every few
// milliseconds in the child) was killed too, typically with records not yet indexed. On PostgreSQL
// the child appends through its own connections to the real server, which sees them drop with
// transactions in flight (rolled back: their records were never acknowledged).
// (SIGKILL tests that `done` comes after the commit; it cannot test the fsync itself, which only a
// power cut would.)
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/store/postgres/postgres_database.h"
#include "gtest/gtest.h"
#include "tests/gateway/accesslog/test_support.h"

namespace interop::accesslog {
namespace {

using ::interop::accesslog::testing::AppendAndWait;
using ::interop::accesslog::testing::Backend;
using ::interop::accesslog::testing::BackendName;
using ::interop::accesslog::testing::ExampleRecord;
using ::interop::accesslog::testing::KeyFiles;
using ::interop::accesslog::testing::LogStore;
using ::interop::accesslog::testing::WriteKeyFiles;

constexpr int kAppenders = 8;
constexpr size_t kAcksBeforeKill = 3000;

// The person of appender `t`'s records.
std::string PersonOf(int t) { return absl::StrCat("14010519900307", 1000 + t); }

// The child: appends forever, reporting each acknowledged sequence. Never returns. On PostgreSQL it
// connects a pool of its own (the parent's connections are not used in the child).
[[noreturn]] void RunChild(Backend backend, const std::string& conninfo, const AccessLogOptions& options,
                           int ack_fd) {
  std::unique_ptr<store::pg::PostgresDatabase> pool;
  absl::StatusOr<std::unique_ptr<AccessLog>> log = absl::UnknownError("not opened");
  if (backend == Backend::kSqlite) {
    log = OpenSqliteAccessLog(options);
  } else {
    absl::StatusOr<std::unique_ptr<store::pg::PostgresDatabase>> opened =
        store::pg::PostgresDatabase::Open({conninfo, 4});
    if (!opened.ok()) _exit(2);
    pool = std::move(*opened);
    log = OpenPostgresAccessLog(options, *pool);
  }
  if (!log.ok()) _exit(3);
  std::vector<std::thread> threads;
  for (int t = 0; t < kAppenders; ++t) {
    threads.emplace_back([&log, ack_fd, t] {
      for (int i = 0;; ++i) {
        absl::StatusOr<uint64_t> sequence = AppendAndWait(**log, ExampleRecord(t * 1000000 + i, PersonOf(t)));
        if (!sequence.ok()) _exit(4);
        uint64_t value = *sequence;
        // 8 bytes is below PIPE_BUF, so each write is atomic.
        if (write(ack_fd, &value, sizeof(value)) != sizeof(value)) _exit(5);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  _exit(6);
}

// Reads one acknowledged sequence; false at end of stream or after 60 s without data.
bool ReadAck(int fd, uint64_t* sequence) {
  size_t got = 0;
  char* bytes = reinterpret_cast<char*>(sequence);
  while (got < sizeof(*sequence)) {
    pollfd waiting{fd, POLLIN, 0};
    if (poll(&waiting, 1, 60000) <= 0) return false;
    ssize_t n = read(fd, bytes + got, sizeof(*sequence) - got);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

class AccessLogCrashTest : public ::testing::TestWithParam<Backend> {};

INSTANTIATE_TEST_SUITE_P(Backends, AccessLogCrashTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

TEST_P(AccessLogCrashTest, EveryAcknowledgedRecordSurvivesKill9) {
  LogStore store(GetParam());
  KeyFiles keys = WriteKeyFiles(store.dir().path(), "gateway");
  AccessLogOptions options = store.Options(keys);
  const std::string conninfo = GetParam() == Backend::kPostgres ? store.conninfo() : "";
  options.checkpoint_every_records = 500;
  options.person_index_interval = absl::Milliseconds(10);

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    RunChild(GetParam(), conninfo, options, fds[1]);
  }
  close(fds[1]);

  std::set<uint64_t> acknowledged;
  uint64_t sequence = 0;
  while (acknowledged.size() < kAcksBeforeKill && ReadAck(fds[0], &sequence)) acknowledged.insert(sequence);
  ASSERT_EQ(acknowledged.size(), kAcksBeforeKill) << "the child stopped acknowledging";
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  // Acknowledgements written before the kill are still in the pipe.
  while (ReadAck(fds[0], &sequence)) acknowledged.insert(sequence);
  close(fds[0]);

  // Reopened without periodic indexing, so that the tail left by the crash is still there to read.
  options.person_index_interval = absl::InfiniteDuration();
  absl::StatusOr<std::unique_ptr<AccessLog>> log = store.Open(options);
  ASSERT_TRUE(log.ok()) << log.status();
  const uint64_t newest_acknowledged = *acknowledged.rbegin();
  EXPECT_GE((*log)->LastSequence(), newest_acknowledged);
  absl::StatusOr<std::vector<AccessRecord>> records = (*log)->ReadRange(1, newest_acknowledged);
  ASSERT_TRUE(records.ok()) << records.status();
  std::set<uint64_t> stored;
  for (const AccessRecord& record : *records) stored.insert(record.sequence);
  for (uint64_t acked : acknowledged)
    ASSERT_TRUE(stored.count(acked)) << "acknowledged record " << acked << " lost";

  // Every person's records, newest first, through the index and the unindexed tail.
  const AccessLogStats stats = (*log)->Stats();
  EXPECT_LE(stats.person_indexed_through, (*log)->LastSequence());
  std::cerr << "after the kill: " << (*log)->LastSequence() << " records, indexed through "
            << stats.person_indexed_through << "\n";
  for (int t = 0; t < kAppenders; ++t) {
    std::vector<uint64_t> expected;
    for (auto it = records->rbegin(); it != records->rend(); ++it) {
      if (it->person == PersonOf(t)) expected.push_back(it->sequence);
    }
    std::vector<uint64_t> listed;
    for (uint64_t before = 0;;) {
      absl::StatusOr<std::vector<AccessRecord>> page = (*log)->ListByPerson(PersonOf(t), before, 500);
      ASSERT_TRUE(page.ok()) << page.status();
      if (page->empty()) break;
      for (const AccessRecord& record : *page) {
        if (record.sequence <= newest_acknowledged) listed.push_back(record.sequence);
      }
      before = page->back().sequence;
    }
    EXPECT_EQ(listed, expected) << "person of appender " << t;
  }

  absl::StatusOr<VerificationResult> result = (*log)->Verify(0, 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok) << result->problem;
  EXPECT_EQ(result->records_checked, (*log)->LastSequence());

  // The chain continues after the crash.
  absl::StatusOr<uint64_t> next = AppendAndWait(**log, ExampleRecord(-1));
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE((*log)->CheckpointNow().ok());
  result = (*log)->Verify(0, 0);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->ok) << result->problem;
  EXPECT_EQ(result->last_signed_sequence, *next);
  log->reset();  // before the store
}

}  // namespace
}  // namespace interop::accesslog
