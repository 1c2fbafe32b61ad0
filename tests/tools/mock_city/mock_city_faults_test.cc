// Fault injection in the gRPC mock city, end to end over a real server (127.0.0.1, port 0,
// plaintext, in-process): MockCityBackend with its faults set through MockCityAdmin, the default
// health service following `down`. Refusals apply nothing; latency holds the answer after the
// work; hung calls hold no thread and end at the caller's deadline or when it gives up.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "adapters/dialect/dialect.h"
#include "adapters/grpc_backend/grpc_backend_adapter.h"
#include "gateway/base/cities.h"
#include "gateway/base/clock.h"
#include "gateway/base/rich_status.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "interop/mockcity/v1/mock_city_admin.grpc.pb.h"
#include "tools/mock_city/fault_injector.h"
#include "tools/mock_city/grpc_fault_gate.h"
#include "tools/mock_city/mock_city_admin.h"
#include "tools/mock_city/mock_city_service.h"

namespace interop::mock_city {
namespace {

namespace backend = ::interop::citybackend::v1;
namespace admin = ::interop::mockcity::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr City kCity = City::CITY_TAIYUAN;
constexpr int kYear = 2026;

const Population& TestPopulation() {
  static const Population* population = [] {
    PopulationOptions options;
    options.persons_per_issuing_city = 300;
    return new Population(Population::Generate(options));
  }();
  return *population;
}

std::shared_ptr<const adapters::Dialect> TaiyuanDialect() {
  absl::StatusOr<std::shared_ptr<const adapters::Dialect>> dialect =
      adapters::Dialect::LoadFile(absl::StrCat(INTEROP_SOURCE_DIR, "/adapters/taiyuan/dialect.textproto"));
  EXPECT_TRUE(dialect.ok()) << dialect.status();
  return *dialect;
}

MockMedicalLedgerOptions LedgerOptions() {
  MockMedicalLedgerOptions options;
  options.seeded_year = kYear;
  return options;
}

// Polls `condition` until it holds or 20 seconds pass.
bool WaitFor(const std::function<bool()>& condition) {
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (!condition()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// Keeps `channel` alive until the process exits. A callback-API call (the adapter's) can hold the
// last reference to its channel in gRPC's callback thread; gRPC 1.51 then shuts its callback
// completion queue down from that very thread and crashes ("assertion failed: prior > 0"). The
// channels of these tests are therefore never released.
void KeepUntilExit(std::shared_ptr<grpc::Channel> channel) {
  static auto* kept = new std::vector<std::shared_ptr<grpc::Channel>>;
  static absl::Mutex mu;
  absl::MutexLock lock(&mu);
  kept->push_back(std::move(channel));
}

// The mock city of Taiyuan with its admin service and health, and clients of all three.
class FaultyMockCity {
 public:
  FaultyMockCity()
      : dialect_(TaiyuanDialect()),
        ledger_(TestPopulation(), kCity, LedgerOptions()),
        service_(dialect_, TestPopulation(), Clock::Real(), ledger_),
        admin_(service_.faults()) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    builder.RegisterService(&admin_);
    server_ = builder.BuildAndStart();
    ReportDownToHealth(service_.faults(), *server_);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    KeepUntilExit(channel_);
    stub_ = backend::CityBackendService::NewStub(channel_);
    admin_stub_ = admin::MockCityAdminService::NewStub(channel_);
    adapters::GrpcBackendOptions options;
    options.city = kCity;
    options.city_deadline = absl::Seconds(10);
    options.dialect = dialect_;
    adapter_ = std::make_unique<adapters::GrpcBackendAdapter>(std::move(options), channel_,
                                                              backend::CityBackendService::NewStub(channel_));
  }
  ~FaultyMockCity() {
    server_->Shutdown(std::chrono::system_clock::now());
    service_.faults().SetDownObserver(nullptr);
  }

  MockCityBackend& service() { return service_; }
  MockMedicalLedger& ledger() { return ledger_; }
  const adapters::Dialect& dialect() const { return *dialect_; }
  backend::CityBackendService::Stub& stub() { return *stub_; }
  adapters::CityAdapter& adapter() { return *adapter_; }

  grpc::Status SetFaults(const admin::FaultSettings& settings) {
    grpc::ClientContext context;
    admin::SetFaultsRequest request;
    *request.mutable_settings() = settings;
    admin::SetFaultsResponse response;
    return admin_stub_->SetFaults(&context, request, &response);
  }
  admin::GetFaultsResponse GetFaults() {
    grpc::ClientContext context;
    admin::GetFaultsResponse response;
    EXPECT_TRUE(admin_stub_->GetFaults(&context, admin::GetFaultsRequest(), &response).ok());
    return response;
  }
  void ResetFaults() {
    grpc::ClientContext context;
    admin::ResetFaultsResponse response;
    ASSERT_TRUE(admin_stub_->ResetFaults(&context, admin::ResetFaultsRequest(), &response).ok());
  }

  // Calls `method` (a full path) with an empty request (a valid encoding of every request message).
  grpc::Status CallWithEmptyRequest(const std::string& method, std::string* reply_bytes) {
    grpc::GenericStub generic(channel_);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Slice empty;
    grpc::ByteBuffer request(&empty, 1), response;
    absl::Notification done;
    grpc::Status status;
    generic.UnaryCall(&context, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
      status = std::move(s);
      done.Notify();
    });
    done.WaitForNotification();
    std::vector<grpc::Slice> slices;
    reply_bytes->clear();
    if (status.ok() && response.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices)
        reply_bytes->append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return status;
  }

  // grpc.health.v1.Health/Check for the whole server: 1 SERVING, 2 NOT_SERVING, -1 on error.
  int Health() {
    std::string bytes;
    if (!CallWithEmptyRequest("/grpc.health.v1.Health/Check", &bytes).ok()) return -1;
    // HealthCheckResponse{status: N} is field 1, varint N.
    if (bytes.size() == 2 && bytes[0] == '\x08') return bytes[1];
    return -1;
  }

  // LocatePerson for someone in the population (answers OK when no fault).
  grpc::Status Locate(absl::Duration deadline = absl::Seconds(10)) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    backend::LocatePersonRequest request;
    request.set_resident_id(TestPopulation().persons()[0].resident_id);
    backend::LocatePersonResponse response;
    return stub_->LocatePerson(&context, request, &response);
  }

