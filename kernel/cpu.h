// Per-CPU data, reached through the GS segment (arch/x86/gdt.cpp points each
// CPU's GS base at its own Cpu).  this_cpu() is one instruction.
#pragma once
#include <stdint.h>

#include "kernel/config.h"

namespace corral {

struct Thread;
namespace arch { struct TrapFrame; }

struct Cpu {
    Cpu* self;                    // at offset 0: this_cpu() reads %gs:0
    int index;                    // 0 .. cpu_count()-1, the BSP is 0
    uint32_t lapic_id;
    bool online;
    Thread* current;              // thread running on this CPU
    Thread* idle;
    // Interrupt-disable nesting (xv6's push_off/pop_off): spinlocks nest.
    int cli_depth;
    bool irqs_were_enabled;
    // Spinlocks held (and fair-lock tickets waited on) by this CPU.  A CPU
    // with any is never parked by a corral: the corral's work could need it.
    int spinlocks_held;
    const char* newest_lock;      // the last one taken (reports: what a silent CPU holds)
    // Set while patching/hold keeps this CPU's thread at a breakpoint: the
    // #DB frame of the instruction it is "executing".  The corral reports it
    // as where the CPU was, as if the thread were spinning on that instruction.
    arch::TrapFrame* held_at;
    volatile uint64_t ticks;      // timer interrupts taken
    uint64_t context_switches;
};

extern Cpu cpus[config::MAX_CPUS];

inline Cpu* this_cpu() {
    Cpu* c;
    asm volatile("movl %%gs:0, %0" : "=r"(c));
    return c;
}
// Single gs-relative loads: atomic with respect to preemption, unlike
// this_cpu()->field (a thread may move to another CPU between the two loads).
// With interrupts on, the answer may of course be stale a moment later.
inline int cpu_index() {
    int i;
    asm volatile("movl %%gs:%c1, %0" : "=r"(i) : "i"(__builtin_offsetof(Cpu, index)));
    return i;
}
inline Thread* this_cpu_current() {
    Thread* t;
    asm volatile("movl %%gs:%c1, %0" : "=r"(t) : "i"(__builtin_offsetof(Cpu, current)));
    return t;
}

int cpu_count();                  // CPUs online
void cpu_set_count(int n);

// xv6-style interrupt-disable nesting used by spinlocks.
void push_cli();
void pop_cli();

}  // namespace corral
