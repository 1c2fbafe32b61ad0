// The five cities' catalogues and policies, loaded and checked once at start-up.
//
// Thread-safe: immutable after Load.
#ifndef INTEROP_GATEWAY_SETTLEMENT_MEDICAL_RULES_H_
#define INTEROP_GATEWAY_SETTLEMENT_MEDICAL_RULES_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "interop/common/v1/common.pb.h"
#include "interop/config/v1/gateway_config.pb.h"
#include "interop/config/v1/medical_rules.pb.h"

namespace interop::settlement {

// Checks a catalogue: city set, version set, every code a well-formed national code (23-character
// drug code starting with X or Z, or 15 digits) listed once, class set, pre-self-pay only for class
// B and within 0..1000, limits not negative. Errors are INVALID_ARGUMENT naming the item and field,
// e.g. "items[3].pre_self_pay_permille: ...".
absl::Status ValidateCatalogue(const config::v1::MedicalCatalogue& catalogue);

// Checks a policy: city and version set; each rule's insurance type one of 310/340/390, visit type
// and level set, no two rules for one combination, deductible not negative, ratio within 0..1000;
// a positive cap for every insurance type with a rule; reductions within 0..1000; the unfiled rule
// set. Errors are INVALID_ARGUMENT naming the field.
absl::Status ValidatePolicy(const config::v1::MedicalPolicy& policy);

class MedicalRules {
 public:
  // Reads each city's medical_catalogue_file and medical_policy_file (text format; relative paths
  // resolved against `base_dir`), validates them and checks that each file names its own city.
  // A city whose file is not set has no catalogue (or no policy): catalogue() / policy() answer
  // nullptr for it. Errors name the file: NOT_FOUND if it cannot be read, INVALID_ARGUMENT if it
  // does not parse (with line and column), fails validation (with the BadRequest field) or names
  // another city (field "city").
  static absl::StatusOr<std::shared_ptr<const MedicalRules>> Load(const config::v1::GatewayConfig& config,
                                                                  const std::string& base_dir);
  // From messages already in memory (tests); validated the same way.
  static absl::StatusOr<std::shared_ptr<const MedicalRules>> FromMessages(
      const std::vector<config::v1::MedicalCatalogue>& catalogues,
      const std::vector<config::v1::MedicalPolicy>& policies);

  // The catalogue of the city, or nullptr if it has none.
  const config::v1::MedicalCatalogue* catalogue(common::v1::City city) const;
  // The policy of the city, or nullptr if it has none.
  const config::v1::MedicalPolicy* policy(common::v1::City city) const;

 private:
  absl::flat_hash_map<int, config::v1::MedicalCatalogue> catalogues_;
  absl::flat_hash_map<int, config::v1::MedicalPolicy> policies_;
};

}  // namespace interop::settlement

#endif  // INTEROP_GATEWAY_SETTLEMENT_MEDICAL_RULES_H_
