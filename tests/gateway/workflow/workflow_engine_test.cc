// Tests of the workflow engine (gateway/workflow/workflow_engine.h) on a toy two-step money transfer
// between fake cities:
//
//   applied --(debit the origin city)--> debited --(credit the destination city)--> done
//      \--(the origin refuses: not enough money)--> rejected
//
// Each fake city applies a request once per idempotency key and answers a repeated key with the
// first answer, as the real cities must. Time is a ManualClock; the only real-time waits are
// WaitIdle() and condition waits with generous timeouts. Every test runs on both storage back ends
// (SQLite and PostgreSQL); the two-replica tests give each replica its own store object (its own
// connection or pool) on one database.
#include "gateway/workflow/workflow_engine.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/base/clock.h"
#include "gateway/base/work_queue.h"
#include "gateway/workflow/workflow_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/gateway/workflow/workflow_test_database.h"

namespace interop::workflow {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

const absl::Time kT0 = absl::FromUnixSeconds(1710000000);
constexpr absl::Duration kWait = absl::Seconds(60);  // real time; only reached if something hangs

// A city's account ledger that applies each request once per idempotency key.
class FakeCity {
 public:
  explicit FakeCity(std::map<std::string, int64_t> balances) : balances_(std::move(balances)) {}

  // Adds `delta` fen to `person`'s balance once per key; a repeated key gets the first answer.
  // UNAVAILABLE while down (nothing applied); `error` if set (nothing applied); FAILED_PRECONDITION
  // if the balance would go negative (remembered for the key, like any answer).
  absl::Status Apply(const std::string& key, const std::string& person, int64_t delta) {
    absl::MutexLock lock(&mu_);
    ++calls_[key];
    if (down_) return absl::UnavailableError("city is down");
    if (!error_.ok()) return error_;
    auto answered = answers_.find(key);
    if (answered != answers_.end()) return answered->second;
    absl::Status answer;
    if (balances_[person] + delta < 0) {
      answer = absl::FailedPreconditionError("balance too low");
    } else {
      balances_[person] += delta;
      ++effects_[key];
    }
    answers_[key] = answer;
    return answer;
  }

  void SetBalance(const std::string& person, int64_t fen) {
    absl::MutexLock lock(&mu_);
    balances_[person] = fen;
  }
  void SetDown(bool down) {
    absl::MutexLock lock(&mu_);
    down_ = down;
  }
  void SetError(absl::Status error) {
    absl::MutexLock lock(&mu_);
    error_ = std::move(error);
  }
  int64_t Balance(const std::string& person) {
    absl::MutexLock lock(&mu_);
    return balances_[person];
  }
  // How many times each key was applied (an effect), and how many times it was asked (calls).
  std::map<std::string, int> Effects() {
    absl::MutexLock lock(&mu_);
    return effects_;
  }
  std::map<std::string, int> Calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, int64_t> balances_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> answers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> effects_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
  bool down_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

// The toy transfer's requests: payload "<person>:<fen>".
std::string Payload(const std::string& person, int64_t fen) { return absl::StrCat(person, ":", fen); }
std::pair<std::string, int64_t> ParsePayload(const std::string& payload) {
  std::vector<std::string> parts = absl::StrSplit(payload, ':');
  int64_t fen = 0;
  EXPECT_EQ(parts.size(), 2u);
  EXPECT_TRUE(absl::SimpleAtoi(parts[1], &fen));
  return {parts[0], fen};
}

struct Cities {
  FakeCity xinzhou{{{"alice", 1000}, {"bob", 1000}}};
  FakeCity taiyuan{{{"alice", 0}, {"bob", 0}}};
  // Set: the cities answer on this queue (another thread), as a network would.
  WorkQueue* network = nullptr;

  FakeCity& Named(const std::string& name) { return name == "xinzhou" ? xinzhou : taiyuan; }
};

// The toy transfer's definition. `debited_subject_to_deadline` false makes "debited" a state past
// the point of no return.
WorkflowDefinition Transfer(Cities& cities, bool debited_subject_to_deadline = true) {
  auto call = [&cities](const OutboxEntry& entry, int64_t sign, std::function<void(absl::Status)> then) {
    auto [person, fen] = ParsePayload(entry.payload);
    auto apply = [&cities, entry, person = person, fen = fen, sign, then = std::move(then)] {
      then(cities.Named(entry.destination).Apply(entry.idempotency_key, person, sign * fen));
    };
    if (cities.network != nullptr) {
      cities.network->Schedule(std::move(apply));
    } else {
      apply();
    }
  };
  WorkflowDefinition d;
  d.type = "transfer";
  d.initial_state = "applied";
  d.default_timeout = absl::Minutes(10);
  d.states["applied"] =
      StateDefinition::Step([call](const WorkflowInstance& w, StepContext& ctx, StepDone done) {
        const OutboxEntry* debit = ctx.FindOutbox("debit");
        if (debit == nullptr) return done(absl::InternalError("no debit request"));
        call(*debit, -1, [w, done](absl::Status status) {
          if (status.code() == absl::StatusCode::kFailedPrecondition) {
            Transition t = Transition::To("rejected");
            t.reason = absl::StrCat("origin refused: ", status.message());
            return done(t);
          }
          if (!status.ok()) return done(status);
          auto [person, fen] = ParsePayload(w.data);
          Transition t = Transition::To("debited", {{"credit", "taiyuan", Payload(person, fen)}});
          t.data = absl::StrCat(w.data, ":debited");
          t.reason = "origin debited";
          done(t);
        });
      });
  d.states["debited"] = StateDefinition::Step(
      [call](const WorkflowInstance& w, StepContext& ctx, StepDone done) {
        const OutboxEntry* credit = ctx.FindOutbox("credit");
        if (credit == nullptr) return done(absl::InternalError("no credit request"));
        call(*credit, +1, [done](absl::Status status) {
          if (!status.ok()) return done(status);
          done(Transition::To("done"));
        });
      },
      debited_subject_to_deadline);
  d.states["done"] = StateDefinition::Final(WorkflowStatus::kSucceeded);
  d.states["rejected"] = StateDefinition::Final(WorkflowStatus::kRejected);
  return d;
}

StartWorkflowRequest TransferRequest(const std::string& id, const std::string& person, int64_t fen) {
  StartWorkflowRequest r;
  r.type = "transfer";
  r.workflow_id = id;
  r.subject = person;
  r.data = Payload(person, fen);
  r.outbox = {{"debit", "xinzhou", Payload(person, fen)}};
  return r;
}

std::vector<std::string> Kinds(const WorkflowRecord& record) {
  std::vector<std::string> out;
  for (const HistoryEvent& e : record.history) {
    out.push_back(absl::StrCat(HistoryKindName(e.kind), " ", e.from_state, "->", e.to_state, " ",
                               WorkflowStatusName(e.status)));
  }
  return out;
}

void ExpectHistoryOrdered(const WorkflowRecord& record) {
  for (size_t i = 0; i < record.history.size(); ++i) {
    EXPECT_EQ(record.history[i].seq, static_cast<int64_t>(i) + 1);
    if (i > 0) {
      EXPECT_GE(record.history[i].at, record.history[i - 1].at);
    }
  }
}

// The fixture of every engine test; the back end comes from the test's parameter.
class EngineTestBase : public ::testing::Test {
 protected:
  explicit EngineTestBase(Backend backend) : db_(backend), clock_(kT0) { OpenStore(); }

