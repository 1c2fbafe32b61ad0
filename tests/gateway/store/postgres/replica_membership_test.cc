// Tests of ReplicaMembership (gateway/store/postgres/replica_membership.h): replicas sharing one
// schema count each other from their heartbeats, and count for each caller the live replicas that
// served it lately; a replica that leaves stops counting at once, one whose heartbeat is older than
// the window stops counting, and so does a caller report older than the window.
#include "gateway/store/postgres/replica_membership.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/store/postgres/pg_test_support.h"

namespace interop::store::pg {
namespace {

using ::testing::HasSubstr;

class ReplicaMembershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<PostgresDatabase>> db = PostgresDatabase::Open({schema_.conninfo(), 2});
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }

  std::unique_ptr<ReplicaMembership> Join(const std::string& replica_id) {
    absl::StatusOr<std::unique_ptr<ReplicaMembership>> membership =
        ReplicaMembership::Open(*db_, replica_id, absl::Seconds(15));
    EXPECT_TRUE(membership.ok()) << membership.status();
    return membership.ok() ? std::move(*membership) : nullptr;
  }

  int HeartbeatOrDie(ReplicaMembership& membership) { return ViewOrDie(membership, {}).live_replicas; }

  ReplicaMembership::View ViewOrDie(ReplicaMembership& membership, const std::vector<std::string>& callers) {
    absl::StatusOr<ReplicaMembership::View> view = membership.Heartbeat(callers);
    EXPECT_TRUE(view.ok()) << view.status();
    if (!view.ok()) return ReplicaMembership::View{-1, {}};
    return *view;
  }

  absl::Status Exec(const std::string& sql) {
    return db_->WithConnection([&](Connection& c) { return c.Exec(sql).status(); });
  }

  TestSchema schema_;
  std::unique_ptr<PostgresDatabase> db_;
};

