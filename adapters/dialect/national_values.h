// The canonical API value of each national code, for the tables a CityDialect maps local codes to.
//
// Dialect validation (dialect.cc) admits only the national codes listed there; every adapter turns
// the national code a dialect table gives into the API's enum value through these tables, so the two
// lists live in one place each. Thread-safe: constant data.
#ifndef INTEROP_ADAPTERS_DIALECT_NATIONAL_VALUES_H_
#define INTEROP_ADAPTERS_DIALECT_NATIONAL_VALUES_H_

#include <cstddef>
#include <optional>

#include "absl/strings/string_view.h"
#include "interop/household/v1/household.pb.h"
#include "interop/medical/v1/medical.pb.h"
#include "interop/social/v1/social.pb.h"

namespace interop::adapters {

template <typename Enum>
struct NationalValue {
  absl::string_view code;
  Enum value;
};

inline constexpr NationalValue<medical::v1::InsuranceType> kNationalInsuranceTypes[] = {
    {"310", medical::v1::INSURANCE_TYPE_EMPLOYEE},
    {"340", medical::v1::INSURANCE_TYPE_RETIRED_CADRE},
    {"390", medical::v1::INSURANCE_TYPE_URBAN_RURAL_RESIDENT}};
inline constexpr NationalValue<medical::v1::EnrollmentStatus> kNationalEnrollmentStatuses[] = {
    {"1", medical::v1::ENROLLMENT_STATUS_ACTIVE},
    {"2", medical::v1::ENROLLMENT_STATUS_SUSPENDED},
    {"3", medical::v1::ENROLLMENT_STATUS_TERMINATED}};
inline constexpr NationalValue<social::v1::InsuranceKind> kNationalContributionKinds[] = {
    {"110", social::v1::INSURANCE_KIND_EMPLOYEE_PENSION},
    {"210", social::v1::INSURANCE_KIND_UNEMPLOYMENT},
    {"310", social::v1::INSURANCE_KIND_EMPLOYEE_MEDICAL},
    {"410", social::v1::INSURANCE_KIND_WORK_INJURY}};
inline constexpr NationalValue<household::v1::RelationToHead> kNationalRelations[] = {
    {"02", household::v1::RELATION_TO_HEAD_HEAD},   {"10", household::v1::RELATION_TO_HEAD_SPOUSE},
    {"20", household::v1::RELATION_TO_HEAD_CHILD},  {"30", household::v1::RELATION_TO_HEAD_GRANDCHILD},
    {"50", household::v1::RELATION_TO_HEAD_PARENT}, {"99", household::v1::RELATION_TO_HEAD_OTHER}};
inline constexpr NationalValue<household::v1::HouseholdType> kNationalHouseholdTypes[] = {
    {"1", household::v1::HOUSEHOLD_TYPE_FAMILY}, {"2", household::v1::HOUSEHOLD_TYPE_COLLECTIVE}};

// The canonical value of `national_code` in `table`, or nullopt if it has none.
template <typename Enum, size_t N>
std::optional<Enum> FindNationalValue(const NationalValue<Enum> (&table)[N], absl::string_view national_code) {
  for (const NationalValue<Enum>& entry : table) {
    if (entry.code == national_code) return entry.value;
  }
  return std::nullopt;
}

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_DIALECT_NATIONAL_VALUES_H_
