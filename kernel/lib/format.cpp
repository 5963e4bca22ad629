// The one printf-style formatter (see format.h).  Everything funnels through
// vformat_to so the console, snprintf-style buffers and error texts can never
// disagree about how a conversion looks.
#include "kernel/lib/format.h"

#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {
namespace {

enum class Length { none, hh, h, l, ll, z };

struct Spec {
    bool left = false;    // '-'
    bool zero = false;    // '0'
    bool plus = false;    // '+'
    bool space = false;   // ' '
    bool alt = false;     // '#'
    int width = 0;
    int precision = -1;   // -1: none given
    Length length = Length::none;
    char conv = 0;        // 0: the format ended inside the conversion
};

// Wraps the sink and counts, because snprintf semantics need the length the
// output *would* have had even when the buffer behind the sink is full.
class Emitter {
public:
    Emitter(FormatSink sink, void* ctx) : sink_(sink), ctx_(ctx) {}

    void put(const char* s, size_t n)
    {
        if (n == 0) return;
        sink_(ctx_, s, n);
        count_ += n;
    }

    // Padding goes out in chunks rather than one sink call per character:
    // the console sink takes a lock per call.
    void pad(char c, int n)
    {
        char chunk[16];
        for (char& slot : chunk) slot = c;
        while (n > 0) {
            int piece = n < 16 ? n : 16;
            put(chunk, static_cast<size_t>(piece));
            n -= piece;
        }
    }

