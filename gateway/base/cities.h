// The five cities: enum, GB/T 2260 prefecture code, and the lower-case name used in flags,
// configuration and certificates ("taiyuan", "yangquan", "jinzhong", "xinzhou", "lvliang").
//
// Thread-safe: pure functions over constant tables.
#ifndef INTEROP_GATEWAY_BASE_CITIES_H_
#define INTEROP_GATEWAY_BASE_CITIES_H_

#include <array>

#include "absl/strings/string_view.h"
#include "interop/common/v1/common.pb.h"

namespace interop {

using ::interop::common::v1::City;

// The five cities in a fixed order (by division code).
inline constexpr std::array<City, 5> kAllCities = {
    City::CITY_TAIYUAN, City::CITY_YANGQUAN, City::CITY_JINZHONG, City::CITY_XINZHOU,
    City::CITY_LVLIANG};

// "140100" for Taiyuan, ...; "" for CITY_UNSPECIFIED or an unknown value.
absl::string_view CityDivisionCode(City city);

// "taiyuan", ...; "unspecified" for CITY_UNSPECIFIED or an unknown value.
absl::string_view CityName(City city);

// The city whose prefecture-level code in use today is `prefecture_code`; CITY_UNSPECIFIED if none.
City CityForPrefectureCode(absl::string_view prefecture_code);

// The city whose name (as CityName returns it, case-insensitive; "lüliang" also accepted) is `name`;
// CITY_UNSPECIFIED if none.
City CityForName(absl::string_view name);

// The CityInfo message for `city`.
common::v1::CityInfo MakeCityInfo(City city);

}  // namespace interop

#endif  // INTEROP_GATEWAY_BASE_CITIES_H_
