// Serial input: the UART interrupt moves received bytes into a ring buffer,
// so typing never depends on someone polling at the right moment.
#include "arch/x86/cpu.h"
#include "arch/x86/trap.h"
#include "arch/x86/uart.h"
#include "kernel/config.h"
#include "kernel/console/console.h"
#include "kernel/irq.h"
#include "kernel/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/time.h"
#include "kernel/sync/spinlock.h"

namespace corral {
namespace {

Spinlock input_lock("serial-input");
WaitQueue readers;
// Received bytes, and CONSOLE_OVERFLOW where bytes were lost: the reader
// then drops the line it is in and everything up to the next line end, so a
// damaged line never runs as a different command (two pasted lines merged,
// or a line missing its middle).
constexpr size_t SIZE = config::SERIAL_INPUT_BUFFER;
int16_t ring[SIZE];
volatile size_t head = 0, tail = 0;   // head: next write, tail: next read
bool mark_owed = false;               // bytes were lost since the last stored one
volatile uint32_t received = 0;       // bytes the UART delivered (tests)

size_t free_slots() { return SIZE - 1 - (head + SIZE - tail) % SIZE; }

void put(int16_t v) {
    ring[head] = v;
    head = (head + 1) % SIZE;
}

// Under input_lock.  A byte that does not fit is dropped (never block the
// IRQ), and the next one stored is preceded by the mark.
void receive(char c, bool lost_before) {
    ASSERT_HOLDING(input_lock);
    received = received + 1;
    mark_owed |= lost_before;
    if (free_slots() < (mark_owed ? 2u : 1u)) {
        mark_owed = true;
        return;
    }
    if (mark_owed) put(CONSOLE_OVERFLOW);
    mark_owed = false;
    put(int16_t(uint8_t(c)));
}

// A reader with a deadline is woken by CPU 0's tick as well, to look at the time.
volatile int timed_readers = 0;
void wake_timed_readers() {
    if (timed_readers && cpu_index() == 0) readers.wake_all();
}

bool uart_interrupt(arch::TrapFrame*) {
    SpinlockGuard guard(input_lock);
    char c;
    bool overrun = false;
    while (arch::uart_try_getc(&c, &overrun)) {
        receive(c, overrun);
        overrun = false;
    }
    readers.wake_all();
    return true;
}

}  // namespace

void console_input_init() {
    sched_add_tick_hook(wake_timed_readers);
    irq_register(arch::COM1_IRQ, uart_interrupt);
    arch::uart_enable_rx_interrupt();
}

// Blocks the calling thread (not the CPU) until a byte (or the mark) arrives.
int console_getc() { return console_getc_timeout(0); }

int console_getc_timeout(uint32_t ms) {
    SpinlockGuard guard(input_lock);
    const uint64_t end = ms ? now_us() + uint64_t(ms) * 1000 : 0;
    while (head == tail && !mark_owed) {
        if (end && now_us() >= end) return CONSOLE_TIMEOUT;
        if (end) __atomic_add_fetch(&timed_readers, 1, __ATOMIC_ACQ_REL);
        readers.wait(&input_lock);
        if (end) __atomic_sub_fetch(&timed_readers, 1, __ATOMIC_ACQ_REL);
    }
    if (head == tail) {   // bytes were lost after the last one kept: the mark comes now
        mark_owed = false;
        return CONSOLE_OVERFLOW;
    }
    const int c = ring[tail];
    tail = (tail + 1) % SIZE;
    return c;
}

size_t console_input_pending() {
    SpinlockGuard guard(input_lock);
    return (head + SIZE - tail) % SIZE + (mark_owed ? 1 : 0);
}

uint32_t console_input_received() { return received; }

}  // namespace corral
