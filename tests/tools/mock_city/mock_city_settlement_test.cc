// Cross-city medical settlement end to end between the gRPC adapter and a real in-process mock city
// (127.0.0.1, port 0, plaintext), in every city's checked-in dialect: accounts, commits, replays,
// conflicts, reversals, listings across pages and filings go through the city's money format, date
// format, legacy identity numbers and code tables on the wire and come back canonical.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "adapters/dialect/dialect.h"
#include "adapters/dialect/money.h"
#include "adapters/grpc_backend/grpc_backend_adapter.h"
#include "gateway/base/cities.h"
#include "gateway/base/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tools/mock_city/medical_ledger.h"
#include "tools/mock_city/mock_city_service.h"

namespace interop::mock_city {
namespace {

namespace backend = ::interop::citybackend::v1;
using adapters::CommitResult;
using adapters::Dialect;
using adapters::FilingRecord;
using adapters::MedicalAccount;
using adapters::SettlementRecord;
using ::testing::HasSubstr;

constexpr int kYear = 2026;

const Population& TestPopulation() {
  static const Population* population = [] {
    PopulationOptions options;
    options.persons_per_issuing_city = 500;
    return new Population(Population::Generate(options));
  }();
  return *population;
}

std::shared_ptr<const Dialect> CheckedInDialect(City city) {
  absl::StatusOr<std::shared_ptr<const Dialect>> dialect =
      Dialect::LoadFile(absl::StrCat(INTEROP_SOURCE_DIR, "/adapters/", CityName(city), "/dialect.textproto"));
  EXPECT_TRUE(dialect.ok()) << dialect.status();
  return *dialect;
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

// Keeps `channel` alive until the process exits. A callback-API call (the adapter's) can hold the
// last reference to its channel in gRPC's callback thread; gRPC 1.51 then shuts its callback
// completion queue down from that very thread or while it still runs, and crashes ("assertion
// failed: prior > 0" in grpc_cq_internal_unref). The channels of these tests are never released.
void KeepUntilExit(std::shared_ptr<grpc::Channel> channel) {
  static auto* kept = new std::vector<std::shared_ptr<grpc::Channel>>;
  static absl::Mutex mu;
  absl::MutexLock lock(&mu);
  kept->push_back(std::move(channel));
}

// One mock city with its ledger, serving its dialect; a raw stub to it and the city's adapter.
class MockCity {
 public:
  explicit MockCity(City city, absl::flat_hash_map<std::string, int64_t> caps = {})
      : dialect_(CheckedInDialect(city)),
        ledger_(TestPopulation(), city, LedgerOptions(std::move(caps))),
        service_(dialect_, TestPopulation(), Clock::Real(), ledger_) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    KeepUntilExit(channel_);
    stub_ = backend::CityBackendService::NewStub(channel_);
    adapters::GrpcBackendOptions options;
    options.city = city;
    options.city_deadline = absl::Seconds(10);
    options.dialect = dialect_;
    adapter_ = std::make_unique<adapters::GrpcBackendAdapter>(std::move(options), channel_,
                                                              backend::CityBackendService::NewStub(channel_));
  }
  ~MockCity() { server_->Shutdown(std::chrono::system_clock::now()); }

  const Dialect& dialect() const { return *dialect_; }
  MockMedicalLedger& ledger() { return ledger_; }
  backend::CityBackendService::Stub& stub() { return *stub_; }
  adapters::CityAdapter& adapter() { return *adapter_; }

 private:
  static MockMedicalLedgerOptions LedgerOptions(absl::flat_hash_map<std::string, int64_t> caps) {
    MockMedicalLedgerOptions options;
    options.annual_fund_cap_fen = std::move(caps);
    options.seeded_year = kYear;
    return options;
  }

  std::shared_ptr<const Dialect> dialect_;
  MockMedicalLedger ledger_;
  MockCityBackend service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<backend::CityBackendService::Stub> stub_;
  std::unique_ptr<adapters::CityAdapter> adapter_;
};

// The first person insured in `city` matching `pred`.
const SyntheticPerson* Insured(City city, const std::function<bool(const SyntheticPerson&)>& pred) {
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    if (p.has_medical && p.medical.city == city && pred(p)) return &p;
  }
  return nullptr;
}

// A person insured in `city` with an account of at least 100 yuan and a partly used deductible;
// for Xinzhou one it keys by the legacy 15-digit number.
const SyntheticPerson* Subject(City city, const Dialect& dialect) {
  return Insured(city, [&dialect](const SyntheticPerson& p) {
    return p.medical.balance_fen >= 10000 && MockMedicalLedger::SeededAccumulators(p).fund_paid_fen > 0 &&
           (dialect.legacy_id_born_before_year() == 0 || dialect.KeysByLegacyNumber(p.resident_id));
  });
}

City OtherCity(City city) { return city == City::CITY_TAIYUAN ? City::CITY_JINZHONG : City::CITY_TAIYUAN; }

SettlementRecord Settlement(const SyntheticPerson& person, const std::string& id, int64_t fund,
                            int64_t account, int64_t cash, int64_t deductible) {
  SettlementRecord s;
  s.settlement_id = id;
  s.resident_id = person.resident_id;
  s.year = kYear;
  s.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
  s.institution_code = "H14010500001";
  s.treatment_city = OtherCity(person.medical.city);
  s.settle_date = absl::CivilDay(kYear, 3, 15);
  s.total_fen = fund + account + cash;
  s.deductible_applied_fen = deductible;
  s.fund_pay_fen = fund;
  s.account_pay_fen = account;
  s.cash_pay_fen = cash;
  return s;
}

class MockCitySettlementTest : public ::testing::TestWithParam<City> {};

TEST_P(MockCitySettlementTest, AccountCommitReplayReverseRoundTrip) {
  const City city = GetParam();
  const std::string name(CityName(city));
  MockCity mock(city);
  const SyntheticPerson* person = Subject(city, mock.dialect());
  ASSERT_NE(person, nullptr);

  absl::StatusOr<MedicalAccount> account = Await<MedicalAccount>(
      [&](auto done) { mock.adapter().GetMedicalAccount(person->resident_id, kYear, {}, done); });
  ASSERT_TRUE(account.ok()) << account.status();
  const MedicalAccount truth = *mock.ledger().GetAccount(person->resident_id, kYear);
  EXPECT_EQ(account->resident_id, person->resident_id);
  EXPECT_EQ(absl::StrCat(static_cast<int>(account->insurance_type)), person->medical.insurance_type_code);
  EXPECT_EQ(absl::StrCat(static_cast<int>(account->status)), person->medical.status_code);
  EXPECT_EQ(account->balance_fen, person->medical.balance_fen);
  EXPECT_EQ(account->year, kYear);
  EXPECT_EQ(account->deductible_used_outpatient_fen, truth.deductible_used_outpatient_fen);
  EXPECT_GT(account->deductible_used_outpatient_fen, 0);
  EXPECT_EQ(account->deductible_used_inpatient_fen, truth.deductible_used_inpatient_fen);
  EXPECT_EQ(account->fund_paid_fen, truth.fund_paid_fen);
  EXPECT_EQ(account->version, 1);

  // Amounts with odd fen, so that yuan with two decimals is exercised.
  SettlementRecord s = Settlement(*person, absl::StrCat(name, "-S1"), 12345, 4321, 1001, 2001);
  s.visit_type = config::v1::VISIT_TYPE_INPATIENT;
  absl::StatusOr<CommitResult> committed =
      Await<CommitResult>([&](auto done) { mock.adapter().CommitSettlement(s, 1, {}, done); });
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_FALSE(committed->replayed);
  EXPECT_EQ(committed->settlement.resident_id, person->resident_id);
  EXPECT_EQ(committed->settlement.treatment_city, s.treatment_city);
  EXPECT_EQ(committed->settlement.settle_date, s.settle_date);
  EXPECT_EQ(committed->settlement.visit_type, config::v1::VISIT_TYPE_INPATIENT);
  EXPECT_EQ(committed->settlement.total_fen, s.total_fen);
  EXPECT_EQ(committed->account.version, 2);
  EXPECT_EQ(committed->account.balance_fen, person->medical.balance_fen - 4321);
  EXPECT_EQ(committed->account.deductible_used_inpatient_fen, truth.deductible_used_inpatient_fen + 2001);
  EXPECT_EQ(committed->account.fund_paid_fen, truth.fund_paid_fen + 12345);

  absl::StatusOr<CommitResult> replay =
      Await<CommitResult>([&](auto done) { mock.adapter().CommitSettlement(s, 1, {}, done); });
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->account.version, 2);

