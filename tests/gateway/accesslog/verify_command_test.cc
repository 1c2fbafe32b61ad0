// The accesslog-verify command on a good file, a tampered file, ranges and usage errors; and on a log
// in PostgreSQL (--postgres_conninfo; the suite VerifyCommandPostgresTest needs the ctest fixture
// "postgres").
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/accesslog/access_log.h"
#include "gateway/store/postgres/postgres_database.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/accesslog/test_support.h"
#include "tests/gateway/store/postgres/pg_test_support.h"

namespace interop::accesslog {
namespace {

using ::interop::accesslog::testing::AppendAndWait;
using ::interop::accesslog::testing::CommandResult;
using ::interop::accesslog::testing::Backend;
using ::interop::accesslog::testing::ExampleRecord;
using ::interop::accesslog::testing::ExecRawSql;
using ::interop::accesslog::testing::KeyFiles;
using ::interop::accesslog::testing::LogStore;
using ::interop::accesslog::testing::RunCommand;
using ::interop::accesslog::testing::ShellQuoted;
using ::interop::accesslog::testing::TempDir;
using ::interop::accesslog::testing::WriteKeyFiles;
using ::testing::HasSubstr;

CommandResult RunVerify(const std::string& arguments) {
  return RunCommand(absl::StrCat(ACCESSLOG_VERIFY_BINARY, " ", arguments));
}

class VerifyCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = WriteKeyFiles(dir_.path(), "gateway");
    AccessLogOptions options = testing::Options(dir_, keys_);
    options.checkpoint_every_records = 10;
    db_ = options.sqlite_path;
    absl::StatusOr<std::unique_ptr<AccessLog>> log = OpenSqliteAccessLog(options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 1; i <= 30; ++i) ASSERT_TRUE(AppendAndWait(**log, ExampleRecord(i)).ok());
  }

  TempDir dir_;
  KeyFiles keys_;
  std::string db_;
};

TEST_F(VerifyCommandTest, GoodFileWithCertificateOrPublicKey) {
  CommandResult result = RunVerify(absl::StrCat("--db=", db_, " --cert=", keys_.certificate));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "OK: 30 records, 3 checkpoints verified\n");

  result = RunVerify(absl::StrCat("--db=", db_, " --cert=", keys_.public_key));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "OK: 30 records, 3 checkpoints verified\n");
}

TEST_F(VerifyCommandTest, Range) {
  CommandResult result =
      RunVerify(absl::StrCat("--db=", db_, " --cert=", keys_.certificate, " --first=11 --last=25"));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output,
            "OK: 15 records, 1 checkpoints verified\n"
            "note: records 21..25 are not yet covered by a signed checkpoint\n");
}

TEST_F(VerifyCommandTest, TamperedFile) {
  ASSERT_EQ(ExecRawSql(db_, "UPDATE access_records SET purpose = 'PURPOSE_CURIOSITY' WHERE sequence = 17"),
            "");
  CommandResult result = RunVerify(absl::StrCat("--db=", db_, " --cert=", keys_.certificate));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_EQ(result.output, "BAD: record 17: hash does not match its contents\n");

  result = RunVerify(absl::StrCat("--db=", db_, " --cert=", keys_.certificate, " --last=16"));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("OK: 16 records, 1 checkpoints verified"));
}

TEST_F(VerifyCommandTest, WrongKey) {
  KeyFiles other = WriteKeyFiles(dir_.path(), "other");
  CommandResult result = RunVerify(absl::StrCat("--db=", db_, " --cert=", other.certificate));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_EQ(result.output, "BAD: checkpoint at 10: signature does not verify\n");
}

TEST_F(VerifyCommandTest, UsageErrors) {
  EXPECT_EQ(RunVerify("").exit_code, 2);
  EXPECT_EQ(RunVerify(absl::StrCat("--db=", db_)).exit_code, 2);
  EXPECT_EQ(RunVerify(absl::StrCat("--cert=", keys_.certificate)).exit_code, 2);
  CommandResult result = RunVerify(absl::StrCat("--db=", db_, " --cert=", keys_.certificate, " --frist=3"));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("unknown flag --frist"));
  EXPECT_EQ(RunVerify(absl::StrCat("--db=", db_, " --cert=", keys_.certificate, " --first=x")).exit_code, 2);
  EXPECT_EQ(
      RunVerify(absl::StrCat("--db=", db_, " --cert=", keys_.certificate, " --first=5 --last=4")).exit_code,
      2);
  result = RunVerify(absl::StrCat("--db=", dir_.File("missing.db"), " --cert=", keys_.certificate));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("ERROR: cannot open"));
  result = RunVerify(absl::StrCat("--db=", db_, " --cert=", dir_.File("missing.pem")));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("missing.pem"));
}

