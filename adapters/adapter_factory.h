// Builds the adapter of each configured city: the city's dialect (CityBackendConfig.dialect_file,
// normally adapters/<city>/dialect.textproto), the mutual-TLS channel to its backend, and the
// city's own adapter from adapters/<city>/.
#ifndef INTEROP_ADAPTERS_ADAPTER_FACTORY_H_
#define INTEROP_ADAPTERS_ADAPTER_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "adapters/city_adapter.h"
#include "adapters/dialect/dialect.h"
#include "interop/config/v1/gateway_config.pb.h"

namespace interop::adapters {

// Reads and validates the dialect file of `config`, which must describe `config.city()`. Errors
// start with "cities[<city>].dialect_file: ": INVALID_ARGUMENT if the field is empty, the file is
// not a valid dialect (naming the file, the table and the code, see Dialect::FromProto) or
// describes another city; NOT_FOUND if the file cannot be read.
absl::StatusOr<std::shared_ptr<const Dialect>> LoadCityDialect(const config::v1::CityBackendConfig& config);

// The adapter for `config.city()` speaking its dialect, connected (lazily) to `config.address()`
// over mutual TLS. Each connect attempt (TCP, TLS and HTTP/2 handshakes) may take up to 5 s before
// it counts as failed; after a failure the channel reconnects after 200 ms, backing off to 2 s.
// Errors: those of LoadCityDialect, those of reading the TLS files (naming the field),
// INVALID_ARGUMENT for an unknown city.
absl::StatusOr<std::unique_ptr<CityAdapter>> NewCityAdapter(const config::v1::CityBackendConfig& config);

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_ADAPTER_FACTORY_H_
