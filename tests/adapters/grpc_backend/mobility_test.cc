// Household migration and pension transfer in the gRPC adapter (grpc_backend_mobility.cc):
// GrpcBackendAdapter against a real in-process gRPC server (127.0.0.1, port 0, plaintext) running a
// fake backend that records each request and answers a canned, possibly malformed, reply.
//
// For each of the eight calls: the canonical request reaches the contract's fields in the city's
// dialect (identity numbers in the form the city keys the person by, division codes of the five
// cities, dates, money, names in the city's text encoding, the sheet's kind codes); the reply comes
// back in canonical terms; a malformed reply (a bad date, an unknown code, a negative or malformed
// amount, a missing field) is INTERNAL naming the city and the field; the city's refusals keep their
// code naming the city; a request the contract cannot carry is INVALID_ARGUMENT without a call; and
// every call carries the request id and the earlier of the caller's and the city's deadline.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "adapters/dialect/text_encoding.h"
#include "adapters/grpc_backend/grpc_backend_adapter.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace interop::adapters {
namespace {

namespace backend = ::interop::citybackend::v1;
using ::interop::common::v1::City;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kResidentId[] = "140105199003071250";
// Born 1965-03-07 (valid check character); its legacy 15-digit number, by which Xinzhou keys it.
constexpr char kOldPerson[] = "142201196503071239";
constexpr char kOldPersonLegacy[] = "142201650307123";
// Another valid number: an answer about this person is an answer about someone else.
constexpr char kSomeoneElse[] = "110105199003071255";
constexpr char kKey[] = "wf-1/3/permit_issued/move_out";
constexpr char kName[] = "王建国";

constexpr char kLocalTables[] = R"pb(
  insurance_types { local_code: "ZG" national_code: "310" }
  insurance_types { local_code: "LX" national_code: "340" }
  insurance_types { local_code: "JM" national_code: "390" }
  enrollment_statuses { local_code: "ZC" national_code: "1" }
  enrollment_statuses { local_code: "ZT" national_code: "2" }
  enrollment_statuses { local_code: "ZZ" national_code: "3" }
  contribution_kinds { local_code: "YL" national_code: "110" }
  contribution_kinds { local_code: "SY" national_code: "210" }
  contribution_kinds { local_code: "YB" national_code: "310" }
  contribution_kinds { local_code: "GS" national_code: "410" }
  relations { local_code: "HZ" national_code: "02" }
  relations { local_code: "PO" national_code: "10" }
  relations { local_code: "ZN" national_code: "20" }
  relations { local_code: "SZ" national_code: "30" }
  relations { local_code: "FM" national_code: "50" }
  relations { local_code: "QT" national_code: "99" }
  household_types { local_code: "01" national_code: "1" }
  household_types { local_code: "02" national_code: "2" }
)pb";

std::shared_ptr<const Dialect> MakeDialect(absl::string_view city, absl::string_view money,
                                           absl::string_view date, absl::string_view encoding,
                                           int legacy_year) {
  const std::string text = absl::StrCat("city: ", city, " money_format: ", money, " date_format: \"", date,
                                        "\" text_encoding: ", encoding,
                                        " legacy_id_born_before_year: ", legacy_year, kLocalTables);
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = Dialect::Parse(
      text, absl::StrCat("adapters/", absl::AsciiStrToLower(city.substr(5)), "/dialect.textproto"));
  EXPECT_TRUE(dialect.ok()) << dialect.status();
  return *dialect;
}

// Yuan with two decimals, "YYYY-MM-DD", UTF-8, everyone by the 18-character number.
std::shared_ptr<const Dialect> JinzhongDialect() {
  return MakeDialect("CITY_JINZHONG", "MONEY_FORMAT_YUAN_DECIMAL", "YYYY-MM-DD", "TEXT_ENCODING_UTF_8", 0);
}
// Integer fen, "YYYY/MM/DD", GB 18030, persons born before 1970 by their legacy number.
std::shared_ptr<const Dialect> XinzhouDialect() {
  return MakeDialect("CITY_XINZHOU", "MONEY_FORMAT_FEN_INTEGER", "YYYY/MM/DD", "TEXT_ENCODING_GB18030", 1970);
}

// --- Canned replies, well-formed, in Jinzhong's dialect.

backend::IssueMoveInPermitResponse PermitReply() {
  backend::IssueMoveInPermitResponse r;
  r.set_permit_number("ZR14070000000001");
  r.set_issued_on("2026-03-02");
  r.set_valid_until("2026-04-10");  // + 39 days
  return r;
}

backend::RecordMoveOutResponse MoveOutReply() {
  backend::RecordMoveOutResponse r;
  r.set_previous_address_code("140702");
  r.set_moved_out_on("2026-03-05");
  return r;
}

backend::SettleInResponse SettleInReply(const std::string& resident_id = kResidentId) {
  backend::SettleInResponse r;
  backend::GetHouseholdRegistrationResponse* g = r.mutable_registration();
  g->set_resident_id(resident_id);
  g->set_name(kName);
  g->set_address_code("140702");
  g->set_household_number("140702001");
  g->set_relation_code("HZ");
  g->set_household_type_code("01");
  g->set_registered_since("2026-03-06");
  return r;
}

backend::ApplyPensionTransferResponse ApplyReply() {
  backend::ApplyPensionTransferResponse r;
  r.set_application_number("ZJ14070000000003");
  r.set_applied_on("2026-03-01");
  return r;
}

backend::IssueContactLetterResponse LetterReply() {
  backend::IssueContactLetterResponse r;
  r.set_letter_number("LX14070000000004");
  r.set_issued_on("2026-03-01");
  return r;
}

backend::MonthlyContribution WireMonth(const std::string& year_month, const std::string& base,
                                       const std::string& personal, const std::string& employer) {
  backend::MonthlyContribution m;
  m.set_kind_code("YL");
  m.set_year_month(year_month);
  m.set_wage_base(base);
  m.set_personal_amount(personal);
  m.set_employer_amount(employer);
  return m;
}

// Three months: 1997-12 (before the pooled fund), 1998-01 and 1998-02 (12% of 3000.00 and of
// 3000.01, each rounded half up: 360.00 + 360.00).
backend::PensionTransferSheet WireSheet(const std::string& resident_id = kResidentId) {
  backend::PensionTransferSheet s;
  s.set_resident_id(resident_id);
  backend::PensionSheetYear* y1997 = s.add_years();
  y1997->set_year(1997);
  y1997->set_months(1);
  y1997->set_wage_base_total("1500.00");
  y1997->set_personal_amount("120.00");
  y1997->set_employer_amount("300.00");
  backend::PensionSheetYear* y1998 = s.add_years();
  y1998->set_year(1998);
  y1998->set_months(2);
  y1998->set_wage_base_total("6000.01");
  y1998->set_personal_amount("480.00");
  y1998->set_employer_amount("1200.00");
  *s.add_months() = WireMonth("1997-12", "1500.00", "120.00", "300.00");
  *s.add_months() = WireMonth("1998-01", "3000.00", "240.00", "600.00");
  *s.add_months() = WireMonth("1998-02", "3000.01", "240.00", "600.00");
  s.set_personal_account("840.00");
  s.set_pooled_fund("720.00");
  return s;
}

