#include "gateway/base/dates.h"

#include "gtest/gtest.h"

namespace interop {
namespace {

TEST(DatesTest, ADayAndItsDateMessageConvertBothWays) {
  for (absl::CivilDay day : {absl::CivilDay(2024, 2, 29), absl::CivilDay(1981, 1, 1), absl::CivilDay(2026, 12, 31)}) {
    const common::v1::Date date = DateOf(day);
    EXPECT_EQ(date.year(), day.year());
    EXPECT_EQ(date.month(), day.month());
    EXPECT_EQ(date.day(), day.day());
    EXPECT_EQ(CivilDayOf(date), day);
  }
}

TEST(DatesTest, AnImpossibleDateIsNormalizedNotRefused) {
  common::v1::Date date;
  date.set_year(2025);
  date.set_month(2);
  date.set_day(29);
  EXPECT_EQ(CivilDayOf(date), absl::CivilDay(2025, 3, 1));  // which is why callers validate first
}

}  // namespace
}  // namespace interop
