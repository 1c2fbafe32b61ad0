#include "gateway/store/postgres/postgres_database.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/postgres/pg_test_support.h"

namespace interop::store::pg {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<PostgresDatabase> OpenOrDie(const std::string& conninfo, int pool_size = 4) {
  auto db = PostgresDatabase::Open({conninfo, pool_size});
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? std::move(*db) : nullptr;
}

TEST(PostgresDatabaseTest, ParametersAndResultsRoundTripIncludingBytesAndNull) {
  TestSchema schema;
  auto db = OpenOrDie(schema.conninfo());
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate("t", {"CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT, blob BYTEA)"}).ok());
  const std::string bytes("\x00\x01\xff\\x41'\"", 8);
  ASSERT_TRUE(db->WithConnection([&](Connection& c) {
                  return c.Exec("INSERT INTO items VALUES ($1, $2, $3), ($4, $5, $6)",
                                {Param::Int(1), Param::Text("太原 'quoted'"), Param::Bytes(bytes), Param::Int(-7),
                                 Param::Null(), Param::Null()})
                      .status();
                }).ok());
  ASSERT_TRUE(db->WithConnection([&](Connection& c) -> absl::Status {
                  auto rows = c.Exec("SELECT id, name, blob FROM items ORDER BY id");
                  if (!rows.ok()) return rows.status();
                  EXPECT_EQ(rows->rows(), 2);
                  EXPECT_EQ(rows->Int(0, 0), -7);
                  EXPECT_TRUE(rows->IsNull(0, 1));
                  EXPECT_TRUE(rows->IsNull(0, 2));
                  EXPECT_EQ(rows->Int(1, 0), 1);
                  EXPECT_EQ(rows->Text(1, 1), "太原 'quoted'");
                  EXPECT_EQ(rows->Bytes(1, 2), bytes);
                  return absl::OkStatus();
                }).ok());
}

TEST(PostgresDatabaseTest, ErrorsAreMappedBySqlState) {
  TestSchema schema;
  auto db = OpenOrDie(schema.conninfo());
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate("t", {"CREATE TABLE keys (k TEXT PRIMARY KEY)"}).ok());
  absl::Status first = db->WithConnection(
      [](Connection& c) { return c.Exec("INSERT INTO keys VALUES ($1)", {Param::Text("a")}).status(); });
  ASSERT_TRUE(first.ok()) << first;
  absl::Status again = db->WithConnection(
      [](Connection& c) { return c.Exec("INSERT INTO keys VALUES ($1)", {Param::Text("a")}).status(); });
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  absl::Status bad = db->WithConnection([](Connection& c) { return c.Exec("SELEC nonsense").status(); });
  EXPECT_EQ(bad.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(bad.message(), HasSubstr("syntax error"));
}

TEST(PostgresDatabaseTest, AnUnreachableServerIsUnavailableAndABadConninfoNamesTheField) {
  auto unreachable = PostgresDatabase::Open({"host=/nonexistent-dir port=5 dbname=x connect_timeout=1", 1});
  EXPECT_EQ(unreachable.status().code(), absl::StatusCode::kUnavailable);
  auto garbage = PostgresDatabase::Open({"this is = not = conninfo", 1});
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(garbage.status().message(), HasSubstr("store.postgres.conninfo"));
  auto empty = PostgresDatabase::Open({"", 1});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PostgresDatabaseTest, MigrationsApplyOncePerComponentAndRefuseADowngrade) {
  TestSchema schema;
  auto db = OpenOrDie(schema.conninfo());
  ASSERT_NE(db, nullptr);
  const std::vector<std::string> v1 = {"CREATE TABLE a (x INT)"};
  const std::vector<std::string> v2 = {"CREATE TABLE a (x INT)", "ALTER TABLE a ADD COLUMN y INT"};
  ASSERT_TRUE(db->Migrate("alpha", v1).ok());
  ASSERT_TRUE(db->Migrate("alpha", v1).ok());  // nothing to do: the CREATE is not run twice
  ASSERT_TRUE(db->Migrate("alpha", v2).ok());
  ASSERT_TRUE(db->Migrate("beta", {"CREATE TABLE b (x INT)"}).ok());  // versions are per component
  absl::Status downgrade = db->Migrate("alpha", v1);
  EXPECT_EQ(downgrade.code(), absl::StatusCode::kFailedPrecondition) << downgrade;
  // A failing script leaves nothing half-applied and names the version.
  absl::Status failed = db->Migrate("beta", {"CREATE TABLE b (x INT)", "CREATE TABLE c (x INT); SELEC 1"});
  EXPECT_EQ(failed.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(failed.message(), HasSubstr("beta to version 2"));
  absl::Status c_exists = db->WithConnection([](Connection& c) { return c.Exec("SELECT * FROM c").status(); });
  EXPECT_FALSE(c_exists.ok());
}

TEST(PostgresDatabaseTest, ReplicasStartingTogetherApplyEachMigrationOnce) {
  TestSchema schema;
  // Not idempotent on purpose: applied twice, the INSERT would leave two rows, the CREATE would fail.
  const std::vector<std::string> migrations = {"CREATE TABLE once (n INT)", "INSERT INTO once VALUES (1)"};
  std::atomic<int> failures{0};
  std::vector<std::thread> replicas;
  for (int i = 0; i < 6; ++i) {
    replicas.emplace_back([&] {
      auto db = PostgresDatabase::Open({schema.conninfo(), 1});
      if (!db.ok() || !(*db)->Migrate("race", migrations).ok()) ++failures;
    });
  }
  for (std::thread& t : replicas) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto db = OpenOrDie(schema.conninfo());
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->WithConnection([](Connection& c) -> absl::Status {
                  auto rows = c.Exec("SELECT count(*) FROM once");
                  if (!rows.ok()) return rows.status();
                  EXPECT_EQ(rows->Int(0, 0), 1);
                  return absl::OkStatus();
                }).ok());
}

