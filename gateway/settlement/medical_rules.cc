#include "gateway/settlement/medical_rules.h"

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gateway/base/cities.h"
#include "gateway/base/rich_status.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace interop::settlement {
namespace {

using config::v1::AnnualCap;
using config::v1::BenefitRule;
using config::v1::CatalogueItem;
using config::v1::MedicalCatalogue;
using config::v1::MedicalPolicy;

// Collects text-format parse errors with their line and column.
class ParseErrors final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {
    errors_.push_back(absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message));
  }
  void AddWarning(int line, google::protobuf::io::ColumnNumber column, const std::string& message) override {}
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

// A national drug code: 23 characters, "X" (western) or "Z" (Chinese patent medicine), then
// upper-case letters and digits.
bool IsDrugCode(absl::string_view code) {
  if (code.size() != 23 || (code[0] != 'X' && code[0] != 'Z')) return false;
  for (char c : code.substr(1)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) &&
        !absl::ascii_isupper(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// A national medical service item code: 15 digits.
bool IsServiceCode(absl::string_view code) {
  if (code.size() != 15) return false;
  for (char c : code) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsInsuranceType(uint32_t type) { return type == 310 || type == 340 || type == 390; }

bool IsCity(common::v1::City city) { return !CityDivisionCode(city).empty(); }

std::string Indexed(absl::string_view list, int index) { return absl::StrCat(list, "[", index, "]"); }

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return absl::StrCat(base_dir, base_dir.back() == '/' ? "" : "/", path);
}

// Reads a text-format file into `message`. NOT_FOUND if it cannot be read, INVALID_ARGUMENT with the
// line and column if it does not parse.
absl::Status ReadTextProto(const std::string& path, google::protobuf::Message* message) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  google::protobuf::TextFormat::Parser parser;
  ParseErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text.str(), message)) {
    return absl::InvalidArgumentError(absl::StrCat("not a valid ", message->GetDescriptor()->full_name(),
                                                   " in text format: ", errors.Joined()));
  }
  return absl::OkStatus();
}

// Reads, validates and checks the city of one city's catalogue or policy file. Errors start with
// the file's path.
template <typename Rules>
absl::StatusOr<Rules> ReadRulesFile(const std::string& path, common::v1::City configured,
                                    absl::Status (*validate)(const Rules&)) {
  Rules rules;
  absl::Status status = ReadTextProto(path, &rules);
  if (status.ok()) status = validate(rules);
  if (status.ok() && rules.city() != configured) {
    status = FieldError("city",
                        absl::StrCat("names ", common::v1::City_Name(rules.city()),
                                     " but the file is configured for ", common::v1::City_Name(configured)));
  }
  if (!status.ok()) return WithMessagePrefix(status, path);
  return rules;
}

}  // namespace

