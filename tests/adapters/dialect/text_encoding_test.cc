#include "adapters/dialect/text_encoding.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace interop::adapters {
namespace {

using config::v1::TEXT_ENCODING_GB18030;
using config::v1::TEXT_ENCODING_UNSPECIFIED;
using config::v1::TEXT_ENCODING_UTF_8;
using ::testing::HasSubstr;

// Bytes from a hex string ("d5c5c8fd").
std::string Hex(absl::string_view hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

void ExpectRefused(absl::string_view bytes, config::v1::TextEncoding encoding, absl::string_view part) {
  absl::StatusOr<std::string> text = DecodeText(bytes, encoding);
  ASSERT_FALSE(text.ok()) << "decoded to \"" << *text << "\"";
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument) << text.status();
  EXPECT_THAT(std::string(text.status().message()), HasSubstr(std::string(part))) << text.status();
}

TEST(DecodeTextTest, Gb18030NamesBecomeUtf8) {
  EXPECT_EQ(*DecodeText(Hex("d5c5c8fd"), TEXT_ENCODING_GB18030), "张三");
  EXPECT_EQ(*DecodeText(Hex("cdf5cee5"), TEXT_ENCODING_GB18030), "王五");
  EXPECT_EQ(*DecodeText(Hex("c5b7d1f4c4c8"), TEXT_ENCODING_GB18030), "欧阳娜");
  // A four-byte sequence: U+20000, CJK Extension B (rare characters do occur in names).
  EXPECT_EQ(*DecodeText(Hex("95328236"), TEXT_ENCODING_GB18030), "\xF0\xA0\x80\x80");
  // ASCII is itself; mixed text too.
  EXPECT_EQ(*DecodeText("Li Na", TEXT_ENCODING_GB18030), "Li Na");
  EXPECT_EQ(*DecodeText("A" + Hex("d5c5") + "B", TEXT_ENCODING_GB18030), "A张B");
  EXPECT_EQ(*DecodeText("", TEXT_ENCODING_GB18030), "");
}

TEST(DecodeTextTest, InvalidGb18030IsRefusedNamingTheByte) {
  ExpectRefused(Hex("80"), TEXT_ENCODING_GB18030, "byte 0 (0x80) starts no valid GB 18030 sequence");
  ExpectRefused(Hex("ff"), TEXT_ENCODING_GB18030, "byte 0 (0xff)");
  ExpectRefused(Hex("d5c5ff"), TEXT_ENCODING_GB18030, "byte 2 (0xff)");
  ExpectRefused(Hex("d520"), TEXT_ENCODING_GB18030, "byte 0 (0xd5)");  // a space is no trail byte
  ExpectRefused(Hex("d5c5c8"), TEXT_ENCODING_GB18030,
                "ends inside a multi-byte GB 18030 sequence starting at byte 2");
  ExpectRefused(Hex("953282"), TEXT_ENCODING_GB18030, "ends inside");
  ExpectRefused(Hex("95328220"), TEXT_ENCODING_GB18030, "byte 0 (0x95)");
}

TEST(DecodeTextTest, ControlCharactersAreRefused) {
  ExpectRefused(Hex("d5c5") + "\n", TEXT_ENCODING_GB18030, "control character U+000A");
  ExpectRefused(std::string("\0", 1), TEXT_ENCODING_UTF_8, "control character U+0000");
  ExpectRefused("张\x7f", TEXT_ENCODING_UTF_8, "control character U+007F");
  ExpectRefused("张\xC2\x85", TEXT_ENCODING_UTF_8, "control character U+0085");
}

TEST(DecodeTextTest, Utf8IsCheckedStrictly) {
  EXPECT_EQ(*DecodeText("张三", TEXT_ENCODING_UTF_8), "张三");
  EXPECT_EQ(*DecodeText("\xF0\xA0\x80\x80", TEXT_ENCODING_UTF_8), "\xF0\xA0\x80\x80");
  ExpectRefused(Hex("d5c5c8fd"), TEXT_ENCODING_UTF_8, "byte 0 (0xd5) starts no valid UTF-8 sequence");
  ExpectRefused("\xC0\x80", TEXT_ENCODING_UTF_8, "byte 0");          // overlong NUL
  ExpectRefused("\xE0\x80\xAF", TEXT_ENCODING_UTF_8, "byte 0");      // overlong '/'
  ExpectRefused("\xED\xA0\x80", TEXT_ENCODING_UTF_8, "byte 0");      // a surrogate
  ExpectRefused("\xF4\x90\x80\x80", TEXT_ENCODING_UTF_8, "byte 0");  // above U+10FFFF
  ExpectRefused("\xF8\x88\x80\x80\x80", TEXT_ENCODING_UTF_8, "byte 0");
  ExpectRefused("张\xE5\xBC", TEXT_ENCODING_UTF_8, "byte 3");  // truncated
  ExpectRefused("\x80", TEXT_ENCODING_UTF_8, "byte 0");        // lone continuation byte
}

TEST(DecodeTextTest, UnknownEncodingIsAnError) {
  ExpectRefused("a", TEXT_ENCODING_UNSPECIFIED, "not a known encoding");
  ExpectRefused("a", static_cast<config::v1::TextEncoding>(9), "not a known encoding");
}

TEST(EncodeTextTest, Utf8ToGb18030AndBack) {
  EXPECT_EQ(*EncodeText("张三", TEXT_ENCODING_GB18030), Hex("d5c5c8fd"));
  EXPECT_EQ(*EncodeText("\xF0\xA0\x80\x80", TEXT_ENCODING_GB18030), Hex("95328236"));
  EXPECT_EQ(*EncodeText("张三", TEXT_ENCODING_UTF_8), "张三");
  for (const char* name :
       {"王伟", "李娜", "郭晋", "欧阳娜", "尉迟帆", "闫霏", "畅馨", "降瑶", "司马懿", "€5"}) {
    absl::StatusOr<std::string> bytes = EncodeText(name, TEXT_ENCODING_GB18030);
    ASSERT_TRUE(bytes.ok()) << name << ": " << bytes.status();
    EXPECT_NE(*bytes, name);
    EXPECT_EQ(*DecodeText(*bytes, TEXT_ENCODING_GB18030), name);
  }
}

TEST(EncodeTextTest, InvalidUtf8IsRefused) {
  for (auto encoding : {TEXT_ENCODING_UTF_8, TEXT_ENCODING_GB18030}) {
    absl::StatusOr<std::string> bytes = EncodeText("\xFF", encoding);
    ASSERT_FALSE(bytes.ok());
    EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(EncodeText("a", TEXT_ENCODING_UNSPECIFIED).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EncodeTextTest, CharactersGb18030CannotWriteAreRefusedNamingThem) {
  // Found by text_decoding_fuzzer: iconv's GB 18030 has no mapping for some private-use code points.
  absl::StatusOr<std::string> bytes = EncodeText("\\\xEE\xA0\xA6", TEXT_ENCODING_GB18030);
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bytes.status().message(), "the character U+E826 at byte 1 has no GB 18030 encoding");
}

TEST(IsValidUtf8Test, Boundaries) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("\x7F"));
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBF"));
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC2"));
}

}  // namespace
}  // namespace interop::adapters
