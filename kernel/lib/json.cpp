#include "kernel/lib/json.h"

#include "kernel/lib/format.h"

namespace corral {
namespace {

constexpr int MAX_DEPTH = 16;

struct Parser {
    const char* p;
    const char* start;
    const char* error = nullptr;

    void skip_space() {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    }
    bool fail(const char* what) {
        if (!error) error = what;
        return false;
    }
    bool literal(const char* word) {
        for (const char* w = word; *w; w++, p++)
            if (*p != *w) return fail("bad literal");
        return true;
    }
    static bool digit(char c) { return c >= '0' && c <= '9'; }
    static bool hex(char c) { return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
    bool number() {
        if (*p == '-') p++;
        if (*p == '0') p++;
        else if (digit(*p))
            while (digit(*p)) p++;
        else
            return fail("bad number");
        if (*p == '.') {
            p++;
            if (!digit(*p)) return fail("no digit after '.'");
            while (digit(*p)) p++;
        }
        if (*p == 'e' || *p == 'E') {
            p++;
            if (*p == '+' || *p == '-') p++;
            if (!digit(*p)) return fail("bad exponent");
            while (digit(*p)) p++;
        }
        return true;
    }
    bool string() {
        p++;   // the opening quote
        while (*p != '"') {
            if (*p == '\0') return fail("unterminated string");
            if (uint8_t(*p) < 0x20) return fail("control character in a string");
            if (*p == '\\') {
                p++;
                if (*p == 'u') {
                    for (int i = 1; i <= 4; i++)
                        if (!hex(p[i])) return fail("bad \\u escape");
                    p += 4;
                } else if (*p != '"' && *p != '\\' && *p != '/' && *p != 'b' && *p != 'f' && *p != 'n' &&
                           *p != 'r' && *p != 't') {
                    return fail("bad escape");
                }
            }
            p++;
        }
        p++;
        return true;
    }
    bool value(int depth) {
        if (depth > MAX_DEPTH) return fail("nested too deep");
        skip_space();
        switch (*p) {
            case '{': return container(depth, '}', true);
            case '[': return container(depth, ']', false);
            case '"': return string();
            case 't': return literal("true");
            case 'f': return literal("false");
            case 'n': return literal("null");
            default: return number();
        }
    }
    bool container(int depth, char close, bool object) {
        p++;
        skip_space();
        if (*p == close) {
            p++;
            return true;
        }
        for (;;) {
            if (object) {
                skip_space();
                if (*p != '"') return fail("expected a key");
                if (!string()) return false;
                skip_space();
                if (*p != ':') return fail("expected ':'");
                p++;
            }
            if (!value(depth + 1)) return false;
            skip_space();
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == close) {
                p++;
                return true;
            }
            return fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
};

}  // namespace

bool json_valid(const char* text, char* why, size_t why_size) {
    Parser ps{text, text};
    bool ok = ps.value(0);
    if (ok) {
        ps.skip_space();
        if (*ps.p != '\0') ok = ps.fail("text after the value");
    }
    if (!ok && why && why_size) format(why, why_size, "%s at offset %d", ps.error, int(ps.p - ps.start));
    return ok;
}

bool json_number_milli(const char* text, const char* key, int64_t* out) {
    if (!json_valid(text) || *text != '{') return false;
    // Walk the top-level members: a key at depth 1 followed by ':'.
    Parser ps{text + 1, text};
    for (;;) {
        ps.skip_space();
        if (*ps.p != '"') return false;
        const char* k = ps.p + 1;
        ps.string();
        const char* k_end = ps.p - 1;
        ps.skip_space();
        ps.p++;   // ':'
        ps.skip_space();
        const char* v = ps.p;
        ps.value(1);
        size_t n = 0;
        while (key[n] && k + n < k_end && key[n] == k[n]) n++;
        if (!key[n] && k + n == k_end) {
            bool negative = *v == '-';
            if (negative) v++;
            if (!Parser::digit(*v)) return false;
            int64_t whole = 0, frac = 0;
            while (Parser::digit(*v)) whole = whole * 10 + (*v++ - '0');
            int decimals = 0;
            if (*v == '.')
                for (v++; Parser::digit(*v); v++)
                    if (decimals < 3) frac = frac * 10 + (*v - '0'), decimals++;
            for (; decimals < 3; decimals++) frac *= 10;
            *out = (negative ? -1 : 1) * (whole * 1000 + frac);
            return true;
        }
        ps.skip_space();
        if (*ps.p != ',') return false;
        ps.p++;
    }
}

}  // namespace corral
