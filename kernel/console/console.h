// The console: everything Corral prints goes to COM1 through kprintf.
#pragma once
#include <stdarg.h>
#include <stddef.h>

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
void console_input_init();
char console_getc();   // waits (halting between interrupts)

}  // namespace corral