backend::PreparePensionTransferOutResponse PrepareReply() {
  backend::PreparePensionTransferOutResponse r;
  *r.mutable_sheet() = WireSheet();
  return r;
}

backend::CompletePensionTransferOutResponse CompleteReply() {
  backend::CompletePensionTransferOutResponse r;
  r.set_ended_on("2026-03-08");
  return r;
}

backend::ConfirmPensionTransferInResponse ConfirmReply() {
  backend::ConfirmPensionTransferInResponse r;
  r.set_confirmed_on("2026-03-09");
  r.set_applicant_notified(true);
  return r;
}

social::v1::ContributionEntry PensionMonth(int year, int month, int64_t base, int64_t personal,
                                           int64_t employer) {
  social::v1::ContributionEntry e;
  e.set_kind(social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
  e.set_year(year);
  e.set_month(month);
  e.set_months(1);
  e.mutable_wage_base()->set_fen(base);
  e.mutable_personal_amount()->set_fen(personal);
  e.mutable_employer_amount()->set_fen(employer);
  return e;
}

// The canonical sheet WireSheet() stands for.
PensionTransferSheet CanonicalSheet() {
  PensionTransferSheet s;
  s.years.push_back(PensionSheetYear{1997, 1, 150000, 12000, 30000});
  s.years.push_back(PensionSheetYear{1998, 2, 600001, 48000, 120000});
  s.months.push_back(PensionMonth(1997, 12, 150000, 12000, 30000));
  s.months.push_back(PensionMonth(1998, 1, 300000, 24000, 60000));
  s.months.push_back(PensionMonth(1998, 2, 300001, 24000, 60000));
  s.personal_account_fen = 84000;
  s.pooled_fund_fen = 72000;
  return s;
}

// --- The fake backend.

// Answers the eight mobility calls with the reply set for the method (by default the well-formed
// one above) and the status set for all, after an optional delay (on its own thread, so that no
// gRPC thread blocks); records each request, the request id and the deadline it came with.
class FakeMobilityBackend final : public backend::CityBackendService::CallbackService {
 public:
  FakeMobilityBackend() { Reset(); }
  ~FakeMobilityBackend() override { ReleaseAndJoin(); }

  // Back to the well-formed replies, status OK, no delay, no calls seen. Call with no call in flight
  // (after ReleaseAndJoin).
  void Reset() {
    SetReply("IssueMoveInPermit", PermitReply());
    SetReply("RecordMoveOut", MoveOutReply());
    SetReply("SettleIn", SettleInReply());
    SetReply("ApplyPensionTransfer", ApplyReply());
    SetReply("IssueContactLetter", LetterReply());
    SetReply("PreparePensionTransferOut", PrepareReply());
    SetReply("CompletePensionTransferOut", CompleteReply());
    SetReply("ConfirmPensionTransferIn", ConfirmReply());
    absl::MutexLock lock(&mu_);
    status_ = grpc::Status::OK;
    delay_ = absl::ZeroDuration();
    requests_.clear();
    last_request_id_.clear();
    last_deadline_left_ = absl::ZeroDuration();
    release_ = std::make_shared<absl::Notification>();
    calls_ = 0;
  }

  void SetStatus(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
  }
  void SetDelay(absl::Duration delay) {
    absl::MutexLock lock(&mu_);
    delay_ = delay;
  }
  void SetReply(const std::string& method, const google::protobuf::Message& reply) {
    absl::MutexLock lock(&mu_);
    replies_[method] = reply.SerializeAsString();
  }

  int calls() const { return calls_.load(); }
  // The last request of `method`, parsed as Request.
  template <typename Request>
  Request Last(const std::string& method) {
    absl::MutexLock lock(&mu_);
    Request request;
    auto it = requests_.find(method);
    if (it != requests_.end()) {
      EXPECT_TRUE(request.ParseFromString(it->second));
    }
    return request;
  }
  std::string last_request_id() {
    absl::MutexLock lock(&mu_);
    return last_request_id_;
  }
  // How far in the future the last call's deadline was when it arrived.
  absl::Duration last_deadline_left() {
    absl::MutexLock lock(&mu_);
    return last_deadline_left_;
  }

  // Answers every delayed call now and joins their threads. Safe to call more than once.
  void ReleaseAndJoin() {
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      if (!release_->HasBeenNotified()) release_->Notify();
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
  }

  grpc::ServerUnaryReactor* IssueMoveInPermit(grpc::CallbackServerContext* context,
                                              const backend::IssueMoveInPermitRequest* request,
                                              backend::IssueMoveInPermitResponse* response) override {
    return Answer(context, "IssueMoveInPermit", *request, response);
  }
  grpc::ServerUnaryReactor* RecordMoveOut(grpc::CallbackServerContext* context,
                                          const backend::RecordMoveOutRequest* request,
                                          backend::RecordMoveOutResponse* response) override {
    return Answer(context, "RecordMoveOut", *request, response);
  }
  grpc::ServerUnaryReactor* SettleIn(grpc::CallbackServerContext* context,
                                     const backend::SettleInRequest* request,
                                     backend::SettleInResponse* response) override {
    return Answer(context, "SettleIn", *request, response);
  }
  grpc::ServerUnaryReactor* ApplyPensionTransfer(grpc::CallbackServerContext* context,
                                                 const backend::ApplyPensionTransferRequest* request,
                                                 backend::ApplyPensionTransferResponse* response) override {
    return Answer(context, "ApplyPensionTransfer", *request, response);
  }
  grpc::ServerUnaryReactor* IssueContactLetter(grpc::CallbackServerContext* context,
                                               const backend::IssueContactLetterRequest* request,
                                               backend::IssueContactLetterResponse* response) override {
    return Answer(context, "IssueContactLetter", *request, response);
  }
  grpc::ServerUnaryReactor* PreparePensionTransferOut(
      grpc::CallbackServerContext* context, const backend::PreparePensionTransferOutRequest* request,
      backend::PreparePensionTransferOutResponse* response) override {
    return Answer(context, "PreparePensionTransferOut", *request, response);
  }
  grpc::ServerUnaryReactor* CompletePensionTransferOut(
      grpc::CallbackServerContext* context, const backend::CompletePensionTransferOutRequest* request,
      backend::CompletePensionTransferOutResponse* response) override {
    return Answer(context, "CompletePensionTransferOut", *request, response);
  }
  grpc::ServerUnaryReactor* ConfirmPensionTransferIn(
      grpc::CallbackServerContext* context, const backend::ConfirmPensionTransferInRequest* request,
      backend::ConfirmPensionTransferInResponse* response) override {
    return Answer(context, "ConfirmPensionTransferIn", *request, response);
  }

 private:
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, const std::string& method,
                                   const google::protobuf::Message& request,
                                   google::protobuf::Message* response) {
    ++calls_;
    absl::MutexLock lock(&mu_);
    requests_[method] = request.SerializeAsString();
    auto id = context->client_metadata().find("x-request-id");
    last_request_id_ =
        id == context->client_metadata().end() ? "" : std::string(id->second.data(), id->second.size());
    last_deadline_left_ = absl::FromChrono(context->deadline()) - absl::Now();
    EXPECT_TRUE(response->ParseFromString(replies_[method]));
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (delay_ <= absl::ZeroDuration()) {
      reactor->Finish(status_);
      return reactor;
    }
    threads_.emplace_back([reactor, release = release_, delay = delay_, status = status_] {
      release->WaitForNotificationWithTimeout(delay);
      reactor->Finish(status);
    });
    return reactor;
  }

  absl::Mutex mu_;
  grpc::Status status_ ABSL_GUARDED_BY(mu_) = grpc::Status::OK;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  std::map<std::string, std::string> replies_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::string last_request_id_ ABSL_GUARDED_BY(mu_);
  absl::Duration last_deadline_left_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> calls_{0};
  std::shared_ptr<absl::Notification> release_ ABSL_GUARDED_BY(mu_);
};

