// Fuzz target: DecodeText (adapters/dialect/text_encoding.h), the decoder of every name a city
// backend sends, in UTF-8 and in GB 18030 (through iconv).
//
// Input: the name's bytes. Checks: no crash; a refusal is INVALID_ARGUMENT; accepted text is valid
// UTF-8 (the input itself for UTF-8) and survives a round trip through the encoder. The encoder,
// given the input as UTF-8, refuses exactly the invalid UTF-8 and the few characters GB 18030
// cannot write, and what it writes decodes back to the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "adapters/dialect/text_encoding.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (auto encoding :
       {interop::config::v1::TEXT_ENCODING_UTF_8, interop::config::v1::TEXT_ENCODING_GB18030}) {
    const absl::StatusOr<std::string> text = interop::adapters::DecodeText(bytes, encoding);
    if (!text.ok()) {
      FUZZ_CHECK(text.status().code() == absl::StatusCode::kInvalidArgument);
      continue;
    }
    FUZZ_CHECK(interop::adapters::IsValidUtf8(*text));
    if (encoding == interop::config::v1::TEXT_ENCODING_UTF_8) FUZZ_CHECK(*text == bytes);
    const absl::StatusOr<std::string> encoded = interop::adapters::EncodeText(*text, encoding);
    FUZZ_CHECK(encoded.ok());
    const absl::StatusOr<std::string> decoded = interop::adapters::DecodeText(*encoded, encoding);
    FUZZ_CHECK(decoded.ok() && *decoded == *text);
  }
  // The encoder, on arbitrary input as UTF-8.
  const absl::StatusOr<std::string> gb =
      interop::adapters::EncodeText(bytes, interop::config::v1::TEXT_ENCODING_GB18030);
  if (!interop::adapters::IsValidUtf8(bytes)) {
    FUZZ_CHECK(!gb.ok() && gb.status().message() == "is not valid UTF-8");
  } else if (gb.ok()) {
    const absl::StatusOr<std::string> back =
        interop::adapters::DecodeText(*gb, interop::config::v1::TEXT_ENCODING_GB18030);
    // Control characters encode but are refused when decoded; everything else comes back unchanged.
    FUZZ_CHECK(!back.ok() || *back == bytes);
  } else {
    // Valid UTF-8 that GB 18030 cannot write: a few private-use code points (iconv has no mapping).
    FUZZ_CHECK(gb.status().code() == absl::StatusCode::kInvalidArgument &&
               absl::StrContains(gb.status().message(), "has no GB 18030 encoding"));
  }
  return 0;
}
