// Interrupt controllers: the legacy 8259 PIC and PIT (until the LAPIC and
// IOAPIC take over), and the end-of-interrupt hook the trap path calls.
#pragma once
#include <stdint.h>

namespace corral::arch {

void pic_init();                     // remap IRQ 0-15 to vectors 32-47, all masked
void pic_unmask(int irq);
void pic_disable();                  // mask everything (when the IOAPIC takes over)
void pit_init(uint32_t hz);          // IRQ 0 at `hz`
uint64_t pit_measure_tsc_hz();       // TSC rate, measured over 10 ms of PIT channel 2

// Acknowledge an interrupt at `vector` to whichever controller delivered it.
void irq_end_of_interrupt(uint32_t vector);
// The LAPIC code installs its EOI here once it is in charge.
void set_lapic_eoi(void (*eoi)());

}  // namespace corral::arch
