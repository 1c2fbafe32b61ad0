#include "adapters/dialect/text_encoding.h"

#include <iconv.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace interop::adapters {
namespace {

using config::v1::TextEncoding;

// Decodes the UTF-8 sequence at text[*pos], advancing *pos past it. False if it is malformed.
bool NextCodePoint(absl::string_view text, size_t* pos, uint32_t* code_point) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(*pos);
  size_t length = 0;
  uint32_t value = 0;
  uint32_t min = 0;
  if (lead < 0x80) {
    *code_point = lead;
    *pos += 1;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (*pos + length > text.size()) return false;
  for (size_t i = 1; i < length; ++i) {
    const uint8_t next = byte(*pos + i);
    if ((next & 0xC0) != 0x80) return false;
    value = (value << 6) | (next & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return false;
  *code_point = value;
  *pos += length;
  return true;
}

bool IsControl(uint32_t code_point) {
  return code_point < 0x20 || (code_point >= 0x7F && code_point <= 0x9F);
}

// Valid UTF-8 without control characters, or INVALID_ARGUMENT saying where it is not.
absl::Status CheckDisplayText(absl::string_view utf8, absl::string_view encoding_name) {
  size_t pos = 0;
  while (pos < utf8.size()) {
    const size_t at = pos;
    uint32_t code_point = 0;
    if (!NextCodePoint(utf8, &pos, &code_point)) {
      return absl::InvalidArgumentError(absl::StrFormat("byte %d (0x%02x) starts no valid %s sequence", at,
                                                        static_cast<uint8_t>(utf8[at]), encoding_name));
    }
    if (IsControl(code_point)) {
      return absl::InvalidArgumentError(absl::StrFormat("holds the control character U+%04X", code_point));
    }
  }
  return absl::OkStatus();
}

// Converts `in` from `from` to `to` with iconv. On an invalid or incomplete input sequence,
// INVALID_ARGUMENT naming the byte offset; if `input_is_valid` (the caller checked it), an
// unconvertible sequence is a character that `to` cannot write, and the error says so. INTERNAL if
// the conversion is not available.
absl::StatusOr<std::string> Convert(absl::string_view in, const char* from, const char* to,
                                    absl::string_view from_name, absl::string_view to_name,
                                    bool input_is_valid) {
  iconv_t cd = iconv_open(to, from);
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return absl::InternalError(
        absl::StrCat("iconv cannot convert ", from, " to ", to, ": ", std::strerror(errno)));
  }
  std::string out;
  out.resize(in.size() * 2 + 16);
  // iconv takes a non-const input pointer but does not write through it.
  char* in_ptr = const_cast<char*>(in.data());
  size_t in_left = in.size();
  size_t written = 0;
  absl::Status status = absl::OkStatus();
  while (in_left > 0) {
    char* out_ptr = out.data() + written;
    size_t out_left = out.size() - written;
    const size_t result = iconv(cd, &in_ptr, &in_left, &out_ptr, &out_left);
    written = out.size() - out_left;
    if (result != static_cast<size_t>(-1)) continue;
    const size_t offset = in.size() - in_left;
    if (errno == E2BIG) {
      out.resize(out.size() * 2);
    } else if (errno == EINVAL) {
      status = absl::InvalidArgumentError(
          absl::StrFormat("ends inside a multi-byte %s sequence starting at byte %d", from_name, offset));
      break;
    } else if (errno == EILSEQ && input_is_valid) {
      size_t end = offset;
      uint32_t code_point = 0;
      NextCodePoint(in, &end, &code_point);
      status = absl::InvalidArgumentError(
          absl::StrFormat("the character U+%04X at byte %d has no %s encoding", code_point, offset, to_name));
      break;
    } else if (errno == EILSEQ) {
      status =
          absl::InvalidArgumentError(absl::StrFormat("byte %d (0x%02x) starts no valid %s sequence", offset,
                                                     static_cast<uint8_t>(in[offset]), from_name));
      break;
    } else {
      status = absl::InternalError(absl::StrCat("iconv failed: ", std::strerror(errno)));
      break;
    }
  }
  iconv_close(cd);
  if (!status.ok()) return status;
  out.resize(written);
  return out;
}

}  // namespace

absl::string_view TextEncodingName(TextEncoding encoding) {
  switch (encoding) {
    case config::v1::TEXT_ENCODING_UTF_8:
      return "UTF-8";
    case config::v1::TEXT_ENCODING_GB18030:
      return "GB 18030";
    default:
      return "an unspecified encoding";
  }
}

bool IsValidUtf8(absl::string_view text) {
  size_t pos = 0;
  uint32_t code_point = 0;
  while (pos < text.size()) {
    if (!NextCodePoint(text, &pos, &code_point)) return false;
  }
  return true;
}

absl::StatusOr<std::string> DecodeText(absl::string_view bytes, TextEncoding encoding) {
  switch (encoding) {
    case config::v1::TEXT_ENCODING_UTF_8: {
      absl::Status valid = CheckDisplayText(bytes, "UTF-8");
      if (!valid.ok()) return valid;
      return std::string(bytes);
    }
    case config::v1::TEXT_ENCODING_GB18030: {
      absl::StatusOr<std::string> utf8 =
          Convert(bytes, "GB18030", "UTF-8", "GB 18030", "UTF-8", /*input_is_valid=*/false);
      if (!utf8.ok()) return utf8.status();
      // iconv writes well-formed UTF-8; this finds control characters (and would find a broken iconv).
      absl::Status valid = CheckDisplayText(*utf8, "UTF-8");
      if (!valid.ok()) return valid;
      return utf8;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("text encoding ", static_cast<int>(encoding), " is not a known encoding"));
  }
}

absl::StatusOr<std::string> EncodeText(absl::string_view utf8, TextEncoding encoding) {
  if (!IsValidUtf8(utf8)) return absl::InvalidArgumentError("is not valid UTF-8");
  switch (encoding) {
    case config::v1::TEXT_ENCODING_UTF_8:
      return std::string(utf8);
    case config::v1::TEXT_ENCODING_GB18030:
      return Convert(utf8, "UTF-8", "GB18030", "UTF-8", "GB 18030", /*input_is_valid=*/true);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("text encoding ", static_cast<int>(encoding), " is not a known encoding"));
  }
}

}  // namespace interop::adapters
