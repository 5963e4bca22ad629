// Tests for kernel/lib/format: every conversion, flags, width/precision,
// length modifiers, truncation and the streaming sink.
#include "kernel/lib/format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "kernel/lib/result.h"

using corral::format;
using corral::vformat;
using corral::vformat_to;

namespace {

// Formats into a large buffer via vformat.  Deliberately not marked
// format(printf): some tests pass conversions GCC's checker rejects ("%q").
std::string F(const char* fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    std::string out(buf);
    EXPECT_EQ(static_cast<size_t>(n), out.size()) << "return value must equal the length written";
    return out;
}

}  // namespace

TEST(Format, PlainTextAndEmpty)
{
    EXPECT_EQ(F("hello, world"), "hello, world");
    EXPECT_EQ(F(""), "");
}

TEST(Format, SignedDecimal)
{
    EXPECT_EQ(F("%d", 0), "0");
    EXPECT_EQ(F("%d", 42), "42");
    EXPECT_EQ(F("%d", -42), "-42");
    EXPECT_EQ(F("%i", -7), "-7");
    EXPECT_EQ(F("%d", INT_MAX), "2147483647");
}

TEST(Format, IntMinDoesNotOverflow)
{
    EXPECT_EQ(F("%d", INT_MIN), "-2147483648");
    EXPECT_EQ(F("%lld", LLONG_MIN), "-9223372036854775808");
}

TEST(Format, Unsigned)
{
    EXPECT_EQ(F("%u", 0u), "0");
    EXPECT_EQ(F("%u", 4000000000u), "4000000000");
    EXPECT_EQ(F("%u", UINT_MAX), "4294967295");
}

TEST(Format, Hex)
{
    EXPECT_EQ(F("%x", 0xdeadbeefu), "deadbeef");
    EXPECT_EQ(F("%X", 0xdeadbeefu), "DEADBEEF");
    EXPECT_EQ(F("%x", 0u), "0");
    EXPECT_EQ(F("%08x", 0x1234u), "00001234");
    EXPECT_EQ(F("%#x", 0x1fu), "0x1f");
    EXPECT_EQ(F("%#X", 0x1fu), "0X1F");
    EXPECT_EQ(F("%#x", 0u), "0") << "C prints no 0x prefix for zero";
}

TEST(Format, PointerHasFixedWidth)
{
    const size_t digits = sizeof(void*) * 2;
    EXPECT_EQ(F("%p", static_cast<void*>(nullptr)), "0x" + std::string(digits, '0'));
    auto* p = reinterpret_cast<void*>(uintptr_t{0xc0ffee});
    EXPECT_EQ(F("%p", p), "0x" + std::string(digits - 6, '0') + "c0ffee");
    EXPECT_EQ(F("[%20p]", p).size(), 22u) << "width still pads";
}

TEST(Format, Strings)
{
    EXPECT_EQ(F("%s", "abc"), "abc");
    EXPECT_EQ(F("%s", ""), "");
    EXPECT_EQ(F("<%s>", static_cast<const char*>(nullptr)), "<(null)>");
    EXPECT_EQ(F("%s and %s", "this", "that"), "this and that");
}

TEST(Format, CharAndPercent)
{
    EXPECT_EQ(F("%c", 'x'), "x");
    EXPECT_EQ(F("%c%c%c", 'a', 'b', 'c'), "abc");
    EXPECT_EQ(F("100%%"), "100%");
    EXPECT_EQ(F("%3c|%-3c|", 'a', 'b'), "  a|b  |");
}

TEST(Format, WidthRightAndLeftAlign)
{
    EXPECT_EQ(F("[%5d]", 42), "[   42]");
    EXPECT_EQ(F("[%-5d]", 42), "[42   ]");
    EXPECT_EQ(F("[%5s]", "ab"), "[   ab]");
    EXPECT_EQ(F("[%-5s]", "ab"), "[ab   ]");
    EXPECT_EQ(F("[%2d]", 12345), "[12345]") << "width never truncates";
}

