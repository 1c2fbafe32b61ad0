// Cross-city medical settlement in the gRPC adapter: DialectTranslator's translations of the
// settlement messages both ways, and GrpcBackendAdapter against a real in-process gRPC server
// (127.0.0.1, port 0, plaintext) running a fake that answers canned, possibly malformed, replies.
// Every malformed reply is INTERNAL naming the city and the field, never a crash.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "adapters/grpc_backend/backend_translation.h"
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

constexpr char kResidentId[] = "140105199003071250";
// Born 1965-03-07 (valid check character); its legacy 15-digit number.
constexpr char kOldPerson[] = "142201196503071239";
constexpr char kOldPersonLegacy[] = "142201650307123";

constexpr char kLocalTables[] = R"pb(
  insurance_types { local_code: "ZG" national_code: "310" }
  insurance_types { local_code: "TX" national_code: "310" }
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
                                           absl::string_view date, int legacy_year = 0) {
  const std::string text = absl::StrCat(
      "city: ", city, " money_format: ", money, " date_format: \"", date,
      "\" text_encoding: TEXT_ENCODING_UTF_8 legacy_id_born_before_year: ", legacy_year, kLocalTables);
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect = Dialect::Parse(
      text, absl::StrCat("adapters/", absl::AsciiStrToLower(city.substr(5)), "/dialect.textproto"));
  EXPECT_TRUE(dialect.ok()) << dialect.status();
  return *dialect;
}

std::shared_ptr<const Dialect> JinzhongDialect() {
  return MakeDialect("CITY_JINZHONG", "MONEY_FORMAT_YUAN_DECIMAL", "YYYY-MM-DD");
}
std::shared_ptr<const Dialect> XinzhouDialect() {
  return MakeDialect("CITY_XINZHOU", "MONEY_FORMAT_FEN_INTEGER", "YYYY/MM/DD", 1970);
}

template <typename T>
void ExpectInternal(const absl::StatusOr<T>& result, const std::vector<std::string>& parts) {
  ASSERT_FALSE(result.ok()) << "translated a malformed answer";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal) << result.status();
  for (const std::string& part : parts) {
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(part)) << result.status();
  }
}

// A well-formed account of kResidentId for 2026 in Jinzhong's dialect.
backend::MedicalAccount JinzhongAccount() {
  backend::MedicalAccount a;
  a.set_resident_id(kResidentId);
  a.set_insurance_type_code("TX");
  a.set_status_code("ZC");
  a.set_balance("1234.56");
  a.set_year(2026);
  a.set_deductible_used_outpatient("300.05");
  a.set_deductible_used_inpatient("0.00");
  a.set_fund_paid("12000.00");
  a.set_version(7);
  return a;
}

// A well-formed settlement record of kResidentId in Jinzhong's dialect.
backend::SettlementRecord JinzhongRecord() {
  backend::SettlementRecord r;
  r.set_settlement_id("S1");
  r.set_resident_id(kResidentId);
  r.set_year(2026);
  r.set_visit_type_code("21");
  r.set_institution_code("H14010500001");
  r.set_treatment_city_code("140100");
  r.set_settle_date("2026-03-15");
  r.set_total("1500.00");
  r.set_deductible_applied("800.00");
  r.set_fund_pay("500.00");
  r.set_account_pay("200.00");
  r.set_cash_pay("800.00");
  return r;
}

backend::FilingRecord JinzhongFiling() {
  backend::FilingRecord f;
  f.set_filing_id("F14070000000001");
  f.set_resident_id(kResidentId);
  f.set_treatment_city_code("140100");
  f.set_valid_from("2026-01-01");
  f.set_valid_to("2026-12-31");
  f.set_reason_code("2");
  return f;
}

SettlementRecord CanonicalSettlement() {
  SettlementRecord s;
  s.settlement_id = "S1";
  s.resident_id = kResidentId;
  s.year = 2026;
  s.visit_type = config::v1::VISIT_TYPE_INPATIENT;
  s.institution_code = "H14010500001";
  s.treatment_city = City::CITY_TAIYUAN;
  s.settle_date = absl::CivilDay(2026, 3, 15);
  s.total_fen = 150000;
  s.deductible_applied_fen = 80000;
  s.fund_pay_fen = 50000;
  s.account_pay_fen = 20000;
  s.cash_pay_fen = 80000;
  return s;
}

