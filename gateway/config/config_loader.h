// Loading and validating the gateway's configuration (interop.config.v1.GatewayConfig) from a
// protobuf text-format file.
//
// Example:
//   absl::StatusOr<GatewayConfig> config = LoadGatewayConfig("gateway.textproto", {});
//
// Validation happens once, here; the rest of the gateway may assume a valid config. The files it
// names (TLS material, city dialects, the access policy) are checked by whoever reads them when the
// gateway starts.
#ifndef INTEROP_GATEWAY_CONFIG_CONFIG_LOADER_H_
#define INTEROP_GATEWAY_CONFIG_CONFIG_LOADER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "interop/config/v1/gateway_config.pb.h"

namespace interop::config {

struct LoadOptions {
  // When true, the gateway's own TLS files (GatewayConfig.tls) may be absent: the public API is
  // served in plaintext. City connections stay mutual TLS.
  bool insecure_dev = false;
};

// Parses `text` (text format) and validates it. Relative file paths in it are resolved against
// `base_dir` (no change if empty). Defaults documented in the schema are filled in.
// Errors: INVALID_ARGUMENT naming the field, e.g. "cities[2].address: is required",
// "cities[0].dialect_file: is required (normally adapters/<city>/dialect.textproto)" or
// "cities: CITY_XINZHOU appears twice", or describing the text-format parse error with its line.
absl::StatusOr<v1::GatewayConfig> ParseGatewayConfig(absl::string_view text, absl::string_view base_dir,
                                                     const LoadOptions& options);

// Reads the file at `path` and calls ParseGatewayConfig with its directory as `base_dir`.
// NOT_FOUND if the file cannot be read.
absl::StatusOr<v1::GatewayConfig> LoadGatewayConfig(const std::string& path, const LoadOptions& options);

}  // namespace interop::config

#endif  // INTEROP_GATEWAY_CONFIG_CONFIG_LOADER_H_
