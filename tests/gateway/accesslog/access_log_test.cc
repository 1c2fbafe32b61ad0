// The access log's contract: canonical encoding, group commit, chain continuity, reads, checkpoints,
// commit failures and Open() errors, on both back ends (AccessLogTest.*/Sqlite and /Postgres), and
// what is particular to each (SqliteAccessLogTest, PostgresAccessLogTest). Tampering is in
// access_log_tamper_test.cc; several replicas on one database in access_log_replicas_test.cc.
#include "gateway/accesslog/access_log.h"

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
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
using ::interop::accesslog::testing::TempDir;
using ::interop::accesslog::testing::WaitForBatchesStarted;
using ::interop::accesslog::testing::WriteKeyFiles;
using ::interop::accesslog::testing::WriterBlocker;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kZeroHash(32, '\0');

// --- canonical encoding, rebuilt here byte by byte from the documentation in access_log.cc ---

std::string BigEndian(uint64_t value, int bytes) {
  std::string out(bytes, '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}
std::string Str(const std::string& s) { return BigEndian(s.size(), 4) + s; }
std::string Sha256(const std::string& data) {
  unsigned char digest[32];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), length);
}

TEST(CanonicalEncodingTest, RecordHashCoversPreviousHashAndEveryFieldInTheDocumentedOrder) {
  AccessRecord record = ExampleRecord(7);
  record.sequence = 42;
  record.time = absl::FromUnixMicros(1764115200123456) + absl::Nanoseconds(789);  // ns are not recorded
  record.result_code = -3;
  record.result_reason = "PURPOSE_NOT_ALLOWED";
  record.cities_consulted = {"jinzhong", "lvliang"};
  const std::string previous(32, '\x11');

  const std::string expected_input =
      previous + Str("interop-accesslog-record-v1") + BigEndian(42, 8) + BigEndian(1764115200123456, 8) +
      Str(record.request_id) + Str(record.caller_organization) + Str(record.caller_city) +
      Str(record.caller_role) + Str(record.method) + Str(record.person) + Str(record.purpose) +
      BigEndian(static_cast<uint64_t>(-3), 8) + Str(record.result_reason) + BigEndian(2, 4) +
      Str("jinzhong") + Str("lvliang");
  EXPECT_EQ(ComputeRecordHash(record, previous), Sha256(expected_input));
}

TEST(CanonicalEncodingTest, LengthPrefixesKeepFieldBoundaries) {
  AccessRecord a = ExampleRecord(1);
  AccessRecord b = a;
  a.caller_city = "tai";
  a.caller_role = "yuanhospital";
  b.caller_city = "taiyuan";
  b.caller_role = "hospital";
  EXPECT_NE(ComputeRecordHash(a, kZeroHash), ComputeRecordHash(b, kZeroHash));
  a = b;
  a.cities_consulted = {"taiyuan", "jinzhong"};
  b.cities_consulted = {"taiyuanjinzhong"};
  EXPECT_NE(ComputeRecordHash(a, kZeroHash), ComputeRecordHash(b, kZeroHash));
}

TEST(CanonicalEncodingTest, CheckpointMessageLayout) {
  const std::string hash(32, '\x22');
  EXPECT_EQ(CheckpointMessage(10000, hash, absl::FromUnixMicros(1764115200000001)),
            Str("interop-accesslog-checkpoint-v1") + BigEndian(10000, 8) + Str(hash) +
                BigEndian(1764115200000001, 8));
}

// --- the log, on either back end ---

class AccessLogTest : public ::testing::TestWithParam<Backend> {
 protected:
  AccessLogTest() : store_(GetParam()), keys_(WriteKeyFiles(store_.dir().path(), "gateway")) {}

  AccessLogOptions DefaultOptions() const { return store_.Options(keys_); }

  std::unique_ptr<AccessLog> OpenLog(const AccessLogOptions& options) {
    absl::StatusOr<std::unique_ptr<AccessLog>> log = store_.Open(options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }
  std::unique_ptr<AccessLog> OpenLog() { return OpenLog(DefaultOptions()); }

  LogStore store_;
  KeyFiles keys_;
};

INSTANTIATE_TEST_SUITE_P(Backends, AccessLogTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         BackendName);

TEST_P(AccessLogTest, FirstRecordLinksToTheZeroHash) {
  std::unique_ptr<AccessLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->LastSequence(), 0u);
  absl::StatusOr<uint64_t> sequence = AppendAndWait(*log, ExampleRecord(1));
  ASSERT_TRUE(sequence.ok()) << sequence.status();
  EXPECT_EQ(*sequence, 1u);
  EXPECT_EQ(log->LastSequence(), 1u);