template <typename T>
absl::StatusOr<T> Await(const std::function<void(Callback<T>)>& call) {
  absl::Notification done;
  absl::StatusOr<T> result = absl::UnknownError("not called");
  call([&](absl::StatusOr<T> r) {
    result = std::move(r);
    done.Notify();
  });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(10))) {
    return absl::DeadlineExceededError("no answer");
  }
  return result;
}

template <typename T>
void ExpectInternal(const absl::StatusOr<T>& result, const std::vector<std::string>& parts) {
  ASSERT_FALSE(result.ok()) << "translated a malformed answer";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal) << result.status();
  for (const std::string& part : parts) {
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(part)) << result.status();
  }
}

// One fake backend and server for the whole suite: gRPC 1.51 can abort ("assertion failed: prior >
// 0" in grpc_cq_internal_unref) when the last callback server or channel of a process releases the
// shared callback completion queue while a new one takes it, as a server per test does now and then.
// The suite's server holds it throughout; each test starts from FakeMobilityBackend::Reset().
class MobilityAdapterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeMobilityBackend();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(fake_);
    server_ = builder.BuildAndStart().release();
  }
  static void TearDownTestSuite() {
    fake_->ReleaseAndJoin();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_->Wait();
    delete server_;
    delete fake_;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    fake_->Reset();
    UseCity(City::CITY_JINZHONG, JinzhongDialect(), absl::Seconds(5));
  }
  void TearDown() override {
    fake_->ReleaseAndJoin();
    adapter_.reset();
  }

  void UseCity(City city, std::shared_ptr<const Dialect> dialect, absl::Duration city_deadline) {
    GrpcBackendOptions options;
    options.city = city;
    options.city_deadline = city_deadline;
    options.dialect = std::move(dialect);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    adapter_ = std::make_unique<GrpcBackendAdapter>(std::move(options), channel,
                                                    backend::CityBackendService::NewStub(channel));
  }

  // One call of each kind, with the canonical requests below, for `who`.
  absl::StatusOr<MoveInPermit> Permit(const std::string& who = kResidentId, const CallOptions& call = {}) {
    return Await<MoveInPermit>(
        [&](auto done) { adapter_->IssueMoveInPermit(kKey, who, City::CITY_TAIYUAN, "140702", call, done); });
  }
  absl::StatusOr<MoveOutRecord> MoveOut(const std::string& who = kResidentId, const CallOptions& call = {},
                                        absl::CivilDay valid_until = absl::CivilDay(2026, 4, 10)) {
    return Await<MoveOutRecord>([&](auto done) {
      adapter_->RecordMoveOut(kKey, who, City::CITY_XINZHOU, "ZR14090000000001", valid_until, call, done);
    });
  }
  absl::StatusOr<SettleInResult> Settle(const std::string& who = kResidentId, const CallOptions& call = {},
                                        const std::string& name = kName) {
    return Await<SettleInResult>(
        [&](auto done) { adapter_->SettleIn(kKey, who, "ZR14070000000001", "140702", name, call, done); });
  }
  absl::StatusOr<PensionApplication> Apply(const std::string& who = kResidentId,
                                           const CallOptions& call = {}) {
    return Await<PensionApplication>(
        [&](auto done) { adapter_->ApplyPensionTransfer(kKey, who, City::CITY_LVLIANG, call, done); });
  }
  absl::StatusOr<ContactLetter> Letter(const std::string& who = kResidentId, const CallOptions& call = {}) {
    return Await<ContactLetter>(
        [&](auto done) { adapter_->IssueContactLetter(kKey, who, "ZJ14070000000003", call, done); });
  }
  absl::StatusOr<PreparedTransferOut> Prepare(const std::string& who = kResidentId,
                                              const CallOptions& call = {}) {
    return Await<PreparedTransferOut>([&](auto done) {
      adapter_->PreparePensionTransferOut(kKey, who, City::CITY_YANGQUAN, "LX14030000000004", call, done);
    });
  }
  absl::StatusOr<TransferOutCompletion> Complete(const std::string& who = kResidentId,
                                                 const CallOptions& call = {}, int64_t personal = 84000,
                                                 int64_t pooled = 72000) {
    return Await<TransferOutCompletion>([&](auto done) {
      adapter_->CompletePensionTransferOut(kKey, who, City::CITY_YANGQUAN, "LX14030000000004", personal,
                                           pooled, call, done);
    });
  }
  absl::StatusOr<TransferInConfirmation> Confirm(const std::string& who = kResidentId,
                                                 const CallOptions& call = {},
                                                 const PensionTransferSheet& sheet = CanonicalSheet()) {
    return Await<TransferInConfirmation>([&](auto done) {
      adapter_->ConfirmPensionTransferIn(kKey, who, "ZJ14070000000003", City::CITY_TAIYUAN, sheet, call,
                                         done);
    });
  }

  // Every call by its contract method name, for the checks that hold for all of them.
  struct Rpc {
    std::string method;
    std::function<absl::Status(const std::string& who, const CallOptions& call)> call;
  };
  std::vector<Rpc> AllRpcs() {
    return {
        {"IssueMoveInPermit", [this](auto& who, auto& call) { return Permit(who, call).status(); }},
        {"RecordMoveOut", [this](auto& who, auto& call) { return MoveOut(who, call).status(); }},
        {"SettleIn", [this](auto& who, auto& call) { return Settle(who, call).status(); }},
        {"ApplyPensionTransfer", [this](auto& who, auto& call) { return Apply(who, call).status(); }},
        {"IssueContactLetter", [this](auto& who, auto& call) { return Letter(who, call).status(); }},
        {"PreparePensionTransferOut", [this](auto& who, auto& call) { return Prepare(who, call).status(); }},
        {"CompletePensionTransferOut",
         [this](auto& who, auto& call) { return Complete(who, call).status(); }},
        {"ConfirmPensionTransferIn", [this](auto& who, auto& call) { return Confirm(who, call).status(); }},
    };
  }

  static FakeMobilityBackend* fake_;
  static grpc::Server* server_;
  static int port_;
  std::unique_ptr<GrpcBackendAdapter> adapter_;
};

