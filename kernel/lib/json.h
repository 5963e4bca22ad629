// A small JSON checker for the kernel's own output (`BENCH {json}` lines):
// is a text exactly one well-formed JSON value, and what number does an
// object hold at a top-level key.  No allocation; built for the host too.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace corral {

// True when `text` is one JSON value (RFC 8259) with nothing after it but
// spaces.  On false, `why` says where it went wrong.
bool json_valid(const char* text, char* why = nullptr, size_t why_size = 0);

// The number at top-level key `key` of the object `text`, in thousandths
// (12.345 -> 12345; at most 3 decimals are kept).  False if absent or not a number.
bool json_number_milli(const char* text, const char* key, int64_t* out);

}  // namespace corral