  absl::StatusOr<std::vector<AccessRecord>> records = log->ReadRange(1, 1);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 1u);
  const AccessRecord& stored = (*records)[0];
  EXPECT_EQ(stored.sequence, 1u);
  EXPECT_EQ(stored.previous_hash, kZeroHash);
  EXPECT_EQ(stored.record_hash, ComputeRecordHash(stored, kZeroHash));
}

TEST_P(AccessLogTest, StoresEveryFieldExactly) {
  std::unique_ptr<AccessLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  AccessRecord record = ExampleRecord(1);
  record.time = absl::FromUnixMicros(1764115200654321) + absl::Nanoseconds(999);
  record.request_id = std::string("req\0with-nul", 12);
  record.caller_organization = "忻州市人民医院";
  record.person = "\xff\xfe not utf-8";
  record.purpose = "";
  record.result_code = 7;
  record.result_reason = "PERMISSION_DENIED_ROLE";
  record.cities_consulted = {"a,b", "quo\"te", "back\\slash", "\n\x01\x1f", "忻州", ""};
  ASSERT_TRUE(AppendAndWait(*log, record).ok());
  ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(2)).ok());
  AccessRecord no_cities = ExampleRecord(3);
  no_cities.cities_consulted.clear();
  ASSERT_TRUE(AppendAndWait(*log, no_cities).ok());

  absl::StatusOr<std::vector<AccessRecord>> records = log->ReadRange(1, 3);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 3u);
  const AccessRecord& stored = (*records)[0];
  EXPECT_EQ(stored.time, absl::FromUnixMicros(1764115200654321));
  EXPECT_EQ(stored.request_id, record.request_id);
  EXPECT_EQ(stored.caller_organization, record.caller_organization);
  EXPECT_EQ(stored.caller_city, record.caller_city);
  EXPECT_EQ(stored.caller_role, record.caller_role);
  EXPECT_EQ(stored.method, record.method);
  EXPECT_EQ(stored.person, record.person);
  EXPECT_EQ(stored.purpose, record.purpose);
  EXPECT_EQ(stored.result_code, 7);
  EXPECT_EQ(stored.result_reason, record.result_reason);
  EXPECT_EQ(stored.cities_consulted, record.cities_consulted);
  EXPECT_TRUE((*records)[2].cities_consulted.empty());
  EXPECT_EQ((*records)[1].previous_hash, stored.record_hash);

  absl::StatusOr<VerificationResult> result = log->Verify(0, 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok) << result->problem;
  EXPECT_EQ(result->records_checked, 3u);
  EXPECT_EQ(store_.QueryInt(store_.Sql(
                "SELECT json_array_length(cities_consulted) FROM access_records WHERE sequence = 1",
                "SELECT json_array_length(convert_from(cities_consulted, 'UTF8')::json) FROM access_records "
                "WHERE sequence = 1")),
            6)
      << "cities_consulted is stored as a JSON array that the database itself can read";
}

