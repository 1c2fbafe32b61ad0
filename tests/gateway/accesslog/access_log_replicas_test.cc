// Several gateway replicas on one PostgreSQL database: each replica is its own AccessLog with its own
// connection pool, on the same schema. The chain must have one order (no fork, no gap, no duplicate
// sequence), every acknowledged record must be stored once, and any replica's verifier must accept
// the chain whichever replica wrote or signed each part.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/store/postgres/postgres_database.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/accesslog/test_support.h"

namespace interop::accesslog {
namespace {

using ::interop::accesslog::testing::AppendAndWait;
using ::interop::accesslog::testing::Backend;
using ::interop::accesslog::testing::ExampleRecord;
using ::interop::accesslog::testing::KeyFiles;
using ::interop::accesslog::testing::LogStore;
using ::interop::accesslog::testing::WriteKeyFiles;
using ::testing::IsEmpty;

// One replica: a pool of its own and a log on it (the log is destroyed first).
struct Replica {
  std::unique_ptr<store::pg::PostgresDatabase> pool;
  std::unique_ptr<AccessLog> log;
  ~Replica() { log.reset(); }
};

class PostgresReplicasTest : public ::testing::Test {
 protected:
  PostgresReplicasTest() : keys_(WriteKeyFiles(store_.dir().path(), "gateway")) {}

  std::unique_ptr<Replica> StartReplica(const AccessLogOptions& options) {
    auto replica = std::make_unique<Replica>();
    replica->pool = store_.NewPool(4);
    absl::StatusOr<std::unique_ptr<AccessLog>> log = OpenPostgresAccessLog(options, *replica->pool);
    EXPECT_TRUE(log.ok()) << log.status();
    if (!log.ok()) return nullptr;
    replica->log = std::move(*log);
    return replica;
  }

  AccessLogOptions Options() const { return store_.Options(keys_); }

  LogStore store_{Backend::kPostgres};
  KeyFiles keys_;
};

TEST_F(PostgresReplicasTest, ConcurrentAppendsFromTwoReplicasFormOneChain) {
  AccessLogOptions options = Options();
  options.checkpoint_every_records = 50;  // crossed by commits of both replicas
  std::vector<std::unique_ptr<Replica>> replicas;
  replicas.push_back(StartReplica(options));
  replicas.push_back(StartReplica(options));
  ASSERT_NE(replicas[0], nullptr);
  ASSERT_NE(replicas[1], nullptr);

  constexpr int kThreadsPerReplica = 8;
  constexpr int kPerThread = 60;
  absl::Mutex mu;
  std::map<std::string, uint64_t> acknowledged;  // request id -> sequence
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    for (int t = 0; t < kThreadsPerReplica; ++t) {
      threads.emplace_back([&, r, t] {
        for (int i = 0; i < kPerThread; ++i) {
          AccessRecord record = ExampleRecord(i, absl::StrCat("1401051990030", 10000 + t));
          record.request_id = absl::StrCat("replica-", r, "-thread-", t, "-", i);
          const std::string request_id = record.request_id;
          absl::StatusOr<uint64_t> sequence = AppendAndWait(*replicas[r]->log, std::move(record));
          absl::MutexLock lock(&mu);
          if (sequence.ok()) {
            acknowledged[request_id] = *sequence;
          } else {
            errors.push_back(sequence.status().ToString());
          }
        }
      });
    }
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_THAT(errors, IsEmpty());
  constexpr size_t kTotal = 2 * kThreadsPerReplica * kPerThread;
  ASSERT_EQ(acknowledged.size(), kTotal);

  // Sequences 1..N, each acknowledged once.
  std::set<uint64_t> sequences;
  for (const auto& [request_id, sequence] : acknowledged) {
    EXPECT_TRUE(sequences.insert(sequence).second) << "sequence " << sequence << " acknowledged twice";
  }
  EXPECT_EQ(*sequences.begin(), 1u);
  EXPECT_EQ(*sequences.rbegin(), kTotal) << "no gap";

  // Stored: exactly the acknowledged records, each at its acknowledged sequence.
  absl::StatusOr<std::vector<AccessRecord>> stored = replicas[1]->log->ReadRange(1, kTotal + 10);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), kTotal);
  for (size_t i = 0; i < stored->size(); ++i) {
    const AccessRecord& record = (*stored)[i];
    ASSERT_EQ(record.sequence, i + 1);
    auto it = acknowledged.find(record.request_id);
    ASSERT_NE(it, acknowledged.end()) << "record " << record.sequence << " was never acknowledged";
    EXPECT_EQ(it->second, record.sequence) << record.request_id;
    if (i > 0) {
      EXPECT_EQ(record.previous_hash, (*stored)[i - 1].record_hash) << "fork at " << record.sequence;
    }
  }

