#include "adapters/grpc_backend/backend_translation.h"

#include "adapters/dialect/national_values.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "adapters/dialect/money.h"
#include "adapters/dialect/text_encoding.h"
#include "gateway/base/cities.h"
#include "gateway/identity/resident_id.h"

namespace interop::adapters {
namespace {

namespace backend = ::interop::citybackend::v1;

bool AllDigits(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsCountyCode(absl::string_view code) { return code.size() == 6 && AllDigits(code); }

template <typename Enum, size_t N>
Enum CanonicalValue(const NationalValue<Enum> (&table)[N], absl::string_view national_code) {
  std::optional<Enum> value = FindNationalValue(table, national_code);
  if (value.has_value()) return *value;
  // Dialect validation admits only national codes with a value: a miss is a bug, crash loudly.
  std::fprintf(stderr, "backend_translation: national code \"%s\" has no canonical value\n",
               std::string(national_code).c_str());
  std::abort();
}

common::v1::Date ToDate(absl::CivilDay day) {
  common::v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

}  // namespace

DialectTranslator::DialectTranslator(std::shared_ptr<const Dialect> dialect) : dialect_(std::move(dialect)) {}

absl::Status DialectTranslator::Untranslatable(absl::string_view field, absl::string_view why) const {
  return absl::InternalError(
      absl::StrCat("city ", CityName(city()), " answered an untranslatable ", field, ": ", why));
}

std::string DialectTranslator::BackendResidentId(const std::string& resident_id) const {
  return dialect_->BackendResidentId(resident_id);
}

absl::StatusOr<int64_t> DialectTranslator::TranslateMoney(absl::string_view field,
                                                          absl::string_view text) const {
  absl::StatusOr<int64_t> fen = ParseMoney(text, dialect_->money_format());
  if (!fen.ok()) return Untranslatable(field, fen.status().message());
  return *fen;
}

absl::StatusOr<common::v1::Date> DialectTranslator::TranslateDate(absl::string_view field,
                                                                  absl::string_view text) const {
  absl::StatusOr<absl::CivilDay> day = dialect_->date_format().ParseDate(text);
  if (!day.ok()) return Untranslatable(field, day.status().message());
  return ToDate(*day);
}

absl::StatusOr<absl::CivilMonth> DialectTranslator::TranslateMonth(absl::string_view field,
                                                                   absl::string_view text) const {
  absl::StatusOr<absl::CivilMonth> month = dialect_->date_format().ParseMonth(text);
  if (!month.ok()) return Untranslatable(field, month.status().message());
  return *month;
}

absl::StatusOr<std::string> DialectTranslator::TranslateName(absl::string_view field,
                                                             absl::string_view bytes) const {
  if (bytes.empty()) return Untranslatable(field, "is empty");
  absl::StatusOr<std::string> utf8 = DecodeText(bytes, dialect_->text_encoding());
  if (!utf8.ok()) {
    return Untranslatable(field, absl::StrCat("not valid ", TextEncodingName(dialect_->text_encoding()), ": ",
                                              utf8.status().message()));
  }
  return utf8;
}

absl::StatusOr<std::string> DialectTranslator::TranslateCode(absl::string_view field, CodeTableKind table,
                                                             absl::string_view code) const {
  const std::string* national = dialect_->table(table).ToNational(code);
  if (national == nullptr) {
    return Untranslatable(field, absl::StrCat("code \"", absl::CHexEscape(code), "\" is not in its ",
                                              CodeTableName(table), " table (", dialect_->source(), ")"));
  }
  return *national;
}

absl::StatusOr<std::string> DialectTranslator::TranslateResidentId(
    absl::string_view field, absl::string_view text, const std::string& asked_resident_id) const {
  std::string number;
  if (text.size() == 15 && AllDigits(text)) {
    if (dialect_->legacy_id_born_before_year() == 0) {
      return Untranslatable(field, absl::StrCat("is a legacy 15-digit number, but its dialect (",
                                                dialect_->source(), ") keys no one by legacy numbers"));
    }
    absl::StatusOr<std::string> upgraded = identity::UpgradeLegacyNumber(text);
    // Fifteen digits were checked, so only the birth date can be wrong (not quoted: it is personal).
    if (!upgraded.ok()) return Untranslatable(field, "is not a valid legacy number: its birth date is not real");
    number = *std::move(upgraded);
  } else if (text.size() == 18) {
    number = std::string(text);
    if (number.back() == 'x') number.back() = 'X';
  } else {
    return Untranslatable(
        field, absl::StrCat("is ", text.size(), " characters, not an 18-character number",
                            dialect_->legacy_id_born_before_year() == 0 ? "" : " or a 15-digit one"));
  }
  // Never echo the number: it may be another person's, and the message travels to the caller.
  if (number != asked_resident_id) return Untranslatable(field, "is not the person asked about");
  return number;
}

absl::StatusOr<medical::v1::GetInsuranceStatusResponse> DialectTranslator::TranslateMedicalEnrollment(
    const std::string& asked_resident_id, const backend::GetMedicalEnrollmentResponse& reply) const {
  absl::StatusOr<std::string> id = TranslateResidentId("resident_id", reply.resident_id(), asked_resident_id);
  if (!id.ok()) return id.status();
  absl::StatusOr<std::string> name = TranslateName("name", reply.name());
  if (!name.ok()) return name.status();
  if (!IsCountyCode(reply.insured_region_code())) {
    return Untranslatable("insured_region_code", "not a six-digit division code");
  }
  absl::StatusOr<std::string> type =
      TranslateCode("insurance_type_code", CodeTableKind::kInsuranceTypes, reply.insurance_type_code());
  if (!type.ok()) return type.status();
  absl::StatusOr<std::string> status =
      TranslateCode("status_code", CodeTableKind::kEnrollmentStatuses, reply.status_code());
  if (!status.ok()) return status.status();
  absl::StatusOr<common::v1::Date> enrolled = TranslateDate("enrollment_date", reply.enrollment_date());
  if (!enrolled.ok()) return enrolled.status();
  absl::StatusOr<int64_t> balance = TranslateMoney("balance", reply.balance());
  if (!balance.ok()) return balance.status();

  medical::v1::GetInsuranceStatusResponse out;
  out.set_resident_id(*id);
  out.set_name(*std::move(name));
  *out.mutable_insured_city() = MakeCityInfo(city());
  out.set_insured_region_code(reply.insured_region_code());
  out.set_insurance_type(CanonicalValue(kNationalInsuranceTypes, *type));
  out.set_status(CanonicalValue(kNationalEnrollmentStatuses, *status));
  *out.mutable_enrollment_date() = *enrolled;
  out.mutable_personal_account_balance()->set_fen(*balance);
  return out;
}

absl::StatusOr<std::vector<social::v1::ContributionEntry>> DialectTranslator::TranslateContributions(
    const std::string& asked_resident_id, const backend::GetContributionsResponse& reply) const {
  absl::StatusOr<std::string> id = TranslateResidentId("resident_id", reply.resident_id(), asked_resident_id);
  if (!id.ok()) return id.status();
  std::vector<social::v1::ContributionEntry> entries;
  entries.reserve(reply.months_size());
  for (int i = 0; i < reply.months_size(); ++i) {
    const backend::MonthlyContribution& month = reply.months(i);
    const std::string field = absl::StrCat("months[", i, "]");
    absl::StatusOr<std::string> kind = TranslateCode(absl::StrCat(field, ".kind_code"),
                                                     CodeTableKind::kContributionKinds, month.kind_code());
    if (!kind.ok()) return kind.status();
    absl::StatusOr<absl::CivilMonth> period =
        TranslateMonth(absl::StrCat(field, ".year_month"), month.year_month());
    if (!period.ok()) return period.status();
    absl::StatusOr<int64_t> wage_base = TranslateMoney(absl::StrCat(field, ".wage_base"), month.wage_base());
    if (!wage_base.ok()) return wage_base.status();
    absl::StatusOr<int64_t> personal =
        TranslateMoney(absl::StrCat(field, ".personal_amount"), month.personal_amount());
    if (!personal.ok()) return personal.status();
    absl::StatusOr<int64_t> employer =
        TranslateMoney(absl::StrCat(field, ".employer_amount"), month.employer_amount());
    if (!employer.ok()) return employer.status();

    social::v1::ContributionEntry entry;
    *entry.mutable_city() = MakeCityInfo(city());
    entry.set_kind(CanonicalValue(kNationalContributionKinds, *kind));
    entry.set_year(static_cast<int32_t>(period->year()));
    entry.set_month(period->month());
    entry.mutable_wage_base()->set_fen(*wage_base);
    entry.set_months(1);
    entry.mutable_personal_amount()->set_fen(*personal);
    entry.mutable_employer_amount()->set_fen(*employer);
    entries.push_back(std::move(entry));
  }
  // The backend orders by its own kind codes; the canonical order is by the national ones.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const social::v1::ContributionEntry& a, const social::v1::ContributionEntry& b) {
                     return std::make_tuple(a.year(), a.month(), static_cast<int>(a.kind())) <
                            std::make_tuple(b.year(), b.month(), static_cast<int>(b.kind()));
                   });
  return entries;
}

absl::StatusOr<household::v1::GetHouseholdRecordResponse> DialectTranslator::TranslateHouseholdRegistration(
    const std::string& asked_resident_id, const backend::GetHouseholdRegistrationResponse& reply) const {
  absl::StatusOr<std::string> id = TranslateResidentId("resident_id", reply.resident_id(), asked_resident_id);
  if (!id.ok()) return id.status();
  absl::StatusOr<std::string> name = TranslateName("name", reply.name());
  if (!name.ok()) return name.status();
  if (!IsCountyCode(reply.address_code()))
    return Untranslatable("address_code", "not a six-digit division code");
  if (reply.household_number().size() != 9 || !AllDigits(reply.household_number())) {
    return Untranslatable("household_number", "not nine digits");
  }
  absl::StatusOr<std::string> relation =
      TranslateCode("relation_code", CodeTableKind::kRelations, reply.relation_code());
  if (!relation.ok()) return relation.status();
  absl::StatusOr<std::string> type =
      TranslateCode("household_type_code", CodeTableKind::kHouseholdTypes, reply.household_type_code());
  if (!type.ok()) return type.status();
  absl::StatusOr<common::v1::Date> since = TranslateDate("registered_since", reply.registered_since());
  if (!since.ok()) return since.status();

  household::v1::GetHouseholdRecordResponse out;
  out.set_resident_id(*id);
  out.set_name(*std::move(name));
  *out.mutable_registered_city() = MakeCityInfo(city());
  out.set_address_code(reply.address_code());
  out.set_household_number(reply.household_number());
  out.set_relation_to_head(CanonicalValue(kNationalRelations, *relation));
  out.set_household_type(CanonicalValue(kNationalHouseholdTypes, *type));
  *out.mutable_registered_since() = *since;
  return out;
}

}  // namespace interop::adapters
