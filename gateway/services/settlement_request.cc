#include "gateway/services/settlement_request.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gateway/base/cities.h"
#include "gateway/base/dates.h"
#include "gateway/base/rich_status.h"
#include "gateway/identity/division_codes.h"

namespace interop::services {
namespace {

bool AllDigits(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return !text.empty();
}

bool IsNationalItemCode(absl::string_view code) {
  if (code.size() == 15) return AllDigits(code);
  if (code.size() != 23 || (code[0] != 'X' && code[0] != 'Z')) return false;
  for (char c : code.substr(1)) {
    if (!absl::ascii_isupper(static_cast<unsigned char>(c)) && !absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// ICD-10: a letter, two digits, optionally "." and one to four digits or letters ("J18.9", "K35").
bool IsIcd10Code(absl::string_view code) {
  if (code.size() < 3 || code.size() > 8) return false;
  if (!absl::ascii_isupper(static_cast<unsigned char>(code[0])) || !AllDigits(code.substr(1, 2))) return false;
  if (code.size() == 3) return true;
  if (code[3] != '.' || code.size() == 4) return false;
  for (char c : code.substr(4)) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<absl::CivilDay> ToCivilDay(const common::v1::Date& date, absl::string_view field) {
  if (date.year() == 0 && date.month() == 0 && date.day() == 0) return FieldError(field, "is required");
  absl::CivilDay day(date.year(), date.month(), date.day());
  if (date.year() < 1900 || date.year() > 9999 || day.year() != date.year() || day.month() != date.month() ||
      day.day() != date.day()) {
    return FieldError(field, absl::StrCat("is not a valid date: ", date.year(), "-", date.month(), "-", date.day()));
  }
  return day;
}

absl::Status ValidateVisit(const medical::v1::Visit& visit, absl::string_view field, common::v1::City treatment_city,
                           absl::CivilDay today) {
  const std::string hospital = absl::StrCat(field, ".hospital");
  const std::string& code = visit.hospital().institution_code();
  if (code.empty()) return FieldError(absl::StrCat(hospital, ".institution_code"), "is required");
  if (code.size() != 12 || code[0] != 'H' || !AllDigits(absl::string_view(code).substr(1))) {
    return FieldError(absl::StrCat(hospital, ".institution_code"),
                      absl::StrCat("\"", code, "\" is not \"H\" followed by 11 digits"));
  }
  const std::string county = code.substr(1, 6);
  const identity::Division* division = identity::DivisionRegistry::Embedded().Find(county);
  if (division == nullptr || !division->in_use()) {
    return FieldError(absl::StrCat(hospital, ".institution_code"),
                      absl::StrCat("starts with ", county, ", which is not a division code in use"));
  }
  if (CityForPrefectureCode(absl::StrCat(county.substr(0, 4), "00")) != treatment_city) {
    return FieldError(absl::StrCat(hospital, ".institution_code"),
                      absl::StrCat("division ", county, " is not in the calling organisation's city ",
                                   CityName(treatment_city)));
  }
  if (visit.hospital().level() == config::v1::HOSPITAL_LEVEL_UNSPECIFIED ||
      !config::v1::HospitalLevel_IsValid(visit.hospital().level())) {
    return FieldError(absl::StrCat(hospital, ".level"), "is required (primary, secondary or tertiary)");
  }
  if (visit.visit_type() == config::v1::VISIT_TYPE_UNSPECIFIED || !config::v1::VisitType_IsValid(visit.visit_type())) {
    return FieldError(absl::StrCat(field, ".visit_type"), "is required (outpatient or inpatient)");
  }
  absl::StatusOr<absl::CivilDay> day = ToCivilDay(visit.visit_date(), absl::StrCat(field, ".visit_date"));
  if (!day.ok()) return day.status();
  if (*day > today) return FieldError(absl::StrCat(field, ".visit_date"), "is in the future");
  if (day->year() < today.year() - 1) {
    return FieldError(absl::StrCat(field, ".visit_date"), "is before 1 January of last year");
  }
  if (visit.diagnosis_code().empty()) return FieldError(absl::StrCat(field, ".diagnosis_code"), "is required");
  if (!IsIcd10Code(visit.diagnosis_code())) {
    return FieldError(absl::StrCat(field, ".diagnosis_code"),
                      absl::StrCat("\"", visit.diagnosis_code(), "\" is not an ICD-10 code such as \"J18.9\""));
  }
  if (visit.items_size() == 0) return FieldError(absl::StrCat(field, ".items"), "at least one line is required");
  if (visit.items_size() > kMaxLineItems) {
    return FieldError(absl::StrCat(field, ".items"), absl::StrCat("at most ", kMaxLineItems, " lines"));
  }
  for (int i = 0; i < visit.items_size(); ++i) {
    const medical::v1::LineItem& item = visit.items(i);
    const std::string line = absl::StrCat(field, ".items[", i, "]");
    if (!IsNationalItemCode(item.code())) {
      return FieldError(absl::StrCat(line, ".code"),
                        absl::StrCat("\"", item.code(),
                                     "\" is neither a 23-character national drug code nor a 15-digit service code"));
    }
    if (item.quantity_milli() <= 0 || item.quantity_milli() > kMaxQuantityMilli) {
      return FieldError(absl::StrCat(line, ".quantity_milli"),
                        absl::StrCat("must be 1 to ", kMaxQuantityMilli, ", not ", item.quantity_milli()));
    }
    if (item.unit_price().fen() <= 0 || item.unit_price().fen() > kMaxUnitPriceFen) {
      return FieldError(absl::StrCat(line, ".unit_price.fen"),
                        absl::StrCat("must be 1 to ", kMaxUnitPriceFen, ", not ", item.unit_price().fen()));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateIdempotencyKey(absl::string_view key, absl::string_view field) {
  if (key.empty()) return FieldError(field, "is required");
  if (key.size() < 8 || key.size() > 64) return FieldError(field, "must be 8 to 64 characters");
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return FieldError(field, "may contain only A-Z, a-z, 0-9, '.', '_' and '-'");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePeriod(const medical::v1::Period& period, absl::string_view field) {
  absl::StatusOr<absl::CivilDay> from = ToCivilDay(period.from(), absl::StrCat(field, ".from"));
  if (!from.ok()) return from.status();
  absl::StatusOr<absl::CivilDay> to = ToCivilDay(period.to(), absl::StrCat(field, ".to"));
  if (!to.ok()) return to.status();
  if (*to < *from) return FieldError(absl::StrCat(field, ".to"), "is before period.from");
  if (*to - *from > 366) return FieldError(absl::StrCat(field, ".to"), "the period is longer than 366 days");
  return absl::OkStatus();
}

absl::Status ValidateSettlementId(absl::string_view id, absl::string_view field) {
  if (id.empty()) return FieldError(field, "is required");
  bool ok = id.size() == 26 && id.substr(0, 2) == "ST";
  for (char c : id.substr(2)) ok = ok && (absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f'));
  if (!ok) return FieldError(field, "is not a settlement id (\"ST\" and 24 hex digits)");
  return absl::OkStatus();
}

}  // namespace interop::services