FakeMobilityBackend* MobilityAdapterTest::fake_ = nullptr;
grpc::Server* MobilityAdapterTest::server_ = nullptr;
int MobilityAdapterTest::port_ = 0;

// --- Household migration.

TEST_F(MobilityAdapterTest, IssueMoveInPermitSendsTheContractFieldsAndTranslatesThePermit) {
  absl::StatusOr<MoveInPermit> permit = Permit();
  ASSERT_TRUE(permit.ok()) << permit.status();
  const auto sent = fake_->Last<backend::IssueMoveInPermitRequest>("IssueMoveInPermit");
  EXPECT_EQ(sent.request_key(), kKey);
  EXPECT_EQ(sent.resident_id(), kResidentId);
  EXPECT_EQ(sent.origin_city_code(), "140100");  // Taiyuan's prefecture code
  EXPECT_EQ(sent.address_code(), "140702");
  EXPECT_EQ(permit->permit_number, "ZR14070000000001");
  EXPECT_EQ(permit->issued_on, absl::CivilDay(2026, 3, 2));
  EXPECT_EQ(permit->valid_until, absl::CivilDay(2026, 4, 10));
  EXPECT_FALSE(permit->replayed);

  backend::IssueMoveInPermitResponse replayed = PermitReply();
  replayed.set_replayed(true);
  fake_->SetReply("IssueMoveInPermit", replayed);
  ASSERT_TRUE(Permit().ok());
  EXPECT_TRUE(Permit()->replayed);
}

TEST_F(MobilityAdapterTest, RecordMoveOutSendsThePermitInTheCitysDateFormat) {
  absl::StatusOr<MoveOutRecord> record = MoveOut();
  ASSERT_TRUE(record.ok()) << record.status();
  const auto sent = fake_->Last<backend::RecordMoveOutRequest>("RecordMoveOut");
  EXPECT_EQ(sent.request_key(), kKey);
  EXPECT_EQ(sent.resident_id(), kResidentId);
  EXPECT_EQ(sent.destination_city_code(), "140900");
  EXPECT_EQ(sent.permit_number(), "ZR14090000000001");
  EXPECT_EQ(sent.permit_valid_until(), "2026-04-10");
  EXPECT_EQ(record->previous_address_code, "140702");
  EXPECT_EQ(record->moved_out_on, absl::CivilDay(2026, 3, 5));
  EXPECT_FALSE(record->replayed);

  backend::RecordMoveOutResponse replayed = MoveOutReply();
  replayed.set_replayed(true);
  fake_->SetReply("RecordMoveOut", replayed);
  EXPECT_TRUE(MoveOut()->replayed);
}

TEST_F(MobilityAdapterTest, SettleInSendsTheNameAndTranslatesTheRegistration) {
  absl::StatusOr<SettleInResult> settled = Settle();
  ASSERT_TRUE(settled.ok()) << settled.status();
  const auto sent = fake_->Last<backend::SettleInRequest>("SettleIn");
  EXPECT_EQ(sent.request_key(), kKey);
  EXPECT_EQ(sent.resident_id(), kResidentId);
  EXPECT_EQ(sent.permit_number(), "ZR14070000000001");
  EXPECT_EQ(sent.address_code(), "140702");
  EXPECT_EQ(sent.name(), kName);
  const household::v1::GetHouseholdRecordResponse& r = settled->registration;
  EXPECT_EQ(r.resident_id(), kResidentId);
  EXPECT_EQ(r.name(), kName);
  EXPECT_EQ(r.registered_city().city(), City::CITY_JINZHONG);
  EXPECT_EQ(r.address_code(), "140702");
  EXPECT_EQ(r.household_number(), "140702001");
  EXPECT_EQ(r.relation_to_head(), household::v1::RELATION_TO_HEAD_HEAD);
  EXPECT_EQ(r.household_type(), household::v1::HOUSEHOLD_TYPE_FAMILY);
  EXPECT_EQ(r.registered_since().year(), 2026);
  EXPECT_EQ(r.registered_since().month(), 3);
  EXPECT_EQ(r.registered_since().day(), 6);
  EXPECT_FALSE(settled->replayed);

  backend::SettleInResponse replayed = SettleInReply();
  replayed.set_replayed(true);
  fake_->SetReply("SettleIn", replayed);
  EXPECT_TRUE(Settle()->replayed);
}