 private:
  std::shared_ptr<const adapters::Dialect> dialect_;
  MockMedicalLedger ledger_;
  MockCityBackend service_;
  MockCityAdmin admin_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<backend::CityBackendService::Stub> stub_;
  std::unique_ptr<admin::MockCityAdminService::Stub> admin_stub_;
  std::unique_ptr<adapters::CityAdapter> adapter_;
};

admin::FaultSettings Errors(double rate, uint64_t seed) {
  admin::FaultSettings settings;
  settings.set_error_rate(rate);
  settings.set_seed(seed);
  return settings;
}

template <typename T>
absl::StatusOr<T> Await(const std::function<void(adapters::Callback<T>)>& call) {
  absl::Notification done;
  absl::StatusOr<T> result = absl::UnknownError("not called");
  call([&](absl::StatusOr<T> r) {
    result = std::move(r);
    done.Notify();
  });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(20)))
    return absl::DeadlineExceededError("no answer");
  return result;
}

// The first person insured in Taiyuan with at least 100 yuan in the account.
const SyntheticPerson* Insured() {
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    if (p.has_medical && p.medical.city == kCity && p.medical.balance_fen >= 10000) return &p;
  }
  return nullptr;
}

// A person whose household is registered outside Taiyuan (so Taiyuan can issue a move-in permit).
const SyntheticPerson* RegisteredElsewhere() {
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    if (p.household.city == City::CITY_XINZHOU) return &p;
  }
  return nullptr;
}

adapters::SettlementRecord Settlement(const SyntheticPerson& person, const std::string& id) {
  adapters::SettlementRecord s;
  s.settlement_id = id;
  s.resident_id = person.resident_id;
  s.year = kYear;
  s.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
  s.institution_code = "H14010500001";
  s.treatment_city = City::CITY_JINZHONG;
  s.settle_date = absl::CivilDay(kYear, 3, 15);
  s.fund_pay_fen = 0;
  s.account_pay_fen = 50;
  s.cash_pay_fen = 1000;
  s.deductible_applied_fen = 0;
  s.total_fen = 1050;
  return s;
}

backend::IssueMoveInPermitRequest PermitRequest(const SyntheticPerson& person, const std::string& key) {
  backend::IssueMoveInPermitRequest request;
  request.set_request_key(key);
  request.set_resident_id(person.resident_id);
  request.set_origin_city_code(std::string(CityDivisionCode(City::CITY_XINZHOU)));
  request.set_address_code("140105");
  return request;
}

