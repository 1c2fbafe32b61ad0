// The kit's reading of the contract's information sheet (tools/conformance/mobility_checks.h): what
// pension-prepare holds a city's sheet to, without a backend.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/conformance/mobility_checks.h"

namespace interop::conformance {
namespace {

using ::testing::HasSubstr;

social::v1::ContributionEntry Month(int year, int month, int64_t base, int64_t personal, int64_t employer) {
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

// 1997-12 (before the pooled fund), 1998-01 and 1998-02.
adapters::PensionTransferSheet Sheet() {
  adapters::PensionTransferSheet s;
  s.months = {Month(1997, 12, 150000, 12000, 30000), Month(1998, 1, 300000, 24000, 60000),
              Month(1998, 2, 300001, 24000, 60000)};
  s.years = {{1997, 1, 150000, 12000, 30000}, {1998, 2, 600001, 48000, 120000}};
  s.personal_account_fen = 84000;
  s.pooled_fund_fen = 72000;
  return s;
}

TEST(ContractPooledFundTest, TwelvePercentOfEachMonthSince1998RoundedHalfUpPerMonth) {
  EXPECT_EQ(ContractPooledFund(Sheet().months), 72000);  // 36000 + 36000.12 -> 36000
  // 12% of 300005 fen is 36000.6 fen: rounded up, per month (not once over the sum).
  EXPECT_EQ(ContractPooledFund({Month(2020, 1, 300005, 0, 0), Month(2020, 2, 300005, 0, 0)}), 72002);
  // 12% of 300004 fen is 36000.48: rounded down.
  EXPECT_EQ(ContractPooledFund({Month(2020, 1, 300004, 0, 0)}), 36000);
  EXPECT_EQ(ContractPooledFund({Month(2020, 1, 125, 0, 0)}), 15);    // 15.00
  EXPECT_EQ(ContractPooledFund({Month(2020, 1, 1254, 0, 0)}), 150);  // 150.48
  EXPECT_EQ(ContractPooledFund({Month(2020, 1, 1255, 0, 0)}), 151);  // 150.60
  // Months before 1998-01 and other kinds do not count.
  social::v1::ContributionEntry medical = Month(2020, 1, 300000, 0, 0);
  medical.set_kind(social::v1::INSURANCE_KIND_EMPLOYEE_MEDICAL);
  EXPECT_EQ(ContractPooledFund({Month(1997, 12, 300000, 0, 0), medical}), 0);
}

TEST(SheetInconsistencyTest, AConsistentSheetHasNone) { EXPECT_EQ(SheetInconsistency(Sheet()), ""); }

TEST(SheetInconsistencyTest, NamesEveryInconsistency) {
  adapters::PensionTransferSheet pooled = Sheet();
  pooled.pooled_fund_fen = 72001;
  EXPECT_THAT(
      SheetInconsistency(pooled),
      HasSubstr("pooled_fund is 720.01 yuan; 12% of the wage base of each month since 1998-01, rounded "
                "half up to the fen and summed, is 720.00 yuan"));

  adapters::PensionTransferSheet repeated = Sheet();
  repeated.months[2] = repeated.months[1];
  EXPECT_THAT(SheetInconsistency(repeated), HasSubstr("months[2] (1998-01) is not after the month before"));

  adapters::PensionTransferSheet descending = Sheet();
  std::swap(descending.years[0], descending.years[1]);
  EXPECT_THAT(SheetInconsistency(descending), HasSubstr("years[1] (1997) is not after the year before"));

  adapters::PensionTransferSheet sums = Sheet();
  sums.years[1].wage_base_total_fen = 600000;
  EXPECT_THAT(
      SheetInconsistency(sums),
      HasSubstr("years[1] (1998) is not the sum of the year's months: it differs in wage_base_total"));
  sums = Sheet();
  sums.years[1].months = 3;
  EXPECT_THAT(SheetInconsistency(sums), HasSubstr("it differs in months (months 3 vs 2"));
  sums = Sheet();
  sums.years[0].employer_fen += 1;
  EXPECT_THAT(SheetInconsistency(sums), HasSubstr("years[0] (1997) is not the sum of the year's months: it "
                                                  "differs in employer_amount"));

  adapters::PensionTransferSheet missing = Sheet();
  missing.years.erase(missing.years.begin());
  EXPECT_THAT(SheetInconsistency(missing), HasSubstr("the months of 1997 have no entry in years"));
  adapters::PensionTransferSheet extra = Sheet();
  extra.years.push_back({1999, 12, 0, 0, 0});
  EXPECT_THAT(SheetInconsistency(extra), HasSubstr("years[2] (1999) has no month among the sheet's months"));
  extra.years.back().months = 13;
  EXPECT_THAT(SheetInconsistency(extra), HasSubstr("years[2] (1999) has 13 months, not 1-12"));

  adapters::PensionTransferSheet kind = Sheet();
  kind.months[0].set_kind(social::v1::INSURANCE_KIND_UNEMPLOYMENT);
  EXPECT_THAT(SheetInconsistency(kind),
              HasSubstr("months[0] (1997-12) is not one month of pension contributions"));
}

}  // namespace
}  // namespace interop::conformance
