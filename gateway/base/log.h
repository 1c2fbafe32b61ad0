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
#include "absl/time/time.h"

namespace interop {

using LogFields = std::vector<std::pair<std::string, std::string>>;

void LogInfo(absl::string_view message, const LogFields& fields = {});
void LogWarning(absl::string_view message, const LogFields& fields = {});
void LogError(absl::string_view message, const LogFields& fields = {});

// `text` as the inside of a JSON string: quote, backslash and control characters escaped, UTF-8
// kept as it is.
std::string JsonEscape(absl::string_view text);

// One log line as written: {"time":"<RFC 3339 UTC, ms>","level":...,"message":...,<fields>}\n.
std::string FormatLogLine(absl::string_view level, absl::string_view message, const LogFields& fields,
                          absl::Time time);

}  // namespace interop

#endif  // INTEROP_GATEWAY_BASE_LOG_H_
