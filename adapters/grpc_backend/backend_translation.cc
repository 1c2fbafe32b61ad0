#include "adapters/grpc_backend/backend_translation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gateway/base/cities.h"

namespace interop::adapters {
namespace {

using common::v1::City;

absl::Status Untranslatable(City city, absl::string_view field, absl::string_view why) {
  return absl::InternalError(absl::StrCat("city ", CityName(city), " answered an untranslatable ",
                                          field, ": ", why));
}

template <typename Enum>
absl::StatusOr<Enum> MapCode(City city, absl::string_view table_name, absl::string_view field,
                             const std::map<std::string, Enum>& table, const std::string& code) {
  auto it = table.find(code);
  if (it == table.end()) {
    return Untranslatable(city, field,
                          absl::StrCat("code \"", absl::CHexEscape(code), "\" is not in its ",
                                       table_name, " table"));
  }
  return it->second;
}

bool AllDigits(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsCountyCode(absl::string_view code) { return code.size() == 6 && AllDigits(code); }

absl::Status CheckResidentId(City city, const std::string& resident_id) {
  if (resident_id.size() != 18) return Untranslatable(city, "resident_id", "not 18 characters");
  return absl::OkStatus();
}

}  // namespace

CityCodeTables CityCodeTables::National() {
  CityCodeTables t;
  t.insurance_types = {{"310", medical::v1::INSURANCE_TYPE_EMPLOYEE},
                       {"340", medical::v1::INSURANCE_TYPE_RETIRED_CADRE},
                       {"390", medical::v1::INSURANCE_TYPE_URBAN_RURAL_RESIDENT}};
  t.enrollment_statuses = {{"1", medical::v1::ENROLLMENT_STATUS_ACTIVE},
                           {"2", medical::v1::ENROLLMENT_STATUS_SUSPENDED},
                           {"3", medical::v1::ENROLLMENT_STATUS_TERMINATED}};
  t.insurance_kinds = {{"110", social::v1::INSURANCE_KIND_EMPLOYEE_PENSION},
                       {"210", social::v1::INSURANCE_KIND_UNEMPLOYMENT},
                       {"310", social::v1::INSURANCE_KIND_EMPLOYEE_MEDICAL},
                       {"410", social::v1::INSURANCE_KIND_WORK_INJURY}};
  t.relations = {{"02", household::v1::RELATION_TO_HEAD_HEAD},
                 {"10", household::v1::RELATION_TO_HEAD_SPOUSE},
                 {"20", household::v1::RELATION_TO_HEAD_CHILD},
                 {"30", household::v1::RELATION_TO_HEAD_GRANDCHILD},
                 {"50", household::v1::RELATION_TO_HEAD_PARENT},
                 {"99", household::v1::RELATION_TO_HEAD_OTHER}};
  t.household_types = {{"1", household::v1::HOUSEHOLD_TYPE_FAMILY},
                       {"2", household::v1::HOUSEHOLD_TYPE_COLLECTIVE}};
  return t;
}

absl::StatusOr<common::v1::Date> ParseCompactDate(absl::string_view text) {
  int year = 0, month = 0, day = 0;
  if (text.size() != 8 || !AllDigits(text) || !absl::SimpleAtoi(text.substr(0, 4), &year) ||
      !absl::SimpleAtoi(text.substr(4, 2), &month) || !absl::SimpleAtoi(text.substr(6, 2), &day)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", absl::CHexEscape(text), "\" is not YYYYMMDD"));
  }
  absl::CivilDay civil(year, month, day);
  if (civil.year() != year || civil.month() != month || civil.day() != day) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a real date"));
  }
  common::v1::Date date;
  date.set_year(year);
  date.set_month(month);
  date.set_day(day);
  return date;
}

absl::StatusOr<std::pair<int, int>> ParseCompactMonth(absl::string_view text) {
  int year = 0, month = 0;
  if (text.size() != 6 || !AllDigits(text) || !absl::SimpleAtoi(text.substr(0, 4), &year) ||
      !absl::SimpleAtoi(text.substr(4, 2), &month) || month < 1 || month > 12) {
    return absl::InvalidArgumentError(absl::StrCat("\"", absl::CHexEscape(text), "\" is not YYYYMM"));
  }
  return std::make_pair(year, month);
}

