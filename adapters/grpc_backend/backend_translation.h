// Translation of the city backend contract (interop.citybackend.v1) into canonical types.
//
// A city's codes arrive as strings in its own tables; a CityCodeTables maps them to national codes.
// Anything that cannot be translated is INTERNAL naming the city, the field and the value: the
// gateway never guesses or substitutes a default.
//
// Thread-safe: pure functions over immutable tables.
#ifndef INTEROP_ADAPTERS_GRPC_BACKEND_BACKEND_TRANSLATION_H_
#define INTEROP_ADAPTERS_GRPC_BACKEND_BACKEND_TRANSLATION_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "interop/citybackend/v1/city_backend.pb.h"
#include "interop/common/v1/common.pb.h"
#include "interop/household/v1/household.pb.h"
#include "interop/medical/v1/medical.pb.h"
#include "interop/social/v1/social.pb.h"

namespace interop::adapters {

// A city's local code tables, each mapping the city's code to the canonical enum value.
struct CityCodeTables {
  std::map<std::string, medical::v1::InsuranceType> insurance_types;
  std::map<std::string, medical::v1::EnrollmentStatus> enrollment_statuses;
  std::map<std::string, social::v1::InsuranceKind> insurance_kinds;
  std::map<std::string, household::v1::RelationToHead> relations;
  std::map<std::string, household::v1::HouseholdType> household_types;

  // The national code tables as the backend contract documents them. A city whose backend uses the
  // national codes uses these unchanged.
  static CityCodeTables National();
};

// "YYYYMMDD" to a Date, checking that it is a real calendar date.
absl::StatusOr<common::v1::Date> ParseCompactDate(absl::string_view text);

// "YYYYMM" to (year, month).
absl::StatusOr<std::pair<int, int>> ParseCompactMonth(absl::string_view text);

// The translations; `city` is used in error messages.
absl::StatusOr<medical::v1::GetInsuranceStatusResponse> TranslateMedicalEnrollment(
    common::v1::City city, const CityCodeTables& tables,
    const citybackend::v1::GetMedicalEnrollmentResponse& reply);

absl::StatusOr<std::vector<social::v1::ContributionEntry>> TranslateContributions(
    common::v1::City city, const CityCodeTables& tables,
    const citybackend::v1::GetContributionsResponse& reply);

absl::StatusOr<household::v1::GetHouseholdRecordResponse> TranslateHouseholdRegistration(
    common::v1::City city, const CityCodeTables& tables,
    const citybackend::v1::GetHouseholdRegistrationResponse& reply);

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_GRPC_BACKEND_BACKEND_TRANSLATION_H_