grpc::Status IssuePermit(backend::CityBackendService::Stub& stub,
                         const backend::IssueMoveInPermitRequest& request,
                         backend::IssueMoveInPermitResponse* response,
                         absl::Duration deadline = absl::Seconds(10)) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  return stub.IssueMoveInPermit(&context, request, response);
}

TEST(MockCityFaultsTest, TheSameSeedFailsTheSameCallsAndAnotherSeedOthers) {
  FaultyMockCity mock;
  const auto failing_calls = [&mock](uint64_t seed) {
    EXPECT_TRUE(mock.SetFaults(Errors(0.4, seed)).ok());
    std::vector<int> failing;
    for (int k = 0; k < 40; ++k) {
      grpc::Status status = mock.Locate();
      if (!status.ok()) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
        failing.push_back(k);
      }
    }
    return failing;
  };
  const std::vector<int> first = failing_calls(42);
  std::vector<int> predicted;
  for (int k = 0; k < 40; ++k) {
    if (FaultInjector::ErrsAt(42, k, 0.4)) predicted.push_back(k);
  }
  EXPECT_EQ(first, predicted);
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(failing_calls(42), first);
  EXPECT_NE(failing_calls(7), first);
  EXPECT_EQ(mock.GetFaults().counters().calls_seen(), 120u);
}

