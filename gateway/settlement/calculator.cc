#include "gateway/settlement/calculator.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"

namespace interop::settlement {
namespace {

using config::v1::AnnualCap;
using config::v1::BenefitRule;
using config::v1::CatalogueClass;
using config::v1::CatalogueItem;
using config::v1::HospitalLevel;
using config::v1::MedicalCatalogue;
using config::v1::MedicalPolicy;
using config::v1::VisitType;
using medical::v1::Explanation;
using medical::v1::LineItem;
using medical::v1::SettledLine;
using medical::v1::Settlement;
using medical::v1::SplitField;

// Largest line total accepted, in fen (10^13 fen = 100 billion yuan). With at most a few thousand
// lines, every sum and every "x ratio" product below stays far inside int64.
constexpr int64_t kMaxLineFen = 10'000'000'000'000;
// Largest visit total accepted, in fen: keeps (amount x 1000) inside int64.
constexpr int64_t kMaxVisitFen = 1'000'000'000'000'000;
// How many codes an explanation lists before "and N more".
constexpr size_t kMaxCodesExplained = 10;

// quantity_milli x unit / 1000, rounded half up; both factors positive. Computed in 128 bits so
// that no input overflows; the caller checks the result against kMaxLineFen.
__int128 MilliTimesHalfUp(int64_t quantity_milli, int64_t unit_fen) {
  return (static_cast<__int128>(quantity_milli) * unit_fen + 500) / 1000;
}

// amount x permille / 1000, rounded half up; amount in [0, kMaxVisitFen], permille in [0, 1000].
int64_t PermilleHalfUp(int64_t amount, int64_t permille) { return (amount * permille + 500) / 1000; }

absl::string_view VisitTypeWord(VisitType type) {
  switch (type) {
    case config::v1::VISIT_TYPE_OUTPATIENT:
      return "outpatient";
    case config::v1::VISIT_TYPE_INPATIENT:
      return "inpatient";
    default:
      return "unspecified visit type";
  }
}

absl::string_view LevelWord(HospitalLevel level) {
  switch (level) {
    case config::v1::HOSPITAL_LEVEL_PRIMARY:
      return "primary";
    case config::v1::HOSPITAL_LEVEL_SECONDARY:
      return "secondary";
    case config::v1::HOSPITAL_LEVEL_TERTIARY:
      return "tertiary";
    default:
      return "unspecified-level";
  }
}

// "1.500" for 1500.
std::string Quantity(int64_t quantity_milli) {
  return absl::StrFormat("%d.%03d", quantity_milli / 1000, quantity_milli % 1000);
}

// "85.0%" for 850.
std::string Percent(int64_t permille) { return absl::StrFormat("%d.%d%%", permille / 10, permille % 10); }

// "5.0 points" for 50.
std::string Points(int64_t permille) { return absl::StrFormat("%d.%d points", permille / 10, permille % 10); }

// Joins up to kMaxCodesExplained parts, then says how many more there are.
std::string JoinCapped(const std::vector<std::string>& parts) {
  if (parts.size() <= kMaxCodesExplained) return absl::StrJoin(parts, "; ");
  std::vector<std::string> head(parts.begin(), parts.begin() + kMaxCodesExplained);
  return absl::StrCat(absl::StrJoin(head, "; "), "; and ", parts.size() - kMaxCodesExplained, " more");
}

void Explain(Settlement& settlement, SplitField field, std::string rule) {
  Explanation* explanation = settlement.add_explanations();
  explanation->set_field(field);
  explanation->set_rule(std::move(rule));
}

bool IsInsuranceType(medical::v1::InsuranceType type) {
  return type == medical::v1::INSURANCE_TYPE_EMPLOYEE || type == medical::v1::INSURANCE_TYPE_RETIRED_CADRE ||
         type == medical::v1::INSURANCE_TYPE_URBAN_RURAL_RESIDENT;
}

absl::Status CheckFacts(const VisitFacts& facts, const MedicalCatalogue& catalogue,
                        const MedicalPolicy& policy) {
  if (facts.visit == nullptr) return absl::InvalidArgumentError("facts.visit: is required");
  const medical::v1::Visit& visit = *facts.visit;
  if (CityDivisionCode(facts.treatment_city).empty()) {
    return absl::InvalidArgumentError("facts.treatment_city: must be one of the five cities");
  }
  if (CityDivisionCode(facts.insured_city).empty()) {
    return absl::InvalidArgumentError("facts.insured_city: must be one of the five cities");
  }
  if (catalogue.city() != facts.treatment_city) {
    return absl::InvalidArgumentError(absl::StrCat("catalogue: is ", CityName(catalogue.city()),
                                                   "'s, not that of the treatment city ",
                                                   CityName(facts.treatment_city)));
  }
  if (policy.city() != facts.insured_city) {
    return absl::InvalidArgumentError(absl::StrCat("policy: is ", CityName(policy.city()),
                                                   "'s, not that of the insured city ",
                                                   CityName(facts.insured_city)));
  }
  if (!IsInsuranceType(facts.account.insurance_type)) {
    return absl::InvalidArgumentError("facts.account.insurance_type: must be 310, 340 or 390");
  }
  if (facts.account.status == medical::v1::ENROLLMENT_STATUS_UNSPECIFIED) {
    return absl::InvalidArgumentError("facts.account.status: is required");
  }
  if (facts.account.year != visit.visit_date().year()) {
    return absl::InvalidArgumentError(absl::StrCat("facts.account.year: ", facts.account.year,
                                                   " is not the year of the visit, ",
                                                   visit.visit_date().year()));
  }
  if (visit.visit_type() != config::v1::VISIT_TYPE_OUTPATIENT &&
      visit.visit_type() != config::v1::VISIT_TYPE_INPATIENT) {
    return FieldError("visit.visit_type", "is required");
  }
  HospitalLevel level = visit.hospital().level();
  if (level != config::v1::HOSPITAL_LEVEL_PRIMARY && level != config::v1::HOSPITAL_LEVEL_SECONDARY &&
      level != config::v1::HOSPITAL_LEVEL_TERTIARY) {
    return FieldError("visit.hospital.level", "is required");
  }
  if (visit.items_size() == 0) return FieldError("visit.items", "at least one line is required");
  for (int i = 0; i < visit.items_size(); ++i) {
    const LineItem& line = visit.items(i);
    if (line.quantity_milli() <= 0) {
      return FieldError(absl::StrCat("visit.items[", i, "].quantity_milli"), "must be positive");
    }
    if (line.unit_price().fen() <= 0) {
      return FieldError(absl::StrCat("visit.items[", i, "].unit_price"), "must be positive");
    }
  }
  return absl::OkStatus();
}

// The catalogue items of the codes billed, found in one pass over the catalogue. A code not listed
// maps to nullptr.
absl::flat_hash_map<std::string, const CatalogueItem*> ItemsOfVisit(const medical::v1::Visit& visit,
                                                                    const MedicalCatalogue& catalogue) {
  absl::flat_hash_map<std::string, const CatalogueItem*> items;
  for (const LineItem& line : visit.items()) items.emplace(line.code(), nullptr);
  for (const CatalogueItem& item : catalogue.items()) {
    auto it = items.find(item.code());
    if (it != items.end() && it->second == nullptr) it->second = &item;
  }
  return items;
}

// Sums of the classified lines, and what the explanations say about them.
struct LineTotals {
  int64_t total = 0;
  int64_t out_of_catalogue = 0;
  int64_t over_price_limit = 0;
  int64_t pre_self_pay = 0;
  int64_t in_scope = 0;
  std::vector<std::string> out_of_catalogue_parts;
  std::vector<std::string> over_limit_parts;
  std::vector<std::string> pre_self_pay_parts;
};

// Step 1: classifies every line under the treatment city's catalogue.
absl::Status ClassifyLines(const medical::v1::Visit& visit, const MedicalCatalogue& catalogue,
                           Settlement& settlement, LineTotals& totals) {
  absl::flat_hash_map<std::string, const CatalogueItem*> items = ItemsOfVisit(visit, catalogue);
  for (int i = 0; i < visit.items_size(); ++i) {
    const LineItem& line = visit.items(i);
    __int128 line_total = MilliTimesHalfUp(line.quantity_milli(), line.unit_price().fen());
    if (line_total > kMaxLineFen) {
      return FieldError(absl::StrCat("visit.items[", i, "]"),
                        absl::StrCat("quantity x unit price is above ", kMaxLineFen, " fen"));
    }
    const int64_t total = static_cast<int64_t>(line_total);
    if (totals.total > kMaxVisitFen - total) {
      return FieldError("visit.items", absl::StrCat("the bill's total is above ", kMaxVisitFen, " fen"));
    }
    SettledLine* settled = settlement.add_lines();
    settled->set_code(line.code());
    settled->mutable_total()->set_fen(total);
    totals.total += total;

    const CatalogueItem* item = items.at(line.code());
    if (item == nullptr || item->catalogue_class() == config::v1::CATALOGUE_CLASS_C) {
      if (item != nullptr) {
        settled->set_name(item->name());
        settled->set_catalogue_class(item->catalogue_class());
      }
      settled->mutable_out_of_catalogue()->set_fen(total);
      totals.out_of_catalogue += total;
      totals.out_of_catalogue_parts.push_back(
          absl::StrCat(line.code(), item == nullptr ? " not listed" : " class C", " (", total, " fen)"));
      continue;
    }
    settled->set_name(item->name());
    settled->set_catalogue_class(item->catalogue_class());

    int64_t over = 0;
    if (item->unit_price_limit_fen() > 0) {
      // Compared in 128 bits; narrowed only when below the line's total, which fits.
      __int128 limit = MilliTimesHalfUp(line.quantity_milli(), item->unit_price_limit_fen());
      if (limit < total) {
        over = total - static_cast<int64_t>(limit);
        totals.over_limit_parts.push_back(absl::StrCat(
            line.code(), " limit ", item->unit_price_limit_fen(), " fen x ", Quantity(line.quantity_milli()),
            " = ", static_cast<int64_t>(limit), " fen, billed ", total, " fen (", over, " fen over)"));
      }
    }
    const int64_t within = total - over;
    int64_t pre = 0;
    if (item->catalogue_class() == config::v1::CATALOGUE_CLASS_B) {
      pre = PermilleHalfUp(within, item->pre_self_pay_permille());
      if (pre > 0) {
        totals.pre_self_pay_parts.push_back(absl::StrCat(line.code(), " ",
                                                         Percent(item->pre_self_pay_permille()), " of ",
                                                         within, " fen = ", pre, " fen"));
      }
    }
    const int64_t in_scope = within - pre;
    settled->mutable_over_price_limit()->set_fen(over);
    settled->mutable_pre_self_pay()->set_fen(pre);
    settled->mutable_in_scope()->set_fen(in_scope);
    totals.over_price_limit += over;
    totals.pre_self_pay += pre;
    totals.in_scope += in_scope;
  }
  return absl::OkStatus();
}

const BenefitRule* FindRule(const MedicalPolicy& policy, uint32_t insurance_type, VisitType visit_type,
                            HospitalLevel level) {
  for (const BenefitRule& rule : policy.rules()) {
    if (rule.insurance_type() == insurance_type && rule.visit_type() == visit_type &&
        rule.hospital_level() == level) {
      return &rule;
    }
  }
  return nullptr;
}

const AnnualCap* FindCap(const MedicalPolicy& policy, uint32_t insurance_type) {
  for (const AnnualCap& cap : policy.caps()) {
    if (cap.insurance_type() == insurance_type) return &cap;
  }
  return nullptr;
}

bool HasPersonalAccount(const MedicalPolicy& policy, uint32_t insurance_type) {
  return std::find(policy.personal_account_insurance_types().begin(),
                   policy.personal_account_insurance_types().end(),
                   insurance_type) != policy.personal_account_insurance_types().end();
}

}  // namespace

absl::StatusOr<Settlement> ComputeSettlement(const VisitFacts& facts, const MedicalCatalogue& catalogue,
                                             const MedicalPolicy& policy) {
  absl::Status facts_ok = CheckFacts(facts, catalogue, policy);
  if (!facts_ok.ok()) return facts_ok;
  const medical::v1::Visit& visit = *facts.visit;
  const adapters::MedicalAccount& account = facts.account;
  const uint32_t insurance_type = static_cast<uint32_t>(account.insurance_type);
  const VisitType visit_type = visit.visit_type();
  const HospitalLevel level = visit.hospital().level();
  const absl::string_view treatment_name = CityName(facts.treatment_city);
  const absl::string_view insured_name = CityName(facts.insured_city);

  Settlement settlement;
  settlement.set_state(medical::v1::SETTLEMENT_STATE_PRE_SETTLED);
  settlement.set_resident_id(account.resident_id);
  *settlement.mutable_insured_city() = MakeCityInfo(facts.insured_city);
  *settlement.mutable_treatment_city() = MakeCityInfo(facts.treatment_city);
  settlement.set_insurance_type(account.insurance_type);
  *settlement.mutable_hospital() = visit.hospital();
  settlement.set_visit_type(visit_type);
  *settlement.mutable_visit_date() = visit.visit_date();
  settlement.set_catalogue_version(catalogue.version());
  settlement.set_policy_version(policy.version());

  // 1. Lines, by the treatment city's catalogue.
  LineTotals totals;
  absl::Status lines_ok = ClassifyLines(visit, catalogue, settlement, totals);
  if (!lines_ok.ok()) return lines_ok;

  // 2. The insured city's rule, and the enrolment.
  const std::string combination =
      absl::StrCat("insurance type ", insurance_type, ", ", VisitTypeWord(visit_type), " at a ",
                   LevelWord(level), " hospital");
  const BenefitRule* rule = FindRule(policy, insurance_type, visit_type, level);
  if (rule == nullptr) {
    return Refusal(
        absl::StatusCode::kFailedPrecondition, "NO_BENEFIT_RULE",
        absl::StrCat(insured_name, "'s policy ", policy.version(), " has no benefit rule for ", combination),
        {{"insured_city", std::string(insured_name)},
         {"insurance_type", absl::StrCat(insurance_type)},
         {"visit_type", config::v1::VisitType_Name(visit_type)},
         {"hospital_level", config::v1::HospitalLevel_Name(level)}});
  }
  if (account.status != medical::v1::ENROLLMENT_STATUS_ACTIVE) {
    return Refusal(absl::StatusCode::kFailedPrecondition, "ENROLLMENT_NOT_ACTIVE",
                   absl::StrCat("the patient's enrolment in ", insured_name, " is ",
                                medical::v1::EnrollmentStatus_Name(account.status), ", not active"),
                   {{"insured_city", std::string(insured_name)},
                    {"enrollment_status", medical::v1::EnrollmentStatus_Name(account.status)}});
  }
  const AnnualCap* cap = FindCap(policy, insurance_type);
  if (cap == nullptr) {
    // ValidatePolicy guarantees a cap for every insurance type with a rule.
    return absl::InternalError(absl::StrCat(insured_name, "'s policy ", policy.version(),
                                            " has no annual cap for insurance type ", insurance_type,
                                            "; was it validated?"));
  }

  // 3. Cross-city treatment: filing and ratio.
  const bool cross_city = facts.treatment_city != facts.insured_city;
  const bool filed = facts.filing_covers_visit || visit.emergency();
  settlement.set_filed(filed);
  int64_t ratio = rule->fund_ratio_permille();
  std::string ratio_words = absl::StrCat("fund ratio ", Percent(ratio), " for ", combination);
  if (cross_city) {
    const int64_t cross_reduction = policy.cross_city_ratio_reduction_permille();
    if (!filed && policy.unfiled_visit_rule() == config::v1::UNFILED_VISIT_RULE_REFUSE) {
      return Refusal(
          absl::StatusCode::kFailedPrecondition, "TREATMENT_NOT_FILED",
          absl::StrCat("treatment in ", treatment_name, " was not filed with ", insured_name,
                       ", whose policy refuses unfiled cross-city visits that are not emergencies"),
          {{"insured_city", std::string(insured_name)}, {"treatment_city", std::string(treatment_name)}});
    }
    ratio -= cross_reduction;
    absl::StrAppend(&ratio_words, ", less ", Points(cross_reduction), " for treatment in ", treatment_name,
                    visit.emergency() ? " (emergency, counts as filed)"
                    : filed           ? " (filed)"
                                      : " (not filed)");
    if (!filed) {
      const int64_t unfiled_reduction = policy.unfiled_ratio_reduction_permille();
      ratio -= unfiled_reduction;
      absl::StrAppend(&ratio_words, ", less ", Points(unfiled_reduction), " more because it was not filed");
    }
    if (ratio < 0) ratio = 0;
    absl::StrAppend(&ratio_words, " = ", Percent(ratio));
  } else {
    absl::StrAppend(&ratio_words, ", treated in the insured city (no cross-city adjustment)");
  }

  // 4. Deductible.
  const int64_t deductible_used = visit_type == config::v1::VISIT_TYPE_OUTPATIENT
                                      ? account.deductible_used_outpatient_fen
                                      : account.deductible_used_inpatient_fen;
  const int64_t deductible_left = std::max<int64_t>(0, rule->deductible_per_year_fen() - deductible_used);
  const int64_t deductible_applied = std::min(totals.in_scope, deductible_left);

  // 5. Fund pay.
  const int64_t fund_share = PermilleHalfUp(totals.in_scope - deductible_applied, ratio);
  const int64_t cap_left = std::max<int64_t>(0, cap->fund_cap_per_year_fen() - account.fund_paid_fen);
  const int64_t fund_pay = std::min(fund_share, cap_left);

  // 6. Personal account.
  const int64_t out_of_scope = totals.out_of_catalogue + totals.over_price_limit + totals.pre_self_pay;
  const int64_t in_scope_share = totals.in_scope - fund_pay;
  int64_t account_pay = 0;
  std::string account_words;
  if (!visit.use_personal_account()) {
    account_words = "the patient did not ask the personal account to pay";
  } else if (!HasPersonalAccount(policy, insurance_type)) {
    account_words =
        absl::StrCat("insurance type ", insurance_type, " has no personal account in ", insured_name);
  } else {
    const int64_t payable = in_scope_share + (policy.account_pays_out_of_scope() ? out_of_scope : 0);
    const int64_t balance = std::max<int64_t>(0, account.balance_fen);
    account_pay = std::min(balance, payable);
    account_words = absl::StrCat("the personal account pays the smaller of its balance ", account.balance_fen,
                                 " fen and the patient's in-scope share ", in_scope_share, " fen");
    if (policy.account_pays_out_of_scope()) {
      absl::StrAppend(&account_words, " plus the out-of-scope parts ", out_of_scope, " fen (", insured_name,
                      " lets the account pay them)");
    } else {
      absl::StrAppend(&account_words, " (", insured_name,
                      " does not let the account pay out-of-scope parts)");
    }
  }

  // 7. Cash, and the account after.
  const int64_t cash_pay = totals.total - fund_pay - account_pay;
  settlement.mutable_total()->set_fen(totals.total);
  settlement.mutable_out_of_catalogue()->set_fen(totals.out_of_catalogue);
  settlement.mutable_over_price_limit()->set_fen(totals.over_price_limit);
  settlement.mutable_class_b_pre_self_pay()->set_fen(totals.pre_self_pay);
  settlement.mutable_in_scope()->set_fen(totals.in_scope);
  settlement.mutable_deductible_applied()->set_fen(deductible_applied);
  settlement.mutable_fund_pay()->set_fen(fund_pay);
  settlement.mutable_personal_account_pay()->set_fen(account_pay);
  settlement.mutable_cash_pay()->set_fen(cash_pay);
  settlement.mutable_balance_after()->set_fen(account.balance_fen - account_pay);
  medical::v1::Accumulators* after = settlement.mutable_accumulators_after();
  after->set_year(account.year);
  after->mutable_deductible_used_outpatient()->set_fen(
      account.deductible_used_outpatient_fen +
      (visit_type == config::v1::VISIT_TYPE_OUTPATIENT ? deductible_applied : 0));
  after->mutable_deductible_used_inpatient()->set_fen(
      account.deductible_used_inpatient_fen +
      (visit_type == config::v1::VISIT_TYPE_INPATIENT ? deductible_applied : 0));
  after->mutable_fund_paid()->set_fen(account.fund_paid_fen + fund_pay);

  // The explanations, one per amount (the three out-of-scope parts only when not zero).
  Explain(settlement, medical::v1::SPLIT_FIELD_TOTAL,
          absl::StrCat(visit.items_size(),
                       " line(s), each quantity x unit price rounded half up to the fen: ", totals.total,
                       " fen"));
  if (totals.out_of_catalogue > 0) {
    Explain(settlement, medical::v1::SPLIT_FIELD_OUT_OF_CATALOGUE,
            absl::StrCat("outside ", treatment_name, "'s catalogue ", catalogue.version(), ": ",
                         JoinCapped(totals.out_of_catalogue_parts), "; ", totals.out_of_catalogue,
                         " fen in all"));
  }
  if (totals.over_price_limit > 0) {
    Explain(
        settlement, medical::v1::SPLIT_FIELD_OVER_PRICE_LIMIT,
        absl::StrCat("above the price limits of ", treatment_name, "'s catalogue ", catalogue.version(), ": ",
                     JoinCapped(totals.over_limit_parts), "; ", totals.over_price_limit, " fen in all"));
  }
  if (totals.pre_self_pay > 0) {
    Explain(settlement, medical::v1::SPLIT_FIELD_CLASS_B_PRE_SELF_PAY,
            absl::StrCat("class-B pre-self-pay in ", treatment_name, "'s catalogue ", catalogue.version(),
                         ", each rounded half up: ", JoinCapped(totals.pre_self_pay_parts), "; ",
                         totals.pre_self_pay, " fen in all"));
  }
  Explain(settlement, medical::v1::SPLIT_FIELD_IN_SCOPE,
          absl::StrCat("total ", totals.total, " - out of catalogue ", totals.out_of_catalogue,
                       " - over price limit ", totals.over_price_limit, " - class-B pre-self-pay ",
                       totals.pre_self_pay, " = ", totals.in_scope, " fen in the fund's scope"));
  Explain(settlement, medical::v1::SPLIT_FIELD_DEDUCTIBLE_APPLIED,
          absl::StrCat("deductible ", rule->deductible_per_year_fen(), " fen per year for ", combination,
                       " (", insured_name, " policy ", policy.version(), "), ", deductible_used,
                       " fen already used this year: ", deductible_applied, " fen applied"));
  std::string fund_words =
      absl::StrCat(ratio_words, " (", insured_name, " policy ", policy.version(), "): (", totals.in_scope,
                   " - ", deductible_applied, ") x ", Percent(ratio), " = ", fund_share,
                   " fen rounded half up; annual cap ", cap->fund_cap_per_year_fen(), " fen, ",
                   account.fund_paid_fen, " fen paid this year, ", cap_left, " fen left");
  if (fund_pay < fund_share)
    absl::StrAppend(&fund_words, ": limited to ", fund_pay, " fen by the annual cap");
  Explain(settlement, medical::v1::SPLIT_FIELD_FUND_PAY, std::move(fund_words));
  Explain(settlement, medical::v1::SPLIT_FIELD_PERSONAL_ACCOUNT_PAY,
          absl::StrCat(account_words, ": ", account_pay, " fen"));
  Explain(settlement, medical::v1::SPLIT_FIELD_CASH_PAY,
          absl::StrCat("total ", totals.total, " - fund ", fund_pay, " - personal account ", account_pay,
                       " = ", cash_pay, " fen paid in cash"));
  return settlement;
}

}  // namespace interop::settlement
