#include "gateway/settlement/ledger.h"

#include "absl/time/time.h"

namespace interop::settlement {

absl::CivilDay ChinaDayOf(int64_t unix_seconds) {
  // China Standard Time is UTC+8 all year (no daylight saving since 1991).
  static const absl::TimeZone kChinaStandardTime = absl::FixedTimeZone(8 * 60 * 60);
  return absl::ToCivilDay(absl::FromUnixSeconds(unix_seconds), kChinaStandardTime);
}

}  // namespace interop::settlement