  void OpenStore() {
    auto store = db_.OpenStore();
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Another store object on the same database, for a second replica.
  std::unique_ptr<WorkflowStore> OpenAnotherStore() {
    auto store = db_.OpenStore();
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  WorkflowEngineOptions Options(const std::string& replica = "r1") {
    WorkflowEngineOptions o;
    o.replica_id = replica;
    o.lease_duration = absl::Seconds(30);
    o.backoff.base = absl::Seconds(1);
    o.backoff.max = absl::Seconds(8);
    o.backoff.multiplier = 2;
    o.backoff.jitter = 0.25;
    return o;
  }

  std::unique_ptr<WorkflowEngine> MakeEngine(WorkflowEngineOptions options,
                                             bool debited_subject_to_deadline = true) {
    auto engine = std::make_unique<WorkflowEngine>(*store_, clock_, std::move(options));
    EXPECT_TRUE(engine->Register(Transfer(cities_, debited_subject_to_deadline)).ok());
    return engine;
  }

  // Runs steps until nothing is due at the clock's time.
  void RunDue(WorkflowEngine& engine) {
    while (true) {
      ASSERT_TRUE(engine.WaitIdle(kWait));
      absl::StatusOr<int> started = engine.Poll();
      ASSERT_TRUE(started.ok()) << started.status();
      if (*started == 0 && engine.WaitIdle(kWait)) return;
    }
  }

  WorkflowRecord Get(const std::string& id) {
    absl::StatusOr<WorkflowRecord> record = store_->Get(id);
    EXPECT_TRUE(record.ok()) << record.status();
    return record.ok() ? *std::move(record) : WorkflowRecord();
  }

  // Money is conserved and each effect happened once.
  void ExpectTransferredOnce(const std::string& id, const std::string& person, int64_t fen) {
    EXPECT_EQ(cities_.xinzhou.Balance(person), 1000 - fen);
    EXPECT_EQ(cities_.taiyuan.Balance(person), fen);
    EXPECT_THAT(cities_.xinzhou.Effects(), ElementsAre(Pair(absl::StrCat(id, "/0/applied/debit"), 1)));
    EXPECT_THAT(cities_.taiyuan.Effects(), ElementsAre(Pair(absl::StrCat(id, "/1/debited/credit"), 1)));
  }

  TestDatabase db_;  // first: outlives the stores
  ManualClock clock_;
  Cities cities_;
  std::unique_ptr<WorkflowStore> store_;
};

class WorkflowEngineTest : public EngineTestBase, public ::testing::WithParamInterface<Backend> {
 protected:
  WorkflowEngineTest() : EngineTestBase(GetParam()) {}
};

TEST(BackoffDelayTest, GrowsExponentiallyToTheMaxAndJitterOnlyShortens) {
  BackoffPolicy p;
  p.base = absl::Seconds(1);
  p.max = absl::Seconds(10);
  p.multiplier = 2;
  p.jitter = 0.5;
  EXPECT_EQ(BackoffDelay(p, 1, 0.0), absl::Seconds(1));
  EXPECT_EQ(BackoffDelay(p, 2, 0.0), absl::Seconds(2));
  EXPECT_EQ(BackoffDelay(p, 4, 0.0), absl::Seconds(8));
  EXPECT_EQ(BackoffDelay(p, 5, 0.0), absl::Seconds(10));
  EXPECT_EQ(BackoffDelay(p, 50, 0.0), absl::Seconds(10));
  EXPECT_EQ(BackoffDelay(p, 2, 0.5), absl::Seconds(1.5));
  EXPECT_EQ(BackoffDelay(p, 5, 1.0), absl::Seconds(5));
}

TEST_P(WorkflowEngineTest, RegisterRefusesBadDefinitions) {
  WorkflowEngine engine(*store_, clock_, Options());
  WorkflowDefinition d = Transfer(cities_);
  d.initial_state = "done";
  EXPECT_THAT(engine.Register(d).message(), HasSubstr("initial_state \"done\" is final"));
  d = Transfer(cities_);
  d.states["limbo"] = StateDefinition();
  EXPECT_THAT(engine.Register(d).message(),
              HasSubstr("state \"limbo\" must have either a step or a final_status"));
  d = Transfer(cities_);
  d.states["odd"] = StateDefinition::Final(WorkflowStatus::kTimedOut);
  EXPECT_EQ(engine.Register(d).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(engine.Register(Transfer(cities_)).ok());
  EXPECT_EQ(engine.Register(Transfer(cities_)).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(engine.StartWorkflow(TransferRequest("wf-x", "alice", 1)).status().ok(), true);
  WorkflowDefinition late = Transfer(cities_);
  late.type = "late";
  EXPECT_EQ(engine.Register(late).code(), absl::StatusCode::kFailedPrecondition);
  StartWorkflowRequest unknown = TransferRequest("wf-y", "bob", 1);
  unknown.type = "nope";
  EXPECT_EQ(engine.StartWorkflow(unknown).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(WorkflowEngineTest, HappyPathRunsEveryStepOnceWithACompleteHistory) {
  auto engine = MakeEngine(Options());
  absl::StatusOr<std::string> id = engine->StartWorkflow(TransferRequest("wf-1", "alice", 300));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "wf-1");
  ASSERT_TRUE(engine->WaitIdle(kWait));

  WorkflowRecord record = Get("wf-1");
  EXPECT_EQ(record.instance.state, "done");
  EXPECT_EQ(record.instance.status, WorkflowStatus::kSucceeded);
  EXPECT_EQ(record.instance.data, "alice:300:debited");
  EXPECT_EQ(record.instance.step_seq, 2);
  ExpectTransferredOnce("wf-1", "alice", 300);
  EXPECT_THAT(Kinds(record), ElementsAre("CREATED ->applied RUNNING", "ADVANCED applied->debited RUNNING",
                                         "ADVANCED debited->done SUCCEEDED"));
  EXPECT_EQ(record.history[1].reason, "origin debited");
  EXPECT_EQ(record.history[1].replica, "r1");
  ExpectHistoryOrdered(record);
  ASSERT_EQ(record.outbox.size(), 2u);
  EXPECT_TRUE(record.outbox[0].done_at.has_value());
  EXPECT_TRUE(record.outbox[1].done_at.has_value());

  // The read model lists it.
  WorkflowQuery query;
  query.subject = "alice";
  auto page = engine->store().List(query);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->instances.size(), 1u);
  EXPECT_EQ(page->instances[0].workflow_id, "wf-1");
}

TEST_P(WorkflowEngineTest, GeneratesAnIdWhenNoneIsGiven) {
  auto engine = MakeEngine(Options());
  absl::StatusOr<std::string> id = engine->StartWorkflow(TransferRequest("", "alice", 1));
  ASSERT_TRUE(id.ok());
  EXPECT_THAT(*id, ::testing::MatchesRegex("wf-[0-9a-f]{32}"));
  ASSERT_TRUE(engine->WaitIdle(kWait));
  EXPECT_EQ(Get(*id).instance.status, WorkflowStatus::kSucceeded);
}

TEST_P(WorkflowEngineTest, StepsMayAnswerFromAnotherThread) {
  WorkQueue network(2);
  cities_.network = &network;
  auto engine = MakeEngine(Options());
  for (const char* person : {"alice", "bob"}) {
    ASSERT_TRUE(engine->StartWorkflow(TransferRequest(absl::StrCat("wf-", person), person, 10)).ok());
  }
  ASSERT_TRUE(engine->WaitIdle(kWait));
  EXPECT_EQ(Get("wf-alice").instance.status, WorkflowStatus::kSucceeded);
  EXPECT_EQ(Get("wf-bob").instance.status, WorkflowStatus::kSucceeded);
  EXPECT_EQ(cities_.taiyuan.Balance("bob"), 10);
  engine.reset();
  cities_.network = nullptr;
}

TEST_P(WorkflowEngineTest, RetriesWithBackoffWhileTheCityIsDownThenAppliesOnce) {
  cities_.xinzhou.SetDown(true);
  auto engine = MakeEngine(Options());
  ASSERT_TRUE(engine->StartWorkflow(TransferRequest("wf-1", "alice", 300)).ok());
  ASSERT_TRUE(engine->WaitIdle(kWait));

  absl::Time expected_base = kT0;
  for (int attempt = 1; attempt <= 4; ++attempt) {
    WorkflowRecord record = Get("wf-1");
    ASSERT_EQ(record.instance.status, WorkflowStatus::kWaitingRetry) << attempt;
    EXPECT_EQ(record.instance.state, "applied");
    EXPECT_EQ(record.instance.attempts, attempt);
    EXPECT_THAT(record.instance.reason,
                HasSubstr(absl::StrCat("attempt ", attempt, " failed: UNAVAILABLE: city is down")));
    // base * 2^(attempt-1), capped at 8 s, shortened by at most 25 %.
    const absl::Duration full = std::min(absl::Seconds(1) * (1 << (attempt - 1)), absl::Seconds(8));
    const absl::Duration delay = record.instance.next_attempt_at - expected_base;
    EXPECT_LE(delay, full);
    EXPECT_GE(delay, full * 0.75);
    // Not due before its time.
    clock_.Set(record.instance.next_attempt_at - absl::Milliseconds(1));
    ASSERT_EQ(*engine->Poll(), 0);
    clock_.Set(record.instance.next_attempt_at);
    expected_base = clock_.Now();
    if (attempt == 4) cities_.xinzhou.SetDown(false);
    RunDue(*engine);
  }
  WorkflowRecord record = Get("wf-1");
  EXPECT_EQ(record.instance.status, WorkflowStatus::kSucceeded);
  EXPECT_EQ(record.instance.attempts, 0);
  ExpectTransferredOnce("wf-1", "alice", 300);
  EXPECT_EQ(cities_.xinzhou.Calls()["wf-1/0/applied/debit"], 5);
  EXPECT_THAT(Kinds(record),
              ElementsAre("CREATED ->applied RUNNING", "RETRY_SCHEDULED applied->applied WAITING_RETRY",
                          "RETRY_SCHEDULED applied->applied WAITING_RETRY",
                          "RETRY_SCHEDULED applied->applied WAITING_RETRY",
                          "RETRY_SCHEDULED applied->applied WAITING_RETRY",
                          "ADVANCED applied->debited RUNNING", "ADVANCED debited->done SUCCEEDED"));
  EXPECT_EQ(record.history[4].attempt, 4);
  EXPECT_EQ(record.history[5].attempt, 5);
  ExpectHistoryOrdered(record);
}

TEST_P(WorkflowEngineTest, ALostReplyIsRetriedWithTheSameKeyAndAppliedOnce) {
  // The city applies the debit, but the reply is lost (the hook turns it into UNAVAILABLE).
  WorkflowEngineOptions options = Options();
  int lost = 0;
  options.hook = [&lost](StepBoundary boundary, const WorkflowInstance& w) {
    if (boundary == StepBoundary::kAfterStep && w.state == "applied" && lost++ == 0) {
      return StepHookAction::Fail(absl::UnavailableError("reply lost"));
    }
    return StepHookAction::Continue();
  };
  auto engine = MakeEngine(std::move(options));
  ASSERT_TRUE(engine->StartWorkflow(TransferRequest("wf-1", "alice", 300)).ok());
  ASSERT_TRUE(engine->WaitIdle(kWait));
  EXPECT_EQ(Get("wf-1").instance.status, WorkflowStatus::kWaitingRetry);
  clock_.Advance(absl::Seconds(1));
  RunDue(*engine);
  EXPECT_EQ(Get("wf-1").instance.status, WorkflowStatus::kSucceeded);
  EXPECT_EQ(cities_.xinzhou.Calls()["wf-1/0/applied/debit"], 2);
  ExpectTransferredOnce("wf-1", "alice", 300);
}

TEST_P(WorkflowEngineTest, ANonRetryableErrorEndsFailedWithTheReason) {
  cities_.taiyuan.SetError(absl::PermissionDeniedError("gateway not allowed to credit"));
  auto engine = MakeEngine(Options());
  ASSERT_TRUE(engine->StartWorkflow(TransferRequest("wf-1", "alice", 300)).ok());
  ASSERT_TRUE(engine->WaitIdle(kWait));
  WorkflowRecord record = Get("wf-1");
  EXPECT_EQ(record.instance.status, WorkflowStatus::kFailed);
  EXPECT_EQ(record.instance.state, "debited");
  EXPECT_EQ(record.instance.reason,
            "state debited attempt 1 failed: PERMISSION_DENIED: gateway not allowed to credit");
  EXPECT_THAT(Kinds(record), ElementsAre("CREATED ->applied RUNNING", "ADVANCED applied->debited RUNNING",
                                         "FAILED debited->debited FAILED"));
  // The unacknowledged request stays in the outbox, not done.
  ASSERT_EQ(record.outbox.size(), 2u);
  EXPECT_FALSE(record.outbox[1].done_at.has_value());
  // Nothing more runs, and the subject is free again.
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(*engine->Poll(), 0);
  cities_.taiyuan.SetError(absl::OkStatus());
  EXPECT_TRUE(engine->StartWorkflow(TransferRequest("wf-2", "alice", 1)).ok());
}

TEST_P(WorkflowEngineTest, ACityRefusalEndsRejectedThroughAFinalState) {
  auto engine = MakeEngine(Options());
  ASSERT_TRUE(engine->StartWorkflow(TransferRequest("wf-1", "alice", 5000)).ok());
  ASSERT_TRUE(engine->WaitIdle(kWait));
  WorkflowRecord record = Get("wf-1");
  EXPECT_EQ(record.instance.status, WorkflowStatus::kRejected);
  EXPECT_EQ(record.instance.state, "rejected");
  EXPECT_EQ(record.instance.reason, "origin refused: balance too low");
  EXPECT_EQ(cities_.xinzhou.Balance("alice"), 1000);
  EXPECT_TRUE(cities_.taiyuan.Calls().empty());
}

TEST_P(WorkflowEngineTest, TheDeadlineEndsTimedOutInTheStateItWasIn) {
  cities_.xinzhou.SetDown(true);
  auto engine = MakeEngine(Options());
  StartWorkflowRequest request = TransferRequest("wf-1", "alice", 300);
  request.timeout = absl::Seconds(20);
  ASSERT_TRUE(engine->StartWorkflow(request).ok());
  ASSERT_TRUE(engine->WaitIdle(kWait));
  for (int i = 0; i < 40 && Get("wf-1").instance.status == WorkflowStatus::kWaitingRetry; ++i) {
    WorkflowRecord record = Get("wf-1");
    EXPECT_LE(record.instance.next_attempt_at, kT0 + absl::Seconds(20));  // never scheduled past the deadline
    clock_.Set(record.instance.next_attempt_at);
    RunDue(*engine);
  }
  WorkflowRecord record = Get("wf-1");
  EXPECT_EQ(record.instance.status, WorkflowStatus::kTimedOut);
  EXPECT_EQ(record.instance.state, "applied");
  EXPECT_THAT(record.instance.reason, HasSubstr("passed in state applied after"));
  EXPECT_THAT(record.instance.reason, HasSubstr("last: attempt"));
  EXPECT_THAT(record.instance.reason, HasSubstr("UNAVAILABLE: city is down"));
  EXPECT_EQ(record.history.back().kind, HistoryKind::kTimedOut);
  EXPECT_EQ(clock_.Now(), kT0 + absl::Seconds(20));
  EXPECT_EQ(cities_.xinzhou.Balance("alice"), 1000);
  EXPECT_TRUE(cities_.xinzhou.Effects().empty());
  ExpectHistoryOrdered(record);
  // The subject is free again.
  cities_.xinzhou.SetDown(false);
  EXPECT_TRUE(engine->StartWorkflow(TransferRequest("wf-2", "alice", 300)).ok());
}

TEST_P(WorkflowEngineTest, AStatePastThePointOfNoReturnOutlivesTheDeadline) {
  cities_.taiyuan.SetDown(true);
  auto engine = MakeEngine(Options(), /*debited_subject_to_deadline=*/false);
  StartWorkflowRequest request = TransferRequest("wf-1", "alice", 300);
  request.timeout = absl::Seconds(20);
  ASSERT_TRUE(engine->StartWorkflow(request).ok());
  ASSERT_TRUE(engine->WaitIdle(kWait));
  for (int i = 0; i < 10; ++i) {
    clock_.Set(Get("wf-1").instance.next_attempt_at);
    RunDue(*engine);
  }
  WorkflowRecord record = Get("wf-1");
  ASSERT_GT(clock_.Now(), kT0 + absl::Seconds(20));
  EXPECT_EQ(record.instance.status, WorkflowStatus::kWaitingRetry);
  EXPECT_EQ(record.instance.state, "debited");
  cities_.taiyuan.SetDown(false);
  clock_.Set(record.instance.next_attempt_at);
  RunDue(*engine);
  EXPECT_EQ(Get("wf-1").instance.status, WorkflowStatus::kSucceeded);
  ExpectTransferredOnce("wf-1", "alice", 300);
}

TEST_P(WorkflowEngineTest, ASecondWorkflowForTheSameSubjectIsRefusedUntilTheFirstEnds) {
  cities_.xinzhou.SetDown(true);
  auto engine = MakeEngine(Options());
  ASSERT_TRUE(engine->StartWorkflow(TransferRequest("wf-1", "alice", 300)).ok());
  ASSERT_TRUE(engine->WaitIdle(kWait));
  absl::StatusOr<std::string> second = engine->StartWorkflow(TransferRequest("wf-2", "alice", 100));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(second.status().message(), HasSubstr("unfinished workflow wf-1 (transfer, state applied)"));
  // Another person is not held up.
  EXPECT_TRUE(engine->StartWorkflow(TransferRequest("wf-3", "bob", 100)).ok());

  cities_.xinzhou.SetDown(false);
  clock_.Advance(absl::Minutes(1));
  RunDue(*engine);
  EXPECT_EQ(Get("wf-1").instance.status, WorkflowStatus::kSucceeded);
  ASSERT_TRUE(engine->StartWorkflow(TransferRequest("wf-2", "alice", 100)).ok());
  ASSERT_TRUE(engine->WaitIdle(kWait));
  EXPECT_EQ(Get("wf-2").instance.status, WorkflowStatus::kSucceeded);
  EXPECT_EQ(cities_.taiyuan.Balance("alice"), 400);
}

// Crash at every step boundary of every step: the hook abandons the run there (as a killed process
// would: no commit, lease kept), the engine and store are destroyed, and a new store and engine
// (the same replica, restarted) finish the workflow with every effect applied once.
class CrashTest : public EngineTestBase,
                  public ::testing::WithParamInterface<std::tuple<Backend, StepBoundary, std::string>> {
 protected:
  CrashTest() : EngineTestBase(std::get<0>(GetParam())) {}
};

TEST_P(CrashTest, ResumesFromTheLastCommittedStateAndAppliesEveryEffectOnce) {
  const auto [backend, crash_boundary, crash_state] = GetParam();
  {
    WorkflowEngineOptions options = Options();
    options.hook = [crash_boundary = crash_boundary, crash_state = crash_state](StepBoundary boundary,
                                                                                const WorkflowInstance& w) {
      if (boundary == crash_boundary && w.state == crash_state) return StepHookAction::Abandon();
      return StepHookAction::Continue();
    };
    auto engine = MakeEngine(std::move(options));
    ASSERT_TRUE(engine->StartWorkflow(TransferRequest("wf-1", "alice", 300)).ok());
    ASSERT_TRUE(engine->WaitIdle(kWait));
    // Crashed after committing the last step: already finished; otherwise as last committed.
    const bool finished = crash_boundary == StepBoundary::kAfterCommit && crash_state == "debited";
    EXPECT_EQ(Get("wf-1").instance.status, finished ? WorkflowStatus::kSucceeded : WorkflowStatus::kRunning);
  }
  store_.reset();
  OpenStore();
  clock_.Advance(absl::Seconds(1));

  auto engine = MakeEngine(Options());
  ASSERT_TRUE(engine->Resume().ok());
  RunDue(*engine);
  WorkflowRecord record = Get("wf-1");
  EXPECT_EQ(record.instance.status, WorkflowStatus::kSucceeded);
  ExpectTransferredOnce("wf-1", "alice", 300);
  ExpectHistoryOrdered(record);
  // A crash while holding the lease leaves a trace of the restart; after the commit there is none.
  const bool held_lease = crash_boundary != StepBoundary::kAfterCommit;
  int released = 0;
  for (const HistoryEvent& e : record.history) released += e.kind == HistoryKind::kLeaseReleased;
  EXPECT_EQ(released, held_lease ? 1 : 0);
  // The step that crashed between its call and its commit asked the city twice, with one key.
  const std::string key = crash_state == "applied" ? "wf-1/0/applied/debit" : "wf-1/1/debited/credit";
  FakeCity& city = crash_state == "applied" ? cities_.xinzhou : cities_.taiyuan;
  EXPECT_EQ(city.Calls()[key], crash_boundary == StepBoundary::kAfterStep ? 2 : 1);
}

INSTANTIATE_TEST_SUITE_P(EveryBoundaryOfEveryStep, CrashTest,
                         ::testing::Combine(::testing::ValuesIn(AllBackends()),
                                            ::testing::Values(StepBoundary::kBeforeStep,
                                                              StepBoundary::kAfterStep,
                                                              StepBoundary::kAfterCommit),
                                            ::testing::Values("applied", "debited")),
                         [](const auto& info) {
                           return absl::StrCat(BackendName(std::get<0>(info.param)), "_",
                                               StepBoundaryName(std::get<1>(info.param)), "_",
                                               std::get<2>(info.param));
                         });

TEST_P(WorkflowEngineTest, AnotherReplicaTakesOverADeadOnesLeaseOnlyAfterItExpires) {
  {
    WorkflowEngineOptions options = Options("replica-a");
    options.hook = [](StepBoundary boundary, const WorkflowInstance& w) {
      return boundary == StepBoundary::kAfterStep && w.state == "debited" ? StepHookAction::Abandon()
                                                                          : StepHookAction::Continue();
    };
    auto dead = MakeEngine(std::move(options));
    ASSERT_TRUE(dead->StartWorkflow(TransferRequest("wf-1", "alice", 300)).ok());
    ASSERT_TRUE(dead->WaitIdle(kWait));
  }
  const absl::Time expiry = Get("wf-1").instance.lease_expires_at;
  ASSERT_EQ(Get("wf-1").instance.lease_owner, "replica-a");

  auto engine = MakeEngine(Options("replica-b"));
  ASSERT_TRUE(engine->Resume().ok());  // releases only replica-b's own leases: none
  ASSERT_TRUE(engine->WaitIdle(kWait));
  clock_.Set(expiry - absl::Milliseconds(1));
  EXPECT_EQ(*engine->Poll(), 0);
  EXPECT_EQ(Get("wf-1").instance.state, "debited");
  clock_.Set(expiry);
  RunDue(*engine);
  WorkflowRecord record = Get("wf-1");
  EXPECT_EQ(record.instance.status, WorkflowStatus::kSucceeded);
  ExpectTransferredOnce("wf-1", "alice", 300);
  EXPECT_THAT(Kinds(record),
              ElementsAre("CREATED ->applied RUNNING", "ADVANCED applied->debited RUNNING",
                          "LEASE_TAKEN_OVER debited->debited RUNNING", "ADVANCED debited->done SUCCEEDED"));
  EXPECT_EQ(record.history[2].replica, "replica-b");
  EXPECT_THAT(record.history[2].reason, HasSubstr("lease of replica-a"));
  EXPECT_EQ(record.history[3].replica, "replica-b");
}

TEST_P(WorkflowEngineTest, ALongStepKeepsItsLeaseByRenewal) {
  // The step's city answers only when the test says; meanwhile the clock passes the lease twice
  // over, and Poll() renews the lease so that another replica cannot take the step over.
  absl::Mutex mu;
  StepDone held;
  WorkflowDefinition d;
  d.type = "slow";
  d.initial_state = "waiting";
  d.states["waiting"] = StateDefinition::Step([&](const WorkflowInstance&, StepContext&, StepDone done) {
    absl::MutexLock lock(&mu);
    held = std::move(done);
  });
  d.states["done"] = StateDefinition::Final(WorkflowStatus::kSucceeded);
  WorkflowEngine a(*store_, clock_, Options("replica-a"));
  ASSERT_TRUE(a.Register(d).ok());
  std::unique_ptr<WorkflowStore> store_b = OpenAnotherStore();
  ASSERT_NE(store_b, nullptr);
  WorkflowEngine b(*store_b, clock_, Options("replica-b"));
  ASSERT_TRUE(b.Register(d).ok());

  StartWorkflowRequest request;
  request.type = "slow";
  request.workflow_id = "wf-slow";
  request.subject = "carol";
  ASSERT_TRUE(a.StartWorkflow(request).ok());
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                        +[](StepDone* d) { return static_cast<bool>(*d); }, &held),
                                    kWait));
  }
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(absl::Seconds(20));
    ASSERT_TRUE(a.Poll().ok());  // renews (past half the lease)
    EXPECT_EQ(*b.Poll(), 0);
  }
  {
    absl::MutexLock lock(&mu);
    held(Transition::To("done"));
  }
  ASSERT_TRUE(a.WaitIdle(kWait));
  WorkflowRecord record = Get("wf-slow");
  EXPECT_EQ(record.instance.status, WorkflowStatus::kSucceeded);
  EXPECT_EQ(record.history.back().replica, "replica-a");
}

TEST_P(WorkflowEngineTest, TwoReplicasOnOneDatabaseRunEachStepOnce) {
  constexpr int kWorkflows = 40;
  // Each replica has its own store (its own connection or pool) on the shared database, like two
  // processes.
  std::unique_ptr<WorkflowStore> store_b = OpenAnotherStore();
  ASSERT_NE(store_b, nullptr);
  WorkQueue network(2);
  cities_.network = &network;

  absl::Mutex mu;
  std::map<std::string, int> runs;  // "<workflow>/<state>" -> times its step started
  int finished = 0;
  auto hook = [&](StepBoundary boundary, const WorkflowInstance& w) {
    absl::MutexLock lock(&mu);
    if (boundary == StepBoundary::kBeforeStep) ++runs[absl::StrCat(w.workflow_id, "/", w.state)];
    if (boundary == StepBoundary::kAfterCommit && w.state == "debited") ++finished;
    return StepHookAction::Continue();
  };
  for (int i = 0; i < kWorkflows; ++i) cities_.xinzhou.SetBalance(absl::StrCat("p", i), 1000);

  WorkflowEngineOptions options_a = Options("replica-a");
  options_a.hook = hook;
  WorkflowEngineOptions options_b = Options("replica-b");
  options_b.hook = hook;
  WorkflowEngine a(*store_, clock_, options_a);
  WorkflowEngine b(*store_b, clock_, options_b);
  ASSERT_TRUE(a.Register(Transfer(cities_)).ok());
  ASSERT_TRUE(b.Register(Transfer(cities_)).ok());

  // Created in the store directly, so that neither engine starts them: both pollers race for them.
  for (int i = 0; i < kWorkflows; ++i) {
    NewWorkflow w;
    w.workflow_id = absl::StrCat("wf-", i);
    w.type = "transfer";
    w.subject = absl::StrCat("p", i);
    w.initial_state = "applied";
    w.data = Payload(w.subject, 10 + i);
    w.outbox = {{"debit", "xinzhou", Payload(w.subject, 10 + i)}};
    w.deadline = kT0 + absl::Hours(1);
    ASSERT_TRUE(store_->Create(w, kT0).ok());
  }
  a.StartPolling(absl::Milliseconds(1));
  b.StartPolling(absl::Milliseconds(1));
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(
                                        +[](int* n) { return *n == kWorkflows; }, &finished),
                                    kWait));
  }
  ASSERT_TRUE(a.WaitIdle(kWait));
  ASSERT_TRUE(b.WaitIdle(kWait));

  absl::MutexLock lock(&mu);
  EXPECT_EQ(runs.size(), 2u * kWorkflows);
  std::set<std::string> replicas;
  for (const auto& [step, count] : runs) EXPECT_EQ(count, 1) << step;
  for (int i = 0; i < kWorkflows; ++i) {
    const std::string id = absl::StrCat("wf-", i);
    const std::string person = absl::StrCat("p", i);
    WorkflowRecord record = Get(id);
    EXPECT_EQ(record.instance.status, WorkflowStatus::kSucceeded) << id;
    EXPECT_EQ(cities_.xinzhou.Balance(person), 1000 - (10 + i));
    EXPECT_EQ(cities_.taiyuan.Balance(person), 10 + i);
    EXPECT_EQ(cities_.xinzhou.Effects()[absl::StrCat(id, "/0/applied/debit")], 1);
    EXPECT_EQ(cities_.taiyuan.Effects()[absl::StrCat(id, "/1/debited/credit")], 1);
    EXPECT_EQ(cities_.xinzhou.Calls()[absl::StrCat(id, "/0/applied/debit")], 1);
    for (const HistoryEvent& e : record.history) {
      if (!e.replica.empty()) replicas.insert(e.replica);
    }
  }
  // Not a guarantee of the design, but with 1 ms pollers both replicas take part.
  EXPECT_GE(replicas.size(), 1u);
  cities_.network = nullptr;
}

