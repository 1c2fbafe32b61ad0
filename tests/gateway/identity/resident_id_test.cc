#include "gateway/identity/resident_id.h"

#include <algorithm>
#include <cstddef>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace interop::identity {
namespace {

constexpr absl::CivilDay kToday(2026, 11, 26);

// The message of the INVALID_ARGUMENT that ParseResidentId returns for `text`.
std::string ErrorOf(absl::string_view text, absl::CivilDay today = kToday) {
  absl::StatusOr<ResidentId> id = ParseResidentId(text, today);
  if (id.ok()) {
    ADD_FAILURE() << "accepted; normalised to " << id->number;
    return "";
  }
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();
  return std::string(id.status().message());
}

ResidentId ParseOrDie(absl::string_view text, absl::CivilDay today = kToday) {
  absl::StatusOr<ResidentId> id = ParseResidentId(text, today);
  EXPECT_TRUE(id.ok()) << text << ": " << id.status();
  return id.ok() ? *std::move(id) : ResidentId();
}

TEST(ComputeCheckCharacterTest, ClassicExample) {
  // 1*7+1*9+0*10+1*5+0*8+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10+1*5+0*8+0*4+2*2 = 167, and 167 % 11 = 2,
  // which maps to 'X'.
  EXPECT_EQ(ComputeCheckCharacter("11010519491231002"), 'X');
}

TEST(ComputeCheckCharacterTest, EveryResidueMapsToItsCharacter) {
  const std::vector<std::pair<std::string, char>> cases = {
      {"14070219850615002", '1'},  // sum % 11 == 0
      {"14010519900307125", '0'},  // 1
      {"14010519900307120", 'X'},  // 2
      {"14010519900307126", '9'},  // 3
      {"14010519900307121", '8'},  // 4
      {"14010519900307127", '7'},  // 5
      {"14010519900307122", '6'},  // 6
      {"14010519900307128", '5'},  // 7
      {"14010519900307123", '4'},  // 8
      {"14010519900307129", '3'},  // 9
      {"14010519900307124", '2'},  // 10
  };
  for (const auto& [first17, check] : cases) {
    EXPECT_EQ(ComputeCheckCharacter(first17), check) << first17;
  }
}

TEST(ComputeCheckCharacterDeathTest, CrashesOnBadPrecondition) {
  EXPECT_DEATH(ComputeCheckCharacter("1234"), "17 ASCII digits");
  EXPECT_DEATH(ComputeCheckCharacter("1101051949123100X"), "17 ASCII digits");
  EXPECT_DEATH(ComputeCheckCharacter("11010519491231002X"), "17 ASCII digits");
}

TEST(ParseResidentIdTest, ClassicValidNumber) {
  const ResidentId id = ParseOrDie("11010519491231002X");
  EXPECT_EQ(id.number, "11010519491231002X");
  EXPECT_FALSE(id.upgraded_from_legacy);
  EXPECT_EQ(id.address_code, "110105");
  EXPECT_EQ(id.birth_date, absl::CivilDay(1949, 12, 31));
  EXPECT_EQ(id.sequence, 2);
  EXPECT_EQ(id.sex, Sex::kFemale);
}

TEST(ParseResidentIdTest, ShanxiNumberWithOddSequenceIsMale) {
  const ResidentId id = ParseOrDie("140105199003071234");
  EXPECT_EQ(id.address_code, "140105");
  EXPECT_EQ(id.birth_date, absl::CivilDay(1990, 3, 7));
  EXPECT_EQ(id.sequence, 123);
  EXPECT_EQ(id.sex, Sex::kMale);
}

TEST(ParseResidentIdTest, LowerCaseXIsNormalised) {
  const ResidentId id = ParseOrDie("11010519491231002x");
  EXPECT_EQ(id.number, "11010519491231002X");
}

TEST(ParseResidentIdTest, RetiredShanxiAddressCodesStayValid) {
  // 142401 榆次市 (晋中地区, retired 1999), 142201 忻州市 (忻州地区, retired 2000),
  // 142301 孝义市 (吕梁地区, retired 2003).
  EXPECT_EQ(ParseOrDie("142401198001010014").address_code, "142401");
  EXPECT_EQ(ParseOrDie("142201197505050129").address_code, "142201");
  EXPECT_EQ(ParseOrDie("142301198808080034").address_code, "142301");
}

TEST(ParseResidentIdTest, NumbersFromOtherProvincesAreOrdinary) {
  EXPECT_EQ(ParseOrDie("440304198001010009").address_code, "440304");
  EXPECT_EQ(ParseOrDie("710000198001010010").address_code, "710000");
}

TEST(ParseResidentIdTest, WrongCheckCharacter) {
  EXPECT_EQ(ErrorOf("110105194912310023"),
            "check character is '3' but the first 17 digits require 'X'");
  EXPECT_EQ(ErrorOf("140105199003071235"),
            "check character is '5' but the first 17 digits require '4'");
}

TEST(ParseResidentIdTest, WrongLength) {
  EXPECT_EQ(ErrorOf("1101051949123100"),
            "must be 18 characters (or a legacy 15-digit number), got 16");
  EXPECT_EQ(ErrorOf("11010519491231002"),
            "must be 18 characters (or a legacy 15-digit number), got 17");
  EXPECT_EQ(ErrorOf("11010519491231002X0"),
            "must be 18 characters (or a legacy 15-digit number), got 19");
  EXPECT_EQ(ErrorOf(""), "must be 18 characters (or a legacy 15-digit number), got 0");
}

TEST(ParseResidentIdTest, VeryLongInputIsRejectedByLength) {
  EXPECT_EQ(ErrorOf(std::string(1 << 20, '1')),
            "must be 18 characters (or a legacy 15-digit number), got 1048576");
}

TEST(ParseResidentIdTest, NonDigitCharacter) {
  EXPECT_EQ(ErrorOf("110105a9491231002X"), "character 7 must be a digit, got 'a'");
  EXPECT_EQ(ErrorOf("110105 9491231002X"), "character 7 must be a digit, got ' '");
  EXPECT_EQ(ErrorOf("1101051949123100XX"), "character 17 must be a digit, got 'X'");
  EXPECT_EQ(ErrorOf("14010519900307123Y"), "character 18 must be a digit or 'X', got 'Y'");
}

TEST(ParseResidentIdTest, ControlBytesAreDescribedInHex) {
  std::string text = "11010519491231002X";
  text[2] = '\x01';
  EXPECT_EQ(ErrorOf(text), "character 3 must be a digit, got byte 0x01");
  text[2] = '\0';
  EXPECT_EQ(ErrorOf(text), "character 3 must be a digit, got byte 0x00");
}

TEST(ParseResidentIdTest, NonAsciiIsRejected) {
  // Full-width digits, as typed with a Chinese input method.
  EXPECT_EQ(ErrorOf("１１０１０５１９４９１２３１００２X"),
            "character 1 is not ASCII (byte 0xEF); only the digits 0-9 and 'X' are allowed");
  std::string text = "11010519491231002X";
  text[10] = '\xff';
  EXPECT_EQ(ErrorOf(text),
            "character 11 is not ASCII (byte 0xFF); only the digits 0-9 and 'X' are allowed");
}

TEST(ParseResidentIdTest, SurroundingWhitespaceIsRejectedNotTrimmed) {
  constexpr absl::string_view kIdeographicSpace = "\xE3\x80\x80";
  constexpr absl::string_view kNoBreakSpace = "\xC2\xA0";
  for (const std::string& text :
       {std::string(" 11010519491231002X"), std::string("11010519491231002X "),
        std::string("\t11010519491231002X"), std::string("11010519491231002X\n"),
        std::string("11010519491231002X\r\n"),
        absl::StrCat(kIdeographicSpace, "11010519491231002X"),
        absl::StrCat("11010519491231002X", kNoBreakSpace)}) {
    EXPECT_EQ(ErrorOf(text), "must not have leading or trailing whitespace") << text;
  }
}

TEST(ParseResidentIdTest, ImpossibleDates) {
  EXPECT_EQ(ErrorOf("140105199902301230"), "birth date 19990230 is not a real date");
  EXPECT_EQ(ErrorOf("140105199913011230"), "birth date 19991301 is not a real date");
  EXPECT_EQ(ErrorOf("140105199900011230"), "birth date 19990001 is not a real date");
  EXPECT_EQ(ErrorOf("140105199904311230"), "birth date 19990431 is not a real date");
}

TEST(ParseResidentIdTest, FebruaryTwentyNinthOnlyInLeapYears) {
  EXPECT_EQ(ParseOrDie("140105200002290027").birth_date, absl::CivilDay(2000, 2, 29));
  EXPECT_EQ(ErrorOf("140105190002290020"), "birth date 19000229 is not a real date");
  EXPECT_EQ(ErrorOf("140105199902291230"), "birth date 19990229 is not a real date");
}

TEST(ParseResidentIdTest, BirthDateInTheFuture) {
  // Born today is fine; tomorrow is not.
  EXPECT_EQ(ParseOrDie("140105202611260017").birth_date, kToday);
  EXPECT_EQ(ErrorOf("140105202611260017", absl::CivilDay(2026, 11, 25)),
            "birth date 20261126 is in the future");
  EXPECT_EQ(ErrorOf("140105203001011230"), "birth date 20300101 is in the future");
}

TEST(ParseResidentIdTest, BirthDateBefore1880) {
  EXPECT_EQ(ParseOrDie("140105188001010012").birth_date, absl::CivilDay(1880, 1, 1));
  EXPECT_EQ(ErrorOf("140105187912311230"), "birth date 18791231 is before 1880-01-01");
  EXPECT_EQ(ErrorOf("140105000001011230"), "birth date 00000101 is before 1880-01-01");
}

TEST(ParseResidentIdTest, ProvincePrefixMustBeReal) {
  EXPECT_EQ(ErrorOf("990101199003071234"),
            "address code 990101 has no real province-level prefix \"99\"");
  EXPECT_EQ(ErrorOf("000000199003071234"),
            "address code 000000 has no real province-level prefix \"00\"");
  EXPECT_EQ(ErrorOf("190101199003071234"),
            "address code 190101 has no real province-level prefix \"19\"");
}

TEST(ParseResidentIdTest, LegacyNumberIsUpgraded) {
  const ResidentId id = ParseOrDie("110105491231002");
  EXPECT_EQ(id.number, "11010519491231002X");
  EXPECT_TRUE(id.upgraded_from_legacy);
  EXPECT_EQ(id.address_code, "110105");
  EXPECT_EQ(id.birth_date, absl::CivilDay(1949, 12, 31));
  EXPECT_EQ(id.sequence, 2);
  EXPECT_EQ(id.sex, Sex::kFemale);
}

TEST(ParseResidentIdTest, LegacyNumberErrors) {
  EXPECT_EQ(ErrorOf("11010549123100X"), "character 15 must be a digit, got 'X'");
  EXPECT_EQ(ErrorOf("140105990230123"), "birth date 19990230 is not a real date");
  EXPECT_EQ(ErrorOf("990101491231002"),
            "address code 990101 has no real province-level prefix \"99\"");
  EXPECT_EQ(ErrorOf("140105900307123", absl::CivilDay(1989, 1, 1)),
            "birth date 19900307 is in the future");
}

// MOD 11-2 detects every single-character substitution, so no one-byte change to a valid number is
// accepted.
TEST(ParseResidentIdTest, RejectsEverySingleByteChange) {
  const std::string valid = "140105199003071234";
  for (size_t position = 0; position < valid.size(); ++position) {
    for (int byte = 0; byte < 256; ++byte) {
      std::string mutated = valid;
      mutated[position] = static_cast<char>(byte);
      if (mutated == valid) continue;
      absl::StatusOr<ResidentId> id = ParseResidentId(mutated, kToday);
      EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument)
          << "position " << position << " byte " << byte;
    }
  }
}

