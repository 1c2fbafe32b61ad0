// Household migration and pension transfer through NationalInterfaceAdapter against the real mock
// HTTP server (HttpMockCityBackend over MockMobilityRecords, the records the gRPC mock changes too;
// cpp-httplib, mutual TLS with the development PKI of the ctest fixture dev_certs) through the real
// HttpsClient: each step applied once per key (a repeated key answers the first answer, replayed; the
// same key for another request is ALREADY_EXISTS), the city's refusals with the codes the gRPC
// adapter gives (FAILED_PRECONDITION, NOT_FOUND, INVALID_ARGUMENT naming the city), and the reads
// (L9101, L9201, L9301) as the steps have left the records. Lüliang's dialect (yuan, dashes), and
// Xinzhou's (fen, slashes, legacy 15-digit numbers, local codes) on the same transport.
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "adapters/lvliang/https_client.h"
#include "adapters/lvliang/national_interface_adapter.h"
#include "gateway/base/cities.h"
#include "gateway/identity/resident_id.h"
#include "gateway/tls/tls_credentials.h"
#include "gateway/transfers/pension_funds.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/lvliang/http_city_support.h"
#include "tools/mock_city/http_backend.h"
#include "tools/mock_city/mobility_records.h"
#include "tools/mock_city/population.h"

namespace interop::adapters::lvliang {
namespace {

using ::interop::mock_city::ContributionMonth;
using ::interop::mock_city::HttpBackendOptions;
using ::interop::mock_city::HttpMockCityBackend;
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

// A mock city over HTTP/JSON and the adapter to it.
class HttpCity {
 public:
  explicit HttpCity(City city) : dialect_(CheckedInDialect(city)) {
    HttpBackendOptions options;
    UseDevelopmentCertificates(&options);
    auto backend = HttpMockCityBackend::Start(dialect_, TestPopulation(), Clock::Real(), options);
    EXPECT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    adapter_ = AdapterToMock(dialect_, backend_->port());
  }

  City city() const { return dialect_->city(); }
  const Dialect& dialect() const { return *dialect_; }
  CityAdapter& adapter() { return *adapter_; }
  mock_city::MockMobilityRecords& records() { return backend_->platform().mobility(); }
  std::string name() const { return std::string(CityName(city())); }
  std::string county() const { return absl::StrCat(CityDivisionCode(city()).substr(0, 4), "02"); }

  PersonLocation Locate(const std::string& id) {
    absl::StatusOr<PersonLocation> location =
        Await<PersonLocation>([&](auto done) { adapter().LocatePerson(id, {}, done); });
    EXPECT_TRUE(location.ok()) << location.status();
    return location.ok() ? *location : PersonLocation();
  }
  // The pension months the city serves (L9201).
  std::vector<social::v1::ContributionEntry> PensionMonths(const std::string& id) {
    absl::StatusOr<std::vector<social::v1::ContributionEntry>> all =
        Await<std::vector<social::v1::ContributionEntry>>(
            [&](auto done) { adapter().GetMonthlyContributions(id, 0, 0, {}, done); });
    std::vector<social::v1::ContributionEntry> pension;
    if (!all.ok()) {
      EXPECT_EQ(all.status().code(), absl::StatusCode::kNotFound) << all.status();
      return pension;
    }
    for (const social::v1::ContributionEntry& e : *all) {
      if (e.kind() == social::v1::INSURANCE_KIND_EMPLOYEE_PENSION) pension.push_back(e);
    }
    return pension;
  }

