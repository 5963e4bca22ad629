// Tests for kernel/lib/string: helpers, number parsing, word splitting, glob.
#include "kernel/lib/string.h"

#include <gtest/gtest.h>

#include <string>

using namespace corral;

TEST(String, Length)
{
    EXPECT_EQ(str_len(""), 0u);
    EXPECT_EQ(str_len("a"), 1u);
    EXPECT_EQ(str_len("corral"), 6u);
}

TEST(String, EqualAndCompare)
{
    EXPECT_TRUE(str_eq("abc", "abc"));
    EXPECT_TRUE(str_eq("", ""));
    EXPECT_FALSE(str_eq("abc", "abd"));
    EXPECT_FALSE(str_eq("abc", "ab"));
    EXPECT_FALSE(str_eq("ab", "abc"));
    EXPECT_EQ(str_cmp("abc", "abc"), 0);
    EXPECT_LT(str_cmp("abc", "abd"), 0);
    EXPECT_GT(str_cmp("abd", "abc"), 0);
    EXPECT_LT(str_cmp("ab", "abc"), 0) << "a prefix sorts first";
    EXPECT_GT(str_cmp("\x80", "a"), 0) << "bytes compare as unsigned, like strcmp";
}

TEST(String, StartsWith)
{
    EXPECT_TRUE(str_starts_with("test=heap", "test="));
    EXPECT_TRUE(str_starts_with("abc", ""));
    EXPECT_TRUE(str_starts_with("abc", "abc"));
    EXPECT_FALSE(str_starts_with("ab", "abc"));
    EXPECT_FALSE(str_starts_with("xbc", "abc"));
}

TEST(String, Contains)
{
    EXPECT_TRUE(str_contains("error: unknown command 'x'", "unknown command"));
    EXPECT_TRUE(str_contains("abc", "c"));
    EXPECT_TRUE(str_contains("abc", ""));
    EXPECT_TRUE(str_contains("", ""));
    EXPECT_FALSE(str_contains("", "a"));
    EXPECT_FALSE(str_contains("abc", "abcd"));
    EXPECT_FALSE(str_contains("abc", "cb"));
}

TEST(String, CopyFitsAndTruncates)
{
    char buf[8];
    EXPECT_EQ(str_copy(buf, "hello", sizeof(buf)), 5u);
    EXPECT_STREQ(buf, "hello");
    EXPECT_EQ(str_copy(buf, "hello world", sizeof(buf)), 11u) << "returns the source length";
    EXPECT_STREQ(buf, "hello w");
    EXPECT_EQ(str_copy(buf, "1234567", sizeof(buf)), 7u);
    EXPECT_STREQ(buf, "1234567");
}

TEST(String, CopyZeroSizeWritesNothing)
{
    char buf[2] = {'X', 'Y'};
    EXPECT_EQ(str_copy(buf, "abc", 0), 3u);
    EXPECT_EQ(buf[0], 'X');
    EXPECT_EQ(str_copy(buf, "abc", 1), 3u);
    EXPECT_EQ(buf[0], '\0');
    EXPECT_EQ(buf[1], 'Y');
}

TEST(ParseU32, DecimalAndHex)
{
    EXPECT_EQ(parse_u32("0").value(), 0u);
    EXPECT_EQ(parse_u32("4096").value(), 4096u);
    EXPECT_EQ(parse_u32("007").value(), 7u) << "leading zeros are decimal, not octal";
    EXPECT_EQ(parse_u32("0x1000").value(), 0x1000u);
    EXPECT_EQ(parse_u32("0XdeadBEEF").value(), 0xdeadbeefu);
    EXPECT_EQ(parse_u32("4294967295").value(), 4294967295u);
    EXPECT_EQ(parse_u32("0xFFFFFFFF").value(), 0xffffffffu);
}

TEST(ParseU32, RejectsEmpty)
{
    auto r = parse_u32("");
    ASSERT_TRUE(r.is_error());
    EXPECT_STREQ(r.error(), "empty string: not a number");
    EXPECT_TRUE(parse_u32(nullptr).is_error());
}

TEST(ParseU32, RejectsJunkNamingTheInput)
{
    auto r = parse_u32("12x");
    ASSERT_TRUE(r.is_error());
    EXPECT_STREQ(r.error(), "12x: not a number");
    EXPECT_TRUE(parse_u32("abc").is_error());
    EXPECT_TRUE(parse_u32("-1").is_error());
    EXPECT_TRUE(parse_u32("+1").is_error());
    EXPECT_TRUE(parse_u32(" 1").is_error());
    EXPECT_TRUE(parse_u32("1 ").is_error());
    EXPECT_TRUE(parse_u32("0x1g").is_error());
    EXPECT_TRUE(parse_u32("12ab").is_error()) << "hex digits need the 0x prefix";
}

TEST(ParseU32, RejectsBarePrefix)
{
    auto r = parse_u32("0x");
    ASSERT_TRUE(r.is_error());
    EXPECT_STREQ(r.error(), "0x: not a number (no digits after 0x)");
}

