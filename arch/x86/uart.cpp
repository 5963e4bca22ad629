#include "arch/x86/uart.h"

#include "arch/x86/cpu.h"

namespace corral::arch {
namespace {
constexpr uint16_t COM1 = 0x3f8;
constexpr uint16_t DATA = 0, IER = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5;
constexpr uint8_t LSR_DATA_READY = 0x01, LSR_OVERRUN = 0x02, LSR_THR_EMPTY = 0x20, LSR_TX_EMPTY = 0x40;
constexpr uint8_t MCR_NORMAL = 0x0b, MCR_LOOPBACK = 0x10;
}  // namespace

void uart_init() {
    outb(COM1 + IER, 0x00);       // no interrupts yet
    outb(COM1 + LCR, 0x80);       // DLAB on: set the divisor
    outb(COM1 + DATA, 0x01);      // 115200 baud (divisor 1)
    outb(COM1 + IER, 0x00);
    outb(COM1 + LCR, 0x03);       // 8 bits, no parity, one stop bit
    outb(COM1 + FCR, 0xc7);       // FIFOs on and cleared, 14-byte threshold
    outb(COM1 + MCR, MCR_NORMAL); // DTR, RTS, OUT2 (OUT2 gates the IRQ line)
}

void uart_putc(char c) {
    for (int spins = 0; !(inb(COM1 + LSR) & LSR_THR_EMPTY) && spins < 100000; spins++) cpu_relax();
    outb(COM1 + DATA, uint8_t(c));
}

bool uart_try_getc(char* c, bool* overrun) {
    const uint8_t lsr = inb(COM1 + LSR);   // reading LSR clears its overrun bit
    if (lsr & LSR_OVERRUN) *overrun = true;
    if (!(lsr & LSR_DATA_READY)) return false;
    *c = char(inb(COM1 + DATA));
    return true;
}

void uart_enable_rx_interrupt() { outb(COM1 + IER, 0x01); }

void uart_set_loopback(bool on) { outb(COM1 + MCR, on ? MCR_NORMAL | MCR_LOOPBACK : MCR_NORMAL); }

void uart_wait_transmitted() {
    for (int spins = 0; !(inb(COM1 + LSR) & LSR_TX_EMPTY) && spins < 100000; spins++) cpu_relax();
}

}  // namespace corral::arch
