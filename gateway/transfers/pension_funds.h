// The funds of a pension relationship transfer (养老保险关系转移接续) and the checks of the origin's
// information sheet (信息表), in canonical terms (integer fen).
//
// What moves with the relationship:
//  - the personal account, in full: the origin's balance (a city's own figure; the mock cities keep
//    it as the sum of the person's own pension contributions, without interest);
//  - the pooled part: for every month since 1998-01 that the person paid pension contributions in
//    the origin city, 12% of that month's wage base, rounded half up to the fen per month, summed:
//        pooled = Σ_{months m ≥ 1998-01} floor((wage_base_fen(m) × 12 + 50) / 100)
//    (the national rule: 12% of each year's contribution wage base since 1998-01-01, pro-rated by the
//    months paid; rounding each month keeps the figure independent of how months are grouped).
//
// Example: months 1997-12 (base 150000), 1998-01 (base 300000), 1998-02 (base 300001) give
// pooled = 36000 + 36000 (300001 × 12 = 3600012 → 36000.12 → 36000) = 72000 fen.
//
// Thread-safe: pure functions.
#ifndef INTEROP_GATEWAY_TRANSFERS_PENSION_FUNDS_H_
#define INTEROP_GATEWAY_TRANSFERS_PENSION_FUNDS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "adapters/city_adapter.h"
#include "interop/social/v1/social.pb.h"

namespace interop::transfers {

// 12% of a month's wage base, rounded half up to the fen. `wage_base_fen` must be >= 0.
int64_t PooledShareOfMonth(int64_t wage_base_fen);

// Whether the month (year, month) counts towards the pooled part (1998-01 or later).
bool CountsForPooledFund(int year, int month);

struct PensionFunds {
  int64_t personal_contributions_fen = 0;  // Σ personal amounts of every month
  int64_t pooled_fund_fen = 0;             // Σ PooledShareOfMonth over months since 1998-01
  int months = 0;                          // months paid
};

// The funds of monthly pension entries (kind EMPLOYEE_PENSION, months = 1 each; other kinds are
// ignored).
PensionFunds ComputePensionFunds(const std::vector<social::v1::ContributionEntry>& months);

// The sheet's years built from monthly pension entries: per calendar year, the months paid, the sum
// of their wage bases, and the personal and employer sums; ascending.
std::vector<adapters::PensionSheetYear> SheetYears(const std::vector<social::v1::ContributionEntry>& months);

// Checks an origin's sheet: its months are monthly pension entries in ascending order without
// repeats, its years are exactly SheetYears(months), its pooled fund is exactly
// ComputePensionFunds(months).pooled_fund_fen, and its personal account is not negative.
// FAILED_PRECONDITION saying what does not check out.
absl::Status CheckSheet(const adapters::PensionTransferSheet& sheet);

// Checks the sheet against the contribution history the origin serves (pension months of
// GetMonthlyContributions): the same months with the same amounts. FAILED_PRECONDITION naming the
// first difference.
absl::Status CheckSheetAgainstHistory(const adapters::PensionTransferSheet& sheet,
                                      const std::vector<social::v1::ContributionEntry>& history);

}  // namespace interop::transfers

#endif  // INTEROP_GATEWAY_TRANSFERS_PENSION_FUNDS_H_
