#include "kernel/lib/base64.h"

namespace corral {
namespace {

int value_of(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

}  // namespace

int base64_decode(const char* text, size_t length, uint8_t* out, size_t capacity) {
    if (length % 4 != 0) return -1;
    size_t written = 0;
    for (size_t i = 0; i < length; i += 4) {
        const bool last = i + 4 == length;
        const int pad = (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=');
        if (pad && !last) return -1;
        int v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = k >= 4 - pad ? 0 : value_of(text[i + k]);
            if (v[k] < 0) return -1;
        }
        const uint32_t word = uint32_t(v[0]) << 18 | uint32_t(v[1]) << 12 | uint32_t(v[2]) << 6 | uint32_t(v[3]);
        const int bytes = 3 - pad;
        if (written + size_t(bytes) > capacity) return -2;
        for (int k = 0; k < bytes; k++) out[written++] = uint8_t(word >> (16 - 8 * k));
    }
    return int(written);
}

}  // namespace corral
