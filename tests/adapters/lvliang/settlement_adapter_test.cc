// Cross-city medical settlement through NationalInterfaceAdapter against the real mock HTTP server
// (HttpMockCityBackend with a MockMedicalLedger; cpp-httplib, mutual TLS with the development PKI
// from the ctest fixture dev_certs, 127.0.0.1 port 0) through the real HttpsClient: accounts,
// commits, replays, conflicts, reversals, reconciliation pages and filings, with the error codes
// mapped as the gRPC adapter maps them. Lüliang's dialect (yuan, dashes), and Xinzhou's (fen,
// slashes, legacy 15-digit numbers, local codes) on the same transport.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "adapters/lvliang/https_client.h"
#include "adapters/lvliang/national_interface.h"
#include "adapters/lvliang/national_interface_adapter.h"
#include "gateway/base/cities.h"
#include "gateway/tls/tls_credentials.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/lvliang/http_city_support.h"
#include "tools/mock_city/http_backend.h"
#include "tools/mock_city/medical_ledger.h"
#include "tools/mock_city/population.h"

namespace interop::adapters::lvliang {
namespace {

using ::interop::mock_city::HttpBackendOptions;
using ::interop::mock_city::HttpMockCityBackend;
using ::interop::mock_city::MockMedicalLedger;
using ::interop::mock_city::MockMedicalLedgerOptions;
using ::interop::mock_city::Population;
using ::interop::mock_city::SyntheticPerson;
using ::testing::HasSubstr;
using test_support::AdapterToMock;
using test_support::Await;
using test_support::CheckedInDialect;
using test_support::Pem;
using test_support::TestPopulation;
using test_support::UseDevelopmentCertificates;

const std::string kCerts = test_support::CertsDir();
constexpr int kYear = 2026;

// A mock city over HTTP/JSON with its ledger, and the adapter to it.
class HttpCity {
 public:
  explicit HttpCity(City city, absl::flat_hash_map<std::string, int64_t> caps = {})
      : dialect_(CheckedInDialect(city)), ledger_(TestPopulation(), city, LedgerOptions(std::move(caps))) {
    HttpBackendOptions options;
    UseDevelopmentCertificates(&options);
    auto backend = HttpMockCityBackend::Start(dialect_, TestPopulation(), Clock::Real(), ledger_, options);
    EXPECT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    adapter_ = AdapterToMock(dialect_, backend_->port());
  }

  const Dialect& dialect() const { return *dialect_; }
  MockMedicalLedger& ledger() { return ledger_; }
  CityAdapter& adapter() { return *adapter_; }

 private:
  static MockMedicalLedgerOptions LedgerOptions(absl::flat_hash_map<std::string, int64_t> caps) {
    MockMedicalLedgerOptions options;
    options.annual_fund_cap_fen = std::move(caps);
    options.seeded_year = kYear;
    return options;
  }