TEST_P(AccessLogTest, GroupCommitOfManyConcurrentAppenders) {
  std::unique_ptr<AccessLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  constexpr int kThreads = 64;
  constexpr int kPerThread = 50;
  absl::Mutex mu;
  std::vector<uint64_t> sequences;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<uint64_t> sequence = AppendAndWait(*log, ExampleRecord(t * kPerThread + i));
        absl::MutexLock lock(&mu);
        if (sequence.ok()) {
          sequences.push_back(*sequence);
        } else {
          errors.push_back(sequence.status().ToString());
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_THAT(errors, ::testing::IsEmpty());
  ASSERT_EQ(sequences.size(), static_cast<size_t>(kThreads * kPerThread));
  std::sort(sequences.begin(), sequences.end());
  for (size_t i = 0; i < sequences.size(); ++i) ASSERT_EQ(sequences[i], i + 1) << "sequences must be 1..N";
  EXPECT_EQ(log->LastSequence(), sequences.size());

  AccessLogStats stats = log->Stats();
  EXPECT_EQ(stats.records_committed, sequences.size());
  EXPECT_GT(stats.largest_batch, 1u);
  EXPECT_LT(stats.commits, stats.records_committed) << "concurrent appends must share commits";
  EXPECT_EQ(stats.failed_commits, 0u);

  absl::StatusOr<VerificationResult> result = log->Verify(0, 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok) << result->problem;
  EXPECT_EQ(result->records_checked, sequences.size());
}

// Everything queued while the writer is busy goes into the next transaction, up to max_batch
// (deterministic: another connection holds the write lock, so the writer waits in the BEGIN of the
// first record's transaction until the others are queued).
TEST_P(AccessLogTest, RecordsQueuedWhileTheWriterIsBusyShareOneCommit) {
  AccessLogOptions options = DefaultOptions();
  options.max_batch = 40;
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);

  std::unique_ptr<WriterBlocker> lock = store_.BlockWriter();
  log->Append(ExampleRecord(0), [](absl::StatusOr<uint64_t> sequence) { EXPECT_TRUE(sequence.ok()); });
  WaitForBatchesStarted(*log, 1);

  constexpr int kQueued = 100;
  absl::Mutex mu;
  std::vector<uint64_t> sequences;
  std::atomic<int> remaining{kQueued};
  absl::Notification all_done;
  for (int i = 1; i <= kQueued; ++i) {
    log->Append(ExampleRecord(i), [&](absl::StatusOr<uint64_t> sequence) {
      ASSERT_TRUE(sequence.ok()) << sequence.status();
      {
        absl::MutexLock lock(&mu);
        sequences.push_back(*sequence);
      }
      if (--remaining == 0) all_done.Notify();
    });
  }
  lock->Release();
  all_done.WaitForNotification();

  // Callbacks run in queue order, so the sequences follow the order of Append().
  ASSERT_EQ(sequences.size(), static_cast<size_t>(kQueued));
  for (int i = 0; i < kQueued; ++i) EXPECT_EQ(sequences[i], static_cast<uint64_t>(i + 2));
  AccessLogStats stats = log->Stats();
  EXPECT_EQ(stats.largest_batch, 40u) << "max_batch bounds a transaction";
  EXPECT_EQ(stats.commits, 1u + 3u) << "1 + 40 + 40 + 20";
  EXPECT_EQ(stats.batches_started, 4u);
  EXPECT_EQ(stats.records_committed, 101u);
}

TEST_P(AccessLogTest, DoneMayAppendAgain) {
  std::unique_ptr<AccessLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  absl::Notification second_done;
  log->Append(ExampleRecord(1), [&](absl::StatusOr<uint64_t> first) {
    ASSERT_TRUE(first.ok());
    log->Append(ExampleRecord(2), [&](absl::StatusOr<uint64_t> second) {
      EXPECT_TRUE(second.ok());
      EXPECT_EQ(*second, 2u);
      second_done.Notify();
    });
  });
  second_done.WaitForNotification();
}

TEST_P(AccessLogTest, ChainContinuesAcrossCloseAndReopen) {
  AccessLogOptions options = DefaultOptions();
  {
    std::unique_ptr<AccessLog> log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 10; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
  }
  EXPECT_EQ(store_.QueryInt("SELECT MAX(sequence) FROM access_checkpoints"), 10)
      << "closing the log signs its newest record";
  {
    std::unique_ptr<AccessLog> log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->LastSequence(), 10u);
    for (int i = 11; i <= 20; ++i) {
      absl::StatusOr<uint64_t> sequence = AppendAndWait(*log, ExampleRecord(i));
      ASSERT_TRUE(sequence.ok()) << sequence.status();
      EXPECT_EQ(*sequence, static_cast<uint64_t>(i));
    }
    absl::StatusOr<std::vector<AccessRecord>> records = log->ReadRange(10, 11);
    ASSERT_TRUE(records.ok());
    ASSERT_EQ(records->size(), 2u);
    EXPECT_EQ((*records)[1].previous_hash, (*records)[0].record_hash);
  }
  absl::StatusOr<VerificationResult> result =
      store_.VerifyOffline(keys_.certificate, /*first=*/0, /*last=*/0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok) << result->problem;
  EXPECT_EQ(result->records_checked, 20u);
  EXPECT_EQ(result->checkpoints_checked, 2u);
  EXPECT_EQ(result->last_signed_sequence, 20u);
}