// Xinzhou keys older persons by their legacy number, writes names in GB 18030 and dates with
// slashes: every call asks for the person in that form, and answers in it translate back.
TEST_F(MobilityAdapterTest, ACityOfLegacyNumbersAndGb18030IsAskedInItsOwnForms) {
  UseCity(City::CITY_XINZHOU, XinzhouDialect(), absl::Seconds(5));
  backend::IssueMoveInPermitResponse permit = PermitReply();
  permit.set_issued_on("2026/03/02");
  permit.set_valid_until("2026/04/10");
  fake_->SetReply("IssueMoveInPermit", permit);
  backend::RecordMoveOutResponse moved = MoveOutReply();
  moved.set_previous_address_code("140902");
  moved.set_moved_out_on("2026/03/05");
  fake_->SetReply("RecordMoveOut", moved);
  absl::StatusOr<std::string> gb_name = EncodeText(kName, config::v1::TEXT_ENCODING_GB18030);
  ASSERT_TRUE(gb_name.ok());
  ASSERT_NE(*gb_name, kName);
  backend::SettleInResponse settled = SettleInReply(kOldPersonLegacy);
  settled.mutable_registration()->set_name(*gb_name);
  settled.mutable_registration()->set_registered_since("2026/03/06");
  fake_->SetReply("SettleIn", settled);

  absl::StatusOr<MoveInPermit> issued = Permit(kOldPerson);
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->valid_until, absl::CivilDay(2026, 4, 10));
  EXPECT_EQ(fake_->Last<backend::IssueMoveInPermitRequest>("IssueMoveInPermit").resident_id(),
            kOldPersonLegacy);

  absl::StatusOr<MoveOutRecord> record = MoveOut(kOldPerson);
  ASSERT_TRUE(record.ok()) << record.status();
  const auto move_out = fake_->Last<backend::RecordMoveOutRequest>("RecordMoveOut");
  EXPECT_EQ(move_out.resident_id(), kOldPersonLegacy);
  EXPECT_EQ(move_out.permit_valid_until(), "2026/04/10");

  absl::StatusOr<SettleInResult> result = Settle(kOldPerson);
  ASSERT_TRUE(result.ok()) << result.status();
  const auto settle = fake_->Last<backend::SettleInRequest>("SettleIn");
  EXPECT_EQ(settle.resident_id(), kOldPersonLegacy);
  EXPECT_EQ(settle.name(), *gb_name);
  EXPECT_EQ(result->registration.resident_id(), kOldPerson);
  EXPECT_EQ(result->registration.name(), kName);

  // The pension calls' canned answers are in Jinzhong's dialect: only what was asked matters here.
  (void)Apply(kOldPerson);
  EXPECT_EQ(fake_->Last<backend::ApplyPensionTransferRequest>("ApplyPensionTransfer").resident_id(),
            kOldPersonLegacy);
  (void)Letter(kOldPerson);
  EXPECT_EQ(fake_->Last<backend::IssueContactLetterRequest>("IssueContactLetter").resident_id(),
            kOldPersonLegacy);
  (void)Prepare(kOldPerson);
  EXPECT_EQ(fake_->Last<backend::PreparePensionTransferOutRequest>("PreparePensionTransferOut").resident_id(),
            kOldPersonLegacy);
  (void)Complete(kOldPerson);
  const auto complete = fake_->Last<backend::CompletePensionTransferOutRequest>("CompletePensionTransferOut");
  EXPECT_EQ(complete.resident_id(), kOldPersonLegacy);
  EXPECT_EQ(complete.personal_account(), "84000");  // integer fen
  EXPECT_EQ(complete.pooled_fund(), "72000");
  (void)Confirm(kOldPerson);
  const auto confirm = fake_->Last<backend::ConfirmPensionTransferInRequest>("ConfirmPensionTransferIn");
  EXPECT_EQ(confirm.resident_id(), kOldPersonLegacy);
  EXPECT_EQ(confirm.sheet().resident_id(), kOldPersonLegacy);
  ASSERT_EQ(confirm.sheet().months_size(), 3);
  EXPECT_EQ(confirm.sheet().months(1).year_month(), "1998/01");
  EXPECT_EQ(confirm.sheet().months(1).wage_base(), "300000");
}

// --- Pension transfer.

TEST_F(MobilityAdapterTest, ApplyAndLetterSendTheContractFieldsAndTranslateTheAnswers) {
  absl::StatusOr<PensionApplication> application = Apply();
  ASSERT_TRUE(application.ok()) << application.status();
  const auto apply = fake_->Last<backend::ApplyPensionTransferRequest>("ApplyPensionTransfer");
  EXPECT_EQ(apply.request_key(), kKey);
  EXPECT_EQ(apply.resident_id(), kResidentId);
  EXPECT_EQ(apply.origin_city_code(), "141100");  // Lüliang's prefecture code
  EXPECT_EQ(application->application_number, "ZJ14070000000003");
  EXPECT_EQ(application->applied_on, absl::CivilDay(2026, 3, 1));
  EXPECT_FALSE(application->replayed);

  absl::StatusOr<ContactLetter> letter = Letter();
  ASSERT_TRUE(letter.ok()) << letter.status();
  const auto issue = fake_->Last<backend::IssueContactLetterRequest>("IssueContactLetter");
  EXPECT_EQ(issue.request_key(), kKey);
  EXPECT_EQ(issue.resident_id(), kResidentId);
  EXPECT_EQ(issue.application_number(), "ZJ14070000000003");
  EXPECT_EQ(letter->letter_number, "LX14070000000004");
  EXPECT_EQ(letter->issued_on, absl::CivilDay(2026, 3, 1));
  EXPECT_FALSE(letter->replayed);

  backend::ApplyPensionTransferResponse apply_again = ApplyReply();
  apply_again.set_replayed(true);
  fake_->SetReply("ApplyPensionTransfer", apply_again);
  EXPECT_TRUE(Apply()->replayed);
  backend::IssueContactLetterResponse letter_again = LetterReply();
  letter_again.set_replayed(true);
  fake_->SetReply("IssueContactLetter", letter_again);
  EXPECT_TRUE(Letter()->replayed);
}

TEST_F(MobilityAdapterTest, PrepareTranslatesTheSheetAndTheFunds) {
  absl::StatusOr<PreparedTransferOut> prepared = Prepare();
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  const auto sent = fake_->Last<backend::PreparePensionTransferOutRequest>("PreparePensionTransferOut");
  EXPECT_EQ(sent.request_key(), kKey);
  EXPECT_EQ(sent.resident_id(), kResidentId);
  EXPECT_EQ(sent.destination_city_code(), "140300");  // Yangquan's prefecture code
  EXPECT_EQ(sent.letter_number(), "LX14030000000004");
  const PensionTransferSheet& sheet = prepared->sheet;
  const PensionTransferSheet expected = CanonicalSheet();
  ASSERT_EQ(sheet.years.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(sheet.years[i].year, expected.years[i].year);
    EXPECT_EQ(sheet.years[i].months, expected.years[i].months);
    EXPECT_EQ(sheet.years[i].wage_base_total_fen, expected.years[i].wage_base_total_fen);
    EXPECT_EQ(sheet.years[i].personal_fen, expected.years[i].personal_fen);
    EXPECT_EQ(sheet.years[i].employer_fen, expected.years[i].employer_fen);
  }
  ASSERT_EQ(sheet.months.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sheet.months[i].kind(), social::v1::INSURANCE_KIND_EMPLOYEE_PENSION);
    EXPECT_EQ(sheet.months[i].city().city(), City::CITY_JINZHONG);
    EXPECT_EQ(sheet.months[i].months(), 1);
    EXPECT_EQ(sheet.months[i].year(), expected.months[i].year());
    EXPECT_EQ(sheet.months[i].month(), expected.months[i].month());
    EXPECT_EQ(sheet.months[i].wage_base().fen(), expected.months[i].wage_base().fen());
    EXPECT_EQ(sheet.months[i].personal_amount().fen(), expected.months[i].personal_amount().fen());
    EXPECT_EQ(sheet.months[i].employer_amount().fen(), expected.months[i].employer_amount().fen());
  }
  EXPECT_EQ(sheet.personal_account_fen, 84000);
  EXPECT_EQ(sheet.pooled_fund_fen, 72000);
  EXPECT_FALSE(prepared->replayed);

  backend::PreparePensionTransferOutResponse again = PrepareReply();
  again.set_replayed(true);
  fake_->SetReply("PreparePensionTransferOut", again);
  EXPECT_TRUE(Prepare()->replayed);
}

