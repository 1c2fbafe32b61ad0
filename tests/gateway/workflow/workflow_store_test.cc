// Tests of the workflow store (gateway/workflow/workflow_store.h), each run on both back ends
// (SQLite and PostgreSQL): creation and the one-unfinished-workflow-per-subject rule, leases (grant,
// expiry, takeover, fencing, release at restart), commits with outbox and history, the read model
// (Get, List with filters and pages), durability across reopening, and two store objects on one
// database (as two replicas) claiming, creating and committing at once.
#include "gateway/workflow/workflow_store.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/workflow/workflow_test_database.h"

namespace interop::workflow {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1710000000);
const std::vector<std::string> kTypes = {"toy"};

NewWorkflow Toy(const std::string& id, const std::string& subject) {
  NewWorkflow w;
  w.workflow_id = id;
  w.type = "toy";
  w.subject = subject;
  w.initial_state = "first";
  w.data = std::string("d\0ata", 5);
  w.outbox = {{"ask", "taiyuan", "payload-1"}, {"tell", "jinzhong", "payload-2"}};
  w.deadline = kT0 + absl::Hours(1);
  return w;
}

class WorkflowStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { store_ = Open(); }
  // Another store object on the same database: a new connection (SQLite) or pool (PostgreSQL).
  std::unique_ptr<WorkflowStore> Open() {
    auto store = db_.OpenStore();
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  TestDatabase db_{GetParam()};  // first: outlives the stores
  std::unique_ptr<WorkflowStore> store_;
};

TEST_P(WorkflowStoreTest, CreateWritesInstanceOutboxAndHistory) {
  ASSERT_TRUE(store_->Create(Toy("wf-1", "person-1"), kT0).ok());
  absl::StatusOr<WorkflowRecord> record = store_->Get("wf-1");
  ASSERT_TRUE(record.ok()) << record.status();
  const WorkflowInstance& w = record->instance;
  EXPECT_EQ(w.type, "toy");
  EXPECT_EQ(w.subject, "person-1");
  EXPECT_EQ(w.state, "first");
  EXPECT_EQ(w.status, WorkflowStatus::kRunning);
  EXPECT_EQ(w.data, std::string("d\0ata", 5));
  EXPECT_EQ(w.step_seq, 0);
  EXPECT_EQ(w.next_attempt_at, kT0);
  EXPECT_EQ(w.deadline, kT0 + absl::Hours(1));
  EXPECT_EQ(w.lease_owner, "");
  EXPECT_EQ(w.created_at, kT0);
  ASSERT_EQ(record->outbox.size(), 2u);
  EXPECT_EQ(record->outbox[0].idempotency_key, "wf-1/0/first/ask");
  EXPECT_EQ(record->outbox[0].destination, "taiyuan");
  EXPECT_EQ(record->outbox[0].payload, "payload-1");
  EXPECT_FALSE(record->outbox[0].done_at.has_value());
  EXPECT_EQ(record->outbox[1].idempotency_key, "wf-1/0/first/tell");
  ASSERT_EQ(record->history.size(), 1u);
  EXPECT_EQ(record->history[0].seq, 1);
  EXPECT_EQ(record->history[0].kind, HistoryKind::kCreated);
  EXPECT_EQ(record->history[0].to_state, "first");
}