  SettlementRecord changed = s;
  changed.cash_pay_fen += 100;
  changed.total_fen += 100;
  absl::Status conflict =
      Await<CommitResult>([&](auto done) { mock.adapter().CommitSettlement(changed, 2, {}, done); }).status();
  EXPECT_EQ(conflict.code(), absl::StatusCode::kAlreadyExists) << conflict;
  EXPECT_THAT(conflict.message(), HasSubstr(absl::StrCat("city ", name)));

  absl::Status stale =
      Await<CommitResult>([&](auto done) {
        mock.adapter().CommitSettlement(Settlement(*person, name + "-S2", 100, 0, 0, 0), 1, {}, done);
      }).status();
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted) << stale;
  EXPECT_THAT(stale.message(), HasSubstr("account version moved"));
  EXPECT_THAT(stale.message(), HasSubstr(absl::StrCat("city ", name)));

  absl::Status overdraw =
      Await<CommitResult>([&](auto done) {
        mock.adapter().CommitSettlement(
            Settlement(*person, name + "-S3", 0, person->medical.balance_fen, 0, 0), 2, {}, done);
      }).status();
  EXPECT_EQ(overdraw.code(), absl::StatusCode::kFailedPrecondition) << overdraw;
  EXPECT_THAT(overdraw.message(), HasSubstr(absl::StrCat("city ", name)));

  absl::StatusOr<SettlementRecord> record = Await<SettlementRecord>(
      [&](auto done) { mock.adapter().GetSettlementRecord(s.settlement_id, {}, done); });
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->resident_id, person->resident_id);
  EXPECT_EQ(record->deductible_applied_fen, 2001);
  EXPECT_FALSE(record->reversed);
  EXPECT_EQ(
      Await<SettlementRecord>([&](auto done) { mock.adapter().GetSettlementRecord("no-such-id", {}, done); })
          .status()
          .code(),
      absl::StatusCode::kNotFound);

  absl::StatusOr<CommitResult> reversed = Await<CommitResult>([&](auto done) {
    mock.adapter().ReverseSettlement(s.settlement_id, person->resident_id, absl::CivilDay(kYear, 3, 31), {},
                                     done);
  });
  ASSERT_TRUE(reversed.ok()) << reversed.status();
  EXPECT_FALSE(reversed->replayed);
  EXPECT_TRUE(reversed->settlement.reversed);
  EXPECT_EQ(reversed->settlement.reversed_date, absl::CivilDay(kYear, 3, 31));
  EXPECT_EQ(reversed->account.balance_fen, person->medical.balance_fen);
  EXPECT_EQ(reversed->account.deductible_used_inpatient_fen, truth.deductible_used_inpatient_fen);
  EXPECT_EQ(reversed->account.fund_paid_fen, truth.fund_paid_fen);
  EXPECT_EQ(reversed->account.version, 3);
  absl::StatusOr<CommitResult> again = Await<CommitResult>([&](auto done) {
    mock.adapter().ReverseSettlement(s.settlement_id, person->resident_id, absl::CivilDay(kYear, 4, 1), {},
                                     done);
  });
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->account.version, 3);
  EXPECT_EQ(again->settlement.reversed_date, absl::CivilDay(kYear, 3, 31));

  // A person another city insures: NOT_FOUND naming the city.
  const SyntheticPerson* stranger = Insured(OtherCity(city), [](const SyntheticPerson&) { return true; });
  absl::Status not_here = Await<MedicalAccount>([&](auto done) {
                            mock.adapter().GetMedicalAccount(stranger->resident_id, kYear, {}, done);
                          }).status();
  EXPECT_EQ(not_here.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(not_here.message(), HasSubstr(absl::StrCat("city ", name)));
}

