// Someone with write access to the database (but not the signing key) changes the log; the
// verifier must name the first record or checkpoint that is bad. On both back ends: the SQLite file,
// and the PostgreSQL schema (names end in /Sqlite and /Postgres).
//
// Each test builds a log of 205 records with checkpoints at 50, 100, 150, 200 and (on close) 205,
// then tampers through a connection of its own, around the log.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/accesslog/signing.h"
#include "gmock/gmock.h"
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
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int kRecords = 205;

class AccessLogTamperTest : public ::testing::TestWithParam<Backend> {
 protected:
  AccessLogTamperTest() : store_(GetParam()) {}

  void SetUp() override {
    keys_ = WriteKeyFiles(store_.dir().path(), "gateway");
    options_ = store_.Options(keys_);
    options_.checkpoint_every_records = 50;
    std::unique_ptr<AccessLog> log = Open();
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= kRecords; ++i) {
      ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i, absl::StrCat("1401051990030", 10000 + i))).ok());
    }
  }

  std::unique_ptr<AccessLog> Open() {
    absl::StatusOr<std::unique_ptr<AccessLog>> log = store_.Open(options_);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Verifies the whole log offline, as accesslog-verify does.
  VerificationResult VerifyFile(uint64_t first = 0, uint64_t last = 0) {
    absl::StatusOr<VerificationResult> result = store_.VerifyOffline(keys_.certificate, first, last);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : VerificationResult{};
  }

  void Tamper(const std::string& sql) { ASSERT_EQ(store_.Exec(sql), ""); }
  std::string HexBlob(const std::string& bytes) const { return store_.BytesLiteral(bytes); }

  // The stored records lo..hi, read through the log.
  std::vector<AccessRecord> Read(uint64_t lo, uint64_t hi) {
    std::unique_ptr<AccessLog> log = Open();
    absl::StatusOr<std::vector<AccessRecord>> records = log->ReadRange(lo, hi);
    EXPECT_TRUE(records.ok()) << records.status();
    return records.ok() ? *records : std::vector<AccessRecord>{};
  }

  // What an attacker without the key can do: change record `target` and recompute the hash chain
  // from there to the end, so that every record links correctly again.
  void RewriteRecordAndRechain(uint64_t target) {
    std::vector<AccessRecord> records = Read(target, kRecords);
    ASSERT_EQ(records.size(), static_cast<size_t>(kRecords - target + 1));
    std::string sql = "BEGIN;";
    std::string previous = records[0].previous_hash;
    for (AccessRecord& record : records) {
      if (record.sequence == target) {
        record.caller_role = "auditor";
        absl::StrAppend(&sql, "UPDATE access_records SET caller_role = 'auditor' WHERE sequence = ", target,
                        ";");
      }
      record.previous_hash = previous;
      record.record_hash = ComputeRecordHash(record, previous);
      previous = record.record_hash;
      absl::StrAppend(&sql, "UPDATE access_records SET previous_hash = ", HexBlob(record.previous_hash),
                      ", record_hash = ", HexBlob(record.record_hash), " WHERE sequence = ", record.sequence,
                      ";");
    }
    sql += "COMMIT;";
    Tamper(sql);
  }

  LogStore store_;
  KeyFiles keys_;
  AccessLogOptions options_;
};

INSTANTIATE_TEST_SUITE_P(Backends, AccessLogTamperTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

TEST_P(AccessLogTamperTest, CleanLogVerifies) {
  VerificationResult result = VerifyFile();
  EXPECT_TRUE(result.ok) << result.problem;
  EXPECT_EQ(result.records_checked, static_cast<uint64_t>(kRecords));
  EXPECT_EQ(result.checkpoints_checked, 5u);
  EXPECT_EQ(result.last_signed_sequence, static_cast<uint64_t>(kRecords));
}

// (a) One field of one record changed.
TEST_P(AccessLogTamperTest, UpdatedFieldNamesTheRecord) {
  Tamper("UPDATE access_records SET person = '110101199001010011' WHERE sequence = 120");
  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 120u);
  EXPECT_EQ(result.problem, "record 120: hash does not match its contents");
  EXPECT_EQ(result.records_checked, 119u);

  // The same through the live log's Verify().
  std::unique_ptr<AccessLog> log = Open();
  ASSERT_NE(log, nullptr);
  absl::StatusOr<VerificationResult> live = log->Verify(0, 0);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_FALSE(live->ok);
  EXPECT_EQ(live->first_bad_sequence, 120u);
}

