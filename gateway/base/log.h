// Structured log lines: one JSON object per line on stderr, with a level, a UTC timestamp, a
// message and optional string fields (for example the request id).
//
//   LogInfo("gateway listening", {{"address", "0.0.0.0:8443"}});
//
// Thread-safe: each line is written with one call.
#ifndef INTEROP_GATEWAY_BASE_LOG_H_
#define INTEROP_GATEWAY_BASE_LOG_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace interop {

using LogFields = std::vector<std::pair<std::string, std::string>>;

void LogInfo(absl::string_view message, const LogFields& fields = {});
void LogWarning(absl::string_view message, const LogFields& fields = {});
void LogError(absl::string_view message, const LogFields& fields = {});

}  // namespace interop

#endif  // INTEROP_GATEWAY_BASE_LOG_H_