TEST_P(MockCitySettlementTest, ListingPagesThroughEveryRecordOfThePeriod) {
  const City city = GetParam();
  MockCity mock(city);
  // 1,203 settlements over many persons, committed straight into the ledger; the adapter asks for
  // 500 per page.
  std::vector<const SyntheticPerson*> persons;
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    if (p.has_medical && p.medical.city == city) persons.push_back(&p);
  }
  ASSERT_GT(persons.size(), 50u);
  std::map<std::string, SettlementRecord> in_period;
  for (int i = 0; i < 1203; ++i) {
    const SyntheticPerson& person = *persons[i % persons.size()];
    SettlementRecord s = Settlement(person, absl::StrFormat("L%05d", (i * 7919) % 100000), 100 + i, 0, 1, 0);
    s.settle_date = absl::CivilDay(kYear, 6, 1 + i % 30);
    const int64_t version = mock.ledger().GetAccount(person.resident_id, kYear)->version;
    ASSERT_TRUE(mock.ledger().Commit(s, version).ok());
    if (s.settle_date >= absl::CivilDay(kYear, 6, 2) && s.settle_date <= absl::CivilDay(kYear, 6, 29)) {
      in_period[s.settlement_id] = s;
    }
  }
  absl::StatusOr<std::vector<SettlementRecord>> listed = Await<std::vector<SettlementRecord>>([&](auto done) {
    mock.adapter().ListSettlementRecords(absl::CivilDay(kYear, 6, 2), absl::CivilDay(kYear, 6, 29), {}, done);
  });
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), in_period.size());
  auto expected = in_period.begin();
  for (const SettlementRecord& record : *listed) {
    EXPECT_EQ(record.settlement_id, expected->first);
    EXPECT_EQ(record.resident_id, expected->second.resident_id);
    EXPECT_EQ(record.fund_pay_fen, expected->second.fund_pay_fen);
    EXPECT_EQ(record.settle_date, expected->second.settle_date);
    ++expected;
  }
  absl::StatusOr<std::vector<SettlementRecord>> empty = Await<std::vector<SettlementRecord>>([&](auto done) {
    mock.adapter().ListSettlementRecords(absl::CivilDay(kYear, 1, 1), absl::CivilDay(kYear, 1, 31), {}, done);
  });
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
}

