#include "gateway/base/log.h"

#include "gtest/gtest.h"

namespace interop {
namespace {

TEST(JsonEscapeTest, EscapesWhatJsonRequiresAndKeepsUtf8) {
  EXPECT_EQ(JsonEscape("plain"), "plain");
  EXPECT_EQ(JsonEscape("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(JsonEscape("C:\\path"), "C:\\\\path");
  EXPECT_EQ(JsonEscape("a\nb\tc\rd"), "a\\nb\\tc\\rd");
  EXPECT_EQ(JsonEscape(std::string("\x01\x1f\x7f", 3)), "\\u0001\\u001f\\u007f");
  EXPECT_EQ(JsonEscape("太原 'city'"), "太原 'city'");  // no \' and no octal escapes: not JSON
}

TEST(FormatLogLineTest, IsOneJsonObjectPerLineWithTheFieldsInOrder) {
  const std::string line = FormatLogLine("warning", "city \"jinzhong\" failed", {{"request_id", "r-1"}, {"n", "2"}},
                                         absl::FromUnixMillis(1'800'000'000'123));
  EXPECT_EQ(line,
            "{\"time\":\"2027-01-15T08:00:00.123Z\",\"level\":\"warning\",\"message\":\"city \\\"jinzhong\\\" "
            "failed\",\"request_id\":\"r-1\",\"n\":\"2\"}\n");
}

}  // namespace
}  // namespace interop
