// Small string helpers for a kernel without libc (also built for host tests).
// Names are prefixed (str_*) so they never collide with the libc functions
// the host test binary links against.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {

size_t str_len(const char* s);
bool str_eq(const char* a, const char* b);
bool str_starts_with(const char* s, const char* prefix);
// Whether `needle` occurs anywhere in `hay` (an empty needle always does).
bool str_contains(const char* hay, const char* needle);
// strcmp ordering (<0, 0, >0), comparing bytes as unsigned.
int str_cmp(const char* a, const char* b);
// strlcpy: copies at most dst_size-1 characters, always NUL-terminates when
// dst_size > 0, and returns str_len(src) so `ret >= dst_size` means truncated.
size_t str_copy(char* dst, const char* src, size_t dst_size);

// Decimal ("4096") or hex with a 0x/0X prefix ("0x1000").  Rejects an empty
// string, signs, spaces, trailing junk and overflow; the error text names
// the input, e.g. "12x: not a number" or "4294967296: too large (max 4294967295)".
Result<uint32_t> parse_u32(const char* s);
Result<uint64_t> parse_u64(const char* s);

// Splits `line` in place on spaces and tabs (also CR/LF, so a raw serial
// line works), writing a NUL after each word.  Stores at most max_words
// pointers but returns how many words there are, so `ret > max_words`
// means "too many words" and the caller can say so instead of dropping some.
size_t split_words(char* line, char** words, size_t max_words);

// Shell-style glob over the whole name: '*' matches any run of characters
// (also empty), '?' exactly one character; everything else matches itself.
bool glob_match(const char* pattern, const char* name);

}  // namespace corral