TEST_P(AccessLogTest, ListByPersonIsNewestFirstAndPages) {
  std::unique_ptr<AccessLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  const std::string alice = "140105199003078915";
  const std::string bob = "142201196502170019";
  std::vector<uint64_t> alice_sequences;
  for (int i = 0; i < 25; ++i) {
    absl::StatusOr<uint64_t> sequence = AppendAndWait(*log, ExampleRecord(i, alice));
    ASSERT_TRUE(sequence.ok());
    alice_sequences.push_back(*sequence);
    ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(100 + i, bob)).ok());
  }
  std::reverse(alice_sequences.begin(), alice_sequences.end());

  std::vector<uint64_t> seen;
  std::vector<size_t> page_sizes;
  uint64_t before = 0;
  while (true) {
    absl::StatusOr<std::vector<AccessRecord>> page = log->ListByPerson(alice, before, 10);
    ASSERT_TRUE(page.ok()) << page.status();
    if (page->empty()) break;
    page_sizes.push_back(page->size());
    for (const AccessRecord& record : *page) {
      EXPECT_EQ(record.person, alice);
      seen.push_back(record.sequence);
    }
    before = page->back().sequence;
  }
  EXPECT_THAT(page_sizes, ElementsAre(10, 10, 5));
  EXPECT_EQ(seen, alice_sequences);

  absl::StatusOr<std::vector<AccessRecord>> nobody = log->ListByPerson("110101199001010011", 0, 10);
  ASSERT_TRUE(nobody.ok());
  EXPECT_TRUE(nobody->empty());

  absl::StatusOr<std::vector<AccessRecord>> bad_limit = log->ListByPerson(alice, 0, 0);
  EXPECT_EQ(bad_limit.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_limit.status().message(), HasSubstr("limit"));
}

TEST_P(AccessLogTest, ReadRangeRejectsAnInvertedRange) {
  std::unique_ptr<AccessLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->ReadRange(5, 4).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Verify(5, 4).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(AccessLogTest, VerifyOfACleanLogAndOfSubranges) {
  AccessLogOptions options = DefaultOptions();
  options.checkpoint_every_records = 10;
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  absl::StatusOr<VerificationResult> empty = log->Verify(0, 0);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->ok);
  EXPECT_EQ(empty->records_checked, 0u);

  for (int i = 1; i <= 35; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
  absl::StatusOr<VerificationResult> all = log->Verify(0, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->ok) << all->problem;
  EXPECT_EQ(all->records_checked, 35u);
  EXPECT_EQ(all->checkpoints_checked, 3u) << "at 10, 20 and 30";
  EXPECT_EQ(all->last_signed_sequence, 30u);

  absl::StatusOr<VerificationResult> middle = log->Verify(5, 12);
  ASSERT_TRUE(middle.ok()) << middle.status();
  EXPECT_TRUE(middle->ok) << middle->problem;
  EXPECT_EQ(middle->records_checked, 8u);
  EXPECT_EQ(middle->checkpoints_checked, 1u);

  absl::StatusOr<VerificationResult> beyond = log->Verify(36, 40);
  ASSERT_TRUE(beyond.ok());
  EXPECT_FALSE(beyond->ok) << "records 36..40 were asked for but do not exist";
  EXPECT_EQ(beyond->first_bad_sequence, 36u);
}

TEST_P(AccessLogTest, CheckpointsEveryNRecordsAndOnClose) {
  AccessLogOptions options = DefaultOptions();
  options.checkpoint_every_records = 10;
  {
    std::unique_ptr<AccessLog> log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 35; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
    EXPECT_EQ(log->Stats().checkpoints, 3u);
  }
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM access_checkpoints"), 4);
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM access_checkpoints WHERE sequence IN (10, 20, 30, 35)"), 4);
}

TEST_P(AccessLogTest, CheckpointNowSignsTheNewestRecordOnce) {
  AccessLogOptions options = DefaultOptions();
  options.checkpoint_every_records = 0;
  options.checkpoint_interval = absl::InfiniteDuration();
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->CheckpointNow().ok()) << "nothing to sign in an empty log";
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM access_checkpoints"), 0);

  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM access_checkpoints"), 0);
  ASSERT_TRUE(log->CheckpointNow().ok());
  ASSERT_TRUE(log->CheckpointNow().ok());
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM access_checkpoints"), 1);
  EXPECT_EQ(store_.QueryInt("SELECT MAX(sequence) FROM access_checkpoints"), 5);
  absl::StatusOr<VerificationResult> result = log->Verify(0, 0);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->ok) << result->problem;
  EXPECT_EQ(result->checkpoints_checked, 1u);
}