TEST_F(MobilityAdapterTest, CompleteSendsTheFundsInTheCitysMoneyFormat) {
  absl::StatusOr<TransferOutCompletion> completed = Complete(kResidentId, {}, 123456, 5);
  ASSERT_TRUE(completed.ok()) << completed.status();
  const auto sent = fake_->Last<backend::CompletePensionTransferOutRequest>("CompletePensionTransferOut");
  EXPECT_EQ(sent.request_key(), kKey);
  EXPECT_EQ(sent.resident_id(), kResidentId);
  EXPECT_EQ(sent.destination_city_code(), "140300");
  EXPECT_EQ(sent.letter_number(), "LX14030000000004");
  EXPECT_EQ(sent.personal_account(), "1234.56");
  EXPECT_EQ(sent.pooled_fund(), "0.05");
  EXPECT_EQ(completed->ended_on, absl::CivilDay(2026, 3, 8));
  EXPECT_FALSE(completed->replayed);

  backend::CompletePensionTransferOutResponse again = CompleteReply();
  again.set_replayed(true);
  fake_->SetReply("CompletePensionTransferOut", again);
  EXPECT_TRUE(Complete()->replayed);
}

TEST_F(MobilityAdapterTest, ConfirmSendsTheSheetInTheCitysDialect) {
  absl::StatusOr<TransferInConfirmation> confirmed = Confirm();
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  const auto sent = fake_->Last<backend::ConfirmPensionTransferInRequest>("ConfirmPensionTransferIn");
  EXPECT_EQ(sent.request_key(), kKey);
  EXPECT_EQ(sent.resident_id(), kResidentId);
  EXPECT_EQ(sent.application_number(), "ZJ14070000000003");
  EXPECT_EQ(sent.origin_city_code(), "140100");
  // Exactly the sheet the origin would have written in this city's dialect: the local pension code,
  // months "YYYY-MM", yuan with two decimals.
  EXPECT_EQ(sent.sheet().SerializeAsString(), WireSheet().SerializeAsString()) << sent.sheet().DebugString();
  EXPECT_EQ(confirmed->confirmed_on, absl::CivilDay(2026, 3, 9));
  EXPECT_TRUE(confirmed->applicant_notified);
  EXPECT_FALSE(confirmed->replayed);

  backend::ConfirmPensionTransferInResponse again = ConfirmReply();
  again.set_applicant_notified(false);
  again.set_replayed(true);
  fake_->SetReply("ConfirmPensionTransferIn", again);
  absl::StatusOr<TransferInConfirmation> replayed = Confirm();
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_TRUE(replayed->replayed);
  EXPECT_FALSE(replayed->applicant_notified);
}

// --- Malformed answers: INTERNAL naming the city and the field, whatever the call.

TEST_F(MobilityAdapterTest, MalformedMigrationAnswersAreInternalNamingTheField) {
  struct Case {
    std::function<void(backend::IssueMoveInPermitResponse&)> mutate;
    std::vector<std::string> parts;
  };
  const Case permits[] = {
      {[](auto& r) { r.set_issued_on("2026/03/02"); }, {"city jinzhong", "issued_on", "YYYY-MM-DD"}},
      {[](auto& r) { r.set_issued_on("2026-02-30"); }, {"issued_on", "not a real date"}},
      {[](auto& r) { r.clear_issued_on(); }, {"issued_on"}},
      {[](auto& r) { r.set_valid_until("20260410"); }, {"valid_until"}},
      {[](auto& r) { r.clear_valid_until(); }, {"valid_until"}},
      {[](auto& r) { r.set_valid_until("2026-03-01"); }, {"valid_until", "not before issued_on"}},
      {[](auto& r) { r.clear_permit_number(); }, {"city jinzhong", "permit_number"}},
  };
  for (const Case& c : permits) {
    backend::IssueMoveInPermitResponse r = PermitReply();
    c.mutate(r);
    fake_->SetReply("IssueMoveInPermit", r);
    ExpectInternal(Permit(), c.parts);
  }

  backend::RecordMoveOutResponse moved = MoveOutReply();
  moved.clear_previous_address_code();
  fake_->SetReply("RecordMoveOut", moved);
  ExpectInternal(MoveOut(), {"city jinzhong", "previous_address_code", "six-digit"});
  moved.set_previous_address_code("14070A");
  fake_->SetReply("RecordMoveOut", moved);
  ExpectInternal(MoveOut(), {"previous_address_code"});
  moved = MoveOutReply();
  moved.set_moved_out_on("2026-13-01");
  fake_->SetReply("RecordMoveOut", moved);
  ExpectInternal(MoveOut(), {"city jinzhong", "moved_out_on"});
  moved.clear_moved_out_on();
  fake_->SetReply("RecordMoveOut", moved);
  ExpectInternal(MoveOut(), {"moved_out_on"});

  struct SettleCase {
    std::function<void(backend::GetHouseholdRegistrationResponse&)> mutate;
    std::vector<std::string> parts;
  };
  const SettleCase registrations[] = {
      {[](auto& g) { g.set_relation_code("02"); }, {"city jinzhong", "relation_code", "relations"}},
      {[](auto& g) { g.set_household_type_code("9"); }, {"household_type_code", "household_types"}},
      {[](auto& g) { g.set_registered_since("2026-3-6"); }, {"registered_since"}},
      {[](auto& g) { g.clear_household_number(); }, {"household_number"}},
      {[](auto& g) { g.clear_name(); }, {"name"}},
      {[](auto& g) { g.set_address_code("1407"); }, {"address_code"}},
      {[](auto& g) { g.set_address_code("140703"); }, {"address_code", "not the address settled in"}},
      {[](auto& g) { g.set_resident_id(kSomeoneElse); }, {"resident_id", "not the person asked about"}},
      {[](auto& g) { g.clear_resident_id(); }, {"resident_id"}},
  };
  for (const SettleCase& c : registrations) {
    backend::SettleInResponse r = SettleInReply();
    c.mutate(*r.mutable_registration());
    fake_->SetReply("SettleIn", r);
    absl::StatusOr<SettleInResult> result = Settle();
    ExpectInternal(result, c.parts);
    // An answer about someone else is refused without quoting their number.
    if (!result.ok()) {
      EXPECT_THAT(std::string(result.status().message()), Not(HasSubstr(kSomeoneElse)));
    }
  }
  fake_->SetReply("SettleIn", backend::SettleInResponse());  // no registration at all
  ExpectInternal(Settle(), {"city jinzhong", "resident_id"});
}

