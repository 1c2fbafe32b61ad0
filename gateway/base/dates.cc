#include "gateway/base/dates.h"

#include <cstdint>

namespace interop {

common::v1::Date DateOf(absl::CivilDay day) {
  common::v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

absl::CivilDay CivilDayOf(const common::v1::Date& date) {
  return absl::CivilDay(date.year(), date.month(), date.day());
}

}  // namespace interop