  const AccessLogStats a = replicas[0]->log->Stats();
  const AccessLogStats b = replicas[1]->log->Stats();
  EXPECT_EQ(a.records_committed + b.records_committed, kTotal);
  EXPECT_GT(a.records_committed, 0u);
  EXPECT_GT(b.records_committed, 0u);
  EXPECT_EQ(a.failed_commits + b.failed_commits, 0u);
  // Whichever replica's commit brought the unsigned records to 50 signed: each checkpoint at least
  // 50 records after the one before, none signed twice.
  const int64_t signed_checkpoints = store_.QueryInt("SELECT COUNT(*) FROM access_checkpoints");
  EXPECT_EQ(static_cast<uint64_t>(signed_checkpoints), a.checkpoints + b.checkpoints);
  EXPECT_GE(signed_checkpoints, 10);
  EXPECT_LE(signed_checkpoints, static_cast<int64_t>(kTotal / 50));
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM (SELECT sequence - LAG(sequence, 1, 0::bigint) OVER "
                            "(ORDER BY sequence) AS gap FROM access_checkpoints) AS gaps WHERE gap < 50"),
            0);

  for (auto& replica : replicas) {
    EXPECT_EQ(replica->log->LastSequence(), kTotal);
    absl::StatusOr<VerificationResult> result = replica->log->Verify(0, 0);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->ok) << result->problem;
    EXPECT_EQ(result->records_checked, kTotal);
    EXPECT_EQ(result->checkpoints_checked, static_cast<uint64_t>(signed_checkpoints));
  }

  // Closing both: the first signs the head, the second finds nothing new to sign.
  replicas.clear();
  absl::StatusOr<VerificationResult> offline = store_.VerifyOffline(keys_.certificate);
  ASSERT_TRUE(offline.ok()) << offline.status();
  EXPECT_TRUE(offline->ok) << offline->problem;
  EXPECT_EQ(offline->last_signed_sequence, kTotal);
}

TEST_F(PostgresReplicasTest, OneReplicaSeesAndSignsWhatTheOtherAppended) {
  AccessLogOptions options = Options();
  options.checkpoint_every_records = 0;
  options.checkpoint_interval = absl::InfiniteDuration();
  std::unique_ptr<Replica> a = StartReplica(options);
  std::unique_ptr<Replica> b = StartReplica(options);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::string alice = "140105199003078915";
  for (int i = 1; i <= 5; ++i) {
    absl::StatusOr<uint64_t> sequence = AppendAndWait(*a->log, ExampleRecord(i, alice));
    ASSERT_TRUE(sequence.ok()) << sequence.status();
    absl::StatusOr<std::vector<AccessRecord>> listed = b->log->ListByPerson(alice, 0, 1);
    ASSERT_TRUE(listed.ok()) << listed.status();
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ((*listed)[0].sequence, *sequence) << "listed on the other replica right after done";
  }
  EXPECT_EQ(b->log->LastSequence(), 5u);
  absl::StatusOr<uint64_t> next = AppendAndWait(*b->log, ExampleRecord(6, alice));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, 6u) << "b continues a's chain";

  ASSERT_TRUE(a->log->CheckpointNow().ok());
  EXPECT_EQ(store_.QueryInt("SELECT MAX(sequence) FROM access_checkpoints"), 6)
      << "a signed the head of the chain, including b's record";
  ASSERT_TRUE(b->log->CheckpointNow().ok());
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM access_checkpoints"), 1) << "nothing new for b to sign";
  absl::StatusOr<VerificationResult> result = b->log->Verify(0, 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok) << result->problem;
  EXPECT_EQ(result->last_signed_sequence, 6u);
}

// An idle replica whose last commit left unsigned records signs them after the interval, unless
// another replica already did.
TEST_F(PostgresReplicasTest, IntervalCheckpointsAreSignedOnceAcrossReplicas) {
  AccessLogOptions options = Options();
  options.checkpoint_every_records = 0;
  options.checkpoint_interval = absl::Milliseconds(50);
  std::unique_ptr<Replica> a = StartReplica(options);
  std::unique_ptr<Replica> b = StartReplica(options);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(AppendAndWait(*a->log, ExampleRecord(1)).ok());
  ASSERT_TRUE(AppendAndWait(*b->log, ExampleRecord(2)).ok());
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (store_.QueryInt("SELECT COALESCE(MAX(sequence), 0) FROM access_checkpoints") < 2 &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(store_.QueryInt("SELECT MAX(sequence) FROM access_checkpoints"), 2);
  absl::SleepFor(absl::Milliseconds(200));  // both replicas' interval timers have fired by now
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM access_checkpoints WHERE sequence = 2"), 1);
  EXPECT_LE(store_.QueryInt("SELECT COUNT(*) FROM access_checkpoints"), 2)
      << "at most one checkpoint of record 1 (if a's timer fired before b appended) and one of record 2";
}

TEST_F(PostgresReplicasTest, ReplicasStartingTogetherCreateTheSchemaOnce) {
  std::vector<std::unique_ptr<Replica>> replicas(4);
  std::vector<std::thread> threads;
  for (int r = 0; r < 4; ++r) threads.emplace_back([&, r] { replicas[r] = StartReplica(Options()); });
  for (std::thread& thread : threads) thread.join();
  for (auto& replica : replicas) ASSERT_NE(replica, nullptr);
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM interop_schema_migrations WHERE component = 'access_log'"),
            1);
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM access_chain_head"), 1);
  for (int r = 0; r < 4; ++r) {
    absl::StatusOr<uint64_t> sequence = AppendAndWait(*replicas[r]->log, ExampleRecord(r));
    ASSERT_TRUE(sequence.ok()) << sequence.status();
    EXPECT_EQ(*sequence, static_cast<uint64_t>(r + 1));
  }
}

}  // namespace
}  // namespace interop::accesslog