// The gateway's key is replaced (a renewed certificate with a new key): the chain goes on, new
// checkpoints are signed with the new key, and the earlier ones still verify given the earlier
// certificate (previous_signing_cert_files; offline, a bundle). Without it, the first checkpoint
// of the earlier key is named.
TEST_P(AccessLogTest, AfterAKeyRotationTheEarlierCheckpointsVerifyWithTheEarlierCertificate) {
  KeyFiles renewed = WriteKeyFiles(store_.dir().path(), "renewed");
  AccessLogOptions before = DefaultOptions();
  before.checkpoint_every_records = 0;
  before.checkpoint_interval = absl::InfiniteDuration();
  {
    std::unique_ptr<AccessLog> log = OpenLog(before);
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
    ASSERT_TRUE(log->CheckpointNow().ok());
  }
  AccessLogOptions after = store_.Options(renewed);
  after.checkpoint_every_records = 0;
  after.checkpoint_interval = absl::InfiniteDuration();
  after.previous_signing_cert_files = {keys_.certificate};
  {
    std::unique_ptr<AccessLog> log = OpenLog(after);
    ASSERT_NE(log, nullptr);
    for (int i = 4; i <= 6; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
    ASSERT_TRUE(log->CheckpointNow().ok());
    absl::StatusOr<VerificationResult> result = log->Verify(0, 0);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_TRUE(result->ok) << result->problem;
    EXPECT_EQ(result->checkpoints_checked, 2u);
    EXPECT_EQ(result->last_signed_sequence, 6u);
  }
  // Offline, with a bundle of both certificates; and with the new one alone.
  std::ofstream(store_.dir().File("bundle.pem"))
      << std::ifstream(renewed.certificate).rdbuf() << std::ifstream(keys_.certificate).rdbuf();
  absl::StatusOr<VerificationResult> offline = store_.VerifyOffline(store_.dir().File("bundle.pem"));
  ASSERT_TRUE(offline.ok()) << offline.status();
  EXPECT_TRUE(offline->ok) << offline->problem;
  EXPECT_EQ(offline->checkpoints_checked, 2u);
  offline = store_.VerifyOffline(renewed.certificate);
  ASSERT_TRUE(offline.ok()) << offline.status();
  EXPECT_FALSE(offline->ok);
  EXPECT_EQ(offline->first_bad_sequence, 3u);
  EXPECT_THAT(offline->problem, HasSubstr("signature"));

  // The gateway configured without the earlier certificate names the same checkpoint.
  after.previous_signing_cert_files.clear();
  std::unique_ptr<AccessLog> log = OpenLog(after);
  ASSERT_NE(log, nullptr);
  absl::StatusOr<VerificationResult> result = log->Verify(0, 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->first_bad_sequence, 3u);
}

TEST_P(AccessLogTest, APreviousSigningCertificateThatCannotBeLoadedIsNamed) {
  AccessLogOptions options = DefaultOptions();
  options.previous_signing_cert_files = {store_.dir().File("missing.pem")};
  absl::StatusOr<std::unique_ptr<AccessLog>> log = store_.Open(options);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(log.status().message(), HasSubstr("previous_signing_cert_files"));
  EXPECT_THAT(log.status().message(), HasSubstr("missing.pem"));
}

TEST_P(AccessLogTest, CheckpointNowCoversRecordsAppendedBeforeIt) {
  AccessLogOptions options = DefaultOptions();
  options.checkpoint_every_records = 0;
  options.checkpoint_interval = absl::InfiniteDuration();
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  std::atomic<int> done{0};
  for (int i = 1; i <= 50; ++i) {
    log->Append(ExampleRecord(i), [&](absl::StatusOr<uint64_t> sequence) {
      EXPECT_TRUE(sequence.ok());
      ++done;
    });
  }
  ASSERT_TRUE(log->CheckpointNow().ok());
  EXPECT_EQ(done.load(), 50);
  EXPECT_EQ(store_.QueryInt("SELECT MAX(sequence) FROM access_checkpoints"), 50);
}

TEST_P(AccessLogTest, CheckpointsAfterTheInterval) {
  AccessLogOptions options = DefaultOptions();
  options.checkpoint_every_records = 0;
  options.checkpoint_interval = absl::Milliseconds(20);
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(1)).ok());
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (log->Stats().checkpoints == 0 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(log->Stats().checkpoints, 1u);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(log->Stats().checkpoints, 1u) << "nothing new to sign";
}

