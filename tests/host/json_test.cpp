// kernel/lib/json: the checker the bench ktest uses on BENCH lines.
#include <gtest/gtest.h>

#include <string>

#include "kernel/lib/json.h"

using corral::json_number_milli;
using corral::json_valid;

TEST(Json, AcceptsWhatBenchPrints)
{
    EXPECT_TRUE(json_valid(R"({"name":"window","case":"int3","cpus":4,"min":1.250,"phases":{"sync1":3.5},"met":true})"));
    EXPECT_TRUE(json_valid(R"([1, -2.5e3, "a\"b\u00e9", null, false, {}, []])"));
    EXPECT_TRUE(json_valid("  0  "));
}

TEST(Json, RefusesWhatIsNotJson)
{
    for (const char* bad : {"", "{", "}", R"({"a":1,})", R"({"a" 1})", R"({a:1})", "[1 2]", "01", "1.", "-",
                            R"("unterminated)", R"({"a":1} x)", "tru", R"("bad \q escape")", "{\"a\":\"\x01\"}",
                            "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]"}) {
        char why[64] = "";
        EXPECT_FALSE(json_valid(bad, why, sizeof why)) << bad;
        EXPECT_NE(std::string(why), "") << bad;
    }
}

TEST(Json, NumberAtATopLevelKey)
{
    const char* line = R"({"name":"corral","min":12.345,"n":7,"neg":-0.5,"phases":{"min":99},"s":"min"})";
    int64_t v = 0;
    ASSERT_TRUE(json_number_milli(line, "min", &v));
    EXPECT_EQ(v, 12345);
    ASSERT_TRUE(json_number_milli(line, "n", &v));
    EXPECT_EQ(v, 7000);
    ASSERT_TRUE(json_number_milli(line, "neg", &v));
    EXPECT_EQ(v, -500);
    EXPECT_FALSE(json_number_milli(line, "s", &v)) << "a string is not a number";
    EXPECT_FALSE(json_number_milli(line, "max", &v));
    EXPECT_FALSE(json_number_milli(line, "mi", &v)) << "a prefix of a key is not the key";
    EXPECT_FALSE(json_number_milli("{\"min\":1", "min", &v)) << "not valid JSON";
}
