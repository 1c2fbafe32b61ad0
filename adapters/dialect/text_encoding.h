// Text fields of city backends (the contract's `bytes` names) in the city's encoding
// (CityDialect.text_encoding), to and from UTF-8. GB 18030 goes through iconv(3); nothing that
// cannot be decoded is replaced, dropped or guessed at: it is an error.
//
// The text fields of the contract are single-line display strings (names), so decoded text must
// also be free of control characters (U+0000-U+001F, U+007F-U+009F).
//
// Example:
//   absl::StatusOr<std::string> name = DecodeText(reply.name(), config::v1::TEXT_ENCODING_GB18030);
//
// Thread-safe: every call uses its own iconv descriptor.
#ifndef INTEROP_ADAPTERS_DIALECT_TEXT_ENCODING_H_
#define INTEROP_ADAPTERS_DIALECT_TEXT_ENCODING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "interop/config/v1/city_dialect.pb.h"

namespace interop::adapters {

// `bytes` in `encoding`, as UTF-8. INVALID_ARGUMENT without a field name (the caller adds it) when
// the bytes are not valid in the encoding ("byte 3 (0xff) starts no valid GB 18030 sequence",
// "ends inside a multi-byte sequence"), when the text holds a control character, or for an
// unspecified or unknown encoding. INTERNAL if iconv cannot convert GB 18030 on this system.
absl::StatusOr<std::string> DecodeText(absl::string_view bytes, config::v1::TextEncoding encoding);

// `utf8` written in `encoding`. INVALID_ARGUMENT if `utf8` is not valid UTF-8, if it holds a
// character the encoding cannot write ("the character U+E826 at byte 1 has no GB 18030 encoding":
// iconv's GB 18030 has no mapping for some private-use code points), or if the encoding is
// unspecified or unknown; INTERNAL if iconv cannot convert to GB 18030 on this system.
absl::StatusOr<std::string> EncodeText(absl::string_view utf8, config::v1::TextEncoding encoding);

// True if `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// "UTF-8" or "GB 18030", for messages.
absl::string_view TextEncodingName(config::v1::TextEncoding encoding);

}  // namespace interop::adapters

#endif  // INTEROP_ADAPTERS_DIALECT_TEXT_ENCODING_H_