TEST_P(WorkflowStoreTest, CreateValidatesAndNamesTheField) {
  NewWorkflow w = Toy("", "p");
  EXPECT_EQ(store_->Create(w, kT0).message(), "workflow_id is empty");
  w = Toy("a/b", "p");
  EXPECT_THAT(store_->Create(w, kT0).message(), HasSubstr("holds '/'"));
  w = Toy("wf", "");
  EXPECT_EQ(store_->Create(w, kT0).message(), "subject is empty");
  w = Toy("wf", "p");
  w.deadline = kT0;
  EXPECT_EQ(store_->Create(w, kT0).code(), absl::StatusCode::kInvalidArgument);
  w = Toy("wf", "p");
  w.outbox.push_back({"ask", "x", ""});
  absl::Status repeated = store_->Create(w, kT0);
  EXPECT_EQ(repeated.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(repeated.message(), HasSubstr("outbox[2].name \"ask\" is repeated"));
  EXPECT_EQ(store_->Get("wf").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(WorkflowStoreTest, OneUnfinishedWorkflowPerSubject) {
  ASSERT_TRUE(store_->Create(Toy("wf-1", "person-1"), kT0).ok());
  absl::Status second = store_->Create(Toy("wf-2", "person-1"), kT0);
  EXPECT_EQ(second.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(second.message(), HasSubstr("already has unfinished workflow wf-1 (toy, state first)"));
  absl::Status same_id = store_->Create(Toy("wf-1", "person-2"), kT0);
  EXPECT_EQ(same_id.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(same_id.message(), HasSubstr("workflow wf-1 already exists"));
  EXPECT_TRUE(store_->Create(Toy("wf-3", "person-2"), kT0).ok());

  // Finishing wf-1 frees the subject.
  absl::StatusOr<ClaimedWorkflow> claimed = store_->Claim("wf-1", "r1", kT0, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  StateChange end;
  end.advance = true;
  end.state = "done";
  end.status = WorkflowStatus::kSucceeded;
  ASSERT_TRUE(store_->Commit(claimed->lease, end, kT0 + absl::Seconds(1)).ok());
  EXPECT_TRUE(store_->Create(Toy("wf-2", "person-1"), kT0 + absl::Seconds(2)).ok());
}

TEST_P(WorkflowStoreTest, TheUniqueIndexGuardsTheSubjectEvenWithoutTheCheck) {
  // A writer that skips Create's check (another gateway version, a hand-written fix) still meets
  // the partial unique index; a finished workflow does not count.
  ASSERT_TRUE(store_->Create(Toy("wf-1", "person-1"), kT0).ok());
  auto insert = [&](const std::string& id, int status) {
    return db_.ExecRaw(absl::StrCat("INSERT INTO workflows VALUES ('", id, "', 'toy', 'person-1', 'first', ",
                                    status, ", '', '', 0, 0, 0, 1, '', 0, 0, 0, 0)"));
  };
  EXPECT_EQ(insert("wf-2", 1).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(insert("wf-3", 2).code(), absl::StatusCode::kAlreadyExists);
  absl::Status finished = insert("wf-4", 3);
  EXPECT_TRUE(finished.ok()) << finished;
}

TEST_P(WorkflowStoreTest, LeaseIsExclusiveUntilItExpiresThenTakenOver) {
  ASSERT_TRUE(store_->Create(Toy("wf-1", "p1"), kT0).ok());
  absl::StatusOr<std::vector<ClaimedWorkflow>> a = store_->ClaimDue("a", kTypes, kT0, absl::Seconds(30), 10);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 1u);
  const Lease lease_a = (*a)[0].lease;
  EXPECT_EQ(lease_a.owner, "a");
  EXPECT_EQ(lease_a.epoch, 1);
  EXPECT_EQ(lease_a.expires_at, kT0 + absl::Seconds(30));
  ASSERT_EQ((*a)[0].outbox.size(), 2u);
  EXPECT_EQ((*a)[0].outbox[0].idempotency_key, "wf-1/0/first/ask");

  // Not before expiry...
  auto b =
      store_->ClaimDue("b", kTypes, kT0 + absl::Seconds(30) - absl::Microseconds(1), absl::Seconds(30), 10);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->empty());
  absl::StatusOr<ClaimedWorkflow> one =
      store_->Claim("wf-1", "b", kT0 + absl::Seconds(29), absl::Seconds(30));
  EXPECT_EQ(one.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(one.status().message(), HasSubstr("leased to a until"));
  // ... renewing moves the expiry ...
  ASSERT_TRUE(store_->RenewLease(lease_a, kT0 + absl::Seconds(40)).ok());
  b = store_->ClaimDue("b", kTypes, kT0 + absl::Seconds(35), absl::Seconds(30), 10);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->empty());
  // ... and at expiry another owner takes it over, with a new epoch.
  b = store_->ClaimDue("b", kTypes, kT0 + absl::Seconds(40), absl::Seconds(30), 10);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  const Lease lease_b = (*b)[0].lease;
  EXPECT_EQ(lease_b.owner, "b");
  EXPECT_EQ(lease_b.epoch, 2);

  // The old owner is fenced off: it can neither renew nor commit.
  EXPECT_EQ(store_->RenewLease(lease_a, kT0 + absl::Minutes(5)).code(), absl::StatusCode::kAborted);
  StateChange change;
  change.advance = true;
  change.state = "second";
  change.next_attempt_at = kT0 + absl::Seconds(41);
  absl::Status zombie = store_->Commit(lease_a, change, kT0 + absl::Seconds(41));
  EXPECT_EQ(zombie.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(zombie.message(), HasSubstr("lease lost"));
  ASSERT_TRUE(store_->Commit(lease_b, change, kT0 + absl::Seconds(41)).ok());

  absl::StatusOr<WorkflowRecord> record = store_->Get("wf-1");
  ASSERT_TRUE(record.ok());
  ASSERT_EQ(record->history.size(), 3u);
  EXPECT_EQ(record->history[1].kind, HistoryKind::kLeaseTakenOver);
  EXPECT_EQ(record->history[1].replica, "b");
  EXPECT_THAT(record->history[1].reason, HasSubstr("lease of a (epoch 1) expired"));
  EXPECT_EQ(record->history[2].kind, HistoryKind::kAdvanced);
  EXPECT_EQ(record->history[2].replica, "b");
}

TEST_P(WorkflowStoreTest, ClaimDueHonoursTypesDueTimeAndLimit) {
  NewWorkflow other = Toy("wf-other", "p0");
  other.type = "other";
  ASSERT_TRUE(store_->Create(other, kT0).ok());
  for (int i = 1; i <= 3; ++i)
    ASSERT_TRUE(store_->Create(Toy(absl::StrCat("wf-", i), absl::StrCat("p", i)), kT0).ok());
  auto claimed = store_->ClaimDue("a", kTypes, kT0, absl::Seconds(30), 2);
  ASSERT_TRUE(claimed.ok());
  EXPECT_EQ(claimed->size(), 2u);
  claimed = store_->ClaimDue("a", kTypes, kT0, absl::Seconds(30), 10);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].instance.type, "toy");

  // A retry scheduled for later is not due before its time.
  StateChange retry;
  retry.state = "first";
  retry.status = WorkflowStatus::kWaitingRetry;
  retry.attempts = 1;
  retry.next_attempt_at = kT0 + absl::Seconds(5);
  retry.kind = HistoryKind::kRetryScheduled;
  ASSERT_TRUE(store_->Commit((*claimed)[0].lease, retry, kT0).ok());
  absl::StatusOr<std::optional<absl::Time>> next = store_->NextDue(kTypes);
  ASSERT_TRUE(next.ok());
  // The two other toys are leased but still unfinished and due at kT0.
  EXPECT_EQ(*next, kT0);
  EXPECT_TRUE(store_->ClaimDue("b", kTypes, kT0 + absl::Seconds(4), absl::Seconds(30), 10)->empty());
  claimed = store_->ClaimDue("b", kTypes, kT0 + absl::Seconds(5), absl::Seconds(30), 10);
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].instance.status, WorkflowStatus::kWaitingRetry);
  EXPECT_EQ((*claimed)[0].instance.attempts, 1);
}

TEST_P(WorkflowStoreTest, CommitAdvancesOutboxAndMarksTheStepDone) {
  ASSERT_TRUE(store_->Create(Toy("wf-1", "p1"), kT0).ok());
  auto claimed = store_->Claim("wf-1", "a", kT0, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok());
  StateChange change;
  change.advance = true;
  change.state = "second";
  change.data = "new-data";
  change.reason = "asked";
  change.next_attempt_at = kT0 + absl::Seconds(1);
  change.outbox = {{"finish", "xinzhou", "p3"}};
  ASSERT_TRUE(store_->Commit(claimed->lease, change, kT0 + absl::Seconds(1)).ok());
  // The lease is released by the commit.
  EXPECT_EQ(store_->RenewLease(claimed->lease, kT0 + absl::Minutes(1)).code(), absl::StatusCode::kAborted);

  auto record = store_->Get("wf-1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->instance.state, "second");
  EXPECT_EQ(record->instance.data, "new-data");
  EXPECT_EQ(record->instance.step_seq, 1);
  EXPECT_EQ(record->instance.lease_owner, "");
  ASSERT_EQ(record->outbox.size(), 3u);
  EXPECT_EQ(record->outbox[0].done_at, kT0 + absl::Seconds(1));
  EXPECT_EQ(record->outbox[1].done_at, kT0 + absl::Seconds(1));
  EXPECT_EQ(record->outbox[2].idempotency_key, "wf-1/1/second/finish");
  EXPECT_FALSE(record->outbox[2].done_at.has_value());

  // Outbox entries for a final status are refused, and nothing is written.
  claimed = store_->Claim("wf-1", "a", kT0 + absl::Seconds(2), absl::Seconds(30));
  ASSERT_TRUE(claimed.ok());
  StateChange bad;
  bad.advance = true;
  bad.state = "done";
  bad.status = WorkflowStatus::kSucceeded;
  bad.outbox = {{"x", "y", "z"}};
  EXPECT_EQ(store_->Commit(claimed->lease, bad, kT0 + absl::Seconds(2)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Get("wf-1")->instance.state, "second");

  // A finished workflow takes no more commits or leases.
  bad.outbox.clear();
  ASSERT_TRUE(store_->Commit(claimed->lease, bad, kT0 + absl::Seconds(3)).ok());
  EXPECT_EQ(store_->Claim("wf-1", "a", kT0 + absl::Seconds(4), absl::Seconds(30)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Commit(claimed->lease, bad, kT0 + absl::Seconds(4)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_P(WorkflowStoreTest, ReleaseLeasesOfARestartedReplica) {
  ASSERT_TRUE(store_->Create(Toy("wf-1", "p1"), kT0).ok());
  ASSERT_TRUE(store_->Create(Toy("wf-2", "p2"), kT0).ok());
  auto a = store_->Claim("wf-1", "a", kT0, absl::Seconds(30));
  auto b = store_->Claim("wf-2", "b", kT0, absl::Seconds(30));
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<int> released = store_->ReleaseLeasesOf("a", kT0 + absl::Seconds(1));
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(*released, 1);
  // The dead incarnation's lease is fenced; the instance is free at once; b's lease is untouched.
  StateChange change;
  change.advance = true;
  change.state = "second";
  EXPECT_EQ(store_->Commit(a->lease, change, kT0 + absl::Seconds(1)).code(), absl::StatusCode::kAborted);
  auto again = store_->Claim("wf-1", "a", kT0 + absl::Seconds(1), absl::Seconds(30));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->lease.epoch, a->lease.epoch + 2);
  EXPECT_TRUE(store_->RenewLease(b->lease, kT0 + absl::Seconds(40)).ok());
  auto record = store_->Get("wf-1");
  ASSERT_TRUE(record.ok());
  ASSERT_EQ(record->history.size(), 2u);
  EXPECT_EQ(record->history[1].kind, HistoryKind::kLeaseReleased);
}

TEST_P(WorkflowStoreTest, ListFiltersAndPages) {
  for (int i = 0; i < 7; ++i) {
    NewWorkflow w = Toy(absl::StrCat("wf-", i), absl::StrCat("p", i % 2 == 0 ? i : 100 + i));
    if (i == 3) w.type = "other";
    ASSERT_TRUE(store_->Create(w, kT0 + absl::Seconds(i)).ok());
  }
  // wf-1 ends FAILED (and its subject "p101" could start again).
  auto claimed = store_->Claim("wf-1", "a", kT0 + absl::Seconds(10), absl::Seconds(30));
  ASSERT_TRUE(claimed.ok());
  StateChange fail;
  fail.state = "first";
  fail.status = WorkflowStatus::kFailed;
  fail.kind = HistoryKind::kFailed;
  fail.reason = "PERMISSION_DENIED: no";
  ASSERT_TRUE(store_->Commit(claimed->lease, fail, kT0 + absl::Seconds(10)).ok());

  auto ids = [](const WorkflowPage& page) {
    std::vector<std::string> out;
    for (const WorkflowInstance& w : page.instances) out.push_back(w.workflow_id);
    return out;
  };
  WorkflowQuery query;
  query.page_size = 3;
  auto page = store_->List(query);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(ids(*page), ElementsAre("wf-0", "wf-1", "wf-2"));
  ASSERT_FALSE(page->next_page_token.empty());
  query.page_token = page->next_page_token;
  page = store_->List(query);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(ids(*page), ElementsAre("wf-3", "wf-4", "wf-5"));
  query.page_token = page->next_page_token;
  page = store_->List(query);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(ids(*page), ElementsAre("wf-6"));
  EXPECT_EQ(page->next_page_token, "");

  WorkflowQuery by_type;
  by_type.type = "other";
  EXPECT_THAT(ids(*store_->List(by_type)), ElementsAre("wf-3"));
  WorkflowQuery by_subject;
  by_subject.subject = "p4";
  EXPECT_THAT(ids(*store_->List(by_subject)), ElementsAre("wf-4"));
  WorkflowQuery by_status;
  by_status.status = WorkflowStatus::kFailed;
  auto failed = store_->List(by_status);
  ASSERT_TRUE(failed.ok());
  EXPECT_THAT(ids(*failed), ElementsAre("wf-1"));
  EXPECT_EQ(failed->instances[0].reason, "PERMISSION_DENIED: no");

  WorkflowQuery bad;
  bad.page_size = 501;
  EXPECT_EQ(store_->List(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.page_size = 10;
  bad.page_token = "garbage";
  EXPECT_EQ(store_->List(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(WorkflowStoreTest, SurvivesReopening) {
  ASSERT_TRUE(store_->Create(Toy("wf-1", "p1"), kT0).ok());
  auto claimed = store_->Claim("wf-1", "a", kT0, absl::Seconds(30));
  ASSERT_TRUE(claimed.ok());
  store_.reset();
  store_ = Open();
  ASSERT_NE(store_, nullptr);
  auto record = store_->Get("wf-1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->instance.lease_owner, "a");
  EXPECT_EQ(record->instance.lease_expires_at, kT0 + absl::Seconds(30));
  EXPECT_EQ(record->outbox.size(), 2u);
  EXPECT_EQ(store_->Create(Toy("wf-2", "p1"), kT0).code(), absl::StatusCode::kAlreadyExists);
}

// --- Two store objects on one database, as two replicas.

TEST_P(WorkflowStoreTest, TwoStoresClaimingAtOnceLeaseEachInstanceToOneOwner) {
  constexpr int kInstances = 60;
  for (int i = 0; i < kInstances; ++i) {
    ASSERT_TRUE(store_->Create(Toy(absl::StrCat("wf-", i), absl::StrCat("p", i)), kT0).ok());
  }
  std::unique_ptr<WorkflowStore> other = Open();
  ASSERT_NE(other, nullptr);
  absl::Mutex mu;
  std::vector<std::pair<std::string, std::string>> grants;  // (workflow, owner)
  std::vector<absl::Status> errors;
  // Two threads per store, small batches, all at one instant: nothing expires, so every instance
  // must be granted exactly once.
  auto claimer = [&](WorkflowStore* store, std::string owner) {
    while (true) {
      auto claimed = store->ClaimDue(owner, kTypes, kT0, absl::Seconds(30), 3);
      absl::MutexLock lock(&mu);
      if (!claimed.ok()) {
        errors.push_back(claimed.status());
        return;
      }
      if (claimed->empty()) return;
      for (const ClaimedWorkflow& c : *claimed) {
        grants.emplace_back(c.instance.workflow_id, owner);
        EXPECT_EQ(c.lease.owner, owner);
        EXPECT_EQ(c.lease.epoch, 1) << c.instance.workflow_id;
      }
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(claimer, store_.get(), "replica-a");
  threads.emplace_back(claimer, store_.get(), "replica-a");
  threads.emplace_back(claimer, other.get(), "replica-b");
  threads.emplace_back(claimer, other.get(), "replica-b");
  for (std::thread& t : threads) t.join();
  for (const absl::Status& e : errors) ADD_FAILURE() << e;
  std::set<std::string> granted;
  for (const auto& [id, owner] : grants) EXPECT_TRUE(granted.insert(id).second) << id << " granted twice";
  EXPECT_EQ(granted.size(), static_cast<size_t>(kInstances));
  // And the stored lease is the one each owner was told it holds.
  for (const auto& [id, owner] : grants) {
    auto record = other->Get(id);
    ASSERT_TRUE(record.ok());
    EXPECT_EQ(record->instance.lease_owner, owner) << id;
    EXPECT_EQ(record->instance.lease_epoch, 1) << id;
  }
}

TEST_P(WorkflowStoreTest, TwoStoresCreatingForOneSubjectAtOnceAdmitOne) {
  constexpr int kSubjects = 30;
  std::unique_ptr<WorkflowStore> other = Open();
  ASSERT_NE(other, nullptr);
  // A start line per subject, so that both creates for it race.
  absl::Mutex mu;
  std::vector<int> arrived(kSubjects, 0);
  std::vector<absl::Status> results_a(kSubjects), results_b(kSubjects);
  auto creator = [&](WorkflowStore* store, const std::string& prefix, std::vector<absl::Status>* results) {
    for (int i = 0; i < kSubjects; ++i) {
      {
        absl::MutexLock lock(&mu);
        ++arrived[i];
        mu.Await(absl::Condition(
            +[](int* n) { return *n == 2; }, &arrived[i]));
      }
      (*results)[i] = store->Create(Toy(absl::StrCat(prefix, i), absl::StrCat("person-", i)), kT0);
    }
  };
  std::thread a(creator, store_.get(), "wf-a-", &results_a);
  std::thread b(creator, other.get(), "wf-b-", &results_b);
  a.join();
  b.join();
  for (int i = 0; i < kSubjects; ++i) {
    const bool a_won = results_a[i].ok();
    EXPECT_NE(a_won, results_b[i].ok()) << "subject " << i << ": " << results_a[i] << " / " << results_b[i];
    const absl::Status& loser = a_won ? results_b[i] : results_a[i];
    EXPECT_EQ(loser.code(), absl::StatusCode::kAlreadyExists) << loser;
    EXPECT_THAT(loser.message(),
                HasSubstr(absl::StrCat("already has unfinished workflow ", a_won ? "wf-a-" : "wf-b-", i)));
    WorkflowQuery query;
    query.subject = absl::StrCat("person-", i);
    auto page = store_->List(query);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->instances.size(), 1u) << "subject " << i;
  }
}

TEST_P(WorkflowStoreTest, AStoreWhoseLeaseWasTakenOverIsFencedOff) {
  ASSERT_TRUE(store_->Create(Toy("wf-1", "p1"), kT0).ok());
  std::unique_ptr<WorkflowStore> other = Open();
  ASSERT_NE(other, nullptr);
  auto a = store_->Claim("wf-1", "replica-a", kT0, absl::Seconds(30));
  ASSERT_TRUE(a.ok()) << a.status();
  // Until expiry the other replica cannot have it, by either call.
  EXPECT_EQ(other->Claim("wf-1", "replica-b", kT0 + absl::Seconds(29), absl::Seconds(30)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(other->ClaimDue("replica-b", kTypes, kT0 + absl::Seconds(29), absl::Seconds(30), 5)->empty());
  auto b = other->Claim("wf-1", "replica-b", kT0 + absl::Seconds(30), absl::Seconds(30));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->lease.epoch, a->lease.epoch + 1);

  StateChange change;
  change.advance = true;
  change.state = "second";
  change.next_attempt_at = kT0 + absl::Seconds(31);
  change.outbox = {{"next", "xinzhou", "p"}};
  absl::Status zombie = store_->Commit(a->lease, change, kT0 + absl::Seconds(31));
  EXPECT_EQ(zombie.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(zombie.message(), HasSubstr("lease lost"));
  EXPECT_THAT(zombie.message(), HasSubstr("leased to \"replica-b\""));
  EXPECT_EQ(store_->RenewLease(a->lease, kT0 + absl::Minutes(5)).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store_->ReleaseLease(a->lease).code(), absl::StatusCode::kAborted);
  // Nothing of the fenced commit was written: not the state, not the outbox, not the history.
  auto record = other->Get("wf-1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->instance.state, "first");
  EXPECT_EQ(record->instance.lease_owner, "replica-b");
  EXPECT_EQ(record->outbox.size(), 2u);
  ASSERT_EQ(record->history.size(), 2u);
  EXPECT_EQ(record->history[1].kind, HistoryKind::kLeaseTakenOver);

  ASSERT_TRUE(other->Commit(b->lease, change, kT0 + absl::Seconds(31)).ok());
  record = store_->Get("wf-1");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->instance.state, "second");
  EXPECT_EQ(record->outbox.size(), 3u);
  EXPECT_EQ(record->history.back().replica, "replica-b");
}

INSTANTIATE_TEST_SUITE_P(Backends, WorkflowStoreTest, ::testing::ValuesIn(AllBackends()),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace interop::workflow