 private:
  std::shared_ptr<const Dialect> dialect_;
  std::unique_ptr<HttpMockCityBackend> backend_;
  std::unique_ptr<NationalInterfaceAdapter> adapter_;
};

// The first person of the population for whom `pred` holds, keyed as `dialect` keys them (the legacy
// number only where the dialect keys anyone so).
const SyntheticPerson* Find(const Dialect& dialect, const std::function<bool(const SyntheticPerson&)>& pred,
                            const std::vector<std::string>& skip = {}) {
  for (const SyntheticPerson& p : TestPopulation().persons()) {
    if (std::find(skip.begin(), skip.end(), p.resident_id) != skip.end()) continue;
    if (dialect.legacy_id_born_before_year() != 0 && !dialect.KeysByLegacyNumber(p.resident_id)) continue;
    if (pred(p)) return &p;
  }
  return nullptr;
}

// A person's pension months in `city`, as the population generates them, as canonical entries.
std::vector<social::v1::ContributionEntry> PopulationPensionMonths(const SyntheticPerson& p, City city) {
  std::vector<social::v1::ContributionEntry> months;
  for (const ContributionMonth& m : TestPopulation().Contributions(p, city)) {
    if (m.kind_code == "110") months.push_back(mock_city::ToPensionEntry(m));
  }
  return months;
}

class WorkflowOverHttpTest : public ::testing::TestWithParam<City> {};

TEST_P(WorkflowOverHttpTest, MigrationIntoTheCityIsAppliedOncePerKey) {
  HttpCity mock(GetParam());
  const City here = mock.city();
  const SyntheticPerson* person = Find(mock.dialect(), [here](const SyntheticPerson& p) {
    return p.household.city != here && p.household.city != City::CITY_UNSPECIFIED;
  });
  ASSERT_NE(person, nullptr);
  const std::string& id = person->resident_id;
  const City origin = person->household.city;
  EXPECT_FALSE(mock.Locate(id).holds_household_registration);

  absl::StatusOr<MoveInPermit> permit = Await<MoveInPermit>([&](auto done) {
    mock.adapter().IssueMoveInPermit("wf1/permit", id, origin, mock.county(), {}, done);
  });
  ASSERT_TRUE(permit.ok()) << permit.status();
  EXPECT_FALSE(permit->replayed);
  EXPECT_FALSE(permit->permit_number.empty());
  EXPECT_EQ(permit->valid_until, permit->issued_on + 39);  // valid 40 days
  absl::StatusOr<MoveInPermit> again = Await<MoveInPermit>([&](auto done) {
    mock.adapter().IssueMoveInPermit("wf1/permit", id, origin, mock.county(), {}, done);
  });
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->permit_number, permit->permit_number);
  // The same key for another request.
  const std::string other_county = absl::StrCat(CityDivisionCode(here).substr(0, 4), "03");
  absl::Status reused = Await<MoveInPermit>([&](auto done) {
                          mock.adapter().IssueMoveInPermit("wf1/permit", id, origin, other_county, {}, done);
                        }).status();
  EXPECT_EQ(reused.code(), absl::StatusCode::kAlreadyExists) << reused;
  EXPECT_THAT(reused.message(), HasSubstr(absl::StrCat("city ", mock.name())));
  EXPECT_THAT(reused.message(), HasSubstr("biz_sn"));
  // An address that is not a county of this city.
  absl::Status elsewhere = Await<MoveInPermit>([&](auto done) {
                             mock.adapter().IssueMoveInPermit("wf1/other", id, origin, "140105", {}, done);
                           }).status();
  if (here != City::CITY_TAIYUAN) {
    EXPECT_EQ(elsewhere.code(), absl::StatusCode::kInvalidArgument) << elsewhere;
    EXPECT_THAT(elsewhere.message(), HasSubstr("hhreg_admdvs"));
  }