  std::shared_ptr<const Dialect> dialect_;
  MockMedicalLedger ledger_;
  std::unique_ptr<HttpMockCityBackend> backend_;
  std::unique_ptr<NationalInterfaceAdapter> adapter_;
};

const SyntheticPerson* Insured(City city, const std::function<bool(const SyntheticPerson&)>& pred) {
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    if (p.has_medical && p.medical.city == city && pred(p)) return &p;
  }
  return nullptr;
}

// Insured in `city` with 100 yuan or more in the account and a partly used deductible; keyed by the
// legacy number where the dialect keys anyone so.
const SyntheticPerson* Subject(City city, const Dialect& dialect) {
  return Insured(city, [&dialect](const SyntheticPerson& p) {
    return p.medical.balance_fen >= 10000 && MockMedicalLedger::SeededAccumulators(p).fund_paid_fen > 0 &&
           (dialect.legacy_id_born_before_year() == 0 || dialect.KeysByLegacyNumber(p.resident_id));
  });
}

SettlementRecord Settlement(const SyntheticPerson& person, const std::string& id, int64_t fund,
                            int64_t account, int64_t cash, int64_t deductible) {
  SettlementRecord s;
  s.settlement_id = id;
  s.resident_id = person.resident_id;
  s.year = kYear;
  s.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
  s.institution_code = "H14010500001";
  s.treatment_city = City::CITY_TAIYUAN;
  s.settle_date = absl::CivilDay(kYear, 3, 15);
  s.total_fen = fund + account + cash;
  s.deductible_applied_fen = deductible;
  s.fund_pay_fen = fund;
  s.account_pay_fen = account;
  s.cash_pay_fen = cash;
  return s;
}

class SettlementOverHttpTest : public ::testing::TestWithParam<City> {};

TEST_P(SettlementOverHttpTest, AccountCommitReplayReverseRoundTrip) {
  const City city = GetParam();
  const std::string name(CityName(city));
  HttpCity mock(city);
  const SyntheticPerson* person = Subject(city, mock.dialect());
  ASSERT_NE(person, nullptr);
  const MedicalAccount truth = *mock.ledger().GetAccount(person->resident_id, kYear);

  absl::StatusOr<MedicalAccount> account = Await<MedicalAccount>(
      [&](auto done) { mock.adapter().GetMedicalAccount(person->resident_id, kYear, {}, done); });
  ASSERT_TRUE(account.ok()) << account.status();
  EXPECT_EQ(account->resident_id, person->resident_id);
  EXPECT_EQ(absl::StrCat(static_cast<int>(account->insurance_type)), person->medical.insurance_type_code);
  EXPECT_EQ(absl::StrCat(static_cast<int>(account->status)), person->medical.status_code);
  EXPECT_EQ(account->balance_fen, person->medical.balance_fen);
  EXPECT_EQ(account->deductible_used_outpatient_fen, truth.deductible_used_outpatient_fen);
  EXPECT_EQ(account->deductible_used_inpatient_fen, truth.deductible_used_inpatient_fen);
  EXPECT_EQ(account->fund_paid_fen, truth.fund_paid_fen);
  EXPECT_EQ(account->year, kYear);
  EXPECT_EQ(account->version, 1);

  const SettlementRecord s = Settlement(*person, "S1", 12345, 4321, 1001, 2001);
  absl::StatusOr<CommitResult> committed =
      Await<CommitResult>([&](auto done) { mock.adapter().CommitSettlement(s, 1, {}, done); });
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_FALSE(committed->replayed);
  EXPECT_EQ(committed->account.version, 2);
  EXPECT_EQ(committed->account.balance_fen, person->medical.balance_fen - 4321);
  EXPECT_EQ(committed->account.deductible_used_outpatient_fen, truth.deductible_used_outpatient_fen + 2001);
  EXPECT_EQ(committed->account.fund_paid_fen, truth.fund_paid_fen + 12345);
  EXPECT_EQ(committed->settlement.resident_id, person->resident_id);

  absl::StatusOr<CommitResult> replay =
      Await<CommitResult>([&](auto done) { mock.adapter().CommitSettlement(s, 1, {}, done); });
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->account.version, 2);

  SettlementRecord other = s;
  other.cash_pay_fen += 1;
  other.total_fen += 1;
  absl::Status conflict =
      Await<CommitResult>([&](auto done) { mock.adapter().CommitSettlement(other, 2, {}, done); }).status();
  EXPECT_EQ(conflict.code(), absl::StatusCode::kAlreadyExists) << conflict;
  EXPECT_THAT(conflict.message(), HasSubstr(absl::StrCat("city ", name)));

