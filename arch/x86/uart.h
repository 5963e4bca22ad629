// 16550 UART on COM1: the serial console (output polled, input by IRQ 4).
#pragma once
#include <stdint.h>

namespace corral::arch {

constexpr int COM1_IRQ = 4;

void uart_init();                       // 115200 8N1, FIFOs on
void uart_putc(char c);                 // waits for the transmit holding register
bool uart_try_getc(char* c);            // a received byte, if any
void uart_enable_rx_interrupt();

}  // namespace corral::arch