TEST(SettlementTranslationTest, AccountsTranslateFromTheDialect) {
  DialectTranslator translator(JinzhongDialect());
  absl::StatusOr<MedicalAccount> account =
      translator.TranslateMedicalAccount("account", kResidentId, 2026, JinzhongAccount());
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->resident_id, kResidentId);
  EXPECT_EQ(account->insurance_type, medical::v1::INSURANCE_TYPE_EMPLOYEE);
  EXPECT_EQ(account->status, medical::v1::ENROLLMENT_STATUS_ACTIVE);
  EXPECT_EQ(account->balance_fen, 123456);
  EXPECT_EQ(account->deductible_used_outpatient_fen, 30005);
  EXPECT_EQ(account->deductible_used_inpatient_fen, 0);
  EXPECT_EQ(account->fund_paid_fen, 1200000);
  EXPECT_EQ(account->version, 7);
}

TEST(SettlementTranslationTest, MalformedAccountsAreInternalNamingTheField) {
  DialectTranslator translator(JinzhongDialect());
  struct Case {
    std::function<void(backend::MedicalAccount&)> mutate;
    std::vector<std::string> parts;
  };
  const Case cases[] = {
      {[](auto& a) { a.set_balance("12.345"); }, {"city jinzhong", "account.balance", "12.345"}},
      {[](auto& a) { a.set_balance("1234.5.6"); }, {"account.balance"}},
      {[](auto& a) { a.set_fund_paid("-1.00"); }, {"account.fund_paid"}},
      {[](auto& a) { a.set_deductible_used_outpatient(""); }, {"account.deductible_used_outpatient"}},
      {[](auto& a) { a.set_insurance_type_code("310"); }, {"account.insurance_type_code", "insurance_types"}},
      {[](auto& a) { a.set_status_code("1"); }, {"account.status_code", "enrollment_statuses"}},
      {[](auto& a) { a.set_year(2025); }, {"account.year", "2025"}},
      {[](auto& a) { a.set_resident_id("110105199003071255"); }, {"account.resident_id", "not the person"}},
  };
  for (const Case& c : cases) {
    backend::MedicalAccount account = JinzhongAccount();
    c.mutate(account);
    ExpectInternal(translator.TranslateMedicalAccount("account", kResidentId, 2026, account), c.parts);
  }
}

TEST(SettlementTranslationTest, SettlementRecordsTranslateAndMalformedOnesAreInternal) {
  DialectTranslator translator(JinzhongDialect());
  absl::StatusOr<SettlementRecord> record =
      translator.TranslateSettlementRecord("settlement", "", JinzhongRecord());
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->visit_type, config::v1::VISIT_TYPE_INPATIENT);
  EXPECT_EQ(record->treatment_city, City::CITY_TAIYUAN);
  EXPECT_EQ(record->settle_date, absl::CivilDay(2026, 3, 15));
  EXPECT_EQ(record->total_fen, 150000);
  EXPECT_FALSE(record->reversed);

  struct Case {
    std::function<void(backend::SettlementRecord&)> mutate;
    std::vector<std::string> parts;
  };
  const Case cases[] = {
      {[](auto& r) { r.clear_settlement_id(); }, {"settlement.settlement_id", "empty"}},
      {[](auto& r) { r.set_visit_type_code("31"); }, {"settlement.visit_type_code", "\"31\""}},
      {[](auto& r) { r.set_treatment_city_code("110100"); }, {"settlement.treatment_city_code"}},
      {[](auto& r) { r.set_treatment_city_code("14010"); }, {"settlement.treatment_city_code"}},
      {[](auto& r) { r.set_settle_date("2026/03/15"); }, {"settlement.settle_date", "YYYY-MM-DD"}},
      {[](auto& r) { r.set_settle_date("2026-02-30"); }, {"settlement.settle_date", "not a real date"}},
      {[](auto& r) { r.set_total("1500.01"); }, {"settlement.total", "fund_pay + account_pay + cash_pay"}},
      {[](auto& r) { r.set_cash_pay("800.001"); }, {"settlement.cash_pay"}},
      {[](auto& r) { r.set_year(0); }, {"settlement.year"}},
      {[](auto& r) { r.clear_institution_code(); }, {"settlement.institution_code"}},
      {[](auto& r) { r.set_reversed(true); }, {"settlement.reversed_date"}},
      {[](auto& r) { r.set_reversed_date("2026-03-16"); }, {"settlement.reversed_date", "not reversed"}},
      {[](auto& r) { r.set_resident_id("140105199003071251"); },
       {"settlement.resident_id", "check character"}},
      {[](auto& r) { r.set_resident_id(kOldPersonLegacy); }, {"settlement.resident_id", "legacy"}},
      {[](auto& r) { r.set_resident_id("14010519900307125"); }, {"settlement.resident_id"}},
  };
  for (const Case& c : cases) {
    backend::SettlementRecord r = JinzhongRecord();
    c.mutate(r);
    ExpectInternal(translator.TranslateSettlementRecord("settlement", "", r), c.parts);
  }
  // Asked about a person, an answer about another is refused without quoting it.
  backend::SettlementRecord other = JinzhongRecord();
  other.set_resident_id(kOldPerson);
  absl::StatusOr<SettlementRecord> wrong =
      translator.TranslateSettlementRecord("settlement", kResidentId, other);
  ExpectInternal(wrong, {"settlement.resident_id", "not the person asked about"});
  EXPECT_THAT(std::string(wrong.status().message()), ::testing::Not(HasSubstr(kOldPerson)));
}