TEST(MockCityFaultsTest, AnInjectedErrorOnASettlementIsARefusalNotAnApplication) {
  FaultyMockCity mock;
  const SyntheticPerson* person = Insured();
  ASSERT_NE(person, nullptr);
  admin::FaultSettings settings = Errors(1.0, 1);
  settings.add_methods("CommitSettlement");
  ASSERT_TRUE(mock.SetFaults(settings).ok());
  const adapters::SettlementRecord s = Settlement(*person, "FAULT-S1");
  absl::StatusOr<adapters::CommitResult> refused =
      Await<adapters::CommitResult>([&](auto done) { mock.adapter().CommitSettlement(s, 1, {}, done); });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_EQ(mock.ledger().GetSettlement("FAULT-S1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(mock.ledger().GetAccount(person->resident_id, kYear)->version, 1);

  mock.ResetFaults();
  absl::StatusOr<adapters::CommitResult> committed =
      Await<adapters::CommitResult>([&](auto done) { mock.adapter().CommitSettlement(s, 1, {}, done); });
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_FALSE(committed->replayed);  // the first application, not a replay of the refused call
  EXPECT_EQ(committed->account.version, 2);
}

TEST(MockCityFaultsTest, AnInjectedErrorOnAMoveInPermitLeavesNoPermit) {
  FaultyMockCity mock;
  const SyntheticPerson* person = RegisteredElsewhere();
  ASSERT_NE(person, nullptr);
  admin::FaultSettings settings = Errors(1.0, 1);
  settings.set_error_code("resource_exhausted");
  settings.add_methods("IssueMoveInPermit");
  ASSERT_TRUE(mock.SetFaults(settings).ok());
  EXPECT_EQ(mock.GetFaults().settings().error_code(), "RESOURCE_EXHAUSTED");
  const backend::IssueMoveInPermitRequest request = PermitRequest(*person, "fault-permit-1");
  backend::IssueMoveInPermitResponse response;
  EXPECT_EQ(IssuePermit(mock.stub(), request, &response).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  mock.ResetFaults();
  grpc::Status status = IssuePermit(mock.stub(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.replayed());
  backend::IssueMoveInPermitResponse again;
  ASSERT_TRUE(IssuePermit(mock.stub(), request, &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.permit_number(), response.permit_number());
}

TEST(MockCityFaultsTest, LatencyDelaysTheAnswer) {
  FaultyMockCity mock;
  admin::FaultSettings settings;
  settings.set_latency_ms(300);
  settings.set_latency_jitter_ms(100);
  ASSERT_TRUE(mock.SetFaults(settings).ok());
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    grpc::Status status = mock.Locate();
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  }
  EXPECT_EQ(mock.GetFaults().counters().replies_delayed(), 3u);
}

TEST(MockCityFaultsTest, AWriteWithLatencyIsAppliedThenAnsweredLate) {
  FaultyMockCity mock;
  const SyntheticPerson* person = RegisteredElsewhere();
  ASSERT_NE(person, nullptr);
  admin::FaultSettings settings;
  settings.set_latency_ms(60000);  // longer than WaitFor below waits: the release must come from the cancel
  settings.add_methods("IssueMoveInPermit");
  ASSERT_TRUE(mock.SetFaults(settings).ok());
  const backend::IssueMoveInPermitRequest request = PermitRequest(*person, "late-permit-1");
  backend::IssueMoveInPermitResponse response;
  // The caller gives up before the answer...
  EXPECT_EQ(IssuePermit(mock.stub(), request, &response, absl::Milliseconds(200)).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  // ...but the permit was issued: the same key now replays it.
  mock.ResetFaults();
  ASSERT_TRUE(IssuePermit(mock.stub(), request, &response).ok());
  EXPECT_TRUE(response.replayed());
  // The held reply was finished when the caller gave up, not left waiting.
  EXPECT_TRUE(WaitFor([&] { return mock.service().CallsAwaitingFaultReply() == 0; }));
}

TEST(MockCityFaultsTest, HungCallsEndAtTheCallersDeadlineAndHoldNoThread) {
  FaultyMockCity mock;
  admin::FaultSettings settings;
  settings.set_hang(true);
  settings.add_methods("GetMedicalEnrollment");
  ASSERT_TRUE(mock.SetFaults(settings).ok());

  constexpr int kHung = 50;
  const absl::Duration deadline = absl::Seconds(3);
  struct Call {
    grpc::ClientContext context;
    backend::GetMedicalEnrollmentRequest request;
    backend::GetMedicalEnrollmentResponse response;
    grpc::Status status;
    absl::Time started, ended;
  };
  std::vector<std::unique_ptr<Call>> calls;
  absl::Mutex mu;
  int ended = 0;
  for (int i = 0; i < kHung; ++i) {
    auto call = std::make_unique<Call>();
    call->started = absl::Now();
    call->context.set_deadline(absl::ToChronoTime(call->started + deadline));
    call->request.set_resident_id(Insured()->resident_id);
    Call* raw = call.get();
    mock.stub().async()->GetMedicalEnrollment(&raw->context, &raw->request, &raw->response,
                                              [raw, &mu, &ended](grpc::Status status) {
                                                absl::MutexLock lock(&mu);
                                                raw->status = std::move(status);
                                                raw->ended = absl::Now();
                                                ++ended;
                                              });
    calls.push_back(std::move(call));
  }
  ASSERT_TRUE(WaitFor([&] { return mock.GetFaults().counters().hangs_injected() == kHung; }));
  // With 50 calls hung, another method still answers (no thread is held by the hung ones).
  grpc::Status other = mock.Locate(/*deadline=*/absl::Seconds(2));
  EXPECT_TRUE(other.ok()) << other.error_message();
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(ended, 0);  // nothing answered the hung calls early
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == kHung; }, &ended));
  }
  for (const auto& call : calls) {
    EXPECT_EQ(call->status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << call->status.error_message();
    EXPECT_GE(call->ended - call->started, deadline);
  }
  EXPECT_TRUE(WaitFor([&] { return mock.service().CallsAwaitingFaultReply() == 0; }));
}

TEST(MockCityFaultsTest, AHungCallWithoutDeadlineIsReleasedWhenTheCallerGivesUp) {
  FaultyMockCity mock;
  admin::FaultSettings settings;
  settings.set_hang(true);
  ASSERT_TRUE(mock.SetFaults(settings).ok());
  grpc::ClientContext context;  // no deadline: the server would hold it for an hour
  backend::LocatePersonRequest request;
  request.set_resident_id(TestPopulation().persons()[0].resident_id);
  backend::LocatePersonResponse response;
  absl::Notification done;
  grpc::Status status;
  mock.stub().async()->LocatePerson(&context, &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  ASSERT_TRUE(WaitFor([&] { return mock.service().CallsAwaitingFaultReply() == 1; }));
  context.TryCancel();
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(WaitFor([&] { return mock.service().CallsAwaitingFaultReply() == 0; }));
}

TEST(MockCityFaultsTest, DownRefusesEveryCallAndHealthSaysNotServingUntilBackUp) {
  FaultyMockCity mock;
  EXPECT_EQ(mock.Health(), 1);
  admin::FaultSettings settings;
  settings.set_down(true);
  settings.add_methods("CommitSettlement");  // down ignores the filter
  ASSERT_TRUE(mock.SetFaults(settings).ok());
  grpc::Status status = mock.Locate();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("down"));
  EXPECT_EQ(mock.Health(), 2);
  EXPECT_EQ(mock.GetFaults().counters().refused_down(), 1u);

  ASSERT_TRUE(mock.SetFaults(admin::FaultSettings()).ok());
  EXPECT_EQ(mock.Health(), 1);
  EXPECT_TRUE(mock.Locate().ok());

  ASSERT_TRUE(mock.SetFaults(settings).ok());
  EXPECT_EQ(mock.Health(), 2);
  mock.ResetFaults();
  EXPECT_EQ(mock.Health(), 1);
}

TEST(MockCityFaultsTest, MethodFilterLimitsErrorsToTheNamedMethods) {
  FaultyMockCity mock;
  admin::FaultSettings settings = Errors(1.0, 1);
  settings.add_methods("GetMedicalEnrollment");
  ASSERT_TRUE(mock.SetFaults(settings).ok());
  EXPECT_TRUE(mock.Locate().ok());
  grpc::ClientContext context;
  backend::GetMedicalEnrollmentRequest request;
  request.set_resident_id(Insured()->resident_id);
  backend::GetMedicalEnrollmentResponse response;
  EXPECT_EQ(mock.stub().GetMedicalEnrollment(&context, request, &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  const admin::GetFaultsResponse faults = mock.GetFaults();
  EXPECT_EQ(faults.counters().calls_seen(), 2u);
  EXPECT_EQ(faults.counters().errors_injected(), 1u);
}

TEST(MockCityFaultsTest, AdminRefusesInvalidSettingsNamingTheField) {
  FaultyMockCity mock;
  admin::FaultSettings valid = Errors(0.25, 9);
  valid.add_methods("LocatePerson");
  ASSERT_TRUE(mock.SetFaults(valid).ok());

  struct Case {
    std::function<void(admin::FaultSettings&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](admin::FaultSettings& s) { s.set_error_rate(1.5); }, "settings.error_rate"},
      {[](admin::FaultSettings& s) { s.set_error_rate(-0.5); }, "settings.error_rate"},
      {[](admin::FaultSettings& s) { s.set_error_code("OK"); }, "settings.error_code"},
      {[](admin::FaultSettings& s) { s.set_error_code("TEAPOT"); }, "settings.error_code"},
      {[](admin::FaultSettings& s) { s.add_methods("DropAllTables"); }, "settings.methods[1]"},
      {[](admin::FaultSettings& s) {
         s.set_latency_ms(3600000);
         s.set_latency_jitter_ms(1);
       },
       "settings.latency_jitter_ms"},
  };
  for (const Case& c : cases) {
    admin::FaultSettings settings = valid;
    c.mutate(settings);
    grpc::Status status = mock.SetFaults(settings);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(status.error_message(), StartsWith(c.field + ": "));
    EXPECT_EQ(BadRequestField(FromGrpcStatus(status)), c.field);
  }
  // Nothing changed.
  const admin::GetFaultsResponse faults = mock.GetFaults();
  EXPECT_EQ(faults.settings().error_rate(), 0.25);
  EXPECT_EQ(faults.settings().error_code(), "UNAVAILABLE");
  EXPECT_EQ(faults.settings().seed(), 9u);
  ASSERT_EQ(faults.settings().methods_size(), 1);
  EXPECT_EQ(faults.settings().methods(0), "LocatePerson");
}

TEST(MockCityFaultsTest, EveryHandlerPassesTheFaultCheck) {
  // Down refuses every method of the contract: each handler starts with the check.
  FaultyMockCity mock;
  admin::FaultSettings settings;
  settings.set_down(true);
  ASSERT_TRUE(mock.SetFaults(settings).ok());
  const std::vector<std::string> methods = CityBackendMethodNames();
  ASSERT_EQ(methods.size(), 21u);
  for (const std::string& method : methods) {
    std::string reply;
    grpc::Status status = mock.CallWithEmptyRequest(
        absl::StrCat("/interop.citybackend.v1.CityBackendService/", method), &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << method;
    EXPECT_THAT(status.error_message(), HasSubstr("down")) << method;
  }
  EXPECT_EQ(mock.GetFaults().counters().refused_down(), methods.size());
}

}  // namespace
}  // namespace interop::mock_city
