#include "kernel/console/console.h"

#include "arch/x86/cpu.h"
#include "arch/x86/uart.h"
#include "kernel/lib/format.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time.h"

namespace corral {
namespace {

Spinlock console_lock("console", true);   // fair: every CPU's lines get out in turn
volatile bool panic_mode = false;

void write_raw(const char* s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') arch::uart_putc('\r');
        arch::uart_putc(s[i]);
    }
}

// Tests capture what a command printed (shell tests); one capture at a time.
char* capture_buf = nullptr;
size_t capture_size = 0, capture_len = 0;

void sink(void*, const char* s, size_t n) {
    write_raw(s, n);
    for (size_t i = 0; capture_buf && i < n && capture_len + 1 < capture_size; i++) capture_buf[capture_len++] = s[i];
    if (capture_buf) capture_buf[capture_len] = 0;
}

}  // namespace

void console_init() { arch::uart_init(); }

void console_enter_panic_mode() {
    panic_mode = true;
    capture_buf = nullptr;
}

void console_capture_begin(char* buf, size_t size) {
    SpinlockGuard guard(console_lock);
    capture_buf = buf;
    capture_size = size;
    capture_len = 0;
    if (size) buf[0] = 0;
}

size_t console_capture_end() {
    SpinlockGuard guard(console_lock);
    capture_buf = nullptr;
    return capture_len;
}

int vkprintf(const char* fmt, va_list ap) {
    if (panic_mode) return vformat_to(sink, nullptr, fmt, ap);
    SpinlockGuard guard(console_lock);
    return vformat_to(sink, nullptr, fmt, ap);
}

int kprintf(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vkprintf(fmt, ap);
    va_end(ap);
    return n;
}

void kputs(const char* s) { kprintf("%s", s); }

bool console_loopback_feed(const char* bytes, size_t n) {
    constexpr size_t CHUNK = 8;   // well under the UART's 16-byte receive FIFO
    for (size_t done = 0; done < n;) {
        const size_t k = n - done < CHUNK ? n - done : CHUNK;
        const uint32_t before = console_input_received();
        {
            SpinlockGuard guard(console_lock);   // nobody prints into our input meanwhile
            arch::uart_set_loopback(true);
            for (size_t i = 0; i < k; i++) arch::uart_putc(bytes[done + i]);
            arch::uart_wait_transmitted();
            arch::uart_set_loopback(false);
        }
        const uint64_t deadline = now_us() + 10000000;
        while (console_input_received() - before < k)
            if (now_us() > deadline) return false;
            else arch::cpu_relax();
        done += k;
    }
    return true;
}

}  // namespace corral