// A failed transaction fails every record in it, and the chain continues from the last committed
// record. The failure is injected with a trigger on the table.
TEST_P(AccessLogTest, FailedCommitFailsTheWholeBatchAndTheChainRollsBack) {
  std::unique_ptr<AccessLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(store_.Exec(store_.Sql(
                "CREATE TRIGGER inject_failure BEFORE INSERT ON access_records "
                "WHEN NEW.request_id = 'poison' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
                "CREATE FUNCTION inject_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.request_id = 'poison'::bytea THEN RAISE EXCEPTION 'injected failure'; END IF; "
                "RETURN NEW; END $$;"
                "CREATE TRIGGER inject_failure BEFORE INSERT ON access_records "
                "FOR EACH ROW EXECUTE FUNCTION inject_failure();")),
            "");

  // Records 2, poison and 4 are queued while the writer waits for the write lock with record 1, so
  // they form the next batch together.
  std::unique_ptr<WriterBlocker> lock = store_.BlockWriter();
  log->Append(ExampleRecord(1), [](absl::StatusOr<uint64_t> sequence) { EXPECT_TRUE(sequence.ok()); });
  WaitForBatchesStarted(*log, 1);
  AccessRecord poison = ExampleRecord(3);
  poison.request_id = "poison";
  absl::Mutex mu;
  std::vector<absl::Status> results;
  absl::Notification batch_done;
  for (AccessRecord record : {ExampleRecord(2), poison, ExampleRecord(4)}) {
    log->Append(record, [&](absl::StatusOr<uint64_t> sequence) {
      absl::MutexLock lock(&mu);
      results.push_back(sequence.status());
      if (results.size() == 3) batch_done.Notify();
    });
  }
  lock->Release();
  batch_done.WaitForNotification();
  for (const absl::Status& status : results) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
    EXPECT_THAT(status.message(), HasSubstr("injected failure"));
  }
  EXPECT_EQ(log->LastSequence(), 1u);
  EXPECT_EQ(log->Stats().failed_commits, 1u);

  absl::StatusOr<uint64_t> next = AppendAndWait(*log, ExampleRecord(5));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, 2u) << "the failed batch's sequences are reused";
  absl::StatusOr<std::vector<AccessRecord>> records = log->ReadRange(1, 10);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1].request_id, "req-5");
  absl::StatusOr<VerificationResult> result = log->Verify(0, 0);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->ok) << result->problem;
}

TEST_P(AccessLogTest, ResumesAfterTheNewestCheckpointWhenRecordsAreMissing) {
  AccessLogOptions options = DefaultOptions();
  {
    std::unique_ptr<AccessLog> log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 10; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
  }  // checkpoint at 10
  ASSERT_EQ(store_.Exec("DELETE FROM access_records WHERE sequence >= 9"), "");
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->LastSequence(), 10u);
  absl::StatusOr<uint64_t> next = AppendAndWait(*log, ExampleRecord(11));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 11u) << "sequences 9 and 10 are not reused";
  absl::StatusOr<VerificationResult> result = log->Verify(0, 0);
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->first_bad_sequence, 9u);
  EXPECT_THAT(result->problem, HasSubstr("record 9: missing"));
  absl::StatusOr<VerificationResult> after_gap = log->Verify(11, 0);
  ASSERT_TRUE(after_gap.ok());
  EXPECT_FALSE(after_gap->ok) << "record 11 links to record 10, which is gone";
  EXPECT_EQ(after_gap->first_bad_sequence, 10u);
}

