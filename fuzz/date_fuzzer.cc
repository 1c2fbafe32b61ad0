// Fuzz target: DateFormat::ParseDate and ParseMonth (adapters/dialect/date_format.h), the parsers
// of every date and month a city backend sends, in all four date formats.
//
// Input: the date text. Checks: no crash; a refusal is INVALID_ARGUMENT; an accepted date is a real
// one from 1900 and is exactly what the text says (FormatDate writes it back as the text).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "adapters/dialect/date_format.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  for (const char* pattern : {"YYYYMMDD", "YYYY-MM-DD", "YYYY/MM/DD", "YYYY.MM.DD"}) {
    const absl::StatusOr<interop::adapters::DateFormat> format =
        interop::adapters::DateFormat::FromPattern(pattern);
    FUZZ_CHECK(format.ok());
    const absl::StatusOr<absl::CivilDay> day = format->ParseDate(text);
    if (day.ok()) {
      FUZZ_CHECK(day->year() >= interop::adapters::kEarliestDateYear && day->year() <= 9999);
      FUZZ_CHECK(format->FormatDate(*day) == text);
    } else {
      FUZZ_CHECK(day.status().code() == absl::StatusCode::kInvalidArgument);
    }
    const absl::StatusOr<absl::CivilMonth> month = format->ParseMonth(text);
    if (month.ok()) {
      FUZZ_CHECK(month->year() >= interop::adapters::kEarliestDateYear && month->year() <= 9999);
      FUZZ_CHECK(format->FormatMonth(*month) == text);
    } else {
      FUZZ_CHECK(month.status().code() == absl::StatusCode::kInvalidArgument);
    }
  }
  return 0;
}
