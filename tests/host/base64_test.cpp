// kernel/lib/base64: what `patch load` decodes its lines with.
#include <gtest/gtest.h>

#include <string>

#include "kernel/lib/base64.h"

using corral::base64_decode;

namespace {
std::string decode(const std::string& text, size_t capacity = 64) {
    uint8_t out[64];
    int n = base64_decode(text.data(), text.size(), out, capacity);
    if (n < 0) return "<" + std::to_string(n) + ">";
    return std::string(reinterpret_cast<char*>(out), size_t(n));
}
}  // namespace

TEST(Base64, DecodesWithAndWithoutPadding)
{
    EXPECT_EQ(decode("TWFu"), "Man");
    EXPECT_EQ(decode("TWE="), "Ma");
    EXPECT_EQ(decode("TQ=="), "M");
    EXPECT_EQ(decode(""), "");
    EXPECT_EQ(decode("AP8A/w=="), std::string("\x00\xff\x00\xff", 4));
}

TEST(Base64, RefusesWhatIsNotBase64)
{
    EXPECT_EQ(decode("TWF"), "<-1>");        // not a multiple of 4
    EXPECT_EQ(decode("TW!u"), "<-1>");       // not in the alphabet
    EXPECT_EQ(decode("TQ==TWFu"), "<-1>");   // padding before the end
    EXPECT_EQ(decode("T===") , "<-1>");      // three pad characters
    EXPECT_EQ(decode("TWFu", 2), "<-2>");    // does not fit
}