  // Settling in on a permit this city did not issue is refused; on its own, the person is registered.
  absl::Status no_permit =
      Await<SettleInResult>([&](auto done) {
        mock.adapter().SettleIn("wf1/settle0", id, "ZR-none", mock.county(), person->name, {}, done);
      }).status();
  EXPECT_EQ(no_permit.code(), absl::StatusCode::kFailedPrecondition) << no_permit;
  EXPECT_THAT(no_permit.message(), HasSubstr(absl::StrCat("city ", mock.name(), " refused the settling-in")));
  absl::StatusOr<SettleInResult> settled = Await<SettleInResult>([&](auto done) {
    mock.adapter().SettleIn("wf1/settle", id, permit->permit_number, mock.county(), person->name, {}, done);
  });
  ASSERT_TRUE(settled.ok()) << settled.status();
  EXPECT_FALSE(settled->replayed);
  EXPECT_EQ(settled->registration.resident_id(), id);  // the number never changes
  EXPECT_EQ(settled->registration.registered_city().city(), here);
  EXPECT_EQ(settled->registration.address_code(), mock.county());
  EXPECT_EQ(settled->registration.name(), person->name);
  absl::StatusOr<SettleInResult> settled_again = Await<SettleInResult>([&](auto done) {
    mock.adapter().SettleIn("wf1/settle", id, permit->permit_number, mock.county(), person->name, {}, done);
  });
  ASSERT_TRUE(settled_again.ok()) << settled_again.status();
  EXPECT_TRUE(settled_again->replayed);
  EXPECT_EQ(settled_again->registration.household_number(), settled->registration.household_number());

  // The reads answer the new registration.
  EXPECT_TRUE(mock.Locate(id).holds_household_registration);
  absl::StatusOr<household::v1::GetHouseholdRecordResponse> record =
      Await<household::v1::GetHouseholdRecordResponse>(
          [&](auto done) { mock.adapter().GetHouseholdRecord(id, {}, done); });
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->address_code(), mock.county());
  EXPECT_EQ(record->household_number(), settled->registration.household_number());
  // A second permit for a person registered here now is refused.
  absl::Status registered =
      Await<MoveInPermit>([&](auto done) {
        mock.adapter().IssueMoveInPermit("wf2/permit", id, origin, mock.county(), {}, done);
      }).status();
  EXPECT_EQ(registered.code(), absl::StatusCode::kFailedPrecondition) << registered;
  EXPECT_THAT(registered.message(), HasSubstr(absl::StrCat("city ", mock.name())));
}

TEST_P(WorkflowOverHttpTest, MigrationOutOfTheCityIsAppliedOncePerKey) {
  HttpCity mock(GetParam());
  const City here = mock.city();
  const SyntheticPerson* person =
      Find(mock.dialect(), [here](const SyntheticPerson& p) { return p.household.city == here; });
  ASSERT_NE(person, nullptr);
  const std::string& id = person->resident_id;
  const City destination = here == City::CITY_TAIYUAN ? City::CITY_JINZHONG : City::CITY_TAIYUAN;
  const absl::CivilDay today = identity::ChinaCivilDay(absl::Now());

  absl::Status expired =
      Await<MoveOutRecord>([&](auto done) {
        mock.adapter().RecordMoveOut("wf3/out0", id, destination, "ZR1", today - 1, {}, done);
      }).status();
  EXPECT_EQ(expired.code(), absl::StatusCode::kFailedPrecondition) << expired;
  EXPECT_THAT(expired.message(), HasSubstr(absl::StrCat("city ", mock.name(), " refused")));
  EXPECT_THAT(expired.message(), HasSubstr("expired"));
  EXPECT_TRUE(mock.Locate(id).holds_household_registration);

  absl::StatusOr<MoveOutRecord> moved = Await<MoveOutRecord>([&](auto done) {
    mock.adapter().RecordMoveOut("wf3/out", id, destination, "ZR1", today + 39, {}, done);
  });
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_FALSE(moved->replayed);
  EXPECT_EQ(moved->previous_address_code, person->household.address_code);
  EXPECT_EQ(moved->moved_out_on, today);
  absl::StatusOr<MoveOutRecord> again = Await<MoveOutRecord>([&](auto done) {
    mock.adapter().RecordMoveOut("wf3/out", id, destination, "ZR1", today + 39, {}, done);
  });
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(again->previous_address_code, person->household.address_code);

  // No longer registered here: the reads and a second move-out say so.
  EXPECT_FALSE(mock.Locate(id).holds_household_registration);
  EXPECT_EQ(Await<household::v1::GetHouseholdRecordResponse>(
                [&](auto done) { mock.adapter().GetHouseholdRecord(id, {}, done); })
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  absl::Status gone = Await<MoveOutRecord>([&](auto done) {
                        mock.adapter().RecordMoveOut("wf4/out", id, destination, "ZR2", today + 39, {}, done);
                      }).status();
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound) << gone;
  EXPECT_EQ(gone.message(),
            absl::StrCat("city ", mock.name(), " holds no household registration for this person"));
  // A person the population does not know (a valid number of Beijing's Dongcheng district).
  const std::string stranger =
      std::string("11010119900307123") + identity::ComputeCheckCharacter("11010119900307123");
  absl::Status unknown =
      Await<MoveOutRecord>([&](auto done) {
        mock.adapter().RecordMoveOut("wf5/out", stranger, destination, "ZR2", today + 39, {}, done);
      }).status();
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound) << unknown;
}

