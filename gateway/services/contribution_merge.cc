#include "gateway/services/contribution_merge.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "gateway/base/rich_status.h"

namespace interop::services {
namespace {

using social::v1::ContributionEntry;

constexpr int kMinYear = 1950;
constexpr int kMaxYear = 2100;

auto SortKey(const ContributionEntry& e) {
  return std::make_tuple(e.year(), e.month(), e.city().division_code(), static_cast<int>(e.kind()));
}

}  // namespace

absl::Status ValidateContributionQuery(const social::v1::GetContributionHistoryRequest& request) {
  if (!social::v1::Granularity_IsValid(request.granularity())) {
    return FieldError("granularity", absl::StrCat("unknown value ", request.granularity()));
  }
  for (int i = 0; i < request.kinds_size(); ++i) {
    int kind = request.kinds(i);
    if (kind == social::v1::INSURANCE_KIND_UNSPECIFIED || !social::v1::InsuranceKind_IsValid(kind)) {
      return FieldError(absl::StrCat("kinds[", i, "]"), absl::StrCat("unknown insurance kind ", kind));
    }
  }
  if (request.from_year() != 0 && (request.from_year() < kMinYear || request.from_year() > kMaxYear)) {
    return FieldError("from_year",
                      absl::StrCat("must be 0 or between ", kMinYear, " and ", kMaxYear, ", got ", request.from_year()));
  }
  if (request.to_year() != 0 && (request.to_year() < kMinYear || request.to_year() > kMaxYear)) {
    return FieldError("to_year",
                      absl::StrCat("must be 0 or between ", kMinYear, " and ", kMaxYear, ", got ", request.to_year()));
  }
  if (request.to_year() != 0 && request.to_year() < request.from_year()) {
    return FieldError("to_year", absl::StrCat(request.to_year(), " is before from_year ", request.from_year()));
  }
  return absl::OkStatus();
}

void MergeContributions(const social::v1::GetContributionHistoryRequest& request,
                        std::vector<ContributionEntry> monthly,
                        social::v1::GetContributionHistoryResponse* response) {
  std::set<int> kinds(request.kinds().begin(), request.kinds().end());
  monthly.erase(std::remove_if(monthly.begin(), monthly.end(),
                               [&kinds](const ContributionEntry& e) {
                                 return !kinds.empty() && kinds.count(e.kind()) == 0;
                               }),
                monthly.end());
  std::sort(monthly.begin(), monthly.end(),
            [](const ContributionEntry& a, const ContributionEntry& b) { return SortKey(a) < SortKey(b); });

  // A month paid in two cities at once (重复缴费, to be resolved by the cities) counts once.
  std::set<std::pair<int, int>> pension_months;
  for (const ContributionEntry& e : monthly) {
    if (e.kind() == social::v1::INSURANCE_KIND_EMPLOYEE_PENSION) pension_months.insert({e.year(), e.month()});
  }
  response->set_total_pension_months(static_cast<int>(pension_months.size()));

  if (request.granularity() == social::v1::GRANULARITY_MONTH) {
    for (ContributionEntry& e : monthly) *response->add_entries() = std::move(e);
    return;
  }
  // Yearly: group by (year, city, kind); entries arrive in month order, so the last one seen carries
  // the latest wage base.
  std::map<std::tuple<int, std::string, int>, ContributionEntry> years;
  for (const ContributionEntry& e : monthly) {
    auto key = std::make_tuple(e.year(), e.city().division_code(), static_cast<int>(e.kind()));
    auto [it, inserted] = years.try_emplace(key);
    ContributionEntry& year = it->second;
    if (inserted) {
      *year.mutable_city() = e.city();
      year.set_kind(e.kind());
      year.set_year(e.year());
      year.set_month(0);
    }
    *year.mutable_wage_base() = e.wage_base();
    year.set_months(year.months() + e.months());
    year.mutable_personal_amount()->set_fen(year.personal_amount().fen() + e.personal_amount().fen());
    year.mutable_employer_amount()->set_fen(year.employer_amount().fen() + e.employer_amount().fen());
  }
  for (auto& [key, entry] : years) *response->add_entries() = std::move(entry);
}

}  // namespace interop::services