TEST_P(MockCitySettlementTest, FilingsRoundTrip) {
  const City city = GetParam();
  const std::string name(CityName(city));
  MockCity mock(city);
  const SyntheticPerson* person = Subject(city, mock.dialect());
  ASSERT_NE(person, nullptr);
  FilingRecord filing;
  filing.resident_id = person->resident_id;
  filing.treatment_city = OtherCity(city);
  filing.valid_from = absl::CivilDay(kYear, 1, 1);
  filing.valid_to = absl::CivilDay(kYear, 12, 31);
  filing.reason = medical::v1::FILING_REASON_POSTED_WORKER;
  absl::StatusOr<FilingRecord> filed =
      Await<FilingRecord>([&](auto done) { mock.adapter().FileTreatment(filing, {}, done); });
  ASSERT_TRUE(filed.ok()) << filed.status();
  EXPECT_EQ(filed->filing_id, absl::StrCat("F", CityDivisionCode(city), "00000001"));
  EXPECT_EQ(filed->resident_id, person->resident_id);
  EXPECT_EQ(filed->valid_to, filing.valid_to);
  EXPECT_EQ(filed->reason, medical::v1::FILING_REASON_POSTED_WORKER);
  filing.reason = medical::v1::FILING_REASON_TEMPORARY;
  filing.valid_to = absl::CivilDay(kYear, 2, 28);
  ASSERT_TRUE(Await<FilingRecord>([&](auto done) { mock.adapter().FileTreatment(filing, {}, done); }).ok());

  absl::StatusOr<FilingRecord> revoked = Await<FilingRecord>(
      [&](auto done) { mock.adapter().RevokeFiling(person->resident_id, filed->filing_id, {}, done); });
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_TRUE(revoked->revoked);
  ASSERT_TRUE(Await<FilingRecord>([&](auto done) {
                mock.adapter().RevokeFiling(person->resident_id, filed->filing_id, {}, done);
              }).ok());
  absl::StatusOr<std::vector<FilingRecord>> filings = Await<std::vector<FilingRecord>>(
      [&](auto done) { mock.adapter().ListFilings(person->resident_id, {}, done); });
  ASSERT_TRUE(filings.ok()) << filings.status();
  ASSERT_EQ(filings->size(), 2u);
  EXPECT_TRUE((*filings)[0].revoked);
  EXPECT_EQ((*filings)[1].reason, medical::v1::FILING_REASON_TEMPORARY);
  EXPECT_EQ((*filings)[1].valid_to, absl::CivilDay(kYear, 2, 28));
  EXPECT_FALSE((*filings)[1].revoked);

  absl::Status unknown = Await<FilingRecord>([&](auto done) {
                           mock.adapter().RevokeFiling(person->resident_id, "F999", {}, done);
                         }).status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  FilingRecord home = filing;
  home.treatment_city = city;
  absl::Status at_home =
      Await<FilingRecord>([&](auto done) { mock.adapter().FileTreatment(home, {}, done); }).status();
  EXPECT_EQ(at_home.code(), absl::StatusCode::kFailedPrecondition) << at_home;
  EXPECT_THAT(at_home.message(), HasSubstr(absl::StrCat("city ", name)));
  FilingRecord backwards = filing;
  backwards.valid_to = absl::CivilDay(kYear - 1, 1, 1);
  absl::Status invalid =
      Await<FilingRecord>([&](auto done) { mock.adapter().FileTreatment(backwards, {}, done); }).status();
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument) << invalid;
  EXPECT_THAT(invalid.message(), HasSubstr("filing.valid_to"));
  EXPECT_THAT(invalid.message(), HasSubstr(absl::StrCat("city ", name)));
}