TEST(Format, ZeroPadding)
{
    EXPECT_EQ(F("%05d", 42), "00042");
    EXPECT_EQ(F("%05d", -42), "-0042") << "sign goes before the zeros";
    EXPECT_EQ(F("%-05d|", 42), "42   |") << "'-' overrides '0'";
    EXPECT_EQ(F("%05s", "ab"), "   ab") << "'0' does not apply to strings";
    EXPECT_EQ(F("%08.3d", 7), "     007") << "a precision disables '0'";
}

TEST(Format, StarWidth)
{
    EXPECT_EQ(F("[%*d]", 6, 42), "[    42]");
    EXPECT_EQ(F("[%*d]", -6, 42), "[42    ]") << "negative * width means left-align";
    EXPECT_EQ(F("[%0*x]", 4, 0xau), "[000a]");
}

TEST(Format, StringPrecision)
{
    EXPECT_EQ(F("%.3s", "abcdef"), "abc");
    EXPECT_EQ(F("%.10s", "abc"), "abc");
    EXPECT_EQ(F("%.0s", "abc"), "");
    EXPECT_EQ(F("%.*s", 2, "abcdef"), "ab");
    EXPECT_EQ(F("[%6.2s]", "abcdef"), "[    ab]");
    EXPECT_EQ(F("%.*s", -1, "abc"), "abc") << "negative precision means none";
}

TEST(Format, StringPrecisionDoesNotReadPastIt)
{
    // Not NUL-terminated: ASan catches a read beyond the array.
    const char raw[3] = {'x', 'y', 'z'};
    EXPECT_EQ(F("%.3s", raw), "xyz");
    EXPECT_EQ(F("%.*s", 2, raw), "xy");
}

TEST(Format, IntegerPrecision)
{
    EXPECT_EQ(F("%.5d", 42), "00042");
    EXPECT_EQ(F("%.5d", -42), "-00042");
    EXPECT_EQ(F("%.0d", 0), "") << "C: precision 0 and value 0 print nothing";
    EXPECT_EQ(F("%.0d", 5), "5");
}

TEST(Format, PlusAndSpaceFlags)
{
    EXPECT_EQ(F("%+d", 5), "+5");
    EXPECT_EQ(F("%+d", -5), "-5");
    EXPECT_EQ(F("% d", 5), " 5");
    EXPECT_EQ(F("%+u", 5u), "+5");
}

TEST(Format, LongAndLongLong)
{
    EXPECT_EQ(F("%ld", -123456789L), "-123456789");
    EXPECT_EQ(F("%lu", 123456789UL), "123456789");
    EXPECT_EQ(F("%lx", 0xabcdefUL), "abcdef");
    EXPECT_EQ(F("%lld", -1LL), "-1");
    EXPECT_EQ(F("%llu", ULLONG_MAX), "18446744073709551615");
    EXPECT_EQ(F("%llx", 0x123456789abcdef0ULL), "123456789abcdef0");
    EXPECT_EQ(F("%lld", LLONG_MAX), "9223372036854775807");
}

TEST(Format, SixtyFourBitDecimalDigits)
{
    // Exercises the 32-bit-only division path with values whose upper half
    // is non-zero.
    EXPECT_EQ(F("%llu", 4294967296ULL), "4294967296");
    EXPECT_EQ(F("%llu", 10000000000000000000ULL), "10000000000000000000");
    EXPECT_EQ(F("%llu", 12345678901234567890ULL), "12345678901234567890");
}

TEST(Format, SizeT)
{
    EXPECT_EQ(F("%zu", static_cast<size_t>(4096)), "4096");
    EXPECT_EQ(F("%zu", SIZE_MAX), std::to_string(SIZE_MAX));
    EXPECT_EQ(F("%zd", static_cast<ptrdiff_t>(-3)), "-3");
    EXPECT_EQ(F("%zx", static_cast<size_t>(0xff)), "ff");
}

TEST(Format, ShortAndChar)
{
    EXPECT_EQ(F("%hd", 70000), "4464") << "narrowed to short";
    EXPECT_EQ(F("%hu", 65535), "65535");
    EXPECT_EQ(F("%hhu", 257), "1") << "narrowed to unsigned char";
    EXPECT_EQ(F("%hhd", 255), "-1") << "narrowed to signed char";
    EXPECT_EQ(F("%hhx", 0x1ff), "ff");
}

