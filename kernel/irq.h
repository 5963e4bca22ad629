// Device interrupts by IRQ line, independent of which controller (8259 PIC
// now, IOAPIC once SMP is up) delivers them.
#pragma once
#include "arch/x86/trap.h"

namespace corral {

void irq_init();                                   // PIC + PIT tick
void irq_register(int irq, arch::TrapHandler handler);
// From now on IRQs go through the IOAPIC: `route` programs one ISA IRQ.
void irq_use_ioapic(void (*route)(int irq));
// Sleep until the next interrupt on this CPU (sti; hlt, without the race).
void irq_wait_for_interrupt();
uint64_t timer_ticks();                            // ticks on CPU 0

}  // namespace corral