TEST(SettlementTranslationTest, LegacyNumbersTranslateBothWays) {
  DialectTranslator translator(XinzhouDialect());
  SettlementRecord settlement = CanonicalSettlement();
  settlement.resident_id = kOldPerson;
  absl::StatusOr<backend::SettlementRecord> wire = translator.BackendSettlement(settlement);
  ASSERT_TRUE(wire.ok()) << wire.status();
  EXPECT_EQ(wire->resident_id(), kOldPersonLegacy);
  EXPECT_EQ(wire->settle_date(), "2026/03/15");
  EXPECT_EQ(wire->total(), "150000");
  EXPECT_EQ(wire->visit_type_code(), "21");
  EXPECT_EQ(wire->treatment_city_code(), "140100");
  absl::StatusOr<SettlementRecord> back = translator.TranslateSettlementRecord("settlement", "", *wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->resident_id, kOldPerson);
  absl::StatusOr<SettlementRecord> asked =
      translator.TranslateSettlementRecord("settlement", kOldPerson, *wire);
  ASSERT_TRUE(asked.ok()) << asked.status();
}

TEST(SettlementTranslationTest, RequestsTheContractCannotCarryAreInvalid) {
  DialectTranslator translator(JinzhongDialect());
  absl::StatusOr<backend::SettlementRecord> wire = translator.BackendSettlement(CanonicalSettlement());
  ASSERT_TRUE(wire.ok()) << wire.status();
  EXPECT_EQ(wire->total(), "1500.00");
  EXPECT_EQ(wire->settle_date(), "2026-03-15");
  struct Case {
    std::function<void(SettlementRecord&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](SettlementRecord& s) { s.visit_type = config::v1::VISIT_TYPE_UNSPECIFIED; }, "visit_type"},
      {[](SettlementRecord& s) { s.treatment_city = City::CITY_UNSPECIFIED; }, "treatment_city"},
      {[](SettlementRecord& s) { s.fund_pay_fen = -1; }, "fund_pay_fen"},
      {[](SettlementRecord& s) { s.settle_date = absl::CivilDay(1800, 1, 1); }, "settle_date"},
      {[](SettlementRecord& s) { s.settlement_id.clear(); }, "settlement_id"},
      {[](SettlementRecord& s) { s.reversed = true; }, "reversed"},
  };
  for (const Case& c : cases) {
    SettlementRecord s = CanonicalSettlement();
    c.mutate(s);
    absl::Status status = translator.BackendSettlement(s).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(std::string(status.message()), ::testing::StartsWith(c.field + ":"));
  }
  FilingRecord filing;
  filing.resident_id = kResidentId;
  filing.treatment_city = City::CITY_TAIYUAN;
  filing.valid_from = absl::CivilDay(2026, 1, 1);
  filing.valid_to = absl::CivilDay(2026, 12, 31);
  filing.reason = medical::v1::FILING_REASON_TEMPORARY;
  absl::StatusOr<backend::FilingRecord> wire_filing = translator.BackendFiling(filing);
  ASSERT_TRUE(wire_filing.ok());
  EXPECT_EQ(wire_filing->reason_code(), "5");
  EXPECT_EQ(wire_filing->valid_to(), "2026-12-31");
  filing.reason = medical::v1::FILING_REASON_UNSPECIFIED;
  EXPECT_EQ(translator.BackendFiling(filing).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SettlementTranslationTest, MalformedFilingsAreInternalNamingTheField) {
  DialectTranslator translator(JinzhongDialect());
  absl::StatusOr<FilingRecord> filing =
      translator.TranslateFilingRecord("filing", kResidentId, JinzhongFiling());
  ASSERT_TRUE(filing.ok()) << filing.status();
  EXPECT_EQ(filing->reason, medical::v1::FILING_REASON_LONG_TERM_RESIDENT);
  EXPECT_EQ(filing->treatment_city, City::CITY_TAIYUAN);
  struct Case {
    std::function<void(backend::FilingRecord&)> mutate;
    std::vector<std::string> parts;
  };
  const Case cases[] = {
      {[](auto& f) { f.clear_filing_id(); }, {"filings[3].filing_id"}},
      {[](auto& f) { f.set_reason_code("9"); }, {"filings[3].reason_code", "\"9\""}},
      {[](auto& f) { f.set_reason_code(""); }, {"filings[3].reason_code"}},
      {[](auto& f) { f.set_valid_to("2025-12-31"); }, {"filings[3].valid_to", "before valid_from"}},
      {[](auto& f) { f.set_valid_from("20260101"); }, {"filings[3].valid_from"}},
      {[](auto& f) { f.set_treatment_city_code(""); }, {"filings[3].treatment_city_code"}},
      {[](auto& f) { f.set_resident_id(kOldPerson); }, {"filings[3].resident_id"}},
  };
  for (const Case& c : cases) {
    backend::FilingRecord f = JinzhongFiling();
    c.mutate(f);
    ExpectInternal(translator.TranslateFilingRecord("filings[3]", kResidentId, f), c.parts);
  }
}

