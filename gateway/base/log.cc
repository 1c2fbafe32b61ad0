#include "gateway/base/log.h"

#include <cstdio>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace interop {
namespace {

void Write(absl::string_view level, absl::string_view message, const LogFields& fields) {
  std::string line = absl::StrCat(
      "{\"time\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      "\",\"level\":\"", level, "\",\"message\":\"", absl::Utf8SafeCEscape(message), "\"");
  for (const auto& [key, value] : fields) {
    absl::StrAppend(&line, ",\"", absl::Utf8SafeCEscape(key), "\":\"", absl::Utf8SafeCEscape(value), "\"");
  }
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

void LogInfo(absl::string_view message, const LogFields& fields) { Write("info", message, fields); }
void LogWarning(absl::string_view message, const LogFields& fields) { Write("warning", message, fields); }
void LogError(absl::string_view message, const LogFields& fields) { Write("error", message, fields); }

}  // namespace interop