// A store that passes every call through and remembers what each Commit answered.
class CommitRecordingStore final : public WorkflowStore {
 public:
  explicit CommitRecordingStore(WorkflowStore& store) : store_(store) {}

  absl::Status Create(const NewWorkflow& workflow, absl::Time now) override {
    return store_.Create(workflow, now);
  }
  absl::StatusOr<std::vector<ClaimedWorkflow>> ClaimDue(const std::string& owner,
                                                        const std::vector<std::string>& types, absl::Time now,
                                                        absl::Duration lease_duration, int limit) override {
    return store_.ClaimDue(owner, types, now, lease_duration, limit);
  }
  absl::StatusOr<ClaimedWorkflow> Claim(const std::string& workflow_id, const std::string& owner,
                                        absl::Time now, absl::Duration lease_duration) override {
    return store_.Claim(workflow_id, owner, now, lease_duration);
  }
  absl::Status RenewLease(const Lease& lease, absl::Time expires_at) override {
    return store_.RenewLease(lease, expires_at);
  }
  absl::Status ReleaseLease(const Lease& lease) override { return store_.ReleaseLease(lease); }
  absl::StatusOr<int> ReleaseLeasesOf(const std::string& owner, absl::Time now) override {
    return store_.ReleaseLeasesOf(owner, now);
  }
  absl::Status Commit(const Lease& lease, const StateChange& change, absl::Time now) override {
    absl::Status status = store_.Commit(lease, change, now);
    absl::MutexLock lock(&mu_);
    commits_.push_back({change.state, status});
    return status;
  }
  absl::StatusOr<WorkflowRecord> Get(const std::string& workflow_id) override {
    return store_.Get(workflow_id);
  }
  absl::StatusOr<WorkflowPage> List(const WorkflowQuery& query) override { return store_.List(query); }
  absl::StatusOr<std::optional<absl::Time>> NextDue(const std::vector<std::string>& types) override {
    return store_.NextDue(types);
  }