TEST_F(VerifyCommandTest, ExactlyOneOfDbAndConninfo) {
  CommandResult result = RunVerify(absl::StrCat("--db=", db_, " --postgres_conninfo=", ShellQuoted("host=/tmp"),
                                                " --cert=", keys_.certificate));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("exactly one of --db and --postgres_conninfo"));
}

// A log of 30 records written by two replicas (two pools, two logs on one fresh schema, as two
// gateway processes), checkpointed every 10 records, then the log's writers gone.
class VerifyCommandPostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = WriteKeyFiles(store_.dir().path(), "gateway");
    AccessLogOptions options = store_.Options(keys_);
    options.checkpoint_every_records = 10;
    options.checkpoint_interval = absl::InfiniteDuration();
    std::unique_ptr<store::pg::PostgresDatabase> second_pool = store_.NewPool(2);
    {
      absl::StatusOr<std::unique_ptr<AccessLog>> first = store_.Open(options);
      ASSERT_TRUE(first.ok()) << first.status();
      absl::StatusOr<std::unique_ptr<AccessLog>> second = OpenPostgresAccessLog(options, *second_pool);
      ASSERT_TRUE(second.ok()) << second.status();
      for (int i = 1; i <= 30; ++i) {
        ASSERT_TRUE(AppendAndWait(i % 2 == 0 ? **first : **second, ExampleRecord(i)).ok());
      }
    }
    conninfo_ = ShellQuoted(store_.conninfo());
  }

  std::string Run(const std::string& cert, const std::string& more = "") {
    result_ = RunVerify(absl::StrCat("--postgres_conninfo=", conninfo_, " --cert=", cert, more));
    return result_.output;
  }

  LogStore store_{Backend::kPostgres};
  KeyFiles keys_;
  std::string conninfo_;
  CommandResult result_;
};

TEST_F(VerifyCommandPostgresTest, GoodLogWithCertificateOrPublicKey) {
  EXPECT_EQ(Run(keys_.certificate), "OK: 30 records, 3 checkpoints verified\n");
  EXPECT_EQ(result_.exit_code, 0);
  EXPECT_EQ(Run(keys_.public_key), "OK: 30 records, 3 checkpoints verified\n");
  EXPECT_EQ(result_.exit_code, 0);
}

TEST_F(VerifyCommandPostgresTest, Range) {
  EXPECT_EQ(Run(keys_.certificate, " --first=11 --last=25"),
            "OK: 15 records, 1 checkpoints verified\n"
            "note: records 21..25 are not yet covered by a signed checkpoint\n");
  EXPECT_EQ(result_.exit_code, 0);
}

TEST_F(VerifyCommandPostgresTest, TamperedRecord) {
  ASSERT_EQ(store_.Exec("UPDATE access_records SET purpose = 'PURPOSE_CURIOSITY' WHERE sequence = 17"), "");
  EXPECT_EQ(Run(keys_.certificate), "BAD: record 17: hash does not match its contents\n");
  EXPECT_EQ(result_.exit_code, 1);
  EXPECT_THAT(Run(keys_.certificate, " --last=16"), HasSubstr("OK: 16 records, 1 checkpoints verified"));
  EXPECT_EQ(result_.exit_code, 0);
}

TEST_F(VerifyCommandPostgresTest, DeletedRecord) {
  ASSERT_EQ(store_.Exec("DELETE FROM access_records WHERE sequence = 12"), "");
  EXPECT_EQ(Run(keys_.certificate), "BAD: record 12: missing (sequence gap; the next stored record is 13)\n");
  EXPECT_EQ(result_.exit_code, 1);
}

TEST_F(VerifyCommandPostgresTest, WrongKey) {
  KeyFiles other = WriteKeyFiles(store_.dir().path(), "other");
  EXPECT_EQ(Run(other.certificate), "BAD: checkpoint at 10: signature does not verify\n");
  EXPECT_EQ(result_.exit_code, 1);
}

TEST_F(VerifyCommandPostgresTest, NoAccessLogOrNoServer) {
  store::pg::TestSchema empty;
  CommandResult result = RunVerify(
      absl::StrCat("--postgres_conninfo=", ShellQuoted(empty.conninfo()), " --cert=", keys_.certificate));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("ERROR: the database holds no access log"));

  // A socket directory where no server listens.
  result = RunVerify(absl::StrCat("--postgres_conninfo=",
                                  ShellQuoted(absl::StrCat("host=", store_.dir().path(),
                                                           " port=5432 dbname=interop connect_timeout=2")),
                                  " --cert=", keys_.certificate));
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.output, HasSubstr("ERROR: "));
  EXPECT_THAT(result.output, ::testing::Not(HasSubstr("OK:")));
}

}  // namespace
}  // namespace interop::accesslog