absl::StatusOr<medical::v1::GetInsuranceStatusResponse> TranslateMedicalEnrollment(
    City city, const CityCodeTables& tables, const citybackend::v1::GetMedicalEnrollmentResponse& reply) {
  absl::Status id = CheckResidentId(city, reply.resident_id());
  if (!id.ok()) return id;
  if (!IsCountyCode(reply.insured_region_code())) {
    return Untranslatable(city, "insured_region_code", "not a six-digit division code");
  }
  if (reply.balance_fen() < 0) return Untranslatable(city, "balance_fen", "negative balance");
  auto type = MapCode(city, "insurance type", "insurance_type_code", tables.insurance_types,
                      reply.insurance_type_code());
  if (!type.ok()) return type.status();
  auto status = MapCode(city, "enrolment status", "status_code", tables.enrollment_statuses, reply.status_code());
  if (!status.ok()) return status.status();
  auto enrolled = ParseCompactDate(reply.enrollment_date());
  if (!enrolled.ok()) return Untranslatable(city, "enrollment_date", enrolled.status().message());

  medical::v1::GetInsuranceStatusResponse out;
  out.set_resident_id(reply.resident_id());
  out.set_name(reply.name());
  *out.mutable_insured_city() = MakeCityInfo(city);
  out.set_insured_region_code(reply.insured_region_code());
  out.set_insurance_type(*type);
  out.set_status(*status);
  *out.mutable_enrollment_date() = *enrolled;
  out.mutable_personal_account_balance()->set_fen(reply.balance_fen());
  return out;
}

absl::StatusOr<std::vector<social::v1::ContributionEntry>> TranslateContributions(
    City city, const CityCodeTables& tables, const citybackend::v1::GetContributionsResponse& reply) {
  std::vector<social::v1::ContributionEntry> entries;
  entries.reserve(reply.months_size());
  for (int i = 0; i < reply.months_size(); ++i) {
    const citybackend::v1::MonthlyContribution& month = reply.months(i);
    std::string field = absl::StrCat("months[", i, "]");
    auto kind = MapCode(city, "insurance kind", absl::StrCat(field, ".kind_code"), tables.insurance_kinds,
                        month.kind_code());
    if (!kind.ok()) return kind.status();
    auto period = ParseCompactMonth(month.year_month());
    if (!period.ok()) return Untranslatable(city, absl::StrCat(field, ".year_month"), period.status().message());
    if (month.wage_base_fen() < 0 || month.personal_fen() < 0 || month.employer_fen() < 0) {
      return Untranslatable(city, field, "negative amount");
    }
    social::v1::ContributionEntry entry;
    *entry.mutable_city() = MakeCityInfo(city);
    entry.set_kind(*kind);
    entry.set_year(period->first);
    entry.set_month(period->second);
    entry.mutable_wage_base()->set_fen(month.wage_base_fen());
    entry.set_months(1);
    entry.mutable_personal_amount()->set_fen(month.personal_fen());
    entry.mutable_employer_amount()->set_fen(month.employer_fen());
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<household::v1::GetHouseholdRecordResponse> TranslateHouseholdRegistration(
    City city, const CityCodeTables& tables, const citybackend::v1::GetHouseholdRegistrationResponse& reply) {
  absl::Status id = CheckResidentId(city, reply.resident_id());
  if (!id.ok()) return id;
  if (!IsCountyCode(reply.address_code())) return Untranslatable(city, "address_code", "not a six-digit division code");
  if (reply.household_number().size() != 9 || !AllDigits(reply.household_number())) {
    return Untranslatable(city, "household_number", "not nine digits");
  }
  auto relation = MapCode(city, "relation", "relation_code", tables.relations, reply.relation_code());
  if (!relation.ok()) return relation.status();
  auto type = MapCode(city, "household type", "household_type_code", tables.household_types,
                      reply.household_type_code());
  if (!type.ok()) return type.status();
  auto since = ParseCompactDate(reply.registered_since());
  if (!since.ok()) return Untranslatable(city, "registered_since", since.status().message());

  household::v1::GetHouseholdRecordResponse out;
  out.set_resident_id(reply.resident_id());
  out.set_name(reply.name());
  *out.mutable_registered_city() = MakeCityInfo(city);
  out.set_address_code(reply.address_code());
  out.set_household_number(reply.household_number());
  out.set_relation_to_head(*relation);
  out.set_household_type(*type);
  *out.mutable_registered_since() = *since;
  return out;
}

}  // namespace interop::adapters