  // (the state committed to, the answer), in call order.
  std::vector<std::pair<std::string, absl::Status>> commits() {
    absl::MutexLock lock(&mu_);
    return commits_;
  }

 private:
  WorkflowStore& store_;
  absl::Mutex mu_;
  std::vector<std::pair<std::string, absl::Status>> commits_ ABSL_GUARDED_BY(mu_);
};

// A three-state workflow "gated" (waiting -> second -> done) whose steps record each call and
// either complete at once or wait until the test releases them.
class StepGate {
 public:
  WorkflowDefinition Definition() {
    WorkflowDefinition d;
    d.type = "gated";
    d.initial_state = "waiting";
    auto step = [this](std::string next) {
      return [this, next](const WorkflowInstance& w, StepContext& ctx, StepDone done) {
        {
          absl::MutexLock lock(&mu_);
          calls_.push_back(absl::StrCat(w.state, " ", ctx.IdempotencyKey("effect")));
          if (hold_.count(w.state) > 0) {
            held_[w.state] = std::move(done);
            return;
          }
        }
        done(Transition::To(next));
      };
    };
    d.states["waiting"] = StateDefinition::Step(step("second"));
    d.states["second"] = StateDefinition::Step(step("done"));
    d.states["done"] = StateDefinition::Final(WorkflowStatus::kSucceeded);
    return d;
  }