// Seeded random changes to valid numbers (bytes replaced, check character sometimes recomputed,
// length changed) never crash the parser, and whatever it accepts is consistent.
TEST(ParseResidentIdTest, RandomInputNeverCrashes) {
  const std::vector<std::string> seeds = {"140105199003071234", "11010519491231002X",
                                          "142401198001010014", "110105491231002"};
  std::mt19937 random(20261126);
  std::uniform_int_distribution<int> any_byte(0, 255);
  std::uniform_int_distribution<int> digit(0, 9);
  std::uniform_int_distribution<int> percent(0, 99);
  int accepted = 0;
  int rejected = 0;
  for (int i = 0; i < 50000; ++i) {
    std::string text = seeds[static_cast<size_t>(i) % seeds.size()];
    const int changes = 1 + percent(random) % 3;
    for (int change = 0; change < changes; ++change) {
      const size_t position = static_cast<size_t>(percent(random)) % text.size();
      text[position] = percent(random) < 80 ? static_cast<char>('0' + digit(random))
                                            : static_cast<char>(any_byte(random));
    }
    const int tweak = percent(random);
    if (tweak < 40 && text.size() == 18 &&
        std::all_of(text.begin(), text.begin() + 17, [](char c) { return c >= '0' && c <= '9'; })) {
      text[17] = ComputeCheckCharacter(absl::string_view(text).substr(0, 17));
    } else if (tweak < 45) {
      text.push_back(static_cast<char>(any_byte(random)));
    } else if (tweak < 50) {
      text.erase(static_cast<size_t>(percent(random)) % text.size(), 1);
    }
    absl::StatusOr<ResidentId> id = ParseResidentId(text, kToday);
    if (!id.ok()) {
      ++rejected;
      EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
      continue;
    }
    ++accepted;
    ASSERT_EQ(id->number.size(), 18u);
    EXPECT_EQ(ComputeCheckCharacter(absl::string_view(id->number).substr(0, 17)), id->number[17]);
    EXPECT_EQ(id->address_code, id->number.substr(0, 6));
    EXPECT_LE(id->birth_date, kToday);
  }
  // Both paths were exercised.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(rejected, 10000);
}

