#include "kernel/irq.h"

#include "arch/x86/cpu.h"
#include "arch/x86/interrupts.h"
#include "kernel/config.h"
#include "kernel/cpu.h"

namespace corral {
namespace {

bool pit_tick(arch::TrapFrame*) {
    Cpu* c = this_cpu();
    c->ticks = c->ticks + 1;
    return true;
}

}  // namespace

void irq_init() {
    arch::pic_init();
    arch::pit_init(config::PIT_HZ);
    irq_register(0, pit_tick);
}

void irq_register(int irq, arch::TrapHandler handler) {
    arch::register_trap_handler(arch::VECTOR_IRQ_BASE + irq, handler);
    arch::pic_unmask(irq);
}

void irq_wait_for_interrupt() {
    arch::sti_hlt();
}

uint64_t timer_ticks() { return cpus[0].ticks; }
uint32_t timer_hz() { return config::PIT_HZ; }

}  // namespace corral