TEST_P(MockCitySettlementTest, TheWireCarriesTheCitysOwnForms) {
  const City city = GetParam();
  MockCity mock(city);
  const Dialect& dialect = mock.dialect();
  const SyntheticPerson* person = Subject(city, dialect);
  ASSERT_NE(person, nullptr);
  const std::string backend_id = dialect.BackendResidentId(person->resident_id);
  const auto money = [&dialect](int64_t fen) { return adapters::FormatMoney(fen, dialect.money_format()); };
  {
    grpc::ClientContext context;
    backend::GetMedicalAccountRequest request;
    request.set_resident_id(backend_id);
    request.set_year(kYear);
    backend::GetMedicalAccountResponse reply;
    ASSERT_TRUE(mock.stub().GetMedicalAccount(&context, request, &reply).ok());
    EXPECT_EQ(reply.account().resident_id(), backend_id);
    EXPECT_EQ(reply.account().insurance_type_code(), *dialect.table(adapters::CodeTableKind::kInsuranceTypes)
                                                          .ToLocal(person->medical.insurance_type_code));
    EXPECT_EQ(
        reply.account().status_code(),
        *dialect.table(adapters::CodeTableKind::kEnrollmentStatuses).ToLocal(person->medical.status_code));
    EXPECT_EQ(reply.account().balance(), money(person->medical.balance_fen));
    EXPECT_EQ(reply.account().fund_paid(),
              money(MockMedicalLedger::SeededAccumulators(*person).fund_paid_fen));
    EXPECT_EQ(reply.account().version(), 1);
  }
  if (dialect.legacy_id_born_before_year() != 0) {
    // The city knows this person only by the 15-digit number.
    EXPECT_EQ(backend_id.size(), 15u);
    grpc::ClientContext context;
    backend::GetMedicalAccountRequest request;
    request.set_resident_id(person->resident_id);
    request.set_year(kYear);
    backend::GetMedicalAccountResponse reply;
    EXPECT_EQ(mock.stub().GetMedicalAccount(&context, request, &reply).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  backend::SettlementRecord wire;
  wire.set_settlement_id("W1");
  wire.set_resident_id(backend_id);
  wire.set_year(kYear);
  wire.set_visit_type_code("11");
  wire.set_institution_code("H14010500001");
  wire.set_treatment_city_code(std::string(CityDivisionCode(OtherCity(city))));
  wire.set_settle_date(dialect.date_format().FormatDate(absl::CivilDay(kYear, 7, 9)));
  wire.set_total(money(1050));
  wire.set_deductible_applied(money(1050));
  wire.set_fund_pay(money(0));
  wire.set_account_pay(money(50));
  wire.set_cash_pay(money(1000));
  {
    grpc::ClientContext context;
    backend::CommitSettlementRequest request;
    *request.mutable_settlement() = wire;
    request.set_expected_version(1);
    backend::CommitSettlementResponse reply;
    grpc::Status status = mock.stub().CommitSettlement(&context, request, &reply);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(reply.settlement().settle_date(), wire.settle_date());
    EXPECT_EQ(reply.settlement().resident_id(), backend_id);
    EXPECT_EQ(reply.settlement().account_pay(), money(50));
    EXPECT_EQ(reply.account().balance(), money(person->medical.balance_fen - 50));
    if (dialect.money_format() == config::v1::MONEY_FORMAT_YUAN_DECIMAL) {
      EXPECT_EQ(reply.settlement().total(), "10.50");
    } else {
      EXPECT_EQ(reply.settlement().total(), "1050");
    }
  }
  // Malformed requests are INVALID_ARGUMENT naming the field.
  struct Case {
    std::function<void(backend::SettlementRecord&)> mutate;
    std::string field;
  };
  const Case cases[] = {
      {[](backend::SettlementRecord& s) { s.set_total("12.345"); }, "settlement.total"},
      {[](backend::SettlementRecord& s) { s.set_cash_pay("-1"); }, "settlement.cash_pay"},
      {[](backend::SettlementRecord& s) { s.set_settle_date("2026-02-30"); }, "settlement.settle_date"},
      {[](backend::SettlementRecord& s) { s.set_settle_date("20260709X"); }, "settlement.settle_date"},
      {[](backend::SettlementRecord& s) { s.set_visit_type_code("12"); }, "settlement.visit_type_code"},
      {[](backend::SettlementRecord& s) { s.set_treatment_city_code("110100"); },
       "settlement.treatment_city_code"},
      {[](backend::SettlementRecord& s) { s.set_resident_id("123"); }, "settlement.resident_id"},
      {[](backend::SettlementRecord& s) { s.clear_settlement_id(); }, "settlement.settlement_id"},
      {[](backend::SettlementRecord& s) { s.set_reversed(true); }, "settlement.reversed"},
      {[&money](backend::SettlementRecord& s) { s.set_total(money(1051)); }, "settlement.total"},
  };
  for (const Case& c : cases) {
    backend::SettlementRecord bad = wire;
    bad.set_settlement_id("W2");
    c.mutate(bad);
    grpc::ClientContext context;
    backend::CommitSettlementRequest request;
    *request.mutable_settlement() = bad;
    request.set_expected_version(2);
    backend::CommitSettlementResponse reply;
    grpc::Status status = mock.stub().CommitSettlement(&context, request, &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.field << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), ::testing::StartsWith(c.field + ":"));
  }
  {
    grpc::ClientContext context;
    backend::FileTreatmentRequest request;
    backend::FilingRecord* filing = request.mutable_filing();
    filing->set_resident_id(backend_id);
    filing->set_treatment_city_code(std::string(CityDivisionCode(OtherCity(city))));
    filing->set_valid_from(dialect.date_format().FormatDate(absl::CivilDay(kYear, 1, 1)));
    filing->set_valid_to(dialect.date_format().FormatDate(absl::CivilDay(kYear, 1, 2)));
    filing->set_reason_code("6");
    backend::FileTreatmentResponse reply;
    grpc::Status status = mock.stub().FileTreatment(&context, request, &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::StartsWith("filing.reason_code:"));
  }
  {
    grpc::ClientContext context;
    backend::ListSettlementRecordsRequest request;
    request.set_from_date(dialect.date_format().FormatDate(absl::CivilDay(kYear, 1, 1)));
    request.set_to_date(dialect.date_format().FormatDate(absl::CivilDay(kYear, 12, 31)));
    request.set_page_token("!!not base64!!");
    backend::ListSettlementRecordsResponse reply;
    grpc::Status status = mock.stub().ListSettlementRecords(&context, request, &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::StartsWith("page_token:"));
  }
}

INSTANTIATE_TEST_SUITE_P(AllCities, MockCitySettlementTest,
                         ::testing::Values(City::CITY_TAIYUAN, City::CITY_YANGQUAN, City::CITY_JINZHONG,
                                           City::CITY_XINZHOU, City::CITY_LVLIANG),
                         [](const ::testing::TestParamInfo<City>& info) {
                           return std::string(CityName(info.param));
                         });

TEST(MockCitySettlementCapTest, TheCapOfThePolicyIsEnforcedThroughTheAdapter) {
  const std::shared_ptr<const Dialect> dialect = CheckedInDialect(City::CITY_YANGQUAN);
  const SyntheticPerson* person = Subject(City::CITY_YANGQUAN, *dialect);
  ASSERT_NE(person, nullptr);
  const int64_t seeded = MockMedicalLedger::SeededAccumulators(*person).fund_paid_fen;
  MockCity mock(City::CITY_YANGQUAN, {{person->medical.insurance_type_code, seeded + 500}});
  absl::Status past_cap =
      Await<CommitResult>([&](auto done) {
        mock.adapter().CommitSettlement(Settlement(*person, "C1", 501, 0, 0, 0), 1, {}, done);
      }).status();
  EXPECT_EQ(past_cap.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(past_cap.message(), HasSubstr("cap"));
  EXPECT_TRUE(Await<CommitResult>([&](auto done) {
                mock.adapter().CommitSettlement(Settlement(*person, "C2", 500, 0, 0, 0), 1, {}, done);
              }).ok());
}

TEST(MockCitySettlementOwnLedgerTest, TheThreeArgumentServiceHasALedgerOfItsOwn) {
  const std::shared_ptr<const Dialect> dialect = CheckedInDialect(City::CITY_TAIYUAN);
  MockCityBackend service(dialect, TestPopulation(), Clock::Real());
  EXPECT_EQ(service.ledger().city(), City::CITY_TAIYUAN);
  const SyntheticPerson* person = Insured(City::CITY_TAIYUAN, [](const SyntheticPerson&) { return true; });
  EXPECT_TRUE(service.ledger().Insures(person->resident_id));
}

}  // namespace
}  // namespace interop::mock_city
