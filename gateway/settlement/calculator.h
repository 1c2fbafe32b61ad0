// The split of one visit's bill between the pooled fund, the personal account and cash, under the
// treatment city's catalogue and the insured city's policy.
//
// Pure and deterministic: the same facts, catalogue and policy always give the same Settlement.
// Integer fen throughout. Rounding, the only places it happens:
//  - a line's total is quantity_milli x unit price / 1000, rounded half up to the fen;
//  - a line's price limit is quantity_milli x limit / 1000, rounded half up to the fen;
//  - a class-B line's pre-self-pay is (its part within the limit) x ratio / 1000, rounded half up,
//    per line;
//  - the fund's share is (in scope - deductible applied) x ratio / 1000 for the whole visit,
//    rounded half up once (not per line), then limited by what is left of the annual cap.
// Everything else is addition, subtraction and min/max, so the parts always add up:
//   total = out_of_catalogue + over_price_limit + class_b_pre_self_pay + in_scope
//   total = fund_pay + personal_account_pay + cash_pay.
//
// The steps (each produces an Explanation naming the rule and its figures):
//  1. Lines, by the treatment city's catalogue: not listed or class C -> out of catalogue; above the
//     price limit -> over price limit; class B -> pre-self-pay of the rest; what remains is in scope.
//  2. The insured city's BenefitRule for (insurance type, visit type, hospital level); none ->
//     FAILED_PRECONDITION, reason NO_BENEFIT_RULE. Then, enrolment not active ->
//     FAILED_PRECONDITION, reason ENROLLMENT_NOT_ACTIVE.
//  3. Cross-city (treatment city != insured city) and not filed and not an emergency: policy
//     REFUSE -> FAILED_PRECONDITION, reason TREATMENT_NOT_FILED; REDUCED_RATIO -> the ratio is
//     lowered by cross_city_ratio_reduction_permille and further by
//     unfiled_ratio_reduction_permille (so an unfiled visit is never paid better than a filed one).
//     A filed (or emergency) cross-city visit's ratio is lowered by
//     cross_city_ratio_reduction_permille only. The ratio never goes below 0. A visit in the insured
//     city itself needs no filing and has no reduction. Settlement.filed is filing_covers_visit or
//     emergency, for any visit.
//  4. Deductible applied = min(in scope, deductible per year - deductible used this year for the
//     visit type, not below 0).
//  5. Fund pay = min(round((in scope - deductible applied) x ratio / 1000), cap - fund paid this
//     year, not below 0).
//  6. Personal account (only if use_personal_account and the insurance type has an account):
//     pays min(balance, the patient's in-scope share = in scope - fund pay, plus, if
//     account_pays_out_of_scope, the out-of-scope parts).
//  7. Cash = total - fund pay - account pay. Balance and accumulators after are the account's
//     plus this visit.
#ifndef INTEROP_GATEWAY_SETTLEMENT_CALCULATOR_H_
#define INTEROP_GATEWAY_SETTLEMENT_CALCULATOR_H_

#include "absl/status/statusor.h"
#include "adapters/city_adapter.h"
#include "interop/config/v1/medical_rules.pb.h"
#include "interop/medical/v1/settlement.pb.h"

namespace interop::settlement {

using ::interop::common::v1::City;

// What is known about a visit when it is settled.
struct VisitFacts {
  // The visit, already validated by the caller (codes, quantities and prices well-formed).
  const medical::v1::Visit* visit = nullptr;
  // The city of the hospital (its catalogue applies).
  City treatment_city = City::CITY_UNSPECIFIED;
  // The city that insures the patient (its policy applies).
  City insured_city = City::CITY_UNSPECIFIED;
  // The patient's account and accumulators in the insured city, for the visit's year.
  adapters::MedicalAccount account;
  // True if an unrevoked filing for the treatment city covers the visit day. (Emergency visits
  // count as filed whatever this says.)
  bool filing_covers_visit = false;
};

// Computes the split. The answer has state SETTLEMENT_STATE_PRE_SETTLED, no settlement_id and no
// timestamps; everything else is filled: resident id, cities, insurance type, hospital, visit type
// and date, filed, lines, the amounts, balance and accumulators after, explanations, catalogue and
// policy versions. `catalogue` must be the treatment city's and `policy` the insured city's, both
// valid (ValidateCatalogue, ValidatePolicy).
// Errors: FAILED_PRECONDITION with google.rpc.ErrorInfo reason TREATMENT_NOT_FILED,
// ENROLLMENT_NOT_ACTIVE or NO_BENEFIT_RULE (see rich_status.h), INVALID_ARGUMENT if `facts` is
// incomplete (no visit; a city, the account's insurance type or status unset; the account's year
// not the visit's; the catalogue or policy of another city) or the visit is malformed (visit type
// or hospital level unset, no lines, a quantity or price not positive, a line above 10^13 fen;
// these carry a BadRequest naming "visit....").
absl::StatusOr<medical::v1::Settlement> ComputeSettlement(const VisitFacts& facts,
                                                         const config::v1::MedicalCatalogue& catalogue,
                                                         const config::v1::MedicalPolicy& policy);

}  // namespace interop::settlement

#endif  // INTEROP_GATEWAY_SETTLEMENT_CALCULATOR_H_
