// The shell's address grammar (kernel/lib/address.cpp).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "kernel/lib/address.h"

using namespace corral;

namespace {

const std::map<std::string, uint32_t> symbols = {
    {"seed_example", 0x10a890},
    {"corral::demo_hot_counter", 0x10b000},
    {"kmain", 0x100200},
    {"near_top", 0xfffffff0},
};

bool lookup(const char* name, uint32_t* address, void*) {
    std::string n = name;
    auto it = symbols.find(n);
    if (it == symbols.end() && n.rfind("corral::", 0) == 0) it = symbols.find(n.substr(8));   // extern "C" in corral
    if (it == symbols.end()) return false;
    *address = it->second;
    return true;
}

uint32_t ok(const char* text) {
    Result<uint32_t> r = parse_address(text, lookup, nullptr);
    EXPECT_TRUE(r.is_ok()) << text << ": " << (r.is_error() ? r.error() : "");
    return r.is_ok() ? r.value() : 0;
}

std::string err(const char* text) {
    Result<uint32_t> r = parse_address(text, lookup, nullptr);
    EXPECT_TRUE(r.is_error()) << text << " parsed as " << (r.is_ok() ? r.value() : 0);
    return r.is_error() ? r.error() : "";
}

}  // namespace

TEST(Address, NumbersAndSymbols) {
    EXPECT_EQ(ok("0x10a890"), 0x10a890u);
    EXPECT_EQ(ok("4096"), 4096u);
    EXPECT_EQ(ok("0xffffffff"), 0xffffffffu);
    EXPECT_EQ(ok("seed_example"), 0x10a890u);
    EXPECT_EQ(ok("corral::demo_hot_counter"), 0x10b000u);
    EXPECT_EQ(ok("corral::kmain"), 0x100200u);
}

TEST(Address, SymbolPlusOrMinusAnOffset) {
    EXPECT_EQ(ok("seed_example+2"), 0x10a892u);
    EXPECT_EQ(ok("seed_example+0x10"), 0x10a8a0u);
    EXPECT_EQ(ok("corral::demo_hot_counter-5"), 0x10affbu);
    EXPECT_EQ(ok("corral::kmain+0x4"), 0x100204u);
}

TEST(Address, OutOfRangeIsOneWording) {
    EXPECT_EQ(err("0x1ffffffff"), "'0x1ffffffff' is past 0xffffffff");
    EXPECT_EQ(err("99999999999"), "'99999999999' is past 0xffffffff");
    EXPECT_EQ(err("near_top+0x10"), "'near_top+0x10' is past 0xffffffff");
    EXPECT_EQ(err("seed_example-0x200000"), "'seed_example-0x200000' is below 0");
    EXPECT_EQ(ok("near_top+0xf"), 0xffffffffu);
}

TEST(Address, BadInput) {
    EXPECT_EQ(err("nosuch"), "'nosuch' is neither an address nor a symbol");
    EXPECT_EQ(err("nosuch+2"), "'nosuch+2' is neither an address nor a symbol");
    EXPECT_EQ(err(""), "an address is missing");
    EXPECT_NE(err("0xzz").find("not a number"), std::string::npos);
    EXPECT_NE(err("seed_example+zz").find("not a number"), std::string::npos);
}

TEST(Address, RangesStopAt4GiB) {
    EXPECT_TRUE(check_address_range(0xfffffffc, 4).is_ok());
    Result<void> r = check_address_range(0xffffffff, 4);
    ASSERT_TRUE(r.is_error());
    EXPECT_STREQ(r.error(), "0xffffffff + 4 bytes is past 0xffffffff");
    EXPECT_TRUE(check_address_range(0x1000, 0).is_error());
}