  // Steps of `state` wait for Release(state) from now on.
  void Hold(const std::string& state) {
    absl::MutexLock lock(&mu_);
    hold_.insert(state);
  }
  // Waits (real time, up to kWait) until a step of `state` is held; true if one is.
  bool AwaitHeld(const std::string& state) {
    absl::MutexLock lock(&mu_);
    auto is_held = [this, &state]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return held_.count(state) > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&is_held), kWait);
  }
  // Lets the held step of `state` complete (to the next state).
  void Release(const std::string& state, const std::string& next) {
    StepDone done;
    {
      absl::MutexLock lock(&mu_);
      hold_.erase(state);
      auto it = held_.find(state);
      ASSERT_NE(it, held_.end()) << state;
      done = std::move(it->second);
      held_.erase(it);
    }
    done(Transition::To(next));
  }
  std::vector<std::string> calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> hold_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, StepDone> held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);  // "<state> <idempotency key of the step>"
};

TEST_P(WorkflowEngineTest, AReplicaWhoseLeaseExpiredLosesTheStepToTheOtherAndCannotCommitIt) {
  // Replica a's first step stalls (as a replica in a long pause or cut off from the database
  // would) and a does not poll, so its lease is not renewed. When the lease expires, replica b
  // takes the instance over and runs it; a's late result is then refused by the store.
  CommitRecordingStore recording_a(*store_);
  std::unique_ptr<WorkflowStore> store_b = OpenAnotherStore();
  ASSERT_NE(store_b, nullptr);
  StepGate gate_a, gate_b;
  gate_a.Hold("waiting");
  gate_b.Hold("second");
  WorkflowEngine a(recording_a, clock_, Options("replica-a"));
  WorkflowEngine b(*store_b, clock_, Options("replica-b"));
  ASSERT_TRUE(a.Register(gate_a.Definition()).ok());
  ASSERT_TRUE(b.Register(gate_b.Definition()).ok());

  StartWorkflowRequest request;
  request.type = "gated";
  request.workflow_id = "wf-gated";
  request.subject = "dave";
  ASSERT_TRUE(a.StartWorkflow(request).ok());
  ASSERT_TRUE(gate_a.AwaitHeld("waiting"));
  const absl::Time expiry = Get("wf-gated").instance.lease_expires_at;
  ASSERT_EQ(Get("wf-gated").instance.lease_owner, "replica-a");

  // Not a moment before the expiry...
  clock_.Set(expiry - absl::Microseconds(1));
  EXPECT_EQ(*b.Poll(), 0);
  // ... and at it, b takes over, completes "waiting" and holds the lease while "second" runs.
  clock_.Set(expiry);
  ASSERT_EQ(*b.Poll(), 1);
  ASSERT_TRUE(gate_b.AwaitHeld("second"));

  // a's step now returns: its commit is fenced off, and nothing of it is written.
  gate_a.Release("waiting", "second");
  ASSERT_TRUE(a.WaitIdle(kWait));
  std::vector<std::pair<std::string, absl::Status>> commits_a = recording_a.commits();
  ASSERT_EQ(commits_a.size(), 1u);
  EXPECT_EQ(commits_a[0].second.code(), absl::StatusCode::kAborted) << commits_a[0].second;
  EXPECT_THAT(commits_a[0].second.message(), HasSubstr("lease lost"));
  WorkflowRecord during = Get("wf-gated");
  EXPECT_EQ(during.instance.state, "second");
  EXPECT_EQ(during.instance.lease_owner, "replica-b");

  gate_b.Release("second", "done");
  ASSERT_TRUE(b.WaitIdle(kWait));
  WorkflowRecord record = Get("wf-gated");
  EXPECT_EQ(record.instance.status, WorkflowStatus::kSucceeded);
  EXPECT_THAT(Kinds(record),
              ElementsAre("CREATED ->waiting RUNNING", "LEASE_TAKEN_OVER waiting->waiting RUNNING",
                          "ADVANCED waiting->second RUNNING", "ADVANCED second->done SUCCEEDED"));
  for (size_t i = 1; i < record.history.size(); ++i) EXPECT_EQ(record.history[i].replica, "replica-b") << i;
  ExpectHistoryOrdered(record);
  // The step ran on both replicas, with one idempotency key: a city would have applied it once.
  EXPECT_THAT(gate_a.calls(), ElementsAre("waiting wf-gated/0/waiting/effect"));
  EXPECT_THAT(gate_b.calls(),
              ElementsAre("waiting wf-gated/0/waiting/effect", "second wf-gated/1/second/effect"));
}