TEST_P(AccessLogTamperTest, UpdatedResultCodeAndTimeAreCaughtToo) {
  Tamper(
      "UPDATE access_records SET result_code = 7 WHERE sequence = 3;"
      "UPDATE access_records SET time_unix_us = time_unix_us + 1 WHERE sequence = 9;");
  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 3u);
  result = VerifyFile(4, 0);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 9u);
}

TEST_P(AccessLogTamperTest, MalformedCitiesColumnNamesTheRecord) {
  Tamper("UPDATE access_records SET cities_consulted = 'jinzhong' WHERE sequence = 33");
  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 33u);
  EXPECT_THAT(result.problem, StartsWith("record 33: cities_consulted"));
}

// (b) A record deleted.
TEST_P(AccessLogTamperTest, DeletedRecordNamesTheGap) {
  Tamper("DELETE FROM access_records WHERE sequence = 77");
  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 77u);
  EXPECT_THAT(result.problem, StartsWith("record 77: missing (sequence gap"));
}

// A deleted record just before a verified range breaks the link into the range.
TEST_P(AccessLogTamperTest, DeletedRecordBeforeTheRangeIsNamed) {
  Tamper("DELETE FROM access_records WHERE sequence = 99");
  VerificationResult result = VerifyFile(100, 0);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 99u);
}

// The newest records deleted (the tail): the checkpoint written on close still names them.
TEST_P(AccessLogTamperTest, TruncatedTailIsNamed) {
  Tamper("DELETE FROM access_records WHERE sequence > 201");
  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 202u);
  EXPECT_THAT(result.problem, StartsWith("record 202: missing"));
}

// (c) Two records' contents swapped (a reorder), hashes and all.
TEST_P(AccessLogTamperTest, SwappedRecordsNameTheFirst) {
  Tamper(
      "CREATE TEMP TABLE saved AS SELECT * FROM access_records WHERE sequence IN (130, 131);"
      "UPDATE access_records SET (time_unix_us, request_id, caller_organization, caller_city, caller_role, "
      "  method, person, purpose, result_code, result_reason, cities_consulted, previous_hash, record_hash) "
      "= "
      "  (SELECT time_unix_us, request_id, caller_organization, caller_city, caller_role, method, person, "
      "   purpose, result_code, result_reason, cities_consulted, previous_hash, record_hash "
      "   FROM saved WHERE saved.sequence = 261 - access_records.sequence) "
      "WHERE sequence IN (130, 131);");
  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 130u);
  EXPECT_EQ(result.problem, "record 130: hash does not match its contents");
}

// Swapping only what was said (keeping each row's hashes) is caught the same way.
TEST_P(AccessLogTamperTest, SwappedFieldsNameTheFirst) {
  Tamper(
      "CREATE TEMP TABLE saved AS SELECT * FROM access_records WHERE sequence IN (10, 11);"
      "UPDATE access_records SET (request_id, person) = (SELECT request_id, person FROM saved "
      "  WHERE saved.sequence = 21 - access_records.sequence) WHERE sequence IN (10, 11);");
  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 10u);
}

// A record's stored hash replaced: the next record no longer links to it (seen when verifying from
// the next record on).
TEST_P(AccessLogTamperTest, BrokenLinkNamesTheNextRecord) {
  Tamper(absl::StrCat("UPDATE access_records SET record_hash = ", HexBlob(std::string(32, '\x42')),
                      " WHERE sequence = 60"));
  VerificationResult result = VerifyFile(61, 0);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 61u);
  EXPECT_THAT(result.problem, StartsWith("record 61: previous_hash does not match the hash of record 60"));
}

