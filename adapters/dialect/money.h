// Amounts of money as city backends write them (interop.config.v1.MoneyFormat): integer fen, or yuan
// with at most two decimals, always as a decimal string. Parsing is strict and exact: integer
// arithmetic only, never floating point, and anything that is not exactly one of the two grammars
// below is refused rather than guessed at.
//
//   MONEY_FORMAT_FEN_INTEGER   "0" | [1-9][0-9]{0,14}                     "123456" = 123456 fen
//   MONEY_FORMAT_YUAN_DECIMAL  ("0" | [1-9][0-9]{0,12}) ("." [0-9]{1,2})?  "1234.56" = 123456 fen
//
// No sign (no backend amount in the contract is negative), no spaces, no exponent, no digit
// grouping, no leading zeros, no "12." or ".5". The largest amount is 10^15 - 1 fen (about ten
// trillion yuan), so no sum of a few amounts overflows int64.
//
// Example:
//   absl::StatusOr<int64_t> fen = ParseMoney("1234.5", config::v1::MONEY_FORMAT_YUAN_DECIMAL);  // 123450
//   std::string text = FormatMoney(123450, config::v1::MONEY_FORMAT_YUAN_DECIMAL);            // "1234.50"
//
// Thread-safe: pure functions.
#ifndef INTEROP_ADAPTERS_DIALECT_MONEY_H_
#define INTEROP_ADAPTERS_DIALECT_MONEY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "interop/config/v1/city_dialect.pb.h"

namespace interop::adapters {

// The largest amount either format may carry, in fen.
inline constexpr int64_t kMaxMoneyFen = 999'999'999'999'999;

// The amount `text` denotes in `format`, in fen. INVALID_ARGUMENT without a field name (the caller
// adds it) quoting the text and saying what is wrong, e.g. "\"12.345\" has more than 2 decimals
// (expected yuan with at most 2 decimals)"; also for MONEY_FORMAT_UNSPECIFIED or an unknown format.
absl::StatusOr<int64_t> ParseMoney(absl::string_view text, config::v1::MoneyFormat format);

// `fen` written in `format`: integer fen as digits; yuan always with exactly two decimals ("0.05",
// "12.00"). For 0 <= fen <= kMaxMoneyFen the result parses back to `fen`. A negative amount is
// written with a leading '-' (which ParseMoney refuses). An unspecified format is written as fen.
std::string FormatMoney(int64_t fen, config::v1::MoneyFormat format);

// "integer fen" or "yuan with at most 2 decimals", for messages.
absl::string_view MoneyFormatDescription(config::v1::MoneyFormat format);

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_DIALECT_MONEY_H_