TEST(SettlementTranslationTest, CommitResultsMustBeAboutTheSettlementAsked) {
  DialectTranslator translator(JinzhongDialect());
  absl::StatusOr<CommitResult> ok =
      translator.TranslateCommitResult("S1", kResidentId, JinzhongAccount(), JinzhongRecord(), true);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->replayed);
  EXPECT_EQ(ok->account.version, 7);
  ExpectInternal(
      translator.TranslateCommitResult("S2", kResidentId, JinzhongAccount(), JinzhongRecord(), false),
      {"settlement.settlement_id"});
  backend::MedicalAccount last_year = JinzhongAccount();
  last_year.set_year(2025);
  ExpectInternal(translator.TranslateCommitResult("S1", kResidentId, last_year, JinzhongRecord(), false),
                 {"account.year"});
}

// --- The adapter against a fake backend.

class FakeSettlementBackend final : public backend::CityBackendService::CallbackService {
 public:
  void SetStatus(grpc::Status status) {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
  }
  void SetAccount(backend::MedicalAccount a) {
    absl::MutexLock lock(&mu_);
    account_ = std::move(a);
  }
  void SetRecord(backend::SettlementRecord r) {
    absl::MutexLock lock(&mu_);
    record_ = std::move(r);
  }
  void SetReplayed(bool replayed) {
    absl::MutexLock lock(&mu_);
    replayed_ = replayed;
  }
  void SetFiling(backend::FilingRecord f) {
    absl::MutexLock lock(&mu_);
    filing_ = std::move(f);
  }
  // The page answered for a page token.
  void SetPage(const std::string& token, backend::ListSettlementRecordsResponse page) {
    absl::MutexLock lock(&mu_);
    pages_[token] = std::move(page);
  }
  int calls() const { return calls_.load(); }
  backend::CommitSettlementRequest last_commit() {
    absl::MutexLock lock(&mu_);
    return last_commit_;
  }

