// Days as the API carries them (interop.common.v1.Date) and as the code computes with them
// (absl::CivilDay).
#ifndef INTEROP_GATEWAY_BASE_DATES_H_
#define INTEROP_GATEWAY_BASE_DATES_H_

#include "absl/time/civil_time.h"
#include "interop/common/v1/common.pb.h"

namespace interop {

common::v1::Date DateOf(absl::CivilDay day);

// The day `date` names. It does not check the date: absl::CivilDay normalizes out-of-range fields
// (month 13 is January of the next year), so validate what callers send before converting it.
absl::CivilDay CivilDayOf(const common::v1::Date& date);

}  // namespace interop

#endif  // INTEROP_GATEWAY_BASE_DATES_H_