absl::Status ValidateCatalogue(const MedicalCatalogue& catalogue) {
  if (!IsCity(catalogue.city())) return FieldError("city", "must be one of the five cities");
  if (catalogue.version().empty()) return FieldError("version", "is required");
  std::map<std::string, int> first_index;
  for (int i = 0; i < catalogue.items_size(); ++i) {
    const CatalogueItem& item = catalogue.items(i);
    const std::string field = Indexed("items", i);
    if (!IsDrugCode(item.code()) && !IsServiceCode(item.code())) {
      return FieldError(
          absl::StrCat(field, ".code"),
          absl::StrCat("\"", item.code(),
                       "\" is not a national code (23 characters starting with X or Z for a drug, "
                       "15 digits for a service item)"));
    }
    auto [it, inserted] = first_index.emplace(item.code(), i);
    if (!inserted) {
      return FieldError(absl::StrCat(field, ".code"),
                        absl::StrCat("\"", item.code(), "\" is already listed as items[", it->second, "]"));
    }
    const config::v1::CatalogueClass cls = item.catalogue_class();
    if (cls != config::v1::CATALOGUE_CLASS_A && cls != config::v1::CATALOGUE_CLASS_B &&
        cls != config::v1::CATALOGUE_CLASS_C) {
      return FieldError(absl::StrCat(field, ".catalogue_class"),
                        absl::StrCat("is required for ", item.code(), " (A, B or C)"));
    }
    if (item.pre_self_pay_permille() > 1000) {
      return FieldError(absl::StrCat(field, ".pre_self_pay_permille"),
                        absl::StrCat(item.pre_self_pay_permille(), " for ", item.code(), " is above 1000"));
    }
    if (cls != config::v1::CATALOGUE_CLASS_B && item.pre_self_pay_permille() != 0) {
      return FieldError(absl::StrCat(field, ".pre_self_pay_permille"),
                        absl::StrCat("is set for ", item.code(), ", which is not class B"));
    }
    if (item.unit_price_limit_fen() < 0) {
      return FieldError(absl::StrCat(field, ".unit_price_limit_fen"),
                        absl::StrCat(item.unit_price_limit_fen(), " for ", item.code(), " is negative"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePolicy(const MedicalPolicy& policy) {
  if (!IsCity(policy.city())) return FieldError("city", "must be one of the five cities");
  if (policy.version().empty()) return FieldError("version", "is required");
  std::map<std::tuple<uint32_t, int, int>, int> first_rule;
  std::map<uint32_t, int> types_with_rules;  // insurance type -> index of its first rule
  for (int i = 0; i < policy.rules_size(); ++i) {
    const BenefitRule& rule = policy.rules(i);
    const std::string field = Indexed("rules", i);
    if (!IsInsuranceType(rule.insurance_type())) {
      return FieldError(absl::StrCat(field, ".insurance_type"),
                        absl::StrCat(rule.insurance_type(), " is not 310, 340 or 390"));
    }
    if (rule.visit_type() != config::v1::VISIT_TYPE_OUTPATIENT &&
        rule.visit_type() != config::v1::VISIT_TYPE_INPATIENT) {
      return FieldError(absl::StrCat(field, ".visit_type"), "is required");
    }
    if (rule.hospital_level() != config::v1::HOSPITAL_LEVEL_PRIMARY &&
        rule.hospital_level() != config::v1::HOSPITAL_LEVEL_SECONDARY &&
        rule.hospital_level() != config::v1::HOSPITAL_LEVEL_TERTIARY) {
      return FieldError(absl::StrCat(field, ".hospital_level"), "is required");
    }
    auto [it, inserted] =
        first_rule.emplace(std::make_tuple(rule.insurance_type(), static_cast<int>(rule.visit_type()),
                                           static_cast<int>(rule.hospital_level())),
                           i);
    if (!inserted) {
      return FieldError(field, absl::StrCat("insurance type ", rule.insurance_type(), ", ",
                                            config::v1::VisitType_Name(rule.visit_type()), ", ",
                                            config::v1::HospitalLevel_Name(rule.hospital_level()),
                                            " already has a rule, rules[", it->second, "]"));
    }
    if (rule.deductible_per_year_fen() < 0) {
      return FieldError(absl::StrCat(field, ".deductible_per_year_fen"),
                        absl::StrCat(rule.deductible_per_year_fen(), " is negative"));
    }
    if (rule.fund_ratio_permille() > 1000) {
      return FieldError(absl::StrCat(field, ".fund_ratio_permille"),
                        absl::StrCat(rule.fund_ratio_permille(), " is above 1000"));
    }
    types_with_rules.emplace(rule.insurance_type(), i);
  }
  std::map<uint32_t, int> cap_index;
  for (int i = 0; i < policy.caps_size(); ++i) {
    const AnnualCap& cap = policy.caps(i);
    const std::string field = Indexed("caps", i);
    if (!IsInsuranceType(cap.insurance_type())) {
      return FieldError(absl::StrCat(field, ".insurance_type"),
                        absl::StrCat(cap.insurance_type(), " is not 310, 340 or 390"));
    }
    auto [it, inserted] = cap_index.emplace(cap.insurance_type(), i);
    if (!inserted) {
      return FieldError(absl::StrCat(field, ".insurance_type"),
                        absl::StrCat(cap.insurance_type(), " already has a cap, caps[", it->second, "]"));
    }
    if (cap.fund_cap_per_year_fen() <= 0) {
      return FieldError(absl::StrCat(field, ".fund_cap_per_year_fen"),
                        absl::StrCat(cap.fund_cap_per_year_fen(), " is not positive"));
    }
  }
  for (const auto& [type, rule_index] : types_with_rules) {
    if (cap_index.count(type) == 0) {
      return FieldError("caps", absl::StrCat("insurance type ", type, " has rules (rules[", rule_index,
                                             "]) but no annual cap"));
    }
  }
  if (policy.cross_city_ratio_reduction_permille() > 1000) {
    return FieldError("cross_city_ratio_reduction_permille",
                      absl::StrCat(policy.cross_city_ratio_reduction_permille(), " is above 1000"));
  }
  if (policy.unfiled_visit_rule() != config::v1::UNFILED_VISIT_RULE_REFUSE &&
      policy.unfiled_visit_rule() != config::v1::UNFILED_VISIT_RULE_REDUCED_RATIO) {
    return FieldError("unfiled_visit_rule", "is required (UNFILED_VISIT_RULE_REFUSE or _REDUCED_RATIO)");
  }
  if (policy.unfiled_ratio_reduction_permille() > 1000) {
    return FieldError("unfiled_ratio_reduction_permille",
                      absl::StrCat(policy.unfiled_ratio_reduction_permille(), " is above 1000"));
  }
  absl::flat_hash_set<uint32_t> account_types;
  for (int i = 0; i < policy.personal_account_insurance_types_size(); ++i) {
    const uint32_t type = policy.personal_account_insurance_types(i);
    const std::string field = Indexed("personal_account_insurance_types", i);
    if (!IsInsuranceType(type)) return FieldError(field, absl::StrCat(type, " is not 310, 340 or 390"));
    if (!account_types.insert(type).second) return FieldError(field, absl::StrCat(type, " is listed twice"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const MedicalRules>> MedicalRules::Load(
    const config::v1::GatewayConfig& config, const std::string& base_dir) {
  std::vector<MedicalCatalogue> catalogues;
  std::vector<MedicalPolicy> policies;
  absl::flat_hash_set<int> seen;
  for (int i = 0; i < config.cities_size(); ++i) {
    const config::v1::CityBackendConfig& city = config.cities(i);
    if (!seen.insert(city.city()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("cities[", i, "]: ", common::v1::City_Name(city.city()), " is configured twice"));
    }
    if (!city.medical_catalogue_file().empty()) {
      absl::StatusOr<MedicalCatalogue> catalogue = ReadRulesFile<MedicalCatalogue>(
          Resolve(base_dir, city.medical_catalogue_file()), city.city(), &ValidateCatalogue);
      if (!catalogue.ok()) return catalogue.status();
      catalogues.push_back(*std::move(catalogue));
    }
    if (!city.medical_policy_file().empty()) {
      absl::StatusOr<MedicalPolicy> policy = ReadRulesFile<MedicalPolicy>(
          Resolve(base_dir, city.medical_policy_file()), city.city(), &ValidatePolicy);
      if (!policy.ok()) return policy.status();
      policies.push_back(*std::move(policy));
    }
  }
  return FromMessages(catalogues, policies);
}

absl::StatusOr<std::shared_ptr<const MedicalRules>> MedicalRules::FromMessages(
    const std::vector<MedicalCatalogue>& catalogues, const std::vector<MedicalPolicy>& policies) {
  auto rules = std::make_shared<MedicalRules>();
  for (size_t i = 0; i < catalogues.size(); ++i) {
    const std::string where = Indexed("catalogues", static_cast<int>(i));
    absl::Status valid = ValidateCatalogue(catalogues[i]);
    if (!valid.ok()) return WithMessagePrefix(valid, where);
    if (!rules->catalogues_.emplace(catalogues[i].city(), catalogues[i]).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": a second catalogue for ", common::v1::City_Name(catalogues[i].city())));
    }
  }
  for (size_t i = 0; i < policies.size(); ++i) {
    const std::string where = Indexed("policies", static_cast<int>(i));
    absl::Status valid = ValidatePolicy(policies[i]);
    if (!valid.ok()) return WithMessagePrefix(valid, where);
    if (!rules->policies_.emplace(policies[i].city(), policies[i]).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": a second policy for ", common::v1::City_Name(policies[i].city())));
    }
  }
  return std::shared_ptr<const MedicalRules>(std::move(rules));
}

const config::v1::MedicalCatalogue* MedicalRules::catalogue(common::v1::City city) const {
  auto it = catalogues_.find(city);
  return it == catalogues_.end() ? nullptr : &it->second;
}

const config::v1::MedicalPolicy* MedicalRules::policy(common::v1::City city) const {
  auto it = policies_.find(city);
  return it == policies_.end() ? nullptr : &it->second;
}

}  // namespace interop::settlement