TEST(Format, UnknownConversionPrintedLiterally)
{
    EXPECT_EQ(F("%q"), "%q");
    EXPECT_EQ(F("a%5qb"), "a%5qb");
    EXPECT_EQ(F("%q %d", 7), "%q 7") << "an unknown conversion consumes no argument";
    EXPECT_EQ(F("trailing %"), "trailing %");
    EXPECT_EQ(F("trailing %-5"), "trailing %-5");
}

TEST(Format, ArgumentsStayInOrder)
{
    EXPECT_EQ(F("%s=%d (%x) %c %llu %s", "k", -1, 255u, 'z', 1ULL << 40, "end"),
              "k=-1 (ff) z 1099511627776 end");
}

TEST(Format, TruncationReturnsFullLength)
{
    char buf[5];
    EXPECT_EQ(format(buf, sizeof(buf), "hello world"), 11);
    EXPECT_STREQ(buf, "hell");
    EXPECT_EQ(format(buf, sizeof(buf), "%d", 123456), 6);
    EXPECT_STREQ(buf, "1234");
}

TEST(Format, ExactFitAndOneShort)
{
    char buf[6];
    EXPECT_EQ(format(buf, sizeof(buf), "%s", "hello"), 5);
    EXPECT_STREQ(buf, "hello");
    EXPECT_EQ(format(buf, sizeof(buf), "%s", "hello!"), 6);
    EXPECT_STREQ(buf, "hello");
}

TEST(Format, SizeZeroAndOne)
{
    EXPECT_EQ(format(nullptr, 0, "%d items", 12), 8) << "size 0: only measure, never write";
    char buf[1] = {'X'};
    EXPECT_EQ(format(buf, 1, "abc"), 3);
    EXPECT_EQ(buf[0], '\0');
}

TEST(Format, DoesNotWritePastSize)
{
    char buf[8];
    std::fill(buf, buf + 8, '#');
    EXPECT_EQ(format(buf, 4, "%08d", 5), 8);
    EXPECT_STREQ(buf, "000");
    EXPECT_EQ(buf[4], '#');
    EXPECT_EQ(buf[7], '#');
}

namespace {

struct Pieces {
    std::vector<std::string> parts;
    std::string joined;
};

void collect(void* ctx, const char* s, size_t n)
{
    auto* p = static_cast<Pieces*>(ctx);
    p->parts.emplace_back(s, n);
    p->joined.append(s, n);
}

int stream(Pieces* p, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vformat_to(collect, p, fmt, ap);
    va_end(ap);
    return n;
}

}  // namespace

TEST(Format, StreamingSinkGetsEverythingInNonEmptyPieces)
{
    Pieces p;
    std::string big(300, 'x');  // longer than any internal buffer
    int n = stream(&p, "cpu %d: %s [%40d]", 3, big.c_str(), 1);
    EXPECT_EQ(p.joined, "cpu 3: " + big + " [" + std::string(39, ' ') + "1]");
    EXPECT_EQ(static_cast<size_t>(n), p.joined.size());
    for (const auto& part : p.parts) EXPECT_FALSE(part.empty());
}

TEST(Format, StreamingMatchesBuffered)
{
    Pieces p;
    stream(&p, "%-6s|%06x|%+d|%p", "ab", 0xbeefu, 9, reinterpret_cast<void*>(uintptr_t{16}));
    EXPECT_EQ(p.joined, F("%-6s|%06x|%+d|%p", "ab", 0xbeefu, 9, reinterpret_cast<void*>(uintptr_t{16})));
}

TEST(MakeError, FormatsIntoText)
{
    corral::Error e = corral::make_error("bad value %d for '%s'", -3, "key");
    EXPECT_STREQ(e.text, "bad value -3 for 'key'");
}

TEST(MakeError, LongTextIsTruncatedAndTerminated)
{
    std::string long_text(500, 'e');
    corral::Error e = corral::make_error("%s", long_text.c_str());
    EXPECT_EQ(std::string(e.text), std::string(sizeof(e.text) - 1, 'e'));
}
