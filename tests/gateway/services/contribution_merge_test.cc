#include "gateway/services/contribution_merge.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::services {
namespace {

using ::interop::common::v1::City;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using social::v1::ContributionEntry;
using social::v1::GetContributionHistoryRequest;
using social::v1::GetContributionHistoryResponse;

constexpr social::v1::InsuranceKind kPension = social::v1::INSURANCE_KIND_EMPLOYEE_PENSION;
constexpr social::v1::InsuranceKind kUnemployment = social::v1::INSURANCE_KIND_UNEMPLOYMENT;
constexpr social::v1::InsuranceKind kMedical = social::v1::INSURANCE_KIND_EMPLOYEE_MEDICAL;

// ---------------------------------------------------------------------------------------------
// ValidateContributionQuery

void ExpectFieldError(const GetContributionHistoryRequest& request, absl::string_view field) {
  absl::Status status = ValidateContributionQuery(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << request.ShortDebugString() << ": " << status;
  EXPECT_THAT(std::string(status.message()), StartsWith(absl::StrCat(field, ":")))
      << request.ShortDebugString() << ": " << status;
}

TEST(ValidateContributionQueryTest, EmptyQueryIsValid) {
  EXPECT_TRUE(ValidateContributionQuery(GetContributionHistoryRequest()).ok());
}

TEST(ValidateContributionQueryTest, FullValidQuery) {
  GetContributionHistoryRequest request;
  request.set_granularity(social::v1::GRANULARITY_MONTH);
  request.add_kinds(kPension);
  request.add_kinds(social::v1::INSURANCE_KIND_WORK_INJURY);
  request.set_from_year(1950);
  request.set_to_year(2100);
  EXPECT_TRUE(ValidateContributionQuery(request).ok());
  request.set_from_year(2010);
  request.set_to_year(2010);  // a single year
  EXPECT_TRUE(ValidateContributionQuery(request).ok());
}

TEST(ValidateContributionQueryTest, OpenEndedRangesAreValid) {
  GetContributionHistoryRequest request;
  request.set_from_year(2000);
  EXPECT_TRUE(ValidateContributionQuery(request).ok());
  request.set_from_year(0);
  request.set_to_year(2000);
  EXPECT_TRUE(ValidateContributionQuery(request).ok());
}

TEST(ValidateContributionQueryTest, UnknownGranularity) {
  GetContributionHistoryRequest request;
  request.set_granularity(static_cast<social::v1::Granularity>(3));
  ExpectFieldError(request, "granularity");
}

TEST(ValidateContributionQueryTest, UnspecifiedKindNamesItsIndex) {
  GetContributionHistoryRequest request;
  request.add_kinds(kPension);
  request.add_kinds(social::v1::INSURANCE_KIND_UNSPECIFIED);
  ExpectFieldError(request, "kinds[1]");
}

TEST(ValidateContributionQueryTest, UnknownKindNamesItsIndex) {
  GetContributionHistoryRequest request;
  request.add_kinds(static_cast<social::v1::InsuranceKind>(510));
  ExpectFieldError(request, "kinds[0]");
  GetContributionHistoryRequest second;
  second.add_kinds(kPension);
  second.add_kinds(kMedical);
  second.add_kinds(static_cast<social::v1::InsuranceKind>(111));
  ExpectFieldError(second, "kinds[2]");
}

TEST(ValidateContributionQueryTest, FromYearOutOfRange) {
  for (int year : {1949, 2101, -1, 20240}) {
    GetContributionHistoryRequest request;
    request.set_from_year(year);
    ExpectFieldError(request, "from_year");
  }
}

TEST(ValidateContributionQueryTest, ToYearOutOfRange) {
  for (int year : {1949, 2101, -2024}) {
    GetContributionHistoryRequest request;
    request.set_to_year(year);
    ExpectFieldError(request, "to_year");
  }
}

TEST(ValidateContributionQueryTest, ToYearBeforeFromYear) {
  GetContributionHistoryRequest request;
  request.set_from_year(2015);
  request.set_to_year(2014);
  ExpectFieldError(request, "to_year");
  EXPECT_THAT(std::string(ValidateContributionQuery(request).message()), HasSubstr("from_year"));
}

// ---------------------------------------------------------------------------------------------
// MergeContributions

ContributionEntry Monthly(City city, social::v1::InsuranceKind kind, int year, int month, int64_t base,
                          int64_t personal, int64_t employer) {
  ContributionEntry e;
  *e.mutable_city() = MakeCityInfo(city);
  e.set_kind(kind);
  e.set_year(year);
  e.set_month(month);
  e.mutable_wage_base()->set_fen(base);
  e.set_months(1);
  e.mutable_personal_amount()->set_fen(personal);
  e.mutable_employer_amount()->set_fen(employer);
  return e;
}

// "2019-03 140900 110" for an entry: what the ordering is about.
std::string Key(const ContributionEntry& e) {
  return absl::StrCat(e.year(), "-", e.month(), " ", e.city().division_code(), " ", static_cast<int>(e.kind()));
}

std::vector<std::string> Keys(const GetContributionHistoryResponse& response) {
  std::vector<std::string> keys;
  for (const ContributionEntry& e : response.entries()) keys.push_back(Key(e));
  return keys;
}

// A person who worked in Xinzhou in 2019, moved to Taiyuan in mid-2019 (overlap month in both), and
// paid medical and unemployment contributions too. Deliberately not in order.
std::vector<ContributionEntry> History() {
  return {
      Monthly(City::CITY_TAIYUAN, kPension, 2020, 1, 600000, 48000, 96000),
      Monthly(City::CITY_XINZHOU, kPension, 2019, 6, 300000, 24000, 48000),
      Monthly(City::CITY_TAIYUAN, kMedical, 2019, 6, 500000, 10000, 30000),
      Monthly(City::CITY_TAIYUAN, kPension, 2019, 7, 500000, 40000, 80000),
      Monthly(City::CITY_XINZHOU, kPension, 2019, 5, 280000, 22400, 44800),
      Monthly(City::CITY_TAIYUAN, kPension, 2019, 6, 500000, 40000, 80000),
      Monthly(City::CITY_TAIYUAN, kUnemployment, 2019, 6, 500000, 2500, 3500),
      Monthly(City::CITY_TAIYUAN, kPension, 2019, 12, 550000, 44000, 88000),
  };
}

TEST(MergeContributionsTest, MonthlyKeepsEveryEntryOrderedByYearMonthCityKind) {
  GetContributionHistoryRequest request;
  request.set_granularity(social::v1::GRANULARITY_MONTH);
  GetContributionHistoryResponse response;
  MergeContributions(request, History(), &response);
  EXPECT_THAT(Keys(response), ::testing::ElementsAre("2019-5 140900 110",  //
                                                     "2019-6 140100 110",  //
                                                     "2019-6 140100 210",  //
                                                     "2019-6 140100 310",  //
                                                     "2019-6 140900 110",  //
                                                     "2019-7 140100 110",  //
                                                     "2019-12 140100 110",  //
                                                     "2020-1 140100 110"));
  for (const ContributionEntry& e : response.entries()) {
    EXPECT_EQ(e.months(), 1) << Key(e);
    EXPECT_GE(e.month(), 1) << Key(e);
  }
  // The amounts travel with their entry.
  EXPECT_EQ(response.entries(0).wage_base().fen(), 280000);
  EXPECT_EQ(response.entries(0).personal_amount().fen(), 22400);
  EXPECT_EQ(response.entries(0).employer_amount().fen(), 44800);
  EXPECT_EQ(response.entries(0).city().city(), City::CITY_XINZHOU);
  EXPECT_EQ(response.entries(2).personal_amount().fen(), 2500);
  // Pension months: 2 in Xinzhou, 4 in Taiyuan, but June 2019 was paid in both and counts once.
  EXPECT_EQ(response.total_pension_months(), 5);
}

TEST(MergeContributionsTest, YearlySumsPerCityKindAndYear) {
  GetContributionHistoryRequest request;
  request.set_granularity(social::v1::GRANULARITY_YEAR);
  GetContributionHistoryResponse response;
  MergeContributions(request, History(), &response);
  EXPECT_THAT(Keys(response), ::testing::ElementsAre("2019-0 140100 110",  //
                                                     "2019-0 140100 210",  //
                                                     "2019-0 140100 310",  //
                                                     "2019-0 140900 110",  //
                                                     "2020-0 140100 110"));
  const ContributionEntry& taiyuan_pension_2019 = response.entries(0);
  EXPECT_EQ(taiyuan_pension_2019.city().city(), City::CITY_TAIYUAN);
  EXPECT_EQ(taiyuan_pension_2019.kind(), kPension);
  EXPECT_EQ(taiyuan_pension_2019.year(), 2019);
  EXPECT_EQ(taiyuan_pension_2019.month(), 0);
  EXPECT_EQ(taiyuan_pension_2019.months(), 3);                           // June, July, December
  EXPECT_EQ(taiyuan_pension_2019.personal_amount().fen(), 40000 + 40000 + 44000);
  EXPECT_EQ(taiyuan_pension_2019.employer_amount().fen(), 80000 + 80000 + 88000);
  EXPECT_EQ(taiyuan_pension_2019.wage_base().fen(), 550000);             // December's, the latest

  const ContributionEntry& xinzhou_pension_2019 = response.entries(3);
  EXPECT_EQ(xinzhou_pension_2019.city().division_code(), "140900");
  EXPECT_EQ(xinzhou_pension_2019.months(), 2);
  EXPECT_EQ(xinzhou_pension_2019.personal_amount().fen(), 24000 + 22400);
  EXPECT_EQ(xinzhou_pension_2019.employer_amount().fen(), 48000 + 44800);
  // June's base, although May's entry came after June's in the input.
  EXPECT_EQ(xinzhou_pension_2019.wage_base().fen(), 300000);

  EXPECT_EQ(response.entries(1).months(), 1);
  EXPECT_EQ(response.entries(4).months(), 1);
  EXPECT_EQ(response.entries(4).wage_base().fen(), 600000);
  EXPECT_EQ(response.total_pension_months(), 5);  // June 2019 paid in two cities counts once
}

TEST(MergeContributionsTest, UnspecifiedGranularityIsYearly) {
  GetContributionHistoryRequest request;
  GetContributionHistoryResponse response;
  MergeContributions(request, History(), &response);
  ASSERT_EQ(response.entries_size(), 5);
  for (const ContributionEntry& e : response.entries()) EXPECT_EQ(e.month(), 0) << Key(e);
}

TEST(MergeContributionsTest, KindsFilterKeepsOnlyTheListedKinds) {
  GetContributionHistoryRequest request;
  request.set_granularity(social::v1::GRANULARITY_MONTH);
  request.add_kinds(kMedical);
  request.add_kinds(kUnemployment);
  GetContributionHistoryResponse response;
  MergeContributions(request, History(), &response);
  EXPECT_THAT(Keys(response), ::testing::ElementsAre("2019-6 140100 210", "2019-6 140100 310"));
  EXPECT_EQ(response.total_pension_months(), 0);  // no pension entries in the returned range
}

TEST(MergeContributionsTest, KindsFilterPensionOnlyYearly) {
  GetContributionHistoryRequest request;
  request.set_granularity(social::v1::GRANULARITY_YEAR);
  request.add_kinds(kPension);
  GetContributionHistoryResponse response;
  MergeContributions(request, History(), &response);
  EXPECT_THAT(Keys(response),
              ::testing::ElementsAre("2019-0 140100 110", "2019-0 140900 110", "2020-0 140100 110"));
  EXPECT_EQ(response.total_pension_months(), 5);
}

TEST(MergeContributionsTest, OrderingUsesDivisionCodeThenKindWithinAMonth) {
  // Every city in one month, kinds reversed, cities reversed.
  std::vector<ContributionEntry> monthly;
  const City cities[] = {City::CITY_LVLIANG, City::CITY_XINZHOU, City::CITY_JINZHONG, City::CITY_YANGQUAN,
                         City::CITY_TAIYUAN};
  for (City city : cities) {
    monthly.push_back(Monthly(city, kMedical, 2022, 3, 1, 1, 1));
    monthly.push_back(Monthly(city, kPension, 2022, 3, 1, 1, 1));
  }
  GetContributionHistoryRequest request;
  request.set_granularity(social::v1::GRANULARITY_MONTH);
  GetContributionHistoryResponse response;
  MergeContributions(request, monthly, &response);
  EXPECT_THAT(Keys(response), ::testing::ElementsAre("2022-3 140100 110", "2022-3 140100 310",  //
                                                     "2022-3 140300 110", "2022-3 140300 310",  //
                                                     "2022-3 140700 110", "2022-3 140700 310",  //
                                                     "2022-3 140900 110", "2022-3 140900 310",  //
                                                     "2022-3 141100 110", "2022-3 141100 310"));
  // One month, paid in five cities: a duplicate for the cities to resolve, counted once.
  EXPECT_EQ(response.total_pension_months(), 1);
}

TEST(MergeContributionsTest, NothingInNothingOut) {
  GetContributionHistoryRequest request;
  GetContributionHistoryResponse response;
  MergeContributions(request, {}, &response);
  EXPECT_EQ(response.entries_size(), 0);
  EXPECT_EQ(response.total_pension_months(), 0);
}

}  // namespace
}  // namespace interop::services