TEST_P(AccessLogTest, AcceptsAPublicKeyPemInsteadOfACertificate) {
  AccessLogOptions options = DefaultOptions();
  options.signing_cert_file = keys_.public_key;
  std::unique_ptr<AccessLog> log = OpenLog(options);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(1)).ok());
  ASSERT_TRUE(log->CheckpointNow().ok());
  absl::StatusOr<VerificationResult> result = log->Verify(0, 0);
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result->ok) << result->problem;
  EXPECT_EQ(result->checkpoints_checked, 1u);
}

// The metrics hook sees every transaction: each committed record once, and the final checkpoint as
// a transaction without records.
TEST_P(AccessLogTest, CommitObserverSeesEveryTransaction) {
  AccessLogOptions options = DefaultOptions();
  options.checkpoint_every_records = 0;
  options.checkpoint_interval = absl::InfiniteDuration();
  absl::Mutex mu;
  std::vector<AccessLogCommit> seen;
  options.commit_observer = [&](const AccessLogCommit& commit) {
    absl::MutexLock lock(&mu);
    seen.push_back(commit);
  };
  {
    std::unique_ptr<AccessLog> log = OpenLog(options);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
  }
  absl::MutexLock lock(&mu);
  ASSERT_EQ(seen.size(), 6u) << "5 appends one after another, and the checkpoint on close";
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_TRUE(seen[i].committed);
    EXPECT_GE(seen[i].duration, absl::ZeroDuration());
    EXPECT_EQ(seen[i].records, i < 5 ? 1u : 0u);
  }
}

TEST_P(AccessLogTest, OpenRejectsBadKeys) {
  AccessLogOptions options = DefaultOptions();
  options.signing_key_file = store_.dir().File("missing.key");
  absl::StatusOr<std::unique_ptr<AccessLog>> log = store_.Open(options);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(log.status().message(), HasSubstr("signing_key_file"));
  EXPECT_THAT(log.status().message(), HasSubstr("missing.key"));

  options = DefaultOptions();
  options.signing_key_file = keys_.certificate;  // not a private key
  EXPECT_EQ(store_.Open(options).status().code(), absl::StatusCode::kInvalidArgument);

  options = DefaultOptions();
  options.signing_cert_file = store_.dir().File("missing.pem");
  log = store_.Open(options);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(log.status().message(), HasSubstr("signing_cert_file"));

  KeyFiles other = WriteKeyFiles(store_.dir().path(), "other");
  options = DefaultOptions();
  options.signing_cert_file = other.certificate;
  log = store_.Open(options);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(log.status().message(), HasSubstr("is not the private key of"));

  KeyFiles p384 = WriteKeyFiles(store_.dir().path(), "p384", "P-384");
  options = DefaultOptions();
  options.signing_key_file = p384.private_key;
  options.signing_cert_file = p384.certificate;
  log = store_.Open(options);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(log.status().message(), HasSubstr("P-256"));
}

