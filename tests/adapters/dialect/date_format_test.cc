#include "adapters/dialect/date_format.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::adapters {
namespace {

using ::testing::HasSubstr;

DateFormat Format(absl::string_view pattern) {
  absl::StatusOr<DateFormat> format = DateFormat::FromPattern(pattern);
  EXPECT_TRUE(format.ok()) << format.status();
  return format.ok() ? *format : DateFormat();
}

void ExpectBadDate(const DateFormat& format, absl::string_view text, absl::string_view part) {
  absl::StatusOr<absl::CivilDay> day = format.ParseDate(text);
  ASSERT_FALSE(day.ok()) << format.date_pattern() << " accepted \"" << text << "\"";
  EXPECT_EQ(day.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(day.status().message()), HasSubstr(std::string(part))) << day.status();
}

void ExpectBadMonth(const DateFormat& format, absl::string_view text, absl::string_view part) {
  absl::StatusOr<absl::CivilMonth> month = format.ParseMonth(text);
  ASSERT_FALSE(month.ok()) << format.month_pattern() << " accepted \"" << text << "\"";
  EXPECT_EQ(month.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(month.status().message()), HasSubstr(std::string(part))) << month.status();
}

TEST(DateFormatTest, TheFourPatternsAndTheirMonths) {
  EXPECT_EQ(Format("YYYYMMDD").month_pattern(), "YYYYMM");
  EXPECT_EQ(Format("YYYY-MM-DD").month_pattern(), "YYYY-MM");
  EXPECT_EQ(Format("YYYY/MM/DD").month_pattern(), "YYYY/MM");
  EXPECT_EQ(Format("YYYY.MM.DD").month_pattern(), "YYYY.MM");
  EXPECT_EQ(Format("YYYY.MM.DD").date_pattern(), "YYYY.MM.DD");
  EXPECT_EQ(DateFormat().date_pattern(), "YYYYMMDD");
}

TEST(DateFormatTest, OtherPatternsAreRefused) {
  for (const char* pattern :
       {"", "DD.MM.YYYY", "yyyy-mm-dd", "YYYY-MM", "YYYY MM DD", "YYYY-MM/DD", "YYMMDD"}) {
    absl::StatusOr<DateFormat> format = DateFormat::FromPattern(pattern);
    ASSERT_FALSE(format.ok()) << pattern;
    EXPECT_EQ(format.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(format.status().message()), HasSubstr("YYYY-MM-DD"));
  }
}

TEST(DateFormatTest, ParsesEachPattern) {
  EXPECT_EQ(*Format("YYYYMMDD").ParseDate("20240315"), absl::CivilDay(2024, 3, 15));
  EXPECT_EQ(*Format("YYYY-MM-DD").ParseDate("2024-03-15"), absl::CivilDay(2024, 3, 15));
  EXPECT_EQ(*Format("YYYY/MM/DD").ParseDate("2024/03/15"), absl::CivilDay(2024, 3, 15));
  EXPECT_EQ(*Format("YYYY.MM.DD").ParseDate("2024.03.15"), absl::CivilDay(2024, 3, 15));
  EXPECT_EQ(*Format("YYYY-MM-DD").ParseMonth("2024-03"), absl::CivilMonth(2024, 3));
  EXPECT_EQ(*Format("YYYYMMDD").ParseMonth("199912"), absl::CivilMonth(1999, 12));
  EXPECT_EQ(*Format("YYYY.MM.DD").ParseMonth("1900.01"), absl::CivilMonth(1900, 1));
}

TEST(DateFormatTest, AnotherPatternsDateIsRefused) {
  const DateFormat dashes = Format("YYYY-MM-DD");
  ExpectBadDate(dashes, "20240315", "is not YYYY-MM-DD");
  ExpectBadDate(dashes, "2024/03/15", "is not YYYY-MM-DD");
  ExpectBadDate(dashes, "2024-03/15", "is not YYYY-MM-DD");
  ExpectBadDate(Format("YYYYMMDD"), "2024-03-15", "is not YYYYMMDD");
  ExpectBadMonth(dashes, "202403", "is not YYYY-MM");
  ExpectBadMonth(Format("YYYY.MM.DD"), "2024-03", "is not YYYY.MM");
}

TEST(DateFormatTest, ShapeMustBeExact) {
  const DateFormat dashes = Format("YYYY-MM-DD");
  for (const char* text : {"", "2024-3-15", "2024-03-5", " 2024-03-15", "2024-03-15 ", "2024-03-15T00:00",
                           "+024-03-15", "2024-0a-15", "2024-03-1x", "-2024-03-1", "2024--3-15"}) {
    ExpectBadDate(dashes, text, "is not YYYY-MM-DD");
  }
  for (const char* text : {"2024-3", "2024-003", "2024-1a", "202403", "2024-03-01"}) {
    ExpectBadMonth(dashes, text, "is not YYYY-MM");
  }
}

TEST(DateFormatTest, OnlyRealDates) {
  const DateFormat slashes = Format("YYYY/MM/DD");
  ExpectBadDate(slashes, "2023/02/29", "not a real date");
  ExpectBadDate(slashes, "1900/02/29", "not a real date");
  EXPECT_EQ(*slashes.ParseDate("2000/02/29"), absl::CivilDay(2000, 2, 29));
  EXPECT_EQ(*slashes.ParseDate("2024/02/29"), absl::CivilDay(2024, 2, 29));
  for (const char* text : {"2024/13/01", "2024/00/01", "2024/01/00", "2024/04/31", "2024/12/32"}) {
    ExpectBadDate(slashes, text, "not a real date");
  }
  ExpectBadMonth(slashes, "2024/13", "not a real month");
  ExpectBadMonth(slashes, "2024/00", "not a real month");
}

TEST(DateFormatTest, YearsBefore1900AreRefused) {
  ExpectBadDate(Format("YYYYMMDD"), "00000000", "not a real date");
  ExpectBadDate(Format("YYYYMMDD"), "00010101", "before 1900");
  ExpectBadDate(Format("YYYYMMDD"), "18991231", "before 1900");
  ExpectBadMonth(Format("YYYYMMDD"), "189912", "before 1900");
  EXPECT_TRUE(Format("YYYYMMDD").ParseDate("19000101").ok());
}

TEST(DateFormatTest, FormatsAndRoundTrips) {
  const absl::CivilDay day(2009, 7, 4);
  EXPECT_EQ(Format("YYYYMMDD").FormatDate(day), "20090704");
  EXPECT_EQ(Format("YYYY-MM-DD").FormatDate(day), "2009-07-04");
  EXPECT_EQ(Format("YYYY/MM/DD").FormatDate(day), "2009/07/04");
  EXPECT_EQ(Format("YYYY.MM.DD").FormatDate(day), "2009.07.04");
  EXPECT_EQ(Format("YYYY.MM.DD").FormatMonth(absl::CivilMonth(day)), "2009.07");
  EXPECT_EQ(Format("YYYYMMDD").FormatMonth(absl::CivilMonth(day)), "200907");
  for (const char* pattern : {"YYYYMMDD", "YYYY-MM-DD", "YYYY/MM/DD", "YYYY.MM.DD"}) {
    const DateFormat format = Format(pattern);
    for (absl::CivilDay d = absl::CivilDay(1999, 12, 25); d < absl::CivilDay(2000, 3, 5); ++d) {
      EXPECT_EQ(*format.ParseDate(format.FormatDate(d)), d) << pattern;
      EXPECT_EQ(*format.ParseMonth(format.FormatMonth(absl::CivilMonth(d))), absl::CivilMonth(d)) << pattern;
    }
  }
}

}  // namespace
}  // namespace interop::adapters