TEST_F(ReplicaMembershipTest, ReplicasCountEachOtherFromTheirHeartbeats) {
  std::unique_ptr<ReplicaMembership> a = Join("replica-a");
  std::unique_ptr<ReplicaMembership> b = Join("replica-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(HeartbeatOrDie(*a), 1) << "alone so far";
  EXPECT_EQ(HeartbeatOrDie(*b), 2);
  EXPECT_EQ(HeartbeatOrDie(*a), 2);
  EXPECT_EQ(HeartbeatOrDie(*a), 2) << "a replica counts once however often it beats";
  std::unique_ptr<ReplicaMembership> c = Join("replica-c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(HeartbeatOrDie(*c), 3);
}

TEST_F(ReplicaMembershipTest, AReplicaThatLeavesStopsCountingAtOnce) {
  std::unique_ptr<ReplicaMembership> a = Join("replica-a");
  std::unique_ptr<ReplicaMembership> b = Join("replica-b");
  ASSERT_EQ(HeartbeatOrDie(*a), 1);
  ASSERT_EQ(HeartbeatOrDie(*b), 2);
  ASSERT_TRUE(b->Leave().ok());
  EXPECT_EQ(HeartbeatOrDie(*a), 1);
  EXPECT_EQ(HeartbeatOrDie(*b), 2) << "a replica that beats again is back";
}

TEST_F(ReplicaMembershipTest, AReplicaWhoseHeartbeatIsOlderThanTheWindowStopsCounting) {
  std::unique_ptr<ReplicaMembership> a = Join("replica-a");
  std::unique_ptr<ReplicaMembership> b = Join("replica-b");
  ASSERT_EQ(HeartbeatOrDie(*a), 1);
  ASSERT_EQ(HeartbeatOrDie(*b), 2);
  // Replica b died 14 s ago: still within the 15 s window.
  ASSERT_TRUE(Exec("UPDATE gateway_replicas SET heartbeat_at = now() - interval '14 seconds' "
                   "WHERE replica_id = 'replica-b'")
                  .ok());
  EXPECT_EQ(HeartbeatOrDie(*a), 2);
  // 16 s ago: gone.
  ASSERT_TRUE(Exec("UPDATE gateway_replicas SET heartbeat_at = now() - interval '16 seconds' "
                   "WHERE replica_id = 'replica-b'")
                  .ok());
  EXPECT_EQ(HeartbeatOrDie(*a), 1);
}

TEST_F(ReplicaMembershipTest, RefusesAnEmptyIdAndAWindowUnderOneSecond) {
  absl::StatusOr<std::unique_ptr<ReplicaMembership>> no_id = ReplicaMembership::Open(*db_, "", absl::Seconds(15));
  EXPECT_EQ(no_id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_id.status().message(), HasSubstr("replica_id"));
  absl::StatusOr<std::unique_ptr<ReplicaMembership>> short_window =
      ReplicaMembership::Open(*db_, "replica-a", absl::Milliseconds(500));
  EXPECT_EQ(short_window.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(short_window.status().message(), HasSubstr("live_window"));
}

TEST_F(ReplicaMembershipTest, AHeartbeatThatCannotBeWrittenIsAnErrorNotACount) {
  std::unique_ptr<ReplicaMembership> a = Join("replica-a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(Exec("DROP TABLE gateway_replicas").ok());
  EXPECT_FALSE(a->Heartbeat({}).ok());
}

TEST_F(ReplicaMembershipTest, EachCallerIsCountedByTheLiveReplicasThatServedItLately) {
  std::unique_ptr<ReplicaMembership> a = Join("replica-a");
  std::unique_ptr<ReplicaMembership> b = Join("replica-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  // A quote and a backslash survive the array literal.
  const std::string odd = "interop://taiyuan/hospital/\"odd\\one\"";
  ViewOrDie(*a, {"hospital-1", "hospital-2", odd, "hospital-1"});
  ReplicaMembership::View view = ViewOrDie(*b, {"hospital-2", odd, "portal"});
  EXPECT_EQ(view.live_replicas, 2);
  EXPECT_THAT(view.replicas_per_caller,
              ::testing::UnorderedElementsAre(::testing::Pair("hospital-2", 2), ::testing::Pair(odd, 2)))
      << "callers one replica serves are not listed";
  // A report stays for the window: replica a's next heartbeat, with nothing new, still counts them.
  view = ViewOrDie(*a, {});
  EXPECT_EQ(view.replicas_per_caller.size(), 2u);
  // Replica a reported hospital-2 16 s ago: outside the 15 s window, so only b serves it now.
  ASSERT_TRUE(Exec("UPDATE gateway_replica_callers SET seen_at = now() - interval '16 seconds' "
                   "WHERE replica_id = 'replica-a' AND caller = 'hospital-2'")
                  .ok());
  view = ViewOrDie(*b, {});
  EXPECT_EQ(view.replicas_per_caller.count("hospital-2"), 0u);
  EXPECT_EQ(view.replicas_per_caller.at(odd), 2);
  // Replica a leaves: nothing is shared any more.
  ASSERT_TRUE(a->Leave().ok());
  view = ViewOrDie(*b, {"hospital-2"});
  EXPECT_THAT(view.replicas_per_caller, ::testing::IsEmpty());
  EXPECT_EQ(view.live_replicas, 1);
}

TEST_F(ReplicaMembershipTest, ADeadReplicasCallersStopCountingWithIt) {
  std::unique_ptr<ReplicaMembership> a = Join("replica-a");
  std::unique_ptr<ReplicaMembership> b = Join("replica-b");
  ViewOrDie(*a, {"hospital-1"});
  ASSERT_EQ(ViewOrDie(*b, {"hospital-1"}).replicas_per_caller.at("hospital-1"), 2);
  // Replica a stopped beating 16 s ago, though its report of hospital-1 looks fresh.
  ASSERT_TRUE(Exec("UPDATE gateway_replicas SET heartbeat_at = now() - interval '16 seconds' "
                   "WHERE replica_id = 'replica-a'")
                  .ok());
  EXPECT_THAT(ViewOrDie(*b, {}).replicas_per_caller, ::testing::IsEmpty());
}

}  // namespace
}  // namespace interop::store::pg
