#include "kernel/irq.h"

#include "arch/x86/cpu.h"
#include "arch/x86/interrupts.h"
#include "kernel/config.h"
#include "kernel/cpu.h"
#include "kernel/sched/scheduler.h"

namespace corral {
namespace {

uint32_t registered_irqs = 0;
void (*ioapic_route)(int irq) = nullptr;

// Until the LAPIC timers run, the PIT drives the scheduler's tick.
bool pit_tick(arch::TrapFrame*) {
    sched_timer_tick();
    return true;
}

void unmask(int irq) {
    if (ioapic_route) ioapic_route(irq);
    else arch::pic_unmask(irq);
}

}  // namespace

void irq_init() {
    arch::pic_init();
    arch::pit_init(config::PIT_HZ);
    irq_register(0, pit_tick);
}

void irq_register(int irq, arch::TrapHandler handler) {
    arch::register_trap_handler(arch::VECTOR_IRQ_BASE + irq, handler);
    registered_irqs |= 1u << irq;
    unmask(irq);
}

void irq_use_ioapic(void (*route)(int irq)) {
    ioapic_route = route;
    // IRQ 0 (the PIT) stays off: each CPU's LAPIC timer ticks instead.
    for (int irq = 1; irq < 16; irq++)
        if (registered_irqs & (1u << irq)) route(irq);
}

void irq_wait_for_interrupt() { arch::sti_hlt(); }

uint64_t timer_ticks() { return cpus[0].ticks; }

}  // namespace corral
