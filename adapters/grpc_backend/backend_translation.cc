#include "adapters/grpc_backend/backend_translation.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "adapters/dialect/date_format.h"
#include "adapters/dialect/money.h"
#include "adapters/dialect/national_values.h"
#include "adapters/dialect/text_encoding.h"
#include "gateway/base/cities.h"
#include "gateway/base/dates.h"
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

std::string Join(absl::string_view parent, absl::string_view name) {
  return parent.empty() ? std::string(name) : absl::StrCat(parent, ".", name);
}

std::string Quoted(absl::string_view text) {
  constexpr size_t kMax = 40;
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, kMax)), text.size() > kMax ? "...\"" : "\"");
}

// The city of a six-digit division code of one of the five cities (the prefecture's own code or one
// of its counties'), or CITY_UNSPECIFIED.
City CityOfDivision(absl::string_view code) {
  if (!IsCountyCode(code)) return City::CITY_UNSPECIFIED;
  return CityForPrefectureCode(absl::StrCat(code.substr(0, 4), "00"));
}

absl::Status BadRequest(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
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
  return DateOf(*day);
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

absl::StatusOr<std::string> DialectTranslator::TranslateAnyResidentId(absl::string_view field,
                                                                      absl::string_view text) const {
  if (text.size() == 15 && AllDigits(text)) {
    if (dialect_->legacy_id_born_before_year() == 0) {
      return Untranslatable(field, absl::StrCat("is a legacy 15-digit number, but its dialect (",
                                                dialect_->source(), ") keys no one by legacy numbers"));
    }
    absl::StatusOr<std::string> upgraded = identity::UpgradeLegacyNumber(text);
    if (!upgraded.ok())
      return Untranslatable(field, "is not a valid legacy number: its birth date is not real");
    return *std::move(upgraded);
  }
  if (text.size() != 18 || !AllDigits(text.substr(0, 17))) {
    return Untranslatable(field, "is not an 18-character identity number");
  }
  std::string number(text);
  if (number.back() == 'x') number.back() = 'X';
  // Not quoted: the number may be another person's, and the message travels to the caller.
  if (identity::ComputeCheckCharacter(absl::string_view(number).substr(0, 17)) != number.back()) {
    return Untranslatable(field, "is not a valid identity number: its check character is wrong");
  }
  return number;
}

absl::StatusOr<absl::CivilDay> DialectTranslator::TranslateDay(absl::string_view field,
                                                               absl::string_view text) const {
  absl::StatusOr<absl::CivilDay> day = dialect_->date_format().ParseDate(text);
  if (!day.ok()) return Untranslatable(field, day.status().message());
  return *day;
}

absl::StatusOr<std::string> DialectTranslator::BackendDate(absl::string_view field,
                                                           absl::CivilDay day) const {
  if (day.year() < kEarliestDateYear || day.year() > 9999) {
    return BadRequest(field, absl::StrCat("the date's year ", day.year(), " is outside 1900-9999"));
  }
  return dialect_->date_format().FormatDate(day);
}

absl::StatusOr<backend::SettlementRecord> DialectTranslator::BackendSettlement(
    const SettlementRecord& settlement) const {
  backend::SettlementRecord out;
  if (settlement.settlement_id.empty()) return BadRequest("settlement_id", "is required");
  out.set_settlement_id(settlement.settlement_id);
  out.set_resident_id(BackendResidentId(settlement.resident_id));
  out.set_year(settlement.year);
  switch (settlement.visit_type) {
    case config::v1::VISIT_TYPE_OUTPATIENT:
      out.set_visit_type_code("11");
      break;
    case config::v1::VISIT_TYPE_INPATIENT:
      out.set_visit_type_code("21");
      break;
    default:
      return BadRequest("visit_type", "must be outpatient or inpatient");
  }
  out.set_institution_code(settlement.institution_code);
  const absl::string_view treatment_city = CityDivisionCode(settlement.treatment_city);
  if (treatment_city.empty()) return BadRequest("treatment_city", "must be one of the five cities");
  out.set_treatment_city_code(std::string(treatment_city));
  absl::StatusOr<std::string> settle_date = BackendDate("settle_date", settlement.settle_date);
  if (!settle_date.ok()) return settle_date.status();
  out.set_settle_date(*std::move(settle_date));
  const struct {
    const char* field;
    int64_t fen;
    void (backend::SettlementRecord::*set)(const std::string&);
  } amounts[] = {{"total_fen", settlement.total_fen, &backend::SettlementRecord::set_total},
                 {"deductible_applied_fen", settlement.deductible_applied_fen,
                  &backend::SettlementRecord::set_deductible_applied},
                 {"fund_pay_fen", settlement.fund_pay_fen, &backend::SettlementRecord::set_fund_pay},
                 {"account_pay_fen", settlement.account_pay_fen, &backend::SettlementRecord::set_account_pay},
                 {"cash_pay_fen", settlement.cash_pay_fen, &backend::SettlementRecord::set_cash_pay}};
  for (const auto& amount : amounts) {
    if (amount.fen < 0 || amount.fen > kMaxMoneyFen) {
      return BadRequest(amount.field, absl::StrCat(amount.fen, " is not an amount from 0 to ", kMaxMoneyFen));
    }
    (out.*amount.set)(FormatMoney(amount.fen, dialect_->money_format()));
  }
  if (settlement.reversed) return BadRequest("reversed", "must be false in a commit");
  return out;
}

absl::StatusOr<backend::FilingRecord> DialectTranslator::BackendFiling(const FilingRecord& filing) const {
  backend::FilingRecord out;
  if (!filing.filing_id.empty()) return BadRequest("filing_id", "must be empty in a new filing");
  if (filing.revoked) return BadRequest("revoked", "must be false in a new filing");
  out.set_resident_id(BackendResidentId(filing.resident_id));
  const absl::string_view treatment_city = CityDivisionCode(filing.treatment_city);
  if (treatment_city.empty()) return BadRequest("treatment_city", "must be one of the five cities");
  out.set_treatment_city_code(std::string(treatment_city));
  absl::StatusOr<std::string> from = BackendDate("valid_from", filing.valid_from);
  if (!from.ok()) return from.status();
  absl::StatusOr<std::string> to = BackendDate("valid_to", filing.valid_to);
  if (!to.ok()) return to.status();
  out.set_valid_from(*std::move(from));
  out.set_valid_to(*std::move(to));
  if (filing.reason < medical::v1::FILING_REASON_RESETTLED_RETIREE ||
      filing.reason > medical::v1::FILING_REASON_TEMPORARY) {
    return BadRequest("reason", "must be a filing reason");
  }
  out.set_reason_code(absl::StrCat(static_cast<int>(filing.reason)));
  return out;
}

absl::StatusOr<MedicalAccount> DialectTranslator::TranslateMedicalAccount(
    absl::string_view field, const std::string& asked_resident_id, int asked_year,
    const backend::MedicalAccount& account) const {
  MedicalAccount out;
  absl::StatusOr<std::string> id =
      TranslateResidentId(Join(field, "resident_id"), account.resident_id(), asked_resident_id);
  if (!id.ok()) return id.status();
  out.resident_id = *std::move(id);
  absl::StatusOr<std::string> type = TranslateCode(
      Join(field, "insurance_type_code"), CodeTableKind::kInsuranceTypes, account.insurance_type_code());
  if (!type.ok()) return type.status();
  out.insurance_type = CanonicalValue(kNationalInsuranceTypes, *type);
  absl::StatusOr<std::string> status =
      TranslateCode(Join(field, "status_code"), CodeTableKind::kEnrollmentStatuses, account.status_code());
  if (!status.ok()) return status.status();
  out.status = CanonicalValue(kNationalEnrollmentStatuses, *status);
  if (account.year() != asked_year) {
    return Untranslatable(Join(field, "year"),
                          absl::StrCat(account.year(), " is not the year asked about (", asked_year, ")"));
  }
  out.year = account.year();
  const struct {
    const char* name;
    const std::string& text;
    int64_t* fen;
  } amounts[] = {
      {"balance", account.balance(), &out.balance_fen},
      {"deductible_used_outpatient", account.deductible_used_outpatient(),
       &out.deductible_used_outpatient_fen},
      {"deductible_used_inpatient", account.deductible_used_inpatient(), &out.deductible_used_inpatient_fen},
      {"fund_paid", account.fund_paid(), &out.fund_paid_fen}};
  for (const auto& amount : amounts) {
    absl::StatusOr<int64_t> fen = TranslateMoney(Join(field, amount.name), amount.text);
    if (!fen.ok()) return fen.status();
    *amount.fen = *fen;
  }
  out.version = account.version();
  return out;
}

absl::StatusOr<SettlementRecord> DialectTranslator::TranslateSettlementRecord(
    absl::string_view field, const std::string& asked_resident_id,
    const backend::SettlementRecord& record) const {
  SettlementRecord out;
  if (record.settlement_id().empty()) return Untranslatable(Join(field, "settlement_id"), "is empty");
  out.settlement_id = record.settlement_id();
  absl::StatusOr<std::string> id =
      asked_resident_id.empty()
          ? TranslateAnyResidentId(Join(field, "resident_id"), record.resident_id())
          : TranslateResidentId(Join(field, "resident_id"), record.resident_id(), asked_resident_id);
  if (!id.ok()) return id.status();
  out.resident_id = *std::move(id);
  if (record.year() < kEarliestDateYear || record.year() > 9999) {
    return Untranslatable(Join(field, "year"),
                          absl::StrCat(record.year(), " is not a year from 1900 to 9999"));
  }
  out.year = record.year();
  if (record.visit_type_code() == "11") {
    out.visit_type = config::v1::VISIT_TYPE_OUTPATIENT;
  } else if (record.visit_type_code() == "21") {
    out.visit_type = config::v1::VISIT_TYPE_INPATIENT;
  } else {
    return Untranslatable(Join(field, "visit_type_code"),
                          absl::StrCat(Quoted(record.visit_type_code()),
                                       " is not a national visit type (11 outpatient, 21 inpatient)"));
  }
  if (record.institution_code().empty()) return Untranslatable(Join(field, "institution_code"), "is empty");
  out.institution_code = record.institution_code();
  out.treatment_city = CityOfDivision(record.treatment_city_code());
  if (out.treatment_city == City::CITY_UNSPECIFIED) {
    return Untranslatable(Join(field, "treatment_city_code"),
                          absl::StrCat(Quoted(record.treatment_city_code()),
                                       " is not a six-digit division code of one of the five cities"));
  }
  absl::StatusOr<absl::CivilDay> settled = TranslateDay(Join(field, "settle_date"), record.settle_date());
  if (!settled.ok()) return settled.status();
  out.settle_date = *settled;
  const struct {
    const char* name;
    const std::string& text;
    int64_t* fen;
  } amounts[] = {{"total", record.total(), &out.total_fen},
                 {"deductible_applied", record.deductible_applied(), &out.deductible_applied_fen},
                 {"fund_pay", record.fund_pay(), &out.fund_pay_fen},
                 {"account_pay", record.account_pay(), &out.account_pay_fen},
                 {"cash_pay", record.cash_pay(), &out.cash_pay_fen}};
  for (const auto& amount : amounts) {
    absl::StatusOr<int64_t> fen = TranslateMoney(Join(field, amount.name), amount.text);
    if (!fen.ok()) return fen.status();
    *amount.fen = *fen;
  }
  if (out.fund_pay_fen + out.account_pay_fen + out.cash_pay_fen != out.total_fen) {
    return Untranslatable(Join(field, "total"), "is not fund_pay + account_pay + cash_pay");
  }
  out.reversed = record.reversed();
  if (out.reversed) {
    absl::StatusOr<absl::CivilDay> reversed =
        TranslateDay(Join(field, "reversed_date"), record.reversed_date());
    if (!reversed.ok()) return reversed.status();
    out.reversed_date = *reversed;
  } else if (!record.reversed_date().empty()) {
    return Untranslatable(Join(field, "reversed_date"), "is set, but the settlement is not reversed");
  }
  return out;
}

absl::StatusOr<FilingRecord> DialectTranslator::TranslateFilingRecord(
    absl::string_view field, const std::string& asked_resident_id,
    const backend::FilingRecord& filing) const {
  FilingRecord out;
  if (filing.filing_id().empty()) return Untranslatable(Join(field, "filing_id"), "is empty");
  out.filing_id = filing.filing_id();
  absl::StatusOr<std::string> id =
      TranslateResidentId(Join(field, "resident_id"), filing.resident_id(), asked_resident_id);
  if (!id.ok()) return id.status();
  out.resident_id = *std::move(id);
  out.treatment_city = CityOfDivision(filing.treatment_city_code());
  if (out.treatment_city == City::CITY_UNSPECIFIED) {
    return Untranslatable(Join(field, "treatment_city_code"),
                          absl::StrCat(Quoted(filing.treatment_city_code()),
                                       " is not a six-digit division code of one of the five cities"));
  }
  absl::StatusOr<absl::CivilDay> from = TranslateDay(Join(field, "valid_from"), filing.valid_from());
  if (!from.ok()) return from.status();
  absl::StatusOr<absl::CivilDay> to = TranslateDay(Join(field, "valid_to"), filing.valid_to());
  if (!to.ok()) return to.status();
  if (*to < *from) return Untranslatable(Join(field, "valid_to"), "is before valid_from");
  out.valid_from = *from;
  out.valid_to = *to;
  const std::string& reason = filing.reason_code();
  if (reason.size() != 1 || reason[0] < '1' || reason[0] > '5') {
    return Untranslatable(Join(field, "reason_code"),
                          absl::StrCat(Quoted(reason), " is not a national filing reason (1 to 5)"));
  }
  out.reason = static_cast<medical::v1::FilingReason>(reason[0] - '0');
  out.revoked = filing.revoked();
  return out;
}

absl::StatusOr<CommitResult> DialectTranslator::TranslateCommitResult(
    const std::string& asked_settlement_id, const std::string& asked_resident_id,
    const backend::MedicalAccount& account, const backend::SettlementRecord& settlement,
    bool replayed) const {
  CommitResult out;
  absl::StatusOr<SettlementRecord> record =
      TranslateSettlementRecord("settlement", asked_resident_id, settlement);
  if (!record.ok()) return record.status();
  if (record->settlement_id != asked_settlement_id) {
    return Untranslatable("settlement.settlement_id", "is not the settlement asked about");
  }
  absl::StatusOr<MedicalAccount> translated =
      TranslateMedicalAccount("account", asked_resident_id, record->year, account);
  if (!translated.ok()) return translated.status();
  out.account = *std::move(translated);
  out.settlement = *std::move(record);
  out.replayed = replayed;
  return out;
}

// --- Household migration and pension transfer.

absl::StatusOr<std::string> DialectTranslator::BackendCityCode(absl::string_view field, City city) const {
  const absl::string_view code = CityDivisionCode(city);
  if (code.empty()) return BadRequest(field, "must be one of the five cities");
  return std::string(code);
}

absl::StatusOr<std::string> DialectTranslator::BackendName(absl::string_view field, const std::string& utf8) const {
  if (utf8.empty()) return BadRequest(field, "is required");
  absl::StatusOr<std::string> encoded = EncodeText(utf8, dialect_->text_encoding());
  if (!encoded.ok()) {
    return BadRequest(field, absl::StrCat("cannot be written in the text encoding of city ", CityName(city())));
  }
  return encoded;
}

absl::StatusOr<backend::PensionTransferSheet> DialectTranslator::BackendPensionSheet(
    const std::string& resident_id, const PensionTransferSheet& sheet) const {
  const config::v1::MoneyFormat money = dialect_->money_format();
  const auto amount = [money](absl::string_view field, int64_t fen) -> absl::StatusOr<std::string> {
    if (fen < 0 || fen > kMaxMoneyFen) {
      return BadRequest(field, absl::StrCat(fen, " is not an amount from 0 to ", kMaxMoneyFen));
    }
    return FormatMoney(fen, money);
  };
  const std::string* pension = dialect_->table(CodeTableKind::kContributionKinds).ToLocal("110");
  if (pension == nullptr) {
    return absl::InternalError(absl::StrCat("city ", CityName(city()), "'s dialect has no pension contribution code"));
  }
  backend::PensionTransferSheet out;
  out.set_resident_id(BackendResidentId(resident_id));
  for (size_t i = 0; i < sheet.years.size(); ++i) {
    const PensionSheetYear& y = sheet.years[i];
    const std::string field = absl::StrCat("sheet.years[", i, "].");
    backend::PensionSheetYear* year = out.add_years();
    year->set_year(y.year);
    year->set_months(y.months);
    absl::StatusOr<std::string> base = amount(field + "wage_base_total_fen", y.wage_base_total_fen);
    absl::StatusOr<std::string> personal = amount(field + "personal_fen", y.personal_fen);
    absl::StatusOr<std::string> employer = amount(field + "employer_fen", y.employer_fen);
    if (!base.ok()) return base.status();
    if (!personal.ok()) return personal.status();
    if (!employer.ok()) return employer.status();
    year->set_wage_base_total(*base);
    year->set_personal_amount(*personal);
    year->set_employer_amount(*employer);
  }
  for (size_t i = 0; i < sheet.months.size(); ++i) {
    const social::v1::ContributionEntry& e = sheet.months[i];
    const std::string field = absl::StrCat("sheet.months[", i, "].");
    if (e.year() < 1900 || e.year() > 9999 || e.month() < 1 || e.month() > 12) {
      return BadRequest(field + "month", "is not a month of the years 1900-9999");
    }
    backend::MonthlyContribution* month = out.add_months();
    month->set_kind_code(*pension);
    month->set_year_month(dialect_->date_format().FormatMonth(absl::CivilMonth(e.year(), e.month())));
    absl::StatusOr<std::string> base = amount(field + "wage_base", e.wage_base().fen());
    absl::StatusOr<std::string> personal = amount(field + "personal_amount", e.personal_amount().fen());
    absl::StatusOr<std::string> employer = amount(field + "employer_amount", e.employer_amount().fen());
    if (!base.ok()) return base.status();
    if (!personal.ok()) return personal.status();
    if (!employer.ok()) return employer.status();
    month->set_wage_base(*base);
    month->set_personal_amount(*personal);
    month->set_employer_amount(*employer);
  }
  absl::StatusOr<std::string> personal = amount("sheet.personal_account_fen", sheet.personal_account_fen);
  absl::StatusOr<std::string> pooled = amount("sheet.pooled_fund_fen", sheet.pooled_fund_fen);
  if (!personal.ok()) return personal.status();
  if (!pooled.ok()) return pooled.status();
  out.set_personal_account(*personal);
  out.set_pooled_fund(*pooled);
  return out;
}

absl::StatusOr<PensionTransferSheet> DialectTranslator::TranslatePensionSheet(
    absl::string_view field, const std::string& asked_resident_id, const backend::PensionTransferSheet& sheet) const {
  const auto at = [field](absl::string_view name) { return absl::StrCat(field, ".", name); };
  absl::StatusOr<std::string> id = TranslateResidentId(at("resident_id"), sheet.resident_id(), asked_resident_id);
  if (!id.ok()) return id.status();
  PensionTransferSheet out;
  for (int i = 0; i < sheet.years_size(); ++i) {
    const backend::PensionSheetYear& y = sheet.years(i);
    const std::string f = absl::StrCat(field, ".years[", i, "].");
    PensionSheetYear year;
    year.year = y.year();
    year.months = y.months();
    if (year.year < 1900 || year.year > 9999) return Untranslatable(f + "year", "is not a year of 1900-9999");
    if (year.months < 1 || year.months > 12) return Untranslatable(f + "months", "is not 1 to 12");
    absl::StatusOr<int64_t> base = TranslateMoney(f + "wage_base_total", y.wage_base_total());
    if (!base.ok()) return base.status();
    absl::StatusOr<int64_t> personal = TranslateMoney(f + "personal_amount", y.personal_amount());
    if (!personal.ok()) return personal.status();
    absl::StatusOr<int64_t> employer = TranslateMoney(f + "employer_amount", y.employer_amount());
    if (!employer.ok()) return employer.status();
    year.wage_base_total_fen = *base;
    year.personal_fen = *personal;
    year.employer_fen = *employer;
    out.years.push_back(year);
  }
  backend::GetContributionsResponse months;
  months.set_resident_id(sheet.resident_id());
  *months.mutable_months() = sheet.months();
  absl::StatusOr<std::vector<social::v1::ContributionEntry>> entries = TranslateContributions(asked_resident_id, months);
  if (!entries.ok()) return entries.status();
  for (size_t i = 0; i < entries->size(); ++i) {
    if ((*entries)[i].kind() != social::v1::INSURANCE_KIND_EMPLOYEE_PENSION) {
      return Untranslatable(absl::StrCat(field, ".months[", i, "].kind_code"), "is not the city's pension code");
    }
  }
  out.months = *std::move(entries);
  absl::StatusOr<int64_t> personal = TranslateMoney(at("personal_account"), sheet.personal_account());
  if (!personal.ok()) return personal.status();
  absl::StatusOr<int64_t> pooled = TranslateMoney(at("pooled_fund"), sheet.pooled_fund());
  if (!pooled.ok()) return pooled.status();
  out.personal_account_fen = *personal;
  out.pooled_fund_fen = *pooled;
  return out;
}

}  // namespace interop::adapters