TEST(UpgradeLegacyNumberTest, InsertsCenturyAndAppendsCheck) {
  absl::StatusOr<std::string> upgraded = UpgradeLegacyNumber("110105491231002");
  ASSERT_TRUE(upgraded.ok()) << upgraded.status();
  EXPECT_EQ(*upgraded, "11010519491231002X");

  upgraded = UpgradeLegacyNumber("142401800101001");
  ASSERT_TRUE(upgraded.ok()) << upgraded.status();
  EXPECT_EQ(*upgraded, "142401198001010014");
}

TEST(UpgradeLegacyNumberTest, RejectsMalformedInput) {
  absl::StatusOr<std::string> upgraded = UpgradeLegacyNumber("14010590030712");
  EXPECT_EQ(upgraded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(upgraded.status().message(), "must be a legacy 15-digit number, got 14 characters");

  upgraded = UpgradeLegacyNumber("11010519491231002X");
  EXPECT_EQ(upgraded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(upgraded.status().message(), "must be a legacy 15-digit number, got 18 characters");

  upgraded = UpgradeLegacyNumber("14010590a307123");
  EXPECT_EQ(upgraded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(upgraded.status().message(), "character 9 must be a digit, got 'a'");

  upgraded = UpgradeLegacyNumber("140105990230123");
  EXPECT_EQ(upgraded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(upgraded.status().message(), "birth date 19990230 is not a real date");
}

TEST(ChinaCivilDayTest, UsesUtcPlusEight) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_EQ(ChinaCivilDay(absl::FromCivil(absl::CivilSecond(2026, 11, 25, 15, 59, 59), utc)),
            absl::CivilDay(2026, 11, 25));
  EXPECT_EQ(ChinaCivilDay(absl::FromCivil(absl::CivilSecond(2026, 11, 25, 16, 0, 0), utc)),
            absl::CivilDay(2026, 11, 26));
}

}  // namespace
}  // namespace interop::identity
