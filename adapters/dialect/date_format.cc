#include "adapters/dialect/date_format.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace interop::adapters {
namespace {

// Digits in [begin, begin + count) of `text` as a number, or -1 if any is not an ASCII digit.
int Digits(absl::string_view text, size_t begin, size_t count) {
  int value = 0;
  for (size_t i = begin; i < begin + count; ++i) {
    const char c = text[i];
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

absl::StatusOr<DateFormat> DateFormat::FromPattern(absl::string_view pattern) {
  if (pattern == "YYYYMMDD") return DateFormat('\0');
  if (pattern == "YYYY-MM-DD") return DateFormat('-');
  if (pattern == "YYYY/MM/DD") return DateFormat('/');
  if (pattern == "YYYY.MM.DD") return DateFormat('.');
  return absl::InvalidArgumentError(
      absl::StrCat("\"", absl::CHexEscape(pattern),
                   "\" is not a date format; use one of \"YYYYMMDD\", \"YYYY-MM-DD\", \"YYYY/MM/DD\", "
                   "\"YYYY.MM.DD\""));
}

std::string DateFormat::date_pattern() const {
  if (separator_ == '\0') return "YYYYMMDD";
  return absl::StrCat("YYYY", std::string(1, separator_), "MM", std::string(1, separator_), "DD");
}

std::string DateFormat::month_pattern() const {
  if (separator_ == '\0') return "YYYYMM";
  return absl::StrCat("YYYY", std::string(1, separator_), "MM");
}

bool DateFormat::Split(absl::string_view text, bool with_day, int* year, int* month, int* day) const {
  const size_t sep = separator_ == '\0' ? 0 : 1;
  const size_t length = with_day ? 8 + 2 * sep : 6 + sep;
  if (text.size() != length) return false;
  *year = Digits(text, 0, 4);
  if (sep == 1 && text[4] != separator_) return false;
  *month = Digits(text, 4 + sep, 2);
  if (with_day) {
    if (sep == 1 && text[6 + sep] != separator_) return false;
    *day = Digits(text, 6 + 2 * sep, 2);
  } else {
    *day = 1;
  }
  return *year >= 0 && *month >= 0 && *day >= 0;
}

absl::StatusOr<absl::CivilDay> DateFormat::ParseDate(absl::string_view text) const {
  int year = 0, month = 0, day = 0;
  if (!Split(text, /*with_day=*/true, &year, &month, &day)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(text), "\" is not ", date_pattern()));
  }
  const absl::CivilDay civil(year, month, day);
  if (civil.year() != year || civil.month() != month || civil.day() != day) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a real date"));
  }
  if (year < kEarliestDateYear) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is before ", kEarliestDateYear));
  }
  return civil;
}

absl::StatusOr<absl::CivilMonth> DateFormat::ParseMonth(absl::string_view text) const {
  int year = 0, month = 0, day = 0;
  if (!Split(text, /*with_day=*/false, &year, &month, &day)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", absl::CHexEscape(text), "\" is not ", month_pattern()));
  }
  if (month < 1 || month > 12) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a real month"));
  }
  if (year < kEarliestDateYear) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is before ", kEarliestDateYear));
  }
  return absl::CivilMonth(year, month);
}

std::string DateFormat::FormatDate(absl::CivilDay day) const {
  if (separator_ == '\0') return absl::StrFormat("%04d%02d%02d", day.year(), day.month(), day.day());
  return absl::StrFormat("%04d%c%02d%c%02d", day.year(), separator_, day.month(), separator_, day.day());
}

std::string DateFormat::FormatMonth(absl::CivilMonth month) const {
  if (separator_ == '\0') return absl::StrFormat("%04d%02d", month.year(), month.month());
  return absl::StrFormat("%04d%c%02d", month.year(), separator_, month.month());
}

}  // namespace interop::adapters
