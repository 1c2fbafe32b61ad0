#include "gateway/base/log.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace interop {

std::string JsonEscape(absl::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const unsigned char byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        } else {
          out += c;  // UTF-8 passes through: JSON text is UTF-8
        }
    }
  }
  return out;
}

std::string FormatLogLine(absl::string_view level, absl::string_view message, const LogFields& fields,
                          absl::Time time) {
  std::string line =
      absl::StrCat("{\"time\":\"", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone()),
                   "\",\"level\":\"", JsonEscape(level), "\",\"message\":\"", JsonEscape(message), "\"");
  for (const auto& [key, value] : fields) {
    absl::StrAppend(&line, ",\"", JsonEscape(key), "\":\"", JsonEscape(value), "\"");
  }
  line += "}\n";
  return line;
}

namespace {

void Write(absl::string_view level, absl::string_view message, const LogFields& fields) {
  const std::string line = FormatLogLine(level, message, fields, absl::Now());
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

void LogInfo(absl::string_view message, const LogFields& fields) { Write("info", message, fields); }
void LogWarning(absl::string_view message, const LogFields& fields) { Write("warning", message, fields); }
void LogError(absl::string_view message, const LogFields& fields) { Write("error", message, fields); }

}  // namespace interop