TEST(ParseU32, RejectsOverflow)
{
    auto r = parse_u32("4294967296");
    ASSERT_TRUE(r.is_error());
    EXPECT_STREQ(r.error(), "4294967296: too large (max 4294967295)");
    EXPECT_TRUE(parse_u32("0x100000000").is_error());
    EXPECT_TRUE(parse_u32("99999999999999999999999").is_error()) << "also beyond 64 bits";
}

TEST(ParseU32, LongInputIsCappedInTheMessage)
{
    std::string junk(200, 'z');
    auto r = parse_u32(junk.c_str());
    ASSERT_TRUE(r.is_error());
    EXPECT_EQ(std::string(r.error()), std::string(40, 'z') + ": not a number");
}

TEST(ParseU64, FullRange)
{
    EXPECT_EQ(parse_u64("18446744073709551615").value(), UINT64_MAX);
    EXPECT_EQ(parse_u64("0xFFFFFFFFFFFFFFFF").value(), UINT64_MAX);
    EXPECT_EQ(parse_u64("4294967296").value(), 4294967296ULL);
    EXPECT_EQ(parse_u64("0x123456789abcdef0").value(), 0x123456789abcdef0ULL);
}

TEST(ParseU64, RejectsOverflow)
{
    auto r = parse_u64("18446744073709551616");
    ASSERT_TRUE(r.is_error());
    EXPECT_STREQ(r.error(), "18446744073709551616: too large (max 18446744073709551615)");
    EXPECT_TRUE(parse_u64("0x10000000000000000").is_error());
    EXPECT_TRUE(parse_u64("99999999999999999999").is_error());
}

TEST(SplitWords, SpacesAndTabs)
{
    char line[] = "  peek\t0x1000   16 \t";
    char* words[8];
    ASSERT_EQ(split_words(line, words, 8), 3u);
    EXPECT_STREQ(words[0], "peek");
    EXPECT_STREQ(words[1], "0x1000");
    EXPECT_STREQ(words[2], "16");
}

TEST(SplitWords, EmptyAndBlankLines)
{
    char* words[4];
    char empty[] = "";
    EXPECT_EQ(split_words(empty, words, 4), 0u);
    char blank[] = " \t \r\n";
    EXPECT_EQ(split_words(blank, words, 4), 0u);
}

TEST(SplitWords, SingleWordAndLineEndings)
{
    char line[] = "help\r\n";
    char* words[4];
    ASSERT_EQ(split_words(line, words, 4), 1u);
    EXPECT_STREQ(words[0], "help");
}

TEST(SplitWords, TooManyWordsAreCountedNotStored)
{
    char line[] = "a b c d e";
    char* guard = reinterpret_cast<char*>(0x1);
    char* storage[4] = {nullptr, nullptr, nullptr, guard};
    EXPECT_EQ(split_words(line, storage, 3), 5u) << "the caller learns there were too many";
    EXPECT_STREQ(storage[0], "a");
    EXPECT_STREQ(storage[2], "c");
    EXPECT_EQ(storage[3], guard) << "never writes beyond max_words";
}

TEST(SplitWords, ZeroCapacity)
{
    char line[] = "one two";
    EXPECT_EQ(split_words(line, nullptr, 0), 2u);
}

TEST(Glob, LiteralAndQuestionMark)
{
    EXPECT_TRUE(glob_match("heap.alloc", "heap.alloc"));
    EXPECT_FALSE(glob_match("heap.alloc", "heap.allocx"));
    EXPECT_FALSE(glob_match("heap.allocx", "heap.alloc"));
    EXPECT_TRUE(glob_match("cpu?", "cpu3"));
    EXPECT_FALSE(glob_match("cpu?", "cpu"));
    EXPECT_FALSE(glob_match("cpu?", "cpu12"));
    EXPECT_FALSE(glob_match("Heap", "heap")) << "case-sensitive";
}

TEST(Glob, Star)
{
    EXPECT_TRUE(glob_match("*", ""));
    EXPECT_TRUE(glob_match("*", "anything"));
    EXPECT_TRUE(glob_match("heap.*", "heap.alloc"));
    EXPECT_TRUE(glob_match("heap.*", "heap."));
    EXPECT_FALSE(glob_match("heap.*", "heap"));
    EXPECT_TRUE(glob_match("*.alloc", "heap.alloc"));
    EXPECT_TRUE(glob_match("patch.*.revert", "patch.hotpatch.revert"));
    EXPECT_FALSE(glob_match("patch.*.revert", "patch.hotpatch.apply"));
    EXPECT_TRUE(glob_match("**", "x"));
}

TEST(Glob, StarNeedsBacktracking)
{
    EXPECT_TRUE(glob_match("a*b*c", "aXbYbZc"));
    EXPECT_TRUE(glob_match("*ab", "aaab"));
    EXPECT_TRUE(glob_match("*a?c", "abcabc"));
    EXPECT_FALSE(glob_match("a*b*c", "aXbYbZ"));
    EXPECT_TRUE(glob_match("*sched*", "ktest.sched.balance"));
}

TEST(Glob, Empty)
{
    EXPECT_TRUE(glob_match("", ""));
    EXPECT_FALSE(glob_match("", "a"));
    EXPECT_FALSE(glob_match("?", ""));
}