  absl::Status stale = Await<CommitResult>([&](auto done) {
                         mock.adapter().CommitSettlement(Settlement(*person, "S2", 1, 0, 0, 0), 1, {}, done);
                       }).status();
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted) << stale;
  EXPECT_THAT(stale.message(), HasSubstr("account version moved"));

  absl::Status overdraw = Await<CommitResult>([&](auto done) {
                            mock.adapter().CommitSettlement(
                                Settlement(*person, "S3", 0, person->medical.balance_fen, 0, 0), 2, {}, done);
                          }).status();
  EXPECT_EQ(overdraw.code(), absl::StatusCode::kFailedPrecondition) << overdraw;
  EXPECT_THAT(overdraw.message(), HasSubstr(absl::StrCat("city ", name)));

  absl::StatusOr<SettlementRecord> record =
      Await<SettlementRecord>([&](auto done) { mock.adapter().GetSettlementRecord("S1", {}, done); });
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->resident_id, person->resident_id);
  EXPECT_EQ(record->total_fen, s.total_fen);
  EXPECT_EQ(record->settle_date, s.settle_date);
  EXPECT_EQ(Await<SettlementRecord>([&](auto done) { mock.adapter().GetSettlementRecord("S404", {}, done); })
                .status()
                .code(),
            absl::StatusCode::kNotFound);

  absl::StatusOr<CommitResult> reversed = Await<CommitResult>([&](auto done) {
    mock.adapter().ReverseSettlement("S1", person->resident_id, absl::CivilDay(kYear, 3, 20), {}, done);
  });
  ASSERT_TRUE(reversed.ok()) << reversed.status();
  EXPECT_FALSE(reversed->replayed);
  EXPECT_TRUE(reversed->settlement.reversed);
  EXPECT_EQ(reversed->settlement.reversed_date, absl::CivilDay(kYear, 3, 20));
  EXPECT_EQ(reversed->account.balance_fen, person->medical.balance_fen);
  EXPECT_EQ(reversed->account.deductible_used_outpatient_fen, truth.deductible_used_outpatient_fen);
  EXPECT_EQ(reversed->account.fund_paid_fen, truth.fund_paid_fen);
  EXPECT_EQ(reversed->account.version, 3);
  absl::StatusOr<CommitResult> again = Await<CommitResult>([&](auto done) {
    mock.adapter().ReverseSettlement("S1", person->resident_id, absl::CivilDay(kYear, 3, 21), {}, done);
  });
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->account.version, 3);

  const SyntheticPerson* stranger =
      Insured(city == City::CITY_TAIYUAN ? City::CITY_JINZHONG : City::CITY_TAIYUAN,
              [](const SyntheticPerson&) { return true; });
  absl::Status not_here = Await<MedicalAccount>([&](auto done) {
                            mock.adapter().GetMedicalAccount(stranger->resident_id, kYear, {}, done);
                          }).status();
  EXPECT_EQ(not_here.code(), absl::StatusCode::kNotFound) << not_here;
  EXPECT_THAT(not_here.message(), HasSubstr(absl::StrCat("city ", name)));
}

TEST_P(SettlementOverHttpTest, ReconciliationPagesThroughThePeriod) {
  const City city = GetParam();
  HttpCity mock(city);
  std::vector<const SyntheticPerson*> persons;
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    if (p.has_medical && p.medical.city == city) persons.push_back(&p);
  }
  ASSERT_GT(persons.size(), 20u);
  std::map<std::string, SettlementRecord> in_period;
  for (int i = 0; i < 1105; ++i) {
    const SyntheticPerson& person = *persons[i % persons.size()];
    SettlementRecord s = Settlement(person, absl::StrFormat("R%05d", (i * 7919) % 100000), 100 + i, 0, 5, 0);
    s.settle_date = absl::CivilDay(kYear, 8, 1 + i % 31);
    const int64_t version = mock.ledger().GetAccount(person.resident_id, kYear)->version;
    ASSERT_TRUE(mock.ledger().Commit(s, version).ok());
    if (s.settle_date <= absl::CivilDay(kYear, 8, 30)) in_period[s.settlement_id] = s;
  }
  absl::StatusOr<std::vector<SettlementRecord>> listed = Await<std::vector<SettlementRecord>>([&](auto done) {
    mock.adapter().ListSettlementRecords(absl::CivilDay(kYear, 8, 1), absl::CivilDay(kYear, 8, 30), {}, done);
  });
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), in_period.size());
  auto expected = in_period.begin();
  for (const SettlementRecord& record : *listed) {
    EXPECT_EQ(record.settlement_id, expected->first);
    EXPECT_EQ(record.resident_id, expected->second.resident_id);
    EXPECT_EQ(record.fund_pay_fen, expected->second.fund_pay_fen);
    ++expected;
  }
}

