// The pension transfer's funds rule and the information sheet checks (gateway/transfers/pension_funds.h),
// on worked examples with the arithmetic in the comments.
#include "gateway/transfers/pension_funds.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::transfers {
namespace {

using ::testing::HasSubstr;
using social::v1::ContributionEntry;

ContributionEntry Month(int year, int month, int64_t base, int64_t personal, int64_t employer,
                        social::v1::InsuranceKind kind = social::v1::INSURANCE_KIND_EMPLOYEE_PENSION) {
  ContributionEntry e;
  e.set_kind(kind);
  e.set_year(year);
  e.set_month(month);
  e.set_months(1);
  e.mutable_wage_base()->set_fen(base);
  e.mutable_personal_amount()->set_fen(personal);
  e.mutable_employer_amount()->set_fen(employer);
  return e;
}

TEST(PensionFundsTest, PooledShareIsTwelvePercentRoundedHalfUpPerMonth) {
  EXPECT_EQ(PooledShareOfMonth(300000), 36000);  // 3000.00 yuan x 12% = 360.00 yuan
  EXPECT_EQ(PooledShareOfMonth(300001), 36000);  // 3600012 / 100 = 36000.12 -> 36000
  EXPECT_EQ(PooledShareOfMonth(300004), 36000);  // 36000.48 -> 36000
  EXPECT_EQ(PooledShareOfMonth(300005), 36001);  // 36000.60 -> 36001
  EXPECT_EQ(PooledShareOfMonth(123458), 14815);  // 14814.96 -> 14815
  EXPECT_EQ(PooledShareOfMonth(0), 0);
}

TEST(PensionFundsTest, CountsOnlyPensionMonthsSince1998ForThePooledPart) {
  // 1997-12: before 1998, personal amount counts, no pooled part.
  // 1998-01: base 300000 -> 36000; 1998-02: base 300001 -> 36000; 2019-05: base 812345 -> 97481.4 -> 97481.
  // A medical month is ignored.
  std::vector<ContributionEntry> months = {
      Month(1997, 12, 150000, 12000, 30000), Month(1998, 1, 300000, 24000, 60000),
      Month(1998, 1, 300000, 6000, 24000, social::v1::INSURANCE_KIND_EMPLOYEE_MEDICAL),
      Month(1998, 2, 300001, 24000, 60000), Month(2019, 5, 812345, 64988, 129975)};
  PensionFunds funds = ComputePensionFunds(months);
  EXPECT_EQ(funds.months, 4);
  EXPECT_EQ(funds.pooled_fund_fen, 36000 + 36000 + 97481);          // = 169481
  EXPECT_EQ(funds.personal_contributions_fen, 12000 + 24000 + 24000 + 64988);  // = 124988
}

TEST(PensionFundsTest, SheetYearsSumTheMonthsOfEachYear) {
  std::vector<ContributionEntry> months = {Month(2001, 1, 100000, 8000, 20000), Month(2001, 2, 100000, 8000, 20000),
                                           Month(2002, 7, 150000, 12000, 30000)};
  std::vector<adapters::PensionSheetYear> years = SheetYears(months);
  ASSERT_EQ(years.size(), 2u);
  EXPECT_EQ(years[0].year, 2001);
  EXPECT_EQ(years[0].months, 2);
  EXPECT_EQ(years[0].wage_base_total_fen, 200000);
  EXPECT_EQ(years[0].personal_fen, 16000);
  EXPECT_EQ(years[0].employer_fen, 40000);
  EXPECT_EQ(years[1].months, 1);
}

adapters::PensionTransferSheet GoodSheet() {
  adapters::PensionTransferSheet sheet;
  sheet.months = {Month(2001, 1, 100001, 8000, 20000), Month(2001, 2, 100001, 8000, 20000)};
  sheet.years = SheetYears(sheet.months);
  sheet.personal_account_fen = 16000;
  sheet.pooled_fund_fen = 24000;  // 2 x (100001 x 12 = 1200012 -> 12000.12 -> 12000)
  return sheet;
}

TEST(PensionFundsTest, CheckSheetAcceptsAConsistentSheetAndNamesWhatDoesNotCheckOut) {
  EXPECT_TRUE(CheckSheet(GoodSheet()).ok());

  adapters::PensionTransferSheet pooled = GoodSheet();
  pooled.pooled_fund_fen = 24001;
  EXPECT_EQ(CheckSheet(pooled).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(CheckSheet(pooled).message(), HasSubstr("pooled fund 24001"));

  adapters::PensionTransferSheet years = GoodSheet();
  years.years[0].personal_fen += 1;
  EXPECT_THAT(CheckSheet(years).message(), HasSubstr("years[0]"));

  adapters::PensionTransferSheet order = GoodSheet();
  std::swap(order.months[0], order.months[1]);
  EXPECT_THAT(CheckSheet(order).message(), HasSubstr("months[1]"));
}

TEST(PensionFundsTest, CheckSheetAgainstHistoryFindsTheFirstDifference) {
  adapters::PensionTransferSheet sheet = GoodSheet();
  std::vector<ContributionEntry> history = {Month(2001, 1, 100001, 8000, 20000),
                                            Month(2001, 1, 100001, 2000, 8000, social::v1::INSURANCE_KIND_EMPLOYEE_MEDICAL),
                                            Month(2001, 2, 100001, 8000, 20000)};
  EXPECT_TRUE(CheckSheetAgainstHistory(sheet, history).ok());
  history[2].mutable_wage_base()->set_fen(100002);
  EXPECT_THAT(CheckSheetAgainstHistory(sheet, history).message(), HasSubstr("months[1] (2001-2)"));
  history.pop_back();
  EXPECT_THAT(CheckSheetAgainstHistory(sheet, history).message(), HasSubstr("lists 2 pension months"));
}

}  // namespace
}  // namespace interop::transfers
