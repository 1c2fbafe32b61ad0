// Builds the adapter of each configured city: the mutual-TLS channel to its backend and the city's
// own adapter from adapters/<city>/.
#ifndef INTEROP_ADAPTERS_ADAPTER_FACTORY_H_
#define INTEROP_ADAPTERS_ADAPTER_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "adapters/city_adapter.h"
#include "interop/config/v1/gateway_config.pb.h"

namespace interop::adapters {

// The adapter for `config.city()`, connected (lazily) to `config.address()` over mutual TLS.
// Errors: those of reading the TLS files (naming the field), INVALID_ARGUMENT for an unknown city.
absl::StatusOr<std::unique_ptr<CityAdapter>> NewCityAdapter(const config::v1::CityBackendConfig& config);

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_ADAPTER_FACTORY_H_
