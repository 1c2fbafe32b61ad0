// interop-backup (tools/backup/) as an operator runs it, against the files of a gateway that keeps
// appending access records meanwhile: copies of the store and of the access log that open, hold
// what was committed and verify, the certificates that verify the log beside them; a backup
// directory's files are never overwritten; a PostgreSQL store and usage errors are refused; a log
// changed in place is copied but reported BAD.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
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
using ::interop::accesslog::testing::CommandResult;
using ::interop::accesslog::testing::ExampleRecord;
using ::interop::accesslog::testing::ExecRawSql;
using ::interop::accesslog::testing::KeyFiles;
using ::interop::accesslog::testing::QueryRawInt;
using ::interop::accesslog::testing::RunCommand;
using ::interop::accesslog::testing::ShellQuoted;
using ::interop::accesslog::testing::TempDir;
using ::interop::accesslog::testing::WriteKeyFiles;
using ::testing::HasSubstr;

constexpr const char* kCities[] = {"TAIYUAN", "YANGQUAN", "JINZHONG", "XINZHOU", "LVLIANG"};

class BackupCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = WriteKeyFiles(dir_.path(), "gateway");
    WriteConfig("store { sqlite_path: \"gateway.db\" }");
    absl::StatusOr<std::unique_ptr<store::SqliteDatabase>> store =
        store::SqliteDatabase::Open(dir_.File("gateway.db"), store::GatewaySchemaMigrations());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  // The gateway's configuration in gateway.textproto, with `store` as its store and the access log
  // in access-log.db.
  void WriteConfig(const std::string& store) {
    std::ofstream config(dir_.File("gateway.textproto"));
    config << "listen_address: \"127.0.0.1:0\"\n" << store << "\n"
           << "access_policy_file: \"access_policy.textproto\"\n"
           << "access_log { sqlite_path: \"access-log.db\" signing_key_file: \"gateway.key\" "
           << "signing_cert_file: \"gateway.pem\" }\n";
    int port = 7001;
    for (const char* city : kCities) {
      config << "cities { city: CITY_" << city << " address: \"127.0.0.1:" << port++ << "\" "
             << "dialect_file: \"dialect.textproto\" tls { ca_cert_file: \"ca.pem\" cert_file: \"gateway.pem\" "
             << "key_file: \"gateway.key\" } }\n";
    }
  }

  std::unique_ptr<AccessLog> OpenLog() {
    AccessLogOptions options;
    options.sqlite_path = dir_.File("access-log.db");
    options.signing_key_file = keys_.private_key;
    options.signing_cert_file = keys_.certificate;
    absl::StatusOr<std::unique_ptr<AccessLog>> log = OpenSqliteAccessLog(options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  CommandResult Backup(const std::string& to) {
    return RunCommand(absl::StrCat(INTEROP_BACKUP_BIN, " --config=", ShellQuoted(dir_.File("gateway.textproto")),
                                   " --to=", ShellQuoted(to)));
  }

  TempDir dir_;
  KeyFiles keys_;
  std::unique_ptr<store::SqliteDatabase> store_;
};

TEST_F(BackupCommandTest, CopiesAndVerifiesWhileTheGatewayKeepsWriting) {
  std::unique_ptr<AccessLog> log = OpenLog();
  ASSERT_NE(log, nullptr);
  for (int i = 1; i <= 40; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
  ASSERT_TRUE(log->CheckpointNow().ok());
  std::atomic<bool> stop{false};
  std::thread appender([&] {
    for (int i = 41; !stop.load(); ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
  });
  CommandResult result = Backup(dir_.File("backup"));
  stop = true;
  appender.join();
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("gateway.db: copied to"));
  EXPECT_THAT(result.output, HasSubstr("access-log.db: copied to"));
  EXPECT_THAT(result.output, HasSubstr("checkpoints verified"));

  const std::string log_copy = dir_.File("backup/access-log.db");
  const int64_t copied = QueryRawInt(log_copy, "SELECT count(*) FROM access_records");
  EXPECT_GE(copied, 40);
  EXPECT_EQ(QueryRawInt(log_copy, "SELECT max(sequence) FROM access_records"), copied) << "a prefix of the chain";
  EXPECT_EQ(QueryRawInt(dir_.File("backup/gateway.db"), "PRAGMA user_version"),
            static_cast<int64_t>(store::GatewaySchemaMigrations().size()));
  // What an auditor runs later, with the certificates kept beside the copy.
  absl::StatusOr<VerificationResult> verified =
      VerifyAccessLogFile(log_copy, dir_.File("backup/signing-certs.pem"), 1, 0);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(verified->ok) << verified->problem;
  EXPECT_EQ(verified->records_checked, static_cast<uint64_t>(copied));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("backup/access-log.db.person-index"))) << "derived: not copied";

  // The same directory again: nothing is overwritten.
  const std::string kept = [&] {
    std::ifstream in(log_copy, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  CommandResult again = Backup(dir_.File("backup"));
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_THAT(again.output, HasSubstr("exists already"));
  std::ifstream in(log_copy, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()), kept);
}

TEST_F(BackupCommandTest, ALogChangedInPlaceIsCopiedButReportedBad) {
  {
    std::unique_ptr<AccessLog> log = OpenLog();
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= 10; ++i) ASSERT_TRUE(AppendAndWait(*log, ExampleRecord(i)).ok());
    ASSERT_TRUE(log->CheckpointNow().ok());
  }
  ASSERT_EQ(ExecRawSql(dir_.File("access-log.db"), "UPDATE access_records SET purpose = 'AUDIT' WHERE sequence = 4"),
            "");
  CommandResult result = Backup(dir_.File("backup"));
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("BAD: the copied access log does not verify: record 4"));
}

TEST_F(BackupCommandTest, APostgresStoreAndBadUsageAreRefused) {
  WriteConfig("store { postgres { conninfo: \"host=/nowhere dbname=interop\" } }");
  CommandResult postgres = Backup(dir_.File("backup"));
  EXPECT_EQ(postgres.exit_code, 2) << postgres.output;
  EXPECT_THAT(postgres.output, HasSubstr("PostgreSQL"));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("backup")));

  CommandResult no_to = RunCommand(absl::StrCat(INTEROP_BACKUP_BIN, " --config=x"));
  EXPECT_EQ(no_to.exit_code, 2);
  EXPECT_THAT(no_to.output, HasSubstr("--to is required"));
  CommandResult unknown = RunCommand(absl::StrCat(INTEROP_BACKUP_BIN, " --config=x --to=y --force"));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.output, HasSubstr("unexpected argument \"--force\""));
  CommandResult missing = RunCommand(absl::StrCat(INTEROP_BACKUP_BIN, " --config=", dir_.File("none.textproto"),
                                                  " --to=", dir_.File("backup")));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.output, HasSubstr("none.textproto"));
}

}  // namespace
}  // namespace interop::accesslog
