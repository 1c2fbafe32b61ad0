#include "adapters/dialect/money.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace interop::adapters {
namespace {

using config::v1::MoneyFormat;

// Digits of kMaxMoneyFen as fen, and as whole yuan.
constexpr size_t kMaxFenDigits = 15;
constexpr size_t kMaxYuanDigits = 13;

absl::Status Refuse(absl::string_view text, MoneyFormat format, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("\"", absl::CHexEscape(text), "\" ", why, " (expected ",
                                                 MoneyFormatDescription(format), ")"));
}

bool AllDigits(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// A non-empty run of at most `max_digits` digits without a leading zero (other than "0"), as a
// number; an error naming what is wrong otherwise.
absl::StatusOr<int64_t> ParseWhole(absl::string_view whole, absl::string_view text, MoneyFormat format,
                                   size_t max_digits) {
  if (whole.empty()) return Refuse(text, format, "has no digits before the decimal point");
  if (!AllDigits(whole)) return Refuse(text, format, "is not a decimal number");
  if (whole.size() > 1 && whole[0] == '0') return Refuse(text, format, "has a leading zero");
  if (whole.size() > max_digits) return Refuse(text, format, "is too large");
  int64_t value = 0;
  for (char c : whole) value = value * 10 + (c - '0');
  return value;
}

}  // namespace

absl::string_view MoneyFormatDescription(MoneyFormat format) {
  switch (format) {
    case config::v1::MONEY_FORMAT_FEN_INTEGER:
      return "integer fen";
    case config::v1::MONEY_FORMAT_YUAN_DECIMAL:
      return "yuan with at most 2 decimals";
    default:
      return "an unspecified money format";
  }
}

absl::StatusOr<int64_t> ParseMoney(absl::string_view text, MoneyFormat format) {
  if (text.empty()) return Refuse(text, format, "is empty");
  switch (format) {
    case config::v1::MONEY_FORMAT_FEN_INTEGER:
      return ParseWhole(text, text, format, kMaxFenDigits);
    case config::v1::MONEY_FORMAT_YUAN_DECIMAL: {
      const size_t point = text.find('.');
      absl::string_view whole = text.substr(0, point);
      absl::StatusOr<int64_t> yuan = ParseWhole(whole, text, format, kMaxYuanDigits);
      if (!yuan.ok()) return yuan.status();
      int64_t fen = *yuan * 100;
      if (point == absl::string_view::npos) return fen;
      absl::string_view decimals = text.substr(point + 1);
      if (decimals.empty()) return Refuse(text, format, "has no digits after the decimal point");
      if (!AllDigits(decimals)) return Refuse(text, format, "is not a decimal number");
      if (decimals.size() > 2) return Refuse(text, format, "has more than 2 decimals");
      fen += (decimals[0] - '0') * 10;
      if (decimals.size() == 2) fen += decimals[1] - '0';
      return fen;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("money format ", static_cast<int>(format), " is not a known format"));
  }
}

std::string FormatMoney(int64_t fen, MoneyFormat format) {
  if (format != config::v1::MONEY_FORMAT_YUAN_DECIMAL) return absl::StrCat(fen);
  // Work on the magnitude as unsigned so that INT64_MIN is written correctly too.
  const bool negative = fen < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  return absl::StrFormat("%s%d.%02d", negative ? "-" : "", magnitude / 100, magnitude % 100);
}

}  // namespace interop::adapters