TEST_P(WorkflowOverHttpTest, PensionTransferOutOfTheCityMovesItsMonthsOnce) {
  HttpCity mock(GetParam());
  const City here = mock.city();
  const absl::CivilMonth recent = absl::CivilMonth(TestPopulation().options().today) - 3;
  const SyntheticPerson* person = Find(mock.dialect(), [&](const SyntheticPerson& p) {
    std::vector<social::v1::ContributionEntry> months = PopulationPensionMonths(p, here);
    return !months.empty() && absl::CivilMonth(months.back().year(), months.back().month()) < recent;
  });
  ASSERT_NE(person, nullptr);
  const std::string& id = person->resident_id;
  const City destination = here == City::CITY_TAIYUAN ? City::CITY_JINZHONG : City::CITY_TAIYUAN;
  const std::vector<social::v1::ContributionEntry> history = mock.PensionMonths(id);
  ASSERT_FALSE(history.empty());

  absl::StatusOr<PreparedTransferOut> prepared = Await<PreparedTransferOut>([&](auto done) {
    mock.adapter().PreparePensionTransferOut("wf6/prepare", id, destination, "LX1", {}, done);
  });
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  EXPECT_FALSE(prepared->replayed);
  const PensionTransferSheet& sheet = prepared->sheet;
  EXPECT_TRUE(transfers::CheckSheet(sheet).ok()) << transfers::CheckSheet(sheet);
  EXPECT_TRUE(transfers::CheckSheetAgainstHistory(sheet, history).ok())
      << transfers::CheckSheetAgainstHistory(sheet, history);
  const transfers::PensionFunds funds = transfers::ComputePensionFunds(history);
  EXPECT_EQ(sheet.personal_account_fen, funds.personal_contributions_fen);
  EXPECT_EQ(sheet.pooled_fund_fen, funds.pooled_fund_fen);
  EXPECT_EQ(static_cast<int>(sheet.months.size()), funds.months);
  absl::StatusOr<PreparedTransferOut> prepared_again = Await<PreparedTransferOut>([&](auto done) {
    mock.adapter().PreparePensionTransferOut("wf6/prepare", id, destination, "LX1", {}, done);
  });
  ASSERT_TRUE(prepared_again.ok()) << prepared_again.status();
  EXPECT_TRUE(prepared_again->replayed);
  EXPECT_EQ(prepared_again->sheet.pooled_fund_fen, sheet.pooled_fund_fen);

  // Funds that are not the person's are refused, and nothing moves.
  absl::Status wrong = Await<TransferOutCompletion>([&](auto done) {
                         mock.adapter().CompletePensionTransferOut("wf6/complete0", id, destination, "LX1",
                                                                   sheet.personal_account_fen + 1,
                                                                   sheet.pooled_fund_fen, {}, done);
                       }).status();
  EXPECT_EQ(wrong.code(), absl::StatusCode::kFailedPrecondition) << wrong;
  EXPECT_THAT(wrong.message(), HasSubstr(absl::StrCat("city ", mock.name(), " refused the transfer out")));
  EXPECT_EQ(mock.PensionMonths(id).size(), history.size());

  absl::StatusOr<TransferOutCompletion> completed = Await<TransferOutCompletion>([&](auto done) {
    mock.adapter().CompletePensionTransferOut("wf6/complete", id, destination, "LX1",
                                              sheet.personal_account_fen, sheet.pooled_fund_fen, {}, done);
  });
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_FALSE(completed->replayed);
  EXPECT_EQ(completed->ended_on, identity::ChinaCivilDay(absl::Now()));
  EXPECT_TRUE(mock.PensionMonths(id).empty());  // the months (and so the funds) left
  absl::StatusOr<TransferOutCompletion> completed_again = Await<TransferOutCompletion>([&](auto done) {
    mock.adapter().CompletePensionTransferOut("wf6/complete", id, destination, "LX1",
                                              sheet.personal_account_fen, sheet.pooled_fund_fen, {}, done);
  });
  ASSERT_TRUE(completed_again.ok()) << completed_again.status();
  EXPECT_TRUE(completed_again->replayed);

  // The relationship has moved away: a new transfer out is refused.
  absl::Status moved =
      Await<PreparedTransferOut>([&](auto done) {
        mock.adapter().PreparePensionTransferOut("wf7/prepare", id, destination, "LX2", {}, done);
      }).status();
  EXPECT_EQ(moved.code(), absl::StatusCode::kFailedPrecondition) << moved;
  EXPECT_THAT(moved.message(), HasSubstr("moved away"));
}

