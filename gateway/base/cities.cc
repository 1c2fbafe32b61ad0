#include "gateway/base/cities.h"

#include "absl/strings/ascii.h"

namespace interop {
namespace {

struct CityRow {
  City city;
  absl::string_view division_code;
  absl::string_view name;
};

constexpr CityRow kCityRows[] = {
    {City::CITY_TAIYUAN, "140100", "taiyuan"},   {City::CITY_YANGQUAN, "140300", "yangquan"},
    {City::CITY_JINZHONG, "140700", "jinzhong"}, {City::CITY_XINZHOU, "140900", "xinzhou"},
    {City::CITY_LVLIANG, "141100", "lvliang"},
};

const CityRow* RowFor(City city) {
  for (const CityRow& row : kCityRows) {
    if (row.city == city) return &row;
  }
  return nullptr;
}

}  // namespace

absl::string_view CityDivisionCode(City city) {
  const CityRow* row = RowFor(city);
  return row == nullptr ? absl::string_view() : row->division_code;
}

absl::string_view CityName(City city) {
  const CityRow* row = RowFor(city);
  return row == nullptr ? absl::string_view("unspecified") : row->name;
}

City CityForPrefectureCode(absl::string_view prefecture_code) {
  for (const CityRow& row : kCityRows) {
    if (row.division_code == prefecture_code) return row.city;
  }
  return City::CITY_UNSPECIFIED;
}

City CityForName(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "lüliang" || lower == "lüliang") return City::CITY_LVLIANG;
  for (const CityRow& row : kCityRows) {
    if (row.name == lower) return row.city;
  }
  return City::CITY_UNSPECIFIED;
}

common::v1::CityInfo MakeCityInfo(City city) {
  common::v1::CityInfo info;
  info.set_city(city);
  info.set_division_code(std::string(CityDivisionCode(city)));
  return info;
}

}  // namespace interop
