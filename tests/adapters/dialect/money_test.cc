#include "adapters/dialect/money.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::adapters {
namespace {

using config::v1::MONEY_FORMAT_FEN_INTEGER;
using config::v1::MONEY_FORMAT_UNSPECIFIED;
using config::v1::MONEY_FORMAT_YUAN_DECIMAL;
using ::testing::HasSubstr;

// Expects INVALID_ARGUMENT whose message contains `part`.
void ExpectRefused(absl::string_view text, config::v1::MoneyFormat format, absl::string_view part = "") {
  absl::StatusOr<int64_t> fen = ParseMoney(text, format);
  ASSERT_FALSE(fen.ok()) << "accepted \"" << text << "\" as " << *fen;
  EXPECT_EQ(fen.status().code(), absl::StatusCode::kInvalidArgument) << fen.status();
  EXPECT_THAT(std::string(fen.status().message()), HasSubstr(std::string(part))) << fen.status();
}

TEST(ParseMoneyTest, YuanWithZeroOneOrTwoDecimals) {
  EXPECT_EQ(*ParseMoney("12", MONEY_FORMAT_YUAN_DECIMAL), 1200);
  EXPECT_EQ(*ParseMoney("12.3", MONEY_FORMAT_YUAN_DECIMAL), 1230);
  EXPECT_EQ(*ParseMoney("12.34", MONEY_FORMAT_YUAN_DECIMAL), 1234);
  EXPECT_EQ(*ParseMoney("12.05", MONEY_FORMAT_YUAN_DECIMAL), 1205);
  EXPECT_EQ(*ParseMoney("0", MONEY_FORMAT_YUAN_DECIMAL), 0);
  EXPECT_EQ(*ParseMoney("0.00", MONEY_FORMAT_YUAN_DECIMAL), 0);
  EXPECT_EQ(*ParseMoney("0.01", MONEY_FORMAT_YUAN_DECIMAL), 1);
  EXPECT_EQ(*ParseMoney("1234.56", MONEY_FORMAT_YUAN_DECIMAL), 123456);
  EXPECT_EQ(*ParseMoney("9999999999999.99", MONEY_FORMAT_YUAN_DECIMAL), kMaxMoneyFen);
}

TEST(ParseMoneyTest, YuanRefusesEverythingElseNamingWhy) {
  ExpectRefused("12.345", MONEY_FORMAT_YUAN_DECIMAL, "more than 2 decimals");
  ExpectRefused("12.", MONEY_FORMAT_YUAN_DECIMAL, "no digits after the decimal point");
  ExpectRefused(".5", MONEY_FORMAT_YUAN_DECIMAL, "no digits before the decimal point");
  ExpectRefused("", MONEY_FORMAT_YUAN_DECIMAL, "is empty");
  ExpectRefused("-0", MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");
  ExpectRefused("-1.00", MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");
  ExpectRefused("+1", MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");
  ExpectRefused("1e3", MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");
  ExpectRefused(" 12", MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");
  ExpectRefused("12 ", MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");
  ExpectRefused("1,234.56", MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");
  ExpectRefused("12.3.4", MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");
  ExpectRefused("012", MONEY_FORMAT_YUAN_DECIMAL, "leading zero");
  ExpectRefused("00.50", MONEY_FORMAT_YUAN_DECIMAL, "leading zero");
  ExpectRefused("NaN", MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");
  ExpectRefused("inf", MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");
  ExpectRefused("１２", MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");  // full-width digits
  ExpectRefused(std::string("12\0", 3), MONEY_FORMAT_YUAN_DECIMAL, "not a decimal number");
  ExpectRefused("10000000000000", MONEY_FORMAT_YUAN_DECIMAL, "too large");
  ExpectRefused("99999999999999999999999.00", MONEY_FORMAT_YUAN_DECIMAL, "too large");
}

TEST(ParseMoneyTest, FenIntegers) {
  EXPECT_EQ(*ParseMoney("0", MONEY_FORMAT_FEN_INTEGER), 0);
  EXPECT_EQ(*ParseMoney("1", MONEY_FORMAT_FEN_INTEGER), 1);
  EXPECT_EQ(*ParseMoney("123456", MONEY_FORMAT_FEN_INTEGER), 123456);
  EXPECT_EQ(*ParseMoney("999999999999999", MONEY_FORMAT_FEN_INTEGER), kMaxMoneyFen);
}

TEST(ParseMoneyTest, FenRefusesEverythingElse) {
  ExpectRefused("12.34", MONEY_FORMAT_FEN_INTEGER, "integer fen");
  ExpectRefused("12.", MONEY_FORMAT_FEN_INTEGER, "not a decimal number");
  ExpectRefused("", MONEY_FORMAT_FEN_INTEGER, "is empty");
  ExpectRefused("-0", MONEY_FORMAT_FEN_INTEGER, "not a decimal number");
  ExpectRefused("-5", MONEY_FORMAT_FEN_INTEGER, "not a decimal number");
  ExpectRefused("1e3", MONEY_FORMAT_FEN_INTEGER, "not a decimal number");
  ExpectRefused(" 12", MONEY_FORMAT_FEN_INTEGER, "not a decimal number");
  ExpectRefused("0x10", MONEY_FORMAT_FEN_INTEGER, "not a decimal number");
  ExpectRefused("007", MONEY_FORMAT_FEN_INTEGER, "leading zero");
  ExpectRefused("1000000000000000", MONEY_FORMAT_FEN_INTEGER, "too large");
  ExpectRefused("9223372036854775808", MONEY_FORMAT_FEN_INTEGER, "too large");  // INT64_MAX + 1
}

TEST(ParseMoneyTest, UnspecifiedFormatIsAnError) {
  ExpectRefused("12", MONEY_FORMAT_UNSPECIFIED, "not a known format");
  ExpectRefused("12", static_cast<config::v1::MoneyFormat>(7), "not a known format");
}

TEST(ParseMoneyTest, ErrorQuotesTheTextEscapedAndSaysWhatIsWrong) {
  absl::StatusOr<int64_t> fen = ParseMoney("4321.567", MONEY_FORMAT_YUAN_DECIMAL);
  ASSERT_FALSE(fen.ok());
  EXPECT_EQ(fen.status().message(),
            "\"4321.567\" has more than 2 decimals (expected yuan with at most 2 decimals)");
  fen = ParseMoney("12\x01", MONEY_FORMAT_FEN_INTEGER);
  ASSERT_FALSE(fen.ok());
  EXPECT_EQ(fen.status().message(), "\"12\\x01\" is not a decimal number (expected integer fen)");
}

TEST(FormatMoneyTest, YuanAlwaysWithTwoDecimals) {
  EXPECT_EQ(FormatMoney(0, MONEY_FORMAT_YUAN_DECIMAL), "0.00");
  EXPECT_EQ(FormatMoney(5, MONEY_FORMAT_YUAN_DECIMAL), "0.05");
  EXPECT_EQ(FormatMoney(50, MONEY_FORMAT_YUAN_DECIMAL), "0.50");
  EXPECT_EQ(FormatMoney(1200, MONEY_FORMAT_YUAN_DECIMAL), "12.00");
  EXPECT_EQ(FormatMoney(123456, MONEY_FORMAT_YUAN_DECIMAL), "1234.56");
  EXPECT_EQ(FormatMoney(-5, MONEY_FORMAT_YUAN_DECIMAL), "-0.05");
  EXPECT_EQ(FormatMoney(std::numeric_limits<int64_t>::min(), MONEY_FORMAT_YUAN_DECIMAL),
            "-92233720368547758.08");
}

TEST(FormatMoneyTest, FenAsDigits) {
  EXPECT_EQ(FormatMoney(0, MONEY_FORMAT_FEN_INTEGER), "0");
  EXPECT_EQ(FormatMoney(123456, MONEY_FORMAT_FEN_INTEGER), "123456");
}

TEST(FormatMoneyTest, RoundTripsInBothFormats) {
  for (int64_t fen : {int64_t{0}, int64_t{1}, int64_t{9}, int64_t{10}, int64_t{99}, int64_t{100},
                      int64_t{101}, int64_t{123456}, int64_t{2500000}, kMaxMoneyFen}) {
    for (auto format : {MONEY_FORMAT_FEN_INTEGER, MONEY_FORMAT_YUAN_DECIMAL}) {
      absl::StatusOr<int64_t> back = ParseMoney(FormatMoney(fen, format), format);
      ASSERT_TRUE(back.ok()) << fen << ": " << back.status();
      EXPECT_EQ(*back, fen);
    }
  }
}

}  // namespace
}  // namespace interop::adapters
