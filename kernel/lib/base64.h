// Base64 (RFC 4648, the standard alphabet with '=' padding), decoding only:
// `patch load` receives patch modules over the serial line as base64 lines.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace corral {

// Decodes one line (length a multiple of 4, padding only at its end) into
// `out` (room for `capacity` bytes).  Returns the bytes written, or -1 for
// anything that is not base64, or -2 when it would not fit.
int base64_decode(const char* text, size_t length, uint8_t* out, size_t capacity);

}  // namespace corral
