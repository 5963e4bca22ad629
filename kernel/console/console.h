// The console: everything Corral prints goes to COM1 through kprintf.
#pragma once
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

namespace corral {

void console_init();
// One call prints atomically with respect to other CPUs (one lock).
int kprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
int vkprintf(const char* fmt, va_list ap);
void kputs(const char* s);   // no newline added
// Used by panic: bypasses the console lock, which the panicking CPU (or a
// dead one) may hold.
void console_enter_panic_mode();

// Tests: also copy everything printed into `buf` until capture_end.
void console_capture_begin(char* buf, size_t size);
size_t console_capture_end();

// Serial input: the UART IRQ fills a ring buffer; readers take from it.
// Where bytes were lost (the buffer was full, or the UART overran), the
// reader gets CONSOLE_OVERFLOW once, before the next byte that was kept.
constexpr int CONSOLE_OVERFLOW = -1;
void console_input_init();
int console_getc();                 // a byte (0..255) or CONSOLE_OVERFLOW; waits for one
// The same, giving up after `ms` milliseconds without a byte (0: never).
constexpr int CONSOLE_TIMEOUT = -2;
int console_getc_timeout(uint32_t ms);
size_t console_input_pending();     // entries waiting to be read
uint32_t console_input_received();  // bytes the UART has delivered since boot
// Tests: sends `bytes` to our own receive path through the UART's loopback,
// a few at a time under the console lock (nothing printed meanwhile can get
// mixed in), waiting after each few until the UART interrupt took them.
// False if they did not arrive.
bool console_loopback_feed(const char* bytes, size_t n);

}  // namespace corral