TEST_P(WorkflowEngineTest, BothReplicasStartingAWorkflowForOnePersonAtOnceAdmitOne) {
  constexpr int kPersons = 16;
  std::unique_ptr<WorkflowStore> store_b = OpenAnotherStore();
  ASSERT_NE(store_b, nullptr);
  // The origin city is down, so every admitted workflow stays unfinished (WAITING_RETRY) while the
  // other replica tries: the subject cannot become free again during the race.
  cities_.xinzhou.SetDown(true);
  std::vector<std::string> persons;
  for (int i = 0; i < kPersons; ++i) {
    persons.push_back(absl::StrCat("person-", i));
    cities_.xinzhou.SetBalance(persons.back(), 1000);
  }
  WorkflowEngine a(*store_, clock_, Options("replica-a"));
  WorkflowEngine b(*store_b, clock_, Options("replica-b"));
  ASSERT_TRUE(a.Register(Transfer(cities_)).ok());
  ASSERT_TRUE(b.Register(Transfer(cities_)).ok());

  absl::Mutex mu;
  std::vector<int> arrived(kPersons, 0);  // a start line per person, so that both starts race
  std::vector<absl::Status> results_a(kPersons), results_b(kPersons);
  auto starter = [&](WorkflowEngine* engine, const std::string& prefix, std::vector<absl::Status>* results) {
    for (int i = 0; i < kPersons; ++i) {
      {
        absl::MutexLock lock(&mu);
        ++arrived[i];
        mu.Await(absl::Condition(
            +[](int* n) { return *n == 2; }, &arrived[i]));
      }
      (*results)[i] =
          engine->StartWorkflow(TransferRequest(absl::StrCat(prefix, i), persons[i], 10 + i)).status();
    }
  };
  std::thread ta(starter, &a, "wf-a-", &results_a);
  std::thread tb(starter, &b, "wf-b-", &results_b);
  ta.join();
  tb.join();
  ASSERT_TRUE(a.WaitIdle(kWait));
  ASSERT_TRUE(b.WaitIdle(kWait));

  std::vector<std::string> winners;
  for (int i = 0; i < kPersons; ++i) {
    const bool a_won = results_a[i].ok();
    ASSERT_NE(a_won, results_b[i].ok()) << persons[i] << ": " << results_a[i] << " / " << results_b[i];
    const absl::Status& loser = a_won ? results_b[i] : results_a[i];
    EXPECT_EQ(loser.code(), absl::StatusCode::kAlreadyExists) << loser;
    winners.push_back(absl::StrCat(a_won ? "wf-a-" : "wf-b-", i));
    EXPECT_THAT(loser.message(),
                HasSubstr(absl::StrCat("unfinished workflow ", winners.back(), " (transfer")));
  }

  // The city comes back; whichever replica polls finishes each person's one transfer, once.
  cities_.xinzhou.SetDown(false);
  clock_.Advance(absl::Minutes(1));
  RunDue(a);
  RunDue(b);
  for (int i = 0; i < kPersons; ++i) {
    WorkflowQuery query;
    query.subject = persons[i];
    auto page = store_->List(query);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->instances.size(), 1u) << persons[i];
    EXPECT_EQ(page->instances[0].workflow_id, winners[i]);
    EXPECT_EQ(page->instances[0].status, WorkflowStatus::kSucceeded) << winners[i];
    EXPECT_EQ(cities_.xinzhou.Balance(persons[i]), 1000 - (10 + i));
    EXPECT_EQ(cities_.taiyuan.Balance(persons[i]), 10 + i);
    EXPECT_EQ(cities_.xinzhou.Effects()[absl::StrCat(winners[i], "/0/applied/debit")], 1);
  }
  EXPECT_EQ(cities_.xinzhou.Effects().size(), static_cast<size_t>(kPersons));
}

INSTANTIATE_TEST_SUITE_P(Backends, WorkflowEngineTest, ::testing::ValuesIn(AllBackends()),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace interop::workflow