TEST_F(MobilityAdapterTest, MalformedPensionAnswersAreInternalNamingTheField) {
  backend::ApplyPensionTransferResponse apply = ApplyReply();
  apply.clear_application_number();
  fake_->SetReply("ApplyPensionTransfer", apply);
  ExpectInternal(Apply(), {"city jinzhong", "application_number"});
  apply = ApplyReply();
  apply.set_applied_on("01.03.2026");
  fake_->SetReply("ApplyPensionTransfer", apply);
  ExpectInternal(Apply(), {"applied_on"});

  backend::IssueContactLetterResponse letter = LetterReply();
  letter.clear_letter_number();
  fake_->SetReply("IssueContactLetter", letter);
  ExpectInternal(Letter(), {"city jinzhong", "letter_number"});
  letter = LetterReply();
  letter.clear_issued_on();
  fake_->SetReply("IssueContactLetter", letter);
  ExpectInternal(Letter(), {"issued_on"});

  struct Case {
    std::function<void(backend::PensionTransferSheet&)> mutate;
    std::vector<std::string> parts;
  };
  const Case sheets[] = {
      {[](auto& s) { s.set_personal_account("-840.00"); }, {"city jinzhong", "sheet.personal_account"}},
      {[](auto& s) { s.set_pooled_fund("720.001"); }, {"sheet.pooled_fund"}},
      {[](auto& s) { s.clear_pooled_fund(); }, {"sheet.pooled_fund"}},
      {[](auto& s) { s.mutable_years(1)->set_months(13); }, {"sheet.years[1].months", "1 to 12"}},
      {[](auto& s) { s.mutable_years(1)->set_months(0); }, {"sheet.years[1].months"}},
      {[](auto& s) { s.mutable_years(0)->set_year(0); }, {"sheet.years[0].year"}},
      {[](auto& s) { s.mutable_years(0)->set_wage_base_total("-1500.00"); },
       {"sheet.years[0].wage_base_total"}},
      {[](auto& s) { s.mutable_years(1)->clear_employer_amount(); }, {"sheet.years[1].employer_amount"}},
      {[](auto& s) { s.mutable_months(2)->set_kind_code("110"); },
       {"months[2].kind_code", "contribution_kinds"}},
      {[](auto& s) { s.mutable_months(2)->set_kind_code("YB"); }, {"months[2].kind_code", "pension"}},
      {[](auto& s) { s.mutable_months(0)->set_year_month("1997-13"); }, {"months[0].year_month"}},
      {[](auto& s) { s.mutable_months(1)->set_wage_base("-3000.00"); }, {"months[1].wage_base"}},
      {[](auto& s) { s.mutable_months(1)->clear_personal_amount(); }, {"months[1].personal_amount"}},
      {[](auto& s) { s.set_resident_id(kSomeoneElse); }, {"sheet.resident_id", "not the person asked about"}},
      {[](auto& s) { s.clear_resident_id(); }, {"sheet.resident_id"}},
  };
  for (const Case& c : sheets) {
    backend::PreparePensionTransferOutResponse r = PrepareReply();
    c.mutate(*r.mutable_sheet());
    fake_->SetReply("PreparePensionTransferOut", r);
    ExpectInternal(Prepare(), c.parts);
  }
  fake_->SetReply("PreparePensionTransferOut", backend::PreparePensionTransferOutResponse());  // no sheet
  ExpectInternal(Prepare(), {"city jinzhong", "sheet.resident_id"});

  backend::CompletePensionTransferOutResponse complete = CompleteReply();
  complete.set_ended_on("2026-02-29");  // 2026 is not a leap year
  fake_->SetReply("CompletePensionTransferOut", complete);
  ExpectInternal(Complete(), {"city jinzhong", "ended_on"});
  fake_->SetReply("CompletePensionTransferOut", backend::CompletePensionTransferOutResponse());
  ExpectInternal(Complete(), {"ended_on"});

  backend::ConfirmPensionTransferInResponse confirm = ConfirmReply();
  confirm.set_confirmed_on("2026-03-09T10:00");
  fake_->SetReply("ConfirmPensionTransferIn", confirm);
  ExpectInternal(Confirm(), {"city jinzhong", "confirmed_on"});
  fake_->SetReply("ConfirmPensionTransferIn", backend::ConfirmPensionTransferInResponse());
  ExpectInternal(Confirm(), {"confirmed_on"});
}

// --- The city's errors.

TEST_F(MobilityAdapterTest, TheCitysRefusalsKeepTheirCodeNamingTheCity) {
  const std::pair<grpc::StatusCode, absl::StatusCode> codes[] = {
      {grpc::StatusCode::FAILED_PRECONDITION, absl::StatusCode::kFailedPrecondition},
      {grpc::StatusCode::ALREADY_EXISTS, absl::StatusCode::kAlreadyExists},
      {grpc::StatusCode::INVALID_ARGUMENT, absl::StatusCode::kInvalidArgument},
      {grpc::StatusCode::ABORTED, absl::StatusCode::kAborted},
  };
  for (const Rpc& rpc : AllRpcs()) {
    for (const auto& [sent, expected] : codes) {
      fake_->SetStatus(grpc::Status(sent, "the permit to move in expired on 2026-03-01"));
      const absl::Status status = rpc.call(kResidentId, {});
      EXPECT_EQ(status.code(), expected) << rpc.method << ": " << status;
      EXPECT_THAT(std::string(status.message()), StartsWith("city jinzhong refused ")) << rpc.method;
      EXPECT_THAT(std::string(status.message()), HasSubstr("the permit to move in expired on 2026-03-01"))
          << rpc.method;
    }
  }
}