TEST_P(WorkflowOverHttpTest, PensionTransferIntoTheCityMergesTheSheetOnce) {
  HttpCity mock(GetParam());
  const City here = mock.city();
  const City origin = here == City::CITY_TAIYUAN ? City::CITY_JINZHONG : City::CITY_TAIYUAN;
  // Paid pension in the origin, never here.
  const SyntheticPerson* person = Find(mock.dialect(), [&](const SyntheticPerson& p) {
    return !PopulationPensionMonths(p, origin).empty() && PopulationPensionMonths(p, here).empty();
  });
  ASSERT_NE(person, nullptr);
  const std::string& id = person->resident_id;
  PensionTransferSheet sheet;
  sheet.months = PopulationPensionMonths(*person, origin);
  sheet.years = transfers::SheetYears(sheet.months);
  const transfers::PensionFunds funds = transfers::ComputePensionFunds(sheet.months);
  sheet.personal_account_fen = funds.personal_contributions_fen;
  sheet.pooled_fund_fen = funds.pooled_fund_fen;

  absl::StatusOr<PensionApplication> application = Await<PensionApplication>(
      [&](auto done) { mock.adapter().ApplyPensionTransfer("wf8/application", id, origin, {}, done); });
  ASSERT_TRUE(application.ok()) << application.status();
  EXPECT_FALSE(application->application_number.empty());
  absl::StatusOr<PensionApplication> application_again = Await<PensionApplication>(
      [&](auto done) { mock.adapter().ApplyPensionTransfer("wf8/application", id, origin, {}, done); });
  ASSERT_TRUE(application_again.ok());
  EXPECT_TRUE(application_again->replayed);
  EXPECT_EQ(application_again->application_number, application->application_number);
  // An application from this city itself is malformed.
  absl::Status itself = Await<PensionApplication>([&](auto done) {
                          mock.adapter().ApplyPensionTransfer("wf8/self", id, here, {}, done);
                        }).status();
  EXPECT_EQ(itself.code(), absl::StatusCode::kInvalidArgument) << itself;
  EXPECT_THAT(itself.message(), HasSubstr("trfout_admdvs"));

  absl::Status no_application = Await<ContactLetter>([&](auto done) {
                                  mock.adapter().IssueContactLetter("wf8/letter0", id, "ZJ-none", {}, done);
                                }).status();
  EXPECT_EQ(no_application.code(), absl::StatusCode::kFailedPrecondition) << no_application;
  absl::StatusOr<ContactLetter> letter = Await<ContactLetter>([&](auto done) {
    mock.adapter().IssueContactLetter("wf8/letter", id, application->application_number, {}, done);
  });
  ASSERT_TRUE(letter.ok()) << letter.status();
  EXPECT_FALSE(letter->letter_number.empty());
  EXPECT_TRUE(Await<ContactLetter>([&](auto done) {
                mock.adapter().IssueContactLetter("wf8/letter", id, application->application_number, {},
                                                  done);
              })->replayed);

  // A sheet whose pooled fund is not the one its months give is refused. (Its personal account is
  // the origin's balance, taken in full: not checked against the months.)
  PensionTransferSheet bad = sheet;
  bad.pooled_fund_fen += 1;
  absl::Status refused = Await<TransferInConfirmation>([&](auto done) {
                           mock.adapter().ConfirmPensionTransferIn(
                               "wf8/confirm0", id, application->application_number, origin, bad, {}, done);
                         }).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_THAT(refused.message(), HasSubstr(absl::StrCat("city ", mock.name(), " refused the transfer in")));
  EXPECT_TRUE(mock.PensionMonths(id).empty());

  absl::StatusOr<TransferInConfirmation> confirmed = Await<TransferInConfirmation>([&](auto done) {
    mock.adapter().ConfirmPensionTransferIn("wf8/confirm", id, application->application_number, origin, sheet,
                                            {}, done);
  });
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_FALSE(confirmed->replayed);
  EXPECT_TRUE(confirmed->applicant_notified);
  // Merged: the months and so the funds are here now, once.
  std::vector<social::v1::ContributionEntry> merged = mock.PensionMonths(id);
  ASSERT_EQ(merged.size(), sheet.months.size());
  EXPECT_EQ(transfers::ComputePensionFunds(merged).personal_contributions_fen,
            funds.personal_contributions_fen);
  EXPECT_EQ(transfers::ComputePensionFunds(merged).pooled_fund_fen, funds.pooled_fund_fen);
  EXPECT_TRUE(mock.Locate(id).holds_contribution_history);
  absl::StatusOr<TransferInConfirmation> confirmed_again = Await<TransferInConfirmation>([&](auto done) {
    mock.adapter().ConfirmPensionTransferIn("wf8/confirm", id, application->application_number, origin, sheet,
                                            {}, done);
  });
  ASSERT_TRUE(confirmed_again.ok()) << confirmed_again.status();
  EXPECT_TRUE(confirmed_again->replayed);
  EXPECT_EQ(mock.PensionMonths(id).size(), sheet.months.size());
  // The same key with another sheet.
  absl::Status reused = Await<TransferInConfirmation>([&](auto done) {
                          mock.adapter().ConfirmPensionTransferIn(
                              "wf8/confirm", id, application->application_number, origin, bad, {}, done);
                        }).status();
  EXPECT_EQ(reused.code(), absl::StatusCode::kAlreadyExists) << reused;
}

TEST_P(WorkflowOverHttpTest, RequestsThatCannotBeCarriedAreRefusedWithoutACall) {
  HttpCity mock(GetParam());
  absl::Status status = Await<MoveInPermit>([&](auto done) {
                          mock.adapter().IssueMoveInPermit("", "141102199003071252", City::CITY_TAIYUAN,
                                                           mock.county(), {}, done);
                        }).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("request_key"));
}

INSTANTIATE_TEST_SUITE_P(Dialects, WorkflowOverHttpTest,
                         ::testing::Values(City::CITY_LVLIANG, City::CITY_XINZHOU),
                         [](const ::testing::TestParamInfo<City>& info) {
                           return std::string(CityName(info.param));
                         });

}  // namespace
}  // namespace interop::adapters::lvliang
