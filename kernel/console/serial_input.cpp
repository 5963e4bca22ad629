// Serial input: the UART interrupt moves received bytes into a ring buffer,
// so typing never depends on someone polling at the right moment.
#include "arch/x86/cpu.h"
#include "arch/x86/trap.h"
#include "arch/x86/uart.h"
#include "kernel/config.h"
#include "kernel/console/console.h"
#include "kernel/irq.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/sync/spinlock.h"

namespace corral {
namespace {

Spinlock input_lock("serial-input");
WaitQueue readers;
char ring[config::SERIAL_INPUT_BUFFER];
volatile size_t head = 0, tail = 0;   // head: next write, tail: next read

bool uart_interrupt(arch::TrapFrame*) {
    SpinlockGuard guard(input_lock);
    char c;
    while (arch::uart_try_getc(&c)) {
        size_t next = (head + 1) % config::SERIAL_INPUT_BUFFER;
        if (next == tail) continue;   // full: drop the byte rather than block the IRQ
        ring[head] = c;
        head = next;
    }
    readers.wake_all();
    return true;
}

}  // namespace

void console_input_init() {
    irq_register(arch::COM1_IRQ, uart_interrupt);
    arch::uart_enable_rx_interrupt();
}

// Blocks the calling thread (not the CPU) until a byte arrives.
char console_getc() {
    SpinlockGuard guard(input_lock);
    while (head == tail) readers.wait(&input_lock);
    char c = ring[tail];
    tail = (tail + 1) % config::SERIAL_INPUT_BUFFER;
    return c;
}

}  // namespace corral