TEST_F(MobilityAdapterTest, TheCitysOtherErrorsAreMappedNamingTheCity) {
  const std::pair<grpc::StatusCode, absl::StatusCode> codes[] = {
      {grpc::StatusCode::NOT_FOUND, absl::StatusCode::kNotFound},
      {grpc::StatusCode::UNAVAILABLE, absl::StatusCode::kUnavailable},
      {grpc::StatusCode::UNIMPLEMENTED, absl::StatusCode::kUnimplemented},
      {grpc::StatusCode::CANCELLED, absl::StatusCode::kCancelled},
      {grpc::StatusCode::PERMISSION_DENIED, absl::StatusCode::kInternal},
      {grpc::StatusCode::INTERNAL, absl::StatusCode::kInternal},
  };
  for (const Rpc& rpc : AllRpcs()) {
    for (const auto& [sent, expected] : codes) {
      fake_->SetStatus(grpc::Status(sent, "backend says no"));
      const absl::Status status = rpc.call(kResidentId, {});
      EXPECT_EQ(status.code(), expected) << rpc.method << ": " << status;
      EXPECT_THAT(std::string(status.message()), HasSubstr("city jinzhong")) << rpc.method << ": " << status;
    }
  }
  // What each call says the city holds no record of, or does not offer.
  fake_->SetStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "no"));
  EXPECT_EQ(MoveOut().status().message(), "city jinzhong holds no household registration for this person");
  EXPECT_EQ(Prepare().status().message(), "city jinzhong holds no pension record for this person");
  fake_->SetStatus(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no"));
  EXPECT_EQ(Settle().status().message(), "city jinzhong's backend does not offer the settling-in");
  EXPECT_EQ(Confirm().status().message(), "city jinzhong's backend does not offer the transfer in");
}

// --- What every call carries.

TEST_F(MobilityAdapterTest, EveryCallCarriesTheRequestIdAndTheCitysDeadline) {
  UseCity(City::CITY_JINZHONG, JinzhongDialect(), absl::Seconds(3));
  for (const Rpc& rpc : AllRpcs()) {
    CallOptions call;
    call.request_id = absl::StrCat("req-", rpc.method);
    call.deadline = absl::Now() + absl::Seconds(60);  // the city's 3 s bind
    ASSERT_TRUE(rpc.call(kResidentId, call).ok()) << rpc.method;
    EXPECT_EQ(fake_->last_request_id(), call.request_id) << rpc.method;
    // gRPC rounds a deadline it sends up to its timeout unit: a few milliseconds of slack.
    EXPECT_LE(fake_->last_deadline_left(), absl::Milliseconds(3100)) << rpc.method;
    EXPECT_GT(fake_->last_deadline_left(), absl::Seconds(2)) << rpc.method;

    call.deadline = absl::Now() + absl::Milliseconds(1500);  // the caller's bind
    ASSERT_TRUE(rpc.call(kResidentId, call).ok()) << rpc.method;
    EXPECT_LE(fake_->last_deadline_left(), absl::Milliseconds(1600)) << rpc.method;
  }
}

TEST_F(MobilityAdapterTest, ASlowCityIsUnavailableAfterItsDeadlineAndTheCallersDeadlineIsTheCallers) {
  UseCity(City::CITY_JINZHONG, JinzhongDialect(), absl::Milliseconds(200));
  fake_->SetDelay(absl::Seconds(5));
  for (const Rpc& rpc : AllRpcs()) {
    const absl::Time start = absl::Now();
    absl::Status status = rpc.call(kResidentId, {});
    EXPECT_LT(absl::Now() - start, absl::Seconds(2)) << rpc.method;
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << rpc.method << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("city jinzhong did not answer within its deadline"))
        << rpc.method;

    CallOptions call;
    call.deadline = absl::Now() + absl::Milliseconds(100);
    status = rpc.call(kResidentId, call);
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << rpc.method << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("waiting for city jinzhong")) << rpc.method;
  }
}

// --- Requests the contract cannot carry: refused before any call.

TEST_F(MobilityAdapterTest, RequestsTheContractCannotCarryAreInvalidWithoutACall) {
  const auto expect_invalid = [](const absl::Status& status, const std::string& field) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field << ": " << status;
    EXPECT_THAT(std::string(status.message()), StartsWith(field + ":")) << status;
  };
  expect_invalid(Await<MoveInPermit>([&](auto done) {
                   adapter_->IssueMoveInPermit(kKey, kResidentId, City::CITY_UNSPECIFIED, "140702", {}, done);
                 }).status(),
                 "origin");
  expect_invalid(Await<MoveOutRecord>([&](auto done) {
                   adapter_->RecordMoveOut(kKey, kResidentId, City::CITY_UNSPECIFIED, "ZR1",
                                           absl::CivilDay(2026, 4, 10), {}, done);
                 }).status(),
                 "destination");
  expect_invalid(MoveOut(kResidentId, {}, absl::CivilDay(1800, 1, 1)).status(), "permit_valid_until");
  expect_invalid(Settle(kResidentId, {}, "").status(), "name");
  expect_invalid(Await<PensionApplication>([&](auto done) {
                   adapter_->ApplyPensionTransfer(kKey, kResidentId, City::CITY_UNSPECIFIED, {}, done);
                 }).status(),
                 "origin");
  expect_invalid(Await<PreparedTransferOut>([&](auto done) {
                   adapter_->PreparePensionTransferOut(kKey, kResidentId, City::CITY_UNSPECIFIED, "LX1", {},
                                                       done);
                 }).status(),
                 "destination");
  expect_invalid(Complete(kResidentId, {}, -1, 72000).status(), "sheet.personal_account_fen");
  expect_invalid(Complete(kResidentId, {}, 84000, -1).status(), "sheet.pooled_fund_fen");
  expect_invalid(Await<TransferOutCompletion>([&](auto done) {
                   adapter_->CompletePensionTransferOut(kKey, kResidentId, City::CITY_UNSPECIFIED, "LX1", 1,
                                                        1, {}, done);
                 }).status(),
                 "destination");
  PensionTransferSheet negative = CanonicalSheet();
  negative.months[1].mutable_employer_amount()->set_fen(-1);
  expect_invalid(Confirm(kResidentId, {}, negative).status(), "sheet.months[1].employer_amount");
  PensionTransferSheet no_month = CanonicalSheet();
  no_month.months[0].set_month(13);
  expect_invalid(Confirm(kResidentId, {}, no_month).status(), "sheet.months[0].month");
  expect_invalid(Await<TransferInConfirmation>([&](auto done) {
                   adapter_->ConfirmPensionTransferIn(kKey, kResidentId, "ZJ1", City::CITY_UNSPECIFIED,
                                                      CanonicalSheet(), {}, done);
                 }).status(),
                 "origin");
  EXPECT_EQ(fake_->calls(), 0);
}

}  // namespace
}  // namespace interop::adapters
