// AccessLogOptions::commit_observer, fed into AccessLogMetrics as the gateway server does: every
// record committed is seen in exactly one observed transaction.
#include <mutex>
#include <vector>

#include "gateway/accesslog/access_log.h"
#include "gateway/metrics/gateway_metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/accesslog/test_support.h"

namespace interop::metrics {
namespace {

using accesslog::testing::AppendAndWait;
using accesslog::testing::ExampleRecord;
using accesslog::testing::KeyFiles;
using accesslog::testing::TempDir;
using accesslog::testing::WriteKeyFiles;
using ::testing::HasSubstr;

TEST(AccessLogCommitObserverTest, EveryCommittedRecordIsObservedOnce) {
  TempDir dir;
  KeyFiles keys = WriteKeyFiles(dir.path(), "log");
  MetricRegistry registry;
  AccessLogMetrics metrics(registry);
  std::mutex mu;
  std::vector<accesslog::AccessLogCommit> seen;
  accesslog::AccessLogOptions options = accesslog::testing::Options(dir, keys);
  options.checkpoint_every_records = 0;
  options.checkpoint_interval = absl::InfiniteDuration();
  options.commit_observer = [&](const accesslog::AccessLogCommit& commit) {
    metrics.RecordCommit(commit.records, commit.duration, commit.committed);
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(commit);
  };
  {
    absl::StatusOr<std::unique_ptr<accesslog::AccessLog>> log = accesslog::OpenSqliteAccessLog(options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(AppendAndWait(**log, ExampleRecord(i)).ok());
  }  // closing writes a final checkpoint: a transaction without records

  std::lock_guard<std::mutex> lock(mu);
  size_t records = 0;
  size_t with_records = 0;
  for (const accesslog::AccessLogCommit& commit : seen) {
    EXPECT_TRUE(commit.committed);
    EXPECT_GE(commit.duration, absl::ZeroDuration());
    records += commit.records;
    if (commit.records > 0) ++with_records;
  }
  EXPECT_EQ(records, 5u);
  // Each append waited for its own commit.
  EXPECT_EQ(with_records, 5u);
  std::string text = registry.RenderText();
  EXPECT_THAT(text, HasSubstr("interop_accesslog_batch_records_count 5\n"));
  EXPECT_THAT(text, HasSubstr("interop_accesslog_batch_records_bucket{le=\"1\"} 5\n"));
  EXPECT_THAT(text,
              HasSubstr(absl::StrCat("interop_accesslog_commit_duration_seconds_count ", seen.size(), "\n")));
  EXPECT_THAT(text, HasSubstr("interop_accesslog_commit_failures_total 0\n"));
}

}  // namespace
}  // namespace interop::metrics