TEST_P(SettlementOverHttpTest, FilingsRoundTrip) {
  const City city = GetParam();
  HttpCity mock(city);
  const SyntheticPerson* person = Subject(city, mock.dialect());
  ASSERT_NE(person, nullptr);
  FilingRecord filing;
  filing.resident_id = person->resident_id;
  filing.treatment_city = City::CITY_TAIYUAN;
  filing.valid_from = absl::CivilDay(kYear, 1, 1);
  filing.valid_to = absl::CivilDay(kYear, 6, 30);
  filing.reason = medical::v1::FILING_REASON_RESETTLED_RETIREE;
  absl::StatusOr<FilingRecord> filed =
      Await<FilingRecord>([&](auto done) { mock.adapter().FileTreatment(filing, {}, done); });
  ASSERT_TRUE(filed.ok()) << filed.status();
  EXPECT_EQ(filed->filing_id, absl::StrCat("F", CityDivisionCode(city), "00000001"));
  EXPECT_FALSE(filed->revoked);
  absl::StatusOr<FilingRecord> revoked = Await<FilingRecord>(
      [&](auto done) { mock.adapter().RevokeFiling(person->resident_id, filed->filing_id, {}, done); });
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_TRUE(revoked->revoked);
  EXPECT_TRUE(Await<FilingRecord>([&](auto done) {
                mock.adapter().RevokeFiling(person->resident_id, filed->filing_id, {}, done);
              }).ok());
  filing.treatment_city = City::CITY_YANGQUAN;
  ASSERT_TRUE(Await<FilingRecord>([&](auto done) { mock.adapter().FileTreatment(filing, {}, done); }).ok());
  absl::StatusOr<std::vector<FilingRecord>> filings = Await<std::vector<FilingRecord>>(
      [&](auto done) { mock.adapter().ListFilings(person->resident_id, {}, done); });
  ASSERT_TRUE(filings.ok()) << filings.status();
  ASSERT_EQ(filings->size(), 2u);
  EXPECT_TRUE((*filings)[0].revoked);
  EXPECT_EQ((*filings)[1].treatment_city, City::CITY_YANGQUAN);
  EXPECT_EQ((*filings)[1].valid_to, absl::CivilDay(kYear, 6, 30));
  EXPECT_EQ((*filings)[1].reason, medical::v1::FILING_REASON_RESETTLED_RETIREE);

  EXPECT_EQ(Await<FilingRecord>(
                [&](auto done) { mock.adapter().RevokeFiling(person->resident_id, "F0", {}, done); })
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  FilingRecord home = filing;
  home.treatment_city = city;
  absl::Status at_home =
      Await<FilingRecord>([&](auto done) { mock.adapter().FileTreatment(home, {}, done); }).status();
  EXPECT_EQ(at_home.code(), absl::StatusCode::kFailedPrecondition) << at_home;
  FilingRecord backwards = filing;
  backwards.valid_to = absl::CivilDay(kYear - 1, 12, 31);
  absl::Status invalid =
      Await<FilingRecord>([&](auto done) { mock.adapter().FileTreatment(backwards, {}, done); }).status();
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument) << invalid;
  EXPECT_THAT(invalid.message(), HasSubstr("input.data.enddate"));
  EXPECT_THAT(invalid.message(), HasSubstr(absl::StrCat("city ", CityName(city))));
}

INSTANTIATE_TEST_SUITE_P(Dialects, SettlementOverHttpTest,
                         ::testing::Values(City::CITY_LVLIANG, City::CITY_XINZHOU),
                         [](const ::testing::TestParamInfo<City>& info) {
                           return std::string(CityName(info.param));
                         });

TEST(SettlementOverHttpCapTest, TheCapIsFailedPrecondition) {
  const std::shared_ptr<const Dialect> dialect = CheckedInDialect(City::CITY_LVLIANG);
  const SyntheticPerson* person = Subject(City::CITY_LVLIANG, *dialect);
  ASSERT_NE(person, nullptr);
  const int64_t seeded = MockMedicalLedger::SeededAccumulators(*person).fund_paid_fen;
  HttpCity mock(City::CITY_LVLIANG, {{person->medical.insurance_type_code, seeded + 100}});
  absl::Status past_cap =
      Await<CommitResult>([&](auto done) {
        mock.adapter().CommitSettlement(Settlement(*person, "C1", 101, 0, 0, 0), 1, {}, done);
      }).status();
  EXPECT_EQ(past_cap.code(), absl::StatusCode::kFailedPrecondition) << past_cap;
  EXPECT_THAT(past_cap.message(), HasSubstr("cap"));
}

}  // namespace
}  // namespace interop::adapters::lvliang