    size_t count() const { return count_; }

private:
    FormatSink sink_;
    void* ctx_;
    size_t count_ = 0;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads a decimal number or '*' (taking an int argument).
const char* parse_count(const char* p, int& out, va_list* args, bool& from_star)
{
    from_star = false;
    if (*p == '*') {
        out = va_arg(*args, int);
        from_star = true;
        return p + 1;
    }
    out = 0;
    while (is_digit(*p)) out = out * 10 + (*p++ - '0');
    return p;
}

const char* parse_length(const char* p, Length& length)
{
    if (p[0] == 'h' && p[1] == 'h') { length = Length::hh; return p + 2; }
    if (p[0] == 'l' && p[1] == 'l') { length = Length::ll; return p + 2; }
    if (*p == 'h') { length = Length::h; return p + 1; }
    if (*p == 'l') { length = Length::l; return p + 1; }
    if (*p == 'z') { length = Length::z; return p + 1; }
    return p;
}

// Parses flags, width, precision, length and the conversion character that
// follow a '%'.  Returns the position after the spec; never steps past the
// terminating NUL.
const char* parse_spec(const char* p, Spec& spec, va_list* args)
{
    for (;; ++p) {
        if (*p == '-') spec.left = true;
        else if (*p == '0') spec.zero = true;
        else if (*p == '+') spec.plus = true;
        else if (*p == ' ') spec.space = true;
        else if (*p == '#') spec.alt = true;
        else break;
    }
    bool star = false;
    p = parse_count(p, spec.width, args, star);
    if (spec.width < 0) {  // C: a negative '*' width means '-' flag
        spec.left = true;
        spec.width = -spec.width;
    }
    if (*p == '.') {
        p = parse_count(p + 1, spec.precision, args, star);
        if (spec.precision < 0) spec.precision = -1;  // C: negative means "none"
    }
    p = parse_length(p, spec.length);
    if (*p == '\0') return p;
    spec.conv = *p;
    return p + 1;
}

// Default argument promotions turn char/short into int, so hh/h read an int
// and narrow it again.
unsigned long long fetch_unsigned(const Spec& spec, va_list* args)
{
    switch (spec.length) {
    case Length::hh: return static_cast<unsigned char>(va_arg(*args, unsigned int));
    case Length::h: return static_cast<unsigned short>(va_arg(*args, unsigned int));
    case Length::l: return va_arg(*args, unsigned long);
    case Length::ll: return va_arg(*args, unsigned long long);
    case Length::z: return va_arg(*args, size_t);
    case Length::none: break;
    }
    return va_arg(*args, unsigned int);
}

long long fetch_signed(const Spec& spec, va_list* args)
{
    switch (spec.length) {
    case Length::hh: return static_cast<signed char>(va_arg(*args, int));
    case Length::h: return static_cast<short>(va_arg(*args, int));
    case Length::l: return va_arg(*args, long);
    case Length::ll: return va_arg(*args, long long);
    case Length::z: return va_arg(*args, ptrdiff_t);  // the signed twin of size_t
    case Length::none: break;
    }
    return va_arg(*args, int);
}

// Divides v by 10 in place and returns the remainder, using only 32-bit
// divisions: a plain 64-bit '/' on i386 becomes a call to libgcc's
// __udivdi3, and this file must link into a kernel without it.
unsigned divmod10(unsigned long long& v)
{
    uint32_t hi = static_cast<uint32_t>(v >> 32);
    uint32_t lo = static_cast<uint32_t>(v);
    uint32_t q_hi = hi / 10;
    uint32_t rem = hi % 10;
    // Long division by 16-bit digits: rem < 10, so (rem << 16 | digit) fits
    // easily and each partial quotient is < 65536.
    uint32_t mid = (rem << 16) | (lo >> 16);
    uint32_t q_mid = mid / 10;
    rem = mid % 10;
    uint32_t low = (rem << 16) | (lo & 0xFFFF);
    uint32_t q_low = low / 10;
    rem = low % 10;
    v = (static_cast<unsigned long long>(q_hi) << 32) | (q_mid << 16) | q_low;
    return rem;
}

// Writes the digits of `magnitude` right-aligned into buf; returns the index
// of the first digit.
int render_digits(char (&buf)[24], unsigned long long magnitude, unsigned base, bool upper)
{
    const char* set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int pos = 24;
    do {
        if (base == 16) {
            buf[--pos] = set[magnitude & 15];
            magnitude >>= 4;
        } else {
            buf[--pos] = set[divmod10(magnitude)];
        }
    } while (magnitude != 0);
    return pos;
}

struct Number {
    unsigned long long magnitude;
    bool negative;
    unsigned base;
    bool upper;
    bool hex_prefix;  // "0x" / "0X" before the digits
};

// Layout, as C specifies it: [spaces][sign][0x][precision zeros][digits]
// [spaces for '-'], where the '0' flag turns the leading spaces into zeros
// unless a precision was given.
void emit_number(Emitter& out, const Spec& spec, const Number& num)
{
    char digits[24];
    int first = 24;
    // C: precision 0 and value 0 print no digits at all.
    if (!(num.magnitude == 0 && spec.precision == 0))
        first = render_digits(digits, num.magnitude, num.base, num.upper);
    int n_digits = 24 - first;

    char prefix[3];
    int n_prefix = 0;
    if (num.negative) prefix[n_prefix++] = '-';
    else if (spec.plus) prefix[n_prefix++] = '+';
    else if (spec.space) prefix[n_prefix++] = ' ';
    if (num.hex_prefix) {
        prefix[n_prefix++] = '0';
        prefix[n_prefix++] = num.upper ? 'X' : 'x';
    }

    int zeros = spec.precision > n_digits ? spec.precision - n_digits : 0;
    int body = n_prefix + zeros + n_digits;
    int padding = spec.width > body ? spec.width - body : 0;
    if (!spec.left && spec.zero && spec.precision < 0) {
        zeros += padding;
        padding = 0;
    }
    if (!spec.left) out.pad(' ', padding);
    out.put(prefix, static_cast<size_t>(n_prefix));
    out.pad('0', zeros);
    out.put(digits + first, static_cast<size_t>(n_digits));
    if (spec.left) out.pad(' ', padding);
}

void emit_padded(Emitter& out, const Spec& spec, const char* s, size_t n)
{
    int padding = spec.width > static_cast<int>(n) ? spec.width - static_cast<int>(n) : 0;
    if (!spec.left) out.pad(' ', padding);
    out.put(s, n);
    if (spec.left) out.pad(' ', padding);
}

void emit_string(Emitter& out, const Spec& spec, const char* s)
{
    if (s == nullptr) s = "(null)";
    // Bounded by the precision: %.*s is used on buffers that are not
    // NUL-terminated, so never read past the precision.
    size_t n = 0;
    while ((spec.precision < 0 || n < static_cast<size_t>(spec.precision)) && s[n] != '\0') ++n;
    emit_padded(out, spec, s, n);
}

// Performs one conversion; returns false for an unknown conversion so the
// caller can print the spec literally.
bool convert(Emitter& out, const Spec& spec, va_list* args)
{
    switch (spec.conv) {
    case 'd':
    case 'i': {
        long long v = fetch_signed(spec, args);
        // 0 - (unsigned)v is the magnitude even for LLONG_MIN, where -v overflows.
        unsigned long long mag = v < 0 ? 0ull - static_cast<unsigned long long>(v)
                                       : static_cast<unsigned long long>(v);
        emit_number(out, spec, {mag, v < 0, 10, false, false});
        return true;
    }
    case 'u':
        emit_number(out, spec, {fetch_unsigned(spec, args), false, 10, false, false});
        return true;
    case 'x':
    case 'X': {
        unsigned long long v = fetch_unsigned(spec, args);
        bool upper = spec.conv == 'X';
        emit_number(out, spec, {v, false, 16, upper, spec.alt && v != 0});
        return true;
    }
    case 'p': {
        // Fixed width (8 or 16 digits) so addresses line up in backtraces.
        Spec fixed = spec;
        fixed.precision = static_cast<int>(sizeof(void*) * 2);
        fixed.plus = fixed.space = false;
        uintptr_t v = reinterpret_cast<uintptr_t>(va_arg(*args, void*));
        emit_number(out, fixed, {v, false, 16, false, true});
        return true;
    }
    case 's':
        emit_string(out, spec, va_arg(*args, const char*));
        return true;
    case 'c': {
        char c = static_cast<char>(va_arg(*args, int));
        emit_padded(out, spec, &c, 1);
        return true;
    }
    case '%':
        out.put("%", 1);
        return true;
    default:
        return false;
    }
}

// Collects output into a caller's buffer, silently dropping what does not
// fit (the caller learns about it from the returned length).
struct BufferSink {
    char* buf;
    size_t size;
    size_t used;
};

void buffer_sink(void* ctx, const char* s, size_t n)
{
    auto* b = static_cast<BufferSink*>(ctx);
    for (size_t i = 0; i < n && b->used + 1 < b->size; ++i) b->buf[b->used++] = s[i];
}

}  // namespace

int vformat_to(FormatSink sink, void* ctx, const char* fmt, va_list ap)
{
    Emitter out(sink, ctx);
    // A private copy: helpers take va_list*, and on x86-64 a va_list
    // parameter has decayed to a pointer, so &ap would have the wrong type.
    va_list args;
    va_copy(args, ap);
    const char* p = fmt != nullptr ? fmt : "(null format)";
    while (*p != '\0') {
        if (*p != '%') {
            const char* start = p;
            while (*p != '\0' && *p != '%') ++p;
            out.put(start, static_cast<size_t>(p - start));
            continue;
        }
        const char* spec_start = p;
        Spec spec;
        p = parse_spec(p + 1, spec, &args);
        if (!convert(out, spec, &args)) out.put(spec_start, static_cast<size_t>(p - spec_start));
    }
    va_end(args);
    return static_cast<int>(out.count());
}

int vformat(char* buf, size_t size, const char* fmt, va_list ap)
{
    BufferSink sink{buf, size, 0};
    int length = vformat_to(buffer_sink, &sink, fmt, ap);
    if (size > 0) buf[sink.used] = '\0';
    return length;
}

int format(char* buf, size_t size, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int length = vformat(buf, size, fmt, ap);
    va_end(ap);
    return length;
}

Error make_error(const char* fmt, ...)
{
    Error error{};
    va_list ap;
    va_start(ap, fmt);
    vformat(error.text, sizeof(error.text), fmt, ap);
    va_end(ap);
    return error;
}

}  // namespace corral
