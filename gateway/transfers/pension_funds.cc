#include "gateway/transfers/pension_funds.h"

#include <tuple>

#include "absl/strings/str_cat.h"

namespace interop::transfers {
namespace {

using social::v1::ContributionEntry;

bool IsPensionMonth(const ContributionEntry& e) {
  return e.kind() == social::v1::INSURANCE_KIND_EMPLOYEE_PENSION;
}

absl::Status Mismatch(absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat("the information sheet does not check out: ", what));
}

}  // namespace

int64_t PooledShareOfMonth(int64_t wage_base_fen) { return (wage_base_fen * 12 + 50) / 100; }

bool CountsForPooledFund(int year, int month) { return year > 1998 || (year == 1998 && month >= 1); }

PensionFunds ComputePensionFunds(const std::vector<ContributionEntry>& months) {
  PensionFunds funds;
  for (const ContributionEntry& e : months) {
    if (!IsPensionMonth(e)) continue;
    ++funds.months;
    funds.personal_contributions_fen += e.personal_amount().fen();
    if (CountsForPooledFund(e.year(), e.month())) funds.pooled_fund_fen += PooledShareOfMonth(e.wage_base().fen());
  }
  return funds;
}

std::vector<adapters::PensionSheetYear> SheetYears(const std::vector<ContributionEntry>& months) {
  std::vector<adapters::PensionSheetYear> years;
  for (const ContributionEntry& e : months) {
    if (!IsPensionMonth(e)) continue;
    if (years.empty() || years.back().year != e.year()) {
      years.emplace_back();
      years.back().year = e.year();
    }
    adapters::PensionSheetYear& y = years.back();
    ++y.months;
    y.wage_base_total_fen += e.wage_base().fen();
    y.personal_fen += e.personal_amount().fen();
    y.employer_fen += e.employer_amount().fen();
  }
  return years;
}

absl::Status CheckSheet(const adapters::PensionTransferSheet& sheet) {
  for (size_t i = 0; i < sheet.months.size(); ++i) {
    const ContributionEntry& e = sheet.months[i];
    if (!IsPensionMonth(e) || e.months() != 1 || e.month() < 1 || e.month() > 12) {
      return Mismatch(absl::StrCat("months[", i, "] is not a monthly pension entry"));
    }
    if (i > 0 && std::make_tuple(e.year(), e.month()) <=
                     std::make_tuple(sheet.months[i - 1].year(), sheet.months[i - 1].month())) {
      return Mismatch(absl::StrCat("months[", i, "] is not after the month before"));
    }
  }
  std::vector<adapters::PensionSheetYear> expected = SheetYears(sheet.months);
  if (expected.size() != sheet.years.size()) {
    return Mismatch(absl::StrCat("it has ", sheet.years.size(), " years but its months span ", expected.size()));
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    const adapters::PensionSheetYear& a = expected[i];
    const adapters::PensionSheetYear& b = sheet.years[i];
    if (a.year != b.year || a.months != b.months || a.wage_base_total_fen != b.wage_base_total_fen ||
        a.personal_fen != b.personal_fen || a.employer_fen != b.employer_fen) {
      return Mismatch(absl::StrCat("years[", i, "] (", b.year, ") is not the sum of its months"));
    }
  }
  const PensionFunds funds = ComputePensionFunds(sheet.months);
  if (sheet.pooled_fund_fen != funds.pooled_fund_fen) {
    return Mismatch(absl::StrCat("pooled fund ", sheet.pooled_fund_fen, " fen is not 12% of the wage bases since "
                                 "1998-01 (", funds.pooled_fund_fen, " fen)"));
  }
  if (sheet.personal_account_fen < 0) return Mismatch("the personal account is negative");
  return absl::OkStatus();
}

absl::Status CheckSheetAgainstHistory(const adapters::PensionTransferSheet& sheet,
                                      const std::vector<ContributionEntry>& history) {
  std::vector<const ContributionEntry*> pension;
  for (const ContributionEntry& e : history) {
    if (IsPensionMonth(e)) pension.push_back(&e);
  }
  if (pension.size() != sheet.months.size()) {
    return Mismatch(absl::StrCat("it lists ", sheet.months.size(), " pension months, the origin's history ",
                                 pension.size()));
  }
  for (size_t i = 0; i < pension.size(); ++i) {
    const ContributionEntry& a = *pension[i];
    const ContributionEntry& b = sheet.months[i];
    if (a.year() != b.year() || a.month() != b.month() || a.wage_base().fen() != b.wage_base().fen() ||
        a.personal_amount().fen() != b.personal_amount().fen() ||
        a.employer_amount().fen() != b.employer_amount().fen()) {
      return Mismatch(absl::StrCat("months[", i, "] (", b.year(), "-", b.month(),
                                   ") differs from the origin's contribution history"));
    }
  }
  return absl::OkStatus();
}

}  // namespace interop::transfers