  grpc::ServerUnaryReactor* GetMedicalAccount(grpc::CallbackServerContext* context,
                                              const backend::GetMedicalAccountRequest*,
                                              backend::GetMedicalAccountResponse* response) override {
    absl::MutexLock lock(&mu_);
    *response->mutable_account() = account_;
    return Finish(context);
  }
  grpc::ServerUnaryReactor* CommitSettlement(grpc::CallbackServerContext* context,
                                             const backend::CommitSettlementRequest* request,
                                             backend::CommitSettlementResponse* response) override {
    absl::MutexLock lock(&mu_);
    last_commit_ = *request;
    *response->mutable_account() = account_;
    *response->mutable_settlement() = record_;
    response->set_replayed(replayed_);
    return Finish(context);
  }
  grpc::ServerUnaryReactor* ReverseSettlement(grpc::CallbackServerContext* context,
                                              const backend::ReverseSettlementRequest*,
                                              backend::ReverseSettlementResponse* response) override {
    absl::MutexLock lock(&mu_);
    *response->mutable_account() = account_;
    *response->mutable_settlement() = record_;
    response->set_replayed(replayed_);
    return Finish(context);
  }
  grpc::ServerUnaryReactor* GetSettlementRecord(grpc::CallbackServerContext* context,
                                                const backend::GetSettlementRecordRequest*,
                                                backend::GetSettlementRecordResponse* response) override {
    absl::MutexLock lock(&mu_);
    *response->mutable_settlement() = record_;
    return Finish(context);
  }
  grpc::ServerUnaryReactor* ListSettlementRecords(grpc::CallbackServerContext* context,
                                                  const backend::ListSettlementRecordsRequest* request,
                                                  backend::ListSettlementRecordsResponse* response) override {
    absl::MutexLock lock(&mu_);
    auto it = pages_.find(request->page_token());
    if (it != pages_.end()) *response = it->second;
    return Finish(context);
  }
  grpc::ServerUnaryReactor* FileTreatment(grpc::CallbackServerContext* context,
                                          const backend::FileTreatmentRequest*,
                                          backend::FileTreatmentResponse* response) override {
    absl::MutexLock lock(&mu_);
    *response->mutable_filing() = filing_;
    return Finish(context);
  }
  grpc::ServerUnaryReactor* RevokeFiling(grpc::CallbackServerContext* context,
                                         const backend::RevokeFilingRequest*,
                                         backend::RevokeFilingResponse* response) override {
    absl::MutexLock lock(&mu_);
    *response->mutable_filing() = filing_;
    return Finish(context);
  }
  // ListFilings is deliberately not implemented: gRPC answers UNIMPLEMENTED.

 private:
  grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++calls_;
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(status_);
    return reactor;
  }

  absl::Mutex mu_;
  grpc::Status status_ ABSL_GUARDED_BY(mu_) = grpc::Status::OK;
  backend::MedicalAccount account_ ABSL_GUARDED_BY(mu_) = JinzhongAccount();
  backend::SettlementRecord record_ ABSL_GUARDED_BY(mu_) = JinzhongRecord();
  bool replayed_ ABSL_GUARDED_BY(mu_) = false;
  backend::FilingRecord filing_ ABSL_GUARDED_BY(mu_) = JinzhongFiling();
  std::map<std::string, backend::ListSettlementRecordsResponse> pages_ ABSL_GUARDED_BY(mu_);
  backend::CommitSettlementRequest last_commit_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> calls_{0};
};

template <typename T>
absl::StatusOr<T> Await(const std::function<void(Callback<T>)>& call) {
  absl::Notification done;
  absl::StatusOr<T> result = absl::UnknownError("not called");
  call([&](absl::StatusOr<T> r) {
    result = std::move(r);
    done.Notify();
  });
  if (!done.WaitForNotificationWithTimeout(absl::Seconds(10)))
    return absl::DeadlineExceededError("no answer");
  return result;
}

class SettlementAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    GrpcBackendOptions options;
    options.city = City::CITY_JINZHONG;
    options.city_deadline = absl::Seconds(5);
    options.dialect = JinzhongDialect();
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    adapter_ = std::make_unique<GrpcBackendAdapter>(std::move(options), channel,
                                                    backend::CityBackendService::NewStub(channel));
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2)); }

  absl::StatusOr<CommitResult> Commit(const SettlementRecord& s = CanonicalSettlement()) {
    return Await<CommitResult>([&](auto done) { adapter_->CommitSettlement(s, 7, {}, done); });
  }

  FakeSettlementBackend fake_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<GrpcBackendAdapter> adapter_;
};

TEST_F(SettlementAdapterTest, CommitSendsTheDialectAndTranslatesTheAnswer) {
  absl::StatusOr<CommitResult> result = Commit();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->settlement.fund_pay_fen, 50000);
  EXPECT_EQ(result->account.balance_fen, 123456);
  const backend::CommitSettlementRequest sent = fake_.last_commit();
  EXPECT_EQ(sent.expected_version(), 7);
  EXPECT_EQ(sent.settlement().total(), "1500.00");
  EXPECT_EQ(sent.settlement().settle_date(), "2026-03-15");
  EXPECT_EQ(sent.settlement().visit_type_code(), "21");
}

TEST_F(SettlementAdapterTest, RefusalsKeepTheirCodeNamingTheCity) {
  const std::pair<grpc::StatusCode, absl::StatusCode> codes[] = {
      {grpc::StatusCode::ABORTED, absl::StatusCode::kAborted},
      {grpc::StatusCode::ALREADY_EXISTS, absl::StatusCode::kAlreadyExists},
      {grpc::StatusCode::FAILED_PRECONDITION, absl::StatusCode::kFailedPrecondition},
      {grpc::StatusCode::INVALID_ARGUMENT, absl::StatusCode::kInvalidArgument},
      {grpc::StatusCode::NOT_FOUND, absl::StatusCode::kNotFound},
      {grpc::StatusCode::UNAVAILABLE, absl::StatusCode::kUnavailable},
      {grpc::StatusCode::PERMISSION_DENIED, absl::StatusCode::kInternal},
  };
  for (const auto& [sent, expected] : codes) {
    fake_.SetStatus(grpc::Status(sent, "account version moved"));
    absl::Status status = Commit().status();
    EXPECT_EQ(status.code(), expected) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("city jinzhong")) << status;
  }
  fake_.SetStatus(grpc::Status(grpc::StatusCode::ABORTED, "account version moved"));
  EXPECT_THAT(std::string(Commit().status().message()), HasSubstr("account version moved"));
}

TEST_F(SettlementAdapterTest, AnUnimplementedMethodIsUnimplementedNamingTheCity) {
  absl::Status status = Await<std::vector<FilingRecord>>([&](auto done) {
                          adapter_->ListFilings(kResidentId, {}, done);
                        }).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("city jinzhong"));
}

TEST_F(SettlementAdapterTest, RequestsTheContractCannotCarryAreRefusedWithoutACall) {
  SettlementRecord s = CanonicalSettlement();
  s.visit_type = config::v1::VISIT_TYPE_UNSPECIFIED;
  EXPECT_EQ(Commit(s).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fake_.calls(), 0);
}

