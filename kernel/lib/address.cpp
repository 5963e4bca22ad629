#include "kernel/lib/address.h"

#include "kernel/lib/string.h"

namespace corral {
namespace {

constexpr uint64_t TOP = 0xffffffffull;

Result<uint64_t> number(const char* text) {
    Result<uint64_t> n = parse_u64(text);
    if (n.is_error() && str_contains(n.error(), "too large")) return make_error("'%.40s' is past 0xffffffff", text);
    return n;
}

}  // namespace

Result<uint32_t> parse_address(const char* text, SymbolLookup lookup, void* ctx) {
    if (!text || !*text) return make_error("an address is missing");
    if (text[0] >= '0' && text[0] <= '9') {
        const uint64_t n = TRY(number(text));
        if (n > TOP) return make_error("'%.40s' is past 0xffffffff", text);
        return uint32_t(n);
    }
    uint32_t base;
    if (lookup(text, &base, ctx)) return base;
    // symbol+n or symbol-n: the last sign that splits it into a known
    // symbol and a number (C++ names hold no '+' or '-', but be exact).
    char name[96];
    const size_t len = str_copy(name, text, sizeof name);
    if (len >= sizeof name) return make_error("'%.40s...' is too long for a symbol", text);
    for (size_t i = len; i-- > 1;) {
        if (name[i] != '+' && name[i] != '-') continue;
        const char sign = name[i];
        name[i] = 0;
        if (!lookup(name, &base, ctx)) {
            name[i] = sign;
            continue;
        }
        const uint64_t off = TRY(number(name + i + 1));
        if (sign == '+' ? base + off > TOP : off > base)
            return make_error("'%.40s' is %s", text, sign == '+' ? "past 0xffffffff" : "below 0");
        return uint32_t(sign == '+' ? base + off : base - off);
    }
    return make_error("'%.40s' is neither an address nor a symbol", text);
}

Result<void> check_address_range(uint32_t start, uint32_t count) {
    if (count == 0) return make_error("an empty range at %#x", start);
    if (uint64_t(start) + count - 1 > TOP)
        return make_error("%#x + %u bytes is past 0xffffffff", start, count);
    return Ok{};
}

}  // namespace corral
