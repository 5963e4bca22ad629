#include "kernel/cpu.h"

#include "arch/x86/cpu.h"
#include "arch/x86/sections.h"
#include "kernel/panic.h"

namespace corral {

Cpu cpus[config::MAX_CPUS];
static int online_cpus = 1;

int cpu_count() { return online_cpus; }
void cpu_set_count(int n) { online_cpus = n; }

NOT_PATCHABLE void push_cli() {
    bool was_enabled = arch::interrupts_enabled();
    arch::cli();
    Cpu* c = this_cpu();
    if (c->cli_depth == 0) c->irqs_were_enabled = was_enabled;
    c->cli_depth++;
}

NOT_PATCHABLE void pop_cli() {
    Cpu* c = this_cpu();
    if (arch::interrupts_enabled()) panic("pop_cli: interrupts enabled");
    if (c->cli_depth < 1) panic("pop_cli: unbalanced");
    c->cli_depth--;
    if (c->cli_depth == 0 && c->irqs_were_enabled) arch::sti();
}

}  // namespace corral
