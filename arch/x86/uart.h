// 16550 UART on COM1: the serial console (output polled, input by IRQ 4).
#pragma once
#include <stdint.h>

namespace corral::arch {

constexpr int COM1_IRQ = 4;

void uart_init();                       // 115200 8N1, FIFOs on
void uart_putc(char c);                 // waits for the transmit holding register
// A received byte, if any; *overrun is set when the UART lost bytes before it
// (its receive FIFO overflowed).
bool uart_try_getc(char* c, bool* overrun);
void uart_enable_rx_interrupt();
// Loopback: what is transmitted is received instead of sent (16550 MCR bit 4).
// Tests feed the receive path with it.
void uart_set_loopback(bool on);
void uart_wait_transmitted();           // the transmitter is empty

}  // namespace corral::arch
