// printf-style formatting without libc, shared by the kernel and the host tests.
//
// One formatter (vformat_to) writes through a sink callback; the console uses
// it to stream straight to the UART, and vformat/format/make_error are thin
// wrappers that collect into a buffer with snprintf semantics.
//
// Supported: %d %i %u %x %X %p %s %c %%, flags '-' '0' '+' ' ' '#', width
// (number or '*'), precision (number or '.*'; minimum digits for integers,
// maximum characters for %s), length modifiers hh h l ll z.  An unknown
// conversion is printed literally ("%q" prints "%q") so a typo is visible
// on the console instead of silently eating an argument.
#pragma once
#include <stdarg.h>
#include <stddef.h>

namespace corral {

// Receives each piece of formatted output, in order.  `s` is not
// NUL-terminated and `n` is never 0.
using FormatSink = void (*)(void* ctx, const char* s, size_t n);

// Formats to `sink`; returns the number of characters produced.
int vformat_to(FormatSink sink, void* ctx, const char* fmt, va_list ap);

// snprintf semantics: writes at most size-1 characters plus a NUL (when
// size > 0; buf may be nullptr when size == 0) and returns the length the
// full output would have had, so `ret >= size` means "truncated".
int vformat(char* buf, size_t size, const char* fmt, va_list ap);
int format(char* buf, size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

}  // namespace corral