// (d) A record rewritten and every later hash recomputed: the chain is consistent again, but the
// next checkpoint's signature covers the old hash.
TEST_P(AccessLogTamperTest, RewrittenAndRechainedRecordsAreCaughtByTheNextCheckpoint) {
  RewriteRecordAndRechain(120);
  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 150u);
  EXPECT_EQ(
      result.problem,
      "checkpoint at 150: record 150 does not have the signed hash: records after checkpoint 100 to 150 "
      "were changed after they were signed");
  EXPECT_EQ(result.records_checked, 149u) << "the chain itself is consistent up to the checkpoint";
}

// ... and re-signing the checkpoints with another key does not help.
TEST_P(AccessLogTamperTest, CheckpointsResignedWithAnotherKeyAreCaught) {
  RewriteRecordAndRechain(120);
  KeyFiles attacker = WriteKeyFiles(store_.dir().path(), "attacker");
  absl::StatusOr<std::unique_ptr<CheckpointSigner>> signer =
      CheckpointSigner::FromPemFile(attacker.private_key);
  ASSERT_TRUE(signer.ok()) << signer.status();
  std::vector<AccessRecord> records = Read(150, kRecords);
  std::string sql;
  for (const AccessRecord& record : records) {
    if (record.sequence % 50 != 0 && record.sequence != kRecords) continue;
    const absl::Time signed_at = absl::FromUnixMicros(1764115200000000);
    absl::StatusOr<std::string> signature =
        (*signer)->Sign(CheckpointMessage(record.sequence, record.record_hash, signed_at));
    ASSERT_TRUE(signature.ok());
    absl::StrAppend(&sql, "UPDATE access_checkpoints SET record_hash = ", HexBlob(record.record_hash),
                    ", signed_at_unix_us = 1764115200000000, signature = ", HexBlob(*signature),
                    " WHERE sequence = ", record.sequence, ";");
  }
  Tamper(sql);
  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 150u);
  EXPECT_EQ(result.problem, "checkpoint at 150: signature does not verify");
}

// (e) A checkpoint's signature tampered with.
TEST_P(AccessLogTamperTest, TamperedCheckpointSignatureIsNamed) {
  std::string signature = store_.QueryBytes("SELECT signature FROM access_checkpoints WHERE sequence = 100");
  ASSERT_FALSE(signature.empty());
  signature[signature.size() / 2] ^= 0x01;
  Tamper(absl::StrCat("UPDATE access_checkpoints SET signature = ", HexBlob(signature),
                      " WHERE sequence = 100"));

  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 100u);
  EXPECT_EQ(result.problem, "checkpoint at 100: signature does not verify");
  EXPECT_EQ(result.checkpoints_checked, 1u);
}

TEST_P(AccessLogTamperTest, CheckpointWithAnotherCheckpointsSignatureIsNamed) {
  Tamper(
      "UPDATE access_checkpoints SET signature = (SELECT signature FROM access_checkpoints "
      "WHERE sequence = 50) WHERE sequence = 200");
  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 200u);
  EXPECT_EQ(result.problem, "checkpoint at 200: signature does not verify");
}

TEST_P(AccessLogTamperTest, CheckpointWithAChangedTimeIsNamed) {
  Tamper(
      "UPDATE access_checkpoints SET signed_at_unix_us = signed_at_unix_us - 3600000000 WHERE sequence = 50");
  VerificationResult result = VerifyFile();
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_sequence, 50u);
}

TEST_P(AccessLogTamperTest, VerifyingWithTheWrongPublicKeyFailsAtTheFirstCheckpoint) {
  KeyFiles other = WriteKeyFiles(store_.dir().path(), "other");
  absl::StatusOr<VerificationResult> result = store_.VerifyOffline(other.public_key);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->ok);
  EXPECT_EQ(result->first_bad_sequence, 50u);
  EXPECT_EQ(result->problem, "checkpoint at 50: signature does not verify");
}

}  // namespace
}  // namespace interop::accesslog
