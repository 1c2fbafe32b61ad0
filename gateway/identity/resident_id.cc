#include "gateway/identity/resident_id.h"

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gateway/identity/division_codes.h"

namespace interop::identity {
namespace {

constexpr size_t kLength = 18;
constexpr size_t kLegacyLength = 15;
constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
constexpr char kCheckCharacters[] = "10X98765432";
constexpr absl::CivilDay kEarliestBirthDate(1880, 1, 1);

bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// 'a' for a printable ASCII character, otherwise the byte in hex, so that messages stay ASCII.
std::string DescribeCharacter(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return absl::StrFormat("'%c'", c);
  return absl::StrFormat("byte 0x%02X", byte);
}

// ASCII whitespace, NO-BREAK SPACE and IDEOGRAPHIC SPACE (common when pasting from Chinese text).
bool HasSurroundingWhitespace(absl::string_view text) {
  if (text.empty()) return false;
  if (absl::ascii_isspace(static_cast<unsigned char>(text.front())) ||
      absl::ascii_isspace(static_cast<unsigned char>(text.back()))) {
    return true;
  }
  for (absl::string_view space :
       {absl::string_view("\xC2\xA0"), absl::string_view("\xE3\x80\x80")}) {
    if (absl::StartsWith(text, space) || absl::EndsWith(text, space)) return true;
  }
  return false;
}

absl::Status CheckAscii(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x80) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "character %d is not ASCII (byte 0x%02X); only the digits 0-9 and 'X' are allowed", i + 1,
          byte));
    }
  }
  return absl::OkStatus();
}

// Checks that the first `count` characters of `text` are digits; positions are 1-based.
absl::Status CheckDigits(absl::string_view text, size_t count) {
  for (size_t i = 0; i < count && i < text.size(); ++i) {
    if (!IsAsciiDigit(text[i])) {
      return absl::InvalidArgumentError(absl::StrFormat("character %d must be a digit, got %s",
                                                        i + 1, DescribeCharacter(text[i])));
    }
  }
  return absl::OkStatus();
}

// `yyyymmdd` is eight digits.
absl::StatusOr<absl::CivilDay> ParseBirthDate(absl::string_view yyyymmdd) {
  int year = 0;
  int month = 0;
  int day = 0;
  if (!absl::SimpleAtoi(yyyymmdd.substr(0, 4), &year) ||
      !absl::SimpleAtoi(yyyymmdd.substr(4, 2), &month) ||
      !absl::SimpleAtoi(yyyymmdd.substr(6, 2), &day)) {
    return absl::InvalidArgumentError(absl::StrCat("birth date ", yyyymmdd, " is not a real date"));
  }
  const absl::CivilDay date(year, month, day);
  if (date.year() != year || date.month() != month || date.day() != day) {
    return absl::InvalidArgumentError(absl::StrCat("birth date ", yyyymmdd, " is not a real date"));
  }
  return date;
}

// The first 17 characters of the 18-character form of `legacy`, which is 15 digits.
std::string UpgradedFirst17(absl::string_view legacy) {
  return absl::StrCat(legacy.substr(0, 6), "19", legacy.substr(6));
}

}  // namespace

char ComputeCheckCharacter(absl::string_view first17) {
  bool valid = first17.size() == 17;
  for (size_t i = 0; valid && i < first17.size(); ++i) valid = IsAsciiDigit(first17[i]);
  if (!valid) {
    std::fprintf(stderr,
                 "FATAL: ComputeCheckCharacter requires exactly 17 ASCII digits, got %zu bytes\n",
                 first17.size());
    std::abort();
  }
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kCheckCharacters[sum % 11];
}

absl::StatusOr<std::string> UpgradeLegacyNumber(absl::string_view legacy) {
  if (legacy.size() != kLegacyLength) {
    return absl::InvalidArgumentError(
        absl::StrFormat("must be a legacy 15-digit number, got %d characters", legacy.size()));
  }
  if (absl::Status status = CheckDigits(legacy, kLegacyLength); !status.ok()) return status;
  std::string number = UpgradedFirst17(legacy);
  if (absl::StatusOr<absl::CivilDay> date = ParseBirthDate(absl::string_view(number).substr(6, 8));
      !date.ok()) {
    return date.status();
  }
  number.push_back(ComputeCheckCharacter(number));
  return number;
}

absl::StatusOr<ResidentId> ParseResidentId(absl::string_view text, absl::CivilDay today) {
  if (HasSurroundingWhitespace(text)) {
    return absl::InvalidArgumentError("must not have leading or trailing whitespace");
  }
  if (absl::Status status = CheckAscii(text); !status.ok()) return status;
  if (text.size() != kLength && text.size() != kLegacyLength) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "must be 18 characters (or a legacy 15-digit number), got %d", text.size()));
  }
  const bool legacy = text.size() == kLegacyLength;
  if (absl::Status status = CheckDigits(text, legacy ? kLegacyLength : kLength - 1); !status.ok()) {
    return status;
  }
  char given_check = '\0';
  if (!legacy) {
    given_check = text[kLength - 1];
    if (!IsAsciiDigit(given_check) && given_check != 'X' && given_check != 'x') {
      return absl::InvalidArgumentError(absl::StrFormat(
          "character 18 must be a digit or 'X', got %s", DescribeCharacter(given_check)));
    }
  }

  std::string number = legacy ? UpgradedFirst17(text) : std::string(text.substr(0, kLength - 1));
  const absl::string_view date_text = absl::string_view(number).substr(6, 8);
  absl::StatusOr<absl::CivilDay> birth_date = ParseBirthDate(date_text);
  if (!birth_date.ok()) return birth_date.status();
  if (*birth_date < kEarliestBirthDate) {
    return absl::InvalidArgumentError(
        absl::StrCat("birth date ", date_text, " is before 1880-01-01"));
  }
  if (*birth_date > today) {
    return absl::InvalidArgumentError(absl::StrCat("birth date ", date_text, " is in the future"));
  }

  const absl::string_view address_code = absl::string_view(number).substr(0, 6);
  const absl::string_view province_prefix = address_code.substr(0, 2);
  if (!DivisionRegistry::Embedded().IsProvincePrefix(province_prefix)) {
    return absl::InvalidArgumentError(absl::StrCat("address code ", address_code,
                                                   " has no real province-level prefix \"",
                                                   province_prefix, "\""));
  }

  const char check = ComputeCheckCharacter(number);
  if (!legacy && absl::ascii_toupper(static_cast<unsigned char>(given_check)) != check) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "check character is '%c' but the first 17 digits require '%c'", given_check, check));
  }

  ResidentId id;
  id.address_code = std::string(address_code);
  id.birth_date = *birth_date;
  id.sequence = (number[14] - '0') * 100 + (number[15] - '0') * 10 + (number[16] - '0');
  id.sex = id.sequence % 2 == 1 ? Sex::kMale : Sex::kFemale;
  id.upgraded_from_legacy = legacy;
  number.push_back(check);
  id.number = std::move(number);
  return id;
}

absl::CivilDay ChinaCivilDay(absl::Time now) {
  return absl::ToCivilDay(now, absl::FixedTimeZone(8 * 60 * 60));
}

}  // namespace interop::identity