TEST_F(SettlementAdapterTest, MalformedAnswersAreInternalNamingTheField) {
  backend::SettlementRecord other_amount = JinzhongRecord();
  other_amount.set_fund_pay("400.00");
  other_amount.set_cash_pay("900.00");
  fake_.SetRecord(other_amount);
  ExpectInternal(Commit(), {"city jinzhong", "settlement.fund_pay", "not the value committed"});

  backend::SettlementRecord reversed = JinzhongRecord();
  reversed.set_reversed(true);
  reversed.set_reversed_date("2026-03-20");
  fake_.SetRecord(reversed);
  ExpectInternal(Commit(), {"settlement.reversed"});  // a new commit cannot be reversed
  fake_.SetReplayed(true);
  EXPECT_TRUE(Commit().ok());  // a replay may answer a settlement reversed since

  fake_.SetRecord(JinzhongRecord());
  fake_.SetReplayed(false);
  ExpectInternal(Await<CommitResult>([&](auto done) {
                   adapter_->ReverseSettlement("S1", kResidentId, absl::CivilDay(2026, 3, 20), {}, done);
                 }),
                 {"settlement.reversed"});

  backend::MedicalAccount bad_account = JinzhongAccount();
  bad_account.set_balance("1,234.56");
  fake_.SetAccount(bad_account);
  ExpectInternal(
      Await<MedicalAccount>([&](auto done) { adapter_->GetMedicalAccount(kResidentId, 2026, {}, done); }),
      {"city jinzhong", "account.balance"});
  ExpectInternal(Commit(), {"account.balance"});

  ExpectInternal(Await<SettlementRecord>([&](auto done) { adapter_->GetSettlementRecord("S9", {}, done); }),
                 {"settlement.settlement_id"});

  ExpectInternal(Await<FilingRecord>(
                     [&](auto done) { adapter_->RevokeFiling(kResidentId, "F14070000000001", {}, done); }),
                 {"filing.revoked"});
  FilingRecord filing;
  filing.resident_id = kResidentId;
  filing.treatment_city = City::CITY_LVLIANG;  // the fake answers Taiyuan
  filing.valid_from = absl::CivilDay(2026, 1, 1);
  filing.valid_to = absl::CivilDay(2026, 12, 31);
  filing.reason = medical::v1::FILING_REASON_LONG_TERM_RESIDENT;
  ExpectInternal(Await<FilingRecord>([&](auto done) { adapter_->FileTreatment(filing, {}, done); }),
                 {"filing.treatment_city_code"});
}

backend::SettlementRecord RecordWithId(const std::string& id, const std::string& date = "2026-03-15") {
  backend::SettlementRecord r = JinzhongRecord();
  r.set_settlement_id(id);
  r.set_settle_date(date);
  return r;
}

TEST_F(SettlementAdapterTest, ListingPagesUntilTheLastPage) {
  backend::ListSettlementRecordsResponse first, second;
  *first.add_settlements() = RecordWithId("A");
  *first.add_settlements() = RecordWithId("B");
  first.set_next_page_token("t1");
  *second.add_settlements() = RecordWithId("C");
  fake_.SetPage("", first);
  fake_.SetPage("t1", second);
  absl::StatusOr<std::vector<SettlementRecord>> records =
      Await<std::vector<SettlementRecord>>([&](auto done) {
        adapter_->ListSettlementRecords(absl::CivilDay(2026, 3, 1), absl::CivilDay(2026, 3, 31), {}, done);
      });
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[2].settlement_id, "C");
  EXPECT_EQ(fake_.calls(), 2);
}

TEST_F(SettlementAdapterTest, MalformedListingsAreInternal) {
  const auto list = [this] {
    return Await<std::vector<SettlementRecord>>([&](auto done) {
      adapter_->ListSettlementRecords(absl::CivilDay(2026, 3, 1), absl::CivilDay(2026, 3, 31), {}, done);
    });
  };
  backend::ListSettlementRecordsResponse page;
  *page.add_settlements() = RecordWithId("A", "2026-04-01");
  fake_.SetPage("", page);
  ExpectInternal(list(), {"settlements[0].settle_date", "outside the period"});

  page.Clear();
  *page.add_settlements() = RecordWithId("B");
  *page.add_settlements() = RecordWithId("A");
  fake_.SetPage("", page);
  ExpectInternal(list(), {"settlements[1].settlement_id", "not after"});

  // A token that leads back to itself would page forever.
  page.Clear();
  *page.add_settlements() = RecordWithId("A");
  page.set_next_page_token("loop");
  fake_.SetPage("", page);
  backend::ListSettlementRecordsResponse loop;
  loop.set_next_page_token("loop");
  fake_.SetPage("loop", loop);
  ExpectInternal(list(), {"next_page_token", "repeats"});

  page.Clear();
  backend::SettlementRecord broken = RecordWithId("A");
  broken.set_visit_type_code("");
  *page.add_settlements() = broken;
  fake_.SetPage("", page);
  ExpectInternal(list(), {"settlements[0].visit_type_code"});
}

}  // namespace
}  // namespace interop::adapters
