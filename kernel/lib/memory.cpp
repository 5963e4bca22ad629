// The four C functions GCC may emit calls to even in freestanding code.
// The attribute stops GCC from turning these very loops back into calls to
// themselves.
#include <stddef.h>
#include <stdint.h>

#define NO_LOOP_PATTERNS __attribute__((optimize("no-tree-loop-distribute-patterns")))

extern "C" {

NO_LOOP_PATTERNS void* memcpy(void* dst, const void* src, size_t n) {
    auto* d = static_cast<uint8_t*>(dst);
    auto* s = static_cast<const uint8_t*>(src);
    for (size_t i = 0; i < n; i++) d[i] = s[i];
    return dst;
}

NO_LOOP_PATTERNS void* memmove(void* dst, const void* src, size_t n) {
    auto* d = static_cast<uint8_t*>(dst);
    auto* s = static_cast<const uint8_t*>(src);
    if (d < s) {
        for (size_t i = 0; i < n; i++) d[i] = s[i];
    } else {
        for (size_t i = n; i-- > 0;) d[i] = s[i];
    }
    return dst;
}

NO_LOOP_PATTERNS void* memset(void* dst, int value, size_t n) {
    auto* d = static_cast<uint8_t*>(dst);
    for (size_t i = 0; i < n; i++) d[i] = uint8_t(value);
    return dst;
}

NO_LOOP_PATTERNS int memcmp(const void* a, const void* b, size_t n) {
    auto* x = static_cast<const uint8_t*>(a);
    auto* y = static_cast<const uint8_t*>(b);
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

}