TEST_P(AccessLogTest, OfflineVerificationErrors) {
  {
    std::unique_ptr<AccessLog> log = OpenLog();
    ASSERT_NE(log, nullptr);
  }
  EXPECT_EQ(store_.VerifyOffline(store_.dir().File("missing.pem")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_.VerifyOffline(keys_.certificate, 3, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<VerificationResult> empty = store_.VerifyOffline(keys_.certificate);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->ok);
  EXPECT_EQ(empty->records_checked, 0u);
}

// --- what is particular to the SQLite log ---

class SqliteAccessLogTest : public ::testing::Test {
 protected:
  SqliteAccessLogTest() : keys_(WriteKeyFiles(dir_.path(), "gateway")) {}
  AccessLogOptions DefaultOptions() const { return testing::Options(dir_, keys_); }
  std::string db_path() const { return DefaultOptions().sqlite_path; }

  TempDir dir_;
  KeyFiles keys_;
};

TEST_F(SqliteAccessLogTest, OpenRejectsBadPaths) {
  AccessLogOptions options = DefaultOptions();
  options.sqlite_path = ":memory:";
  EXPECT_EQ(OpenSqliteAccessLog(options).status().code(), absl::StatusCode::kInvalidArgument);

  options = DefaultOptions();
  options.sqlite_path = dir_.File("no/such/dir/access.db");
  EXPECT_EQ(OpenSqliteAccessLog(options).status().code(), absl::StatusCode::kInternal);
}

TEST_F(SqliteAccessLogTest, VerifyAccessLogFileErrors) {
  EXPECT_EQ(VerifyAccessLogFile(dir_.File("missing.db"), keys_.certificate, 0, 0).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_EQ(ExecRawSql(dir_.File("other.db"), "CREATE TABLE t (x)"), "");
  absl::StatusOr<VerificationResult> result =
      VerifyAccessLogFile(dir_.File("other.db"), keys_.certificate, 0, 0);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("holds no access log"));
  {
    absl::StatusOr<std::unique_ptr<AccessLog>> log = OpenSqliteAccessLog(DefaultOptions());
    ASSERT_TRUE(log.ok()) << log.status();
  }
  EXPECT_EQ(VerifyAccessLogFile(db_path(), dir_.File("missing.pem"), 0, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyAccessLogFile(db_path(), keys_.certificate, 3, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- what is particular to the PostgreSQL log ---

class PostgresAccessLogTest : public ::testing::Test {
 protected:
  PostgresAccessLogTest() : keys_(WriteKeyFiles(store_.dir().path(), "gateway")) {}

  std::unique_ptr<AccessLog> OpenLog() {
    absl::StatusOr<std::unique_ptr<AccessLog>> log = store_.Open(store_.Options(keys_));
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  LogStore store_{Backend::kPostgres};
  KeyFiles keys_;
};

TEST_F(PostgresAccessLogTest, VerifyingADatabaseWithoutALogIsNotFound) {
  absl::StatusOr<VerificationResult> result = store_.VerifyOffline(keys_.certificate);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(result.status().message(), HasSubstr("holds no access log"));
  EXPECT_EQ(store_.QueryInt("SELECT COUNT(*) FROM interop_schema_migrations WHERE component = 'access_log'"),
            -1)
      << "verification creates nothing";
}

TEST_F(PostgresAccessLogTest, RefusesASchemaNewerThanThisGateway) {
  { ASSERT_NE(OpenLog(), nullptr); }
  ASSERT_EQ(
      store_.Exec("INSERT INTO interop_schema_migrations (component, version) VALUES ('access_log', 99)"),
      "");
  absl::StatusOr<std::unique_ptr<AccessLog>> log = store_.Open(store_.Options(keys_));
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(log.status().message(), HasSubstr("access_log"));
}

// The head row changed behind the log's back: behind the stored records (appends would collide with
// them), or gone. Opening the log moves it to the newest record, and the chain goes on unbroken.
TEST_F(PostgresAccessLogTest, OpenRepairsALaggingOrMissingChainHead) {
  {
    std::unique_ptr<AccessLog> log = OpenLog();
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
  }
  ASSERT_EQ(store_.Exec("UPDATE access_chain_head SET sequence = 2"), "");
  {
    std::unique_ptr<AccessLog> log = OpenLog();
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->LastSequence(), 5u);
    absl::StatusOr<uint64_t> next = AppendAndWait(*log, ExampleRecord(6));
    ASSERT_TRUE(next.ok()) << next.status();
    EXPECT_EQ(*next, 6u);
  }
  ASSERT_EQ(store_.Exec("DELETE FROM access_chain_head"), "");
  std::unique_ptr<AccessLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  absl::StatusOr<uint64_t> next = AppendAndWait(*log, ExampleRecord(7));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, 7u);
  absl::StatusOr<VerificationResult> result = log->Verify(0, 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->ok) << result->problem;
  EXPECT_EQ(result->records_checked, 7u);
}

// Records deleted from the end after the newest checkpoint: SQLite cannot tell, but the chain head
// row still names the newest record, so Verify() reports the missing tail.
TEST_F(PostgresAccessLogTest, VerifyReportsRecordsDeletedAfterTheNewestCheckpoint) {
  std::unique_ptr<AccessLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  for (int i = 1; i <= 8; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
  ASSERT_TRUE(log->CheckpointNow().ok());
  for (int i = 9; i <= 12; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
  ASSERT_EQ(store_.Exec("DELETE FROM access_records WHERE sequence > 10"), "");
  absl::StatusOr<VerificationResult> result = log->Verify(0, 0);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->first_bad_sequence, 11u);
  EXPECT_THAT(result->problem, HasSubstr("record 11: missing"));
}

}  // namespace
}  // namespace interop::accesslog
