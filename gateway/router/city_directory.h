// CityDirectory: the adapters of the five cities, by city.
//
// Thread-safe: immutable after construction.
#ifndef INTEROP_GATEWAY_ROUTER_CITY_DIRECTORY_H_
#define INTEROP_GATEWAY_ROUTER_CITY_DIRECTORY_H_

#include <map>
#include <memory>
#include <vector>

#include "adapters/city_adapter.h"
#include "gateway/base/cities.h"

namespace interop::router {

class CityDirectory {
 public:
  // Takes ownership of one adapter per city.
  explicit CityDirectory(std::vector<std::unique_ptr<adapters::CityAdapter>> adapters) {
    for (auto& adapter : adapters) {
      City city = adapter->city();
      by_city_[city] = std::move(adapter);
    }
  }

  // The adapter of `city`, or nullptr if the city is not configured.
  adapters::CityAdapter* Find(City city) const {
    auto it = by_city_.find(city);
    return it == by_city_.end() ? nullptr : it->second.get();
  }

  // Every configured city, in division-code order.
  std::vector<City> Cities() const {
    std::vector<City> cities;
    for (const auto& entry : by_city_) cities.push_back(entry.first);
    return cities;
  }

 private:
  std::map<City, std::unique_ptr<adapters::CityAdapter>> by_city_;
};

}  // namespace interop::router

#endif  // INTEROP_GATEWAY_ROUTER_CITY_DIRECTORY_H_