TEST(PostgresDatabaseTest, ATransactionCommitsOrRollsBackAsAWholeAndRetriesSerializationFailures) {
  TestSchema schema;
  auto db = OpenOrDie(schema.conninfo());
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate("t", {"CREATE TABLE counter (id INT PRIMARY KEY, n BIGINT NOT NULL);"
                                "INSERT INTO counter VALUES (1, 0)"})
                  .ok());
  absl::Status refused = db->InTransaction([](Connection& c) -> absl::Status {
    auto updated = c.Exec("UPDATE counter SET n = n + 100 WHERE id = 1");
    if (!updated.ok()) return updated.status();
    return absl::FailedPreconditionError("changed my mind");
  });
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);

  // 4 threads x 25 serializable read-modify-writes of one row: conflicts happen and are retried.
  std::vector<std::thread> writers;
  std::atomic<int> errors{0};
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        absl::Status s = db->InTransaction(
            [](Connection& c) -> absl::Status {
              auto read = c.Exec("SELECT n FROM counter WHERE id = 1");
              if (!read.ok()) return read.status();
              return c.Exec("UPDATE counter SET n = $1 WHERE id = 1", {Param::Int(read->Int(0, 0) + 1)}).status();
            },
            Isolation::kSerializable, /*attempts=*/100);
        if (!s.ok()) ++errors;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(errors.load(), 0);
  ASSERT_TRUE(db->WithConnection([](Connection& c) -> absl::Status {
                  auto rows = c.Exec("SELECT n FROM counter WHERE id = 1");
                  if (!rows.ok()) return rows.status();
                  EXPECT_EQ(rows->Int(0, 0), 100);  // none lost, the refused +100 not applied
                  return absl::OkStatus();
                }).ok());
}

TEST(PostgresDatabaseTest, ABrokenConnectionIsReestablished) {
  TestSchema schema;
  auto db = OpenOrDie(schema.conninfo(), 1);
  ASSERT_NE(db, nullptr);
  // Kill the pool's only connection from another session.
  ASSERT_TRUE(db->WithConnection([&](Connection& c) -> absl::Status {
                  auto pid = c.Exec("SELECT pg_backend_pid()");
                  if (!pid.ok()) return pid.status();
                  auto other = Connect(schema.conninfo());
                  if (!other.ok()) return other.status();
                  return (*other)->Exec("SELECT pg_terminate_backend($1)", {Param::Int(pid->Int(0, 0))}).status();
                }).ok());
  absl::Status lost = db->WithConnection([](Connection& c) { return c.Exec("SELECT 1").status(); });
  EXPECT_EQ(lost.code(), absl::StatusCode::kUnavailable) << lost;
  absl::Status back = db->WithConnection([](Connection& c) { return c.Exec("SELECT 1").status(); });
  EXPECT_TRUE(back.ok()) << back;
}

}  // namespace
}  // namespace interop::store::pg
