// Fuzz target: ParseMoney (adapters/dialect/money.h), the parser of every amount a city backend
// sends, in both money formats.
//
// Input: the amount text, as the backend would send it. Checks: no crash; a refusal is
// INVALID_ARGUMENT; an accepted amount lies in [0, kMaxMoneyFen] and is exactly what the text says
// (FormatMoney writes it back as the text, padded to two decimals for yuan).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "adapters/dialect/money.h"
#include "fuzz/fuzz_check.h"

namespace {

using interop::config::v1::MoneyFormat;

// The yuan text with exactly two decimals, as FormatMoney writes it.
std::string PaddedYuan(absl::string_view text) {
  const size_t point = text.find('.');
  if (point == absl::string_view::npos) return std::string(text) + ".00";
  std::string padded(text);
  while (padded.size() - point - 1 < 2) padded.push_back('0');
  return padded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  for (MoneyFormat format :
       {interop::config::v1::MONEY_FORMAT_FEN_INTEGER, interop::config::v1::MONEY_FORMAT_YUAN_DECIMAL}) {
    const absl::StatusOr<int64_t> fen = interop::adapters::ParseMoney(text, format);
    if (!fen.ok()) {
      FUZZ_CHECK(fen.status().code() == absl::StatusCode::kInvalidArgument);
      continue;
    }
    FUZZ_CHECK(*fen >= 0 && *fen <= interop::adapters::kMaxMoneyFen);
    const std::string written = interop::adapters::FormatMoney(*fen, format);
    if (format == interop::config::v1::MONEY_FORMAT_FEN_INTEGER) {
      FUZZ_CHECK(written == text);
    } else {
      FUZZ_CHECK(written == PaddedYuan(text));
    }
    const absl::StatusOr<int64_t> again = interop::adapters::ParseMoney(written, format);
    FUZZ_CHECK(again.ok() && *again == *fen);
  }
  return 0;
}
