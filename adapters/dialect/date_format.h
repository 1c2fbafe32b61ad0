// Dates and months as city backends write them (CityDialect.date_format): "YYYYMMDD", "YYYY-MM-DD",
// "YYYY/MM/DD" or "YYYY.MM.DD", and the month form of the same pattern without the day ("YYYYMM",
// "YYYY-MM", "YYYY/MM", "YYYY.MM").
//
// Parsing is strict: exactly the pattern's length, ASCII digits where the pattern has Y, M or D, the
// pattern's own separator elsewhere, a real calendar date (no 30 February, no month 13), and a year
// from 1900 (an all-zero "00000000" is a placeholder some systems send for "none", not a date).
//
// Example:
//   absl::StatusOr<DateFormat> format = DateFormat::FromPattern("YYYY-MM-DD");
//   absl::StatusOr<absl::CivilDay> day = format->ParseDate("2024-02-29");
//   std::string month = format->FormatMonth(absl::CivilMonth(2024, 2));  // "2024-02"
//
// Thread-safe: a DateFormat is an immutable value.
#ifndef INTEROP_ADAPTERS_DIALECT_DATE_FORMAT_H_
#define INTEROP_ADAPTERS_DIALECT_DATE_FORMAT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace interop::adapters {

// The earliest year a backend date may carry.
inline constexpr int kEarliestDateYear = 1900;

class DateFormat {
 public:
  // "YYYYMMDD", the contract's reference format.
  DateFormat() = default;

  // The format of `pattern`, one of the four above. INVALID_ARGUMENT listing them otherwise.
  static absl::StatusOr<DateFormat> FromPattern(absl::string_view pattern);

  // "YYYY-MM-DD", ...
  std::string date_pattern() const;
  // "YYYY-MM", ...
  std::string month_pattern() const;

  // INVALID_ARGUMENT without a field name (the caller adds it), quoting the text and saying what is
  // wrong: "\"20240315\" is not YYYY-MM-DD", "\"2023-02-29\" is not a real date" (or month),
  // "\"1899-12-31\" is before 1900".
  absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view text) const;
  absl::StatusOr<absl::CivilMonth> ParseMonth(absl::string_view text) const;

  // `day` in this format; parses back to `day` for years 1900-9999.
  std::string FormatDate(absl::CivilDay day) const;
  std::string FormatMonth(absl::CivilMonth month) const;

  friend bool operator==(const DateFormat& a, const DateFormat& b) { return a.separator_ == b.separator_; }

 private:
  explicit DateFormat(char separator) : separator_(separator) {}

  // Year, month and (with_day) day from `text`; false if it does not have the pattern's shape.
  bool Split(absl::string_view text, bool with_day, int* year, int* month, int* day) const;

  // '\0' for none, else '-', '/' or '.'.
  char separator_ = '\0';
};

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_DIALECT_DATE_FORMAT_H_
