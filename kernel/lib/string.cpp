// String helpers (see string.h).  Plain loops on purpose: this file is
// compiled into a kernel that has no libc underneath it.
#include "kernel/lib/string.h"

namespace corral {

size_t str_len(const char* s)
{
    size_t n = 0;
    while (s[n] != '\0') ++n;
    return n;
}

int str_cmp(const char* a, const char* b)
{
    while (*a != '\0' && *a == *b) {
        ++a;
        ++b;
    }
    return static_cast<int>(static_cast<unsigned char>(*a)) -
           static_cast<int>(static_cast<unsigned char>(*b));
}

bool str_eq(const char* a, const char* b) { return str_cmp(a, b) == 0; }

bool str_starts_with(const char* s, const char* prefix)
{
    while (*prefix != '\0') {
        if (*s++ != *prefix++) return false;
    }
    return true;
}

bool str_contains(const char* hay, const char* needle)
{
    for (;; hay++) {
        if (str_starts_with(hay, needle)) return true;
        if (*hay == '\0') return false;
    }
}

size_t str_copy(char* dst, const char* src, size_t dst_size)
{
    size_t i = 0;
    if (dst_size > 0) {
        for (; i + 1 < dst_size && src[i] != '\0'; ++i) dst[i] = src[i];
        dst[i] = '\0';
    }
    return i + str_len(src + i);
}

namespace {

int digit_value(char c, unsigned base)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (base == 16 && c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One parser for every width, so parse_u32 and parse_u64 cannot drift apart.
// Junk is reported before overflow: "99999999999x" is not a number at all.
// The echoed input is capped at 40 characters so the reason survives the
// 120-byte Error text.
Result<uint64_t> parse_unsigned(const char* s, uint64_t max)
{
    if (s == nullptr || *s == '\0') return make_error("empty string: not a number");
    unsigned base = 10;
    const char* digits = s;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        digits = s + 2;
        if (*digits == '\0') return make_error("%.40s: not a number (no digits after 0x)", s);
    }
    for (const char* p = digits; *p != '\0'; ++p) {
        if (digit_value(*p, base) < 0) return make_error("%.40s: not a number", s);
    }
    // Compile-time limits keep runtime 64-bit division (a libgcc call on
    // i386) out of the kernel.
    const uint64_t mul_limit = base == 16 ? UINT64_MAX / 16 : UINT64_MAX / 10;
    uint64_t value = 0;
    for (const char* p = digits; *p != '\0'; ++p) {
        uint64_t next = value * base + static_cast<unsigned>(digit_value(*p, base));
        if (value > mul_limit || next < value * base || next > max)
            return make_error("%.40s: too large (max %llu)", s, static_cast<unsigned long long>(max));
        value = next;
    }
    return value;
}

}  // namespace

Result<uint64_t> parse_u64(const char* s) { return parse_unsigned(s, UINT64_MAX); }

Result<uint32_t> parse_u32(const char* s)
{
    uint64_t value = TRY(parse_unsigned(s, UINT32_MAX));
    return static_cast<uint32_t>(value);
}

namespace {
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
}  // namespace

size_t split_words(char* line, char** words, size_t max_words)
{
    size_t count = 0;
    char* p = line;
    for (;;) {
        while (is_blank(*p)) ++p;
        if (*p == '\0') return count;
        if (count < max_words) words[count] = p;
        ++count;
        while (*p != '\0' && !is_blank(*p)) ++p;
        if (*p == '\0') return count;
        *p++ = '\0';
    }
}

bool glob_match(const char* pattern, const char* name)
{
    // Greedy with one backtrack point: on a mismatch, let the most recent
    // '*' swallow one more character and retry.  An earlier '*' never needs
    // revisiting, which keeps this O(len(pattern) * len(name)) without
    // recursion (kernel stacks are small).
    const char* star = nullptr;
    const char* star_name = nullptr;
    while (*name != '\0') {
        if (*pattern == '*') {
            star = pattern++;
            star_name = name;
        } else if (*pattern != '\0' && (*pattern == '?' || *pattern == *name)) {
            ++pattern;
            ++name;
        } else if (star != nullptr) {
            pattern = star + 1;
            name = ++star_name;
        } else {
            return false;
        }
    }
    while (*pattern == '*') ++pattern;
    return *pattern == '\0';
}

}  // namespace corral
