// Holding a thread at an exact instruction, for the deterministic seed
// scenarios: DR0 = the address, DR7 = execute breakpoint (Intel SDM vol. 3,
// 17.2), and a #DB handler that keeps the thread there until released.
//
//   Running      the thread stays *at* the address: it spins in the #DB
//                handler with interrupts on, keeping its CPU (no preemption
//                from a nested interrupt), and the corral is told that this
//                CPU is executing the address (Cpu::held_at).  It does not
//                rely on re-faulting, which Bochs and QEMU order differently.
//   InHandler    the thread spins inside the #DB handler with interrupts on:
//                the address is in an older trap frame under whatever
//                interrupt arrives (the `interrupted` scenario).
//   SwitchedOut  the thread blocks inside the #DB handler and is switched
//                out: the address sits in its #DB trap frame (`preempted`).
//
// Debug registers are per CPU, so the thread arms its own (hold_arm), on the
// CPU it is pinned to.  On release the handler sets RF in the saved EFLAGS,
// or the breakpoint would fire forever (docs/design.md §3).
#pragma once
#include <stdint.h>

#include "kernel/sched/wait_queue.h"
#include "kernel/sync/spinlock.h"

namespace corral {
namespace arch { struct TrapFrame; }

enum class HoldMode { Running, InHandler, SwitchedOut };

struct Hold {
    uintptr_t address;
    HoldMode mode;
    volatile bool arrived;
    volatile bool released;
    volatile int hits;
    Spinlock lock{"hold"};
    WaitQueue waiters;
};

void hold_init();
// Makes `h` the active hold (one at a time).
void hold_prepare(Hold& h, uintptr_t address, HoldMode mode);
// Called by the thread to be held, on its own CPU, before it runs the address.
void hold_arm_this_cpu(const Hold& h);
bool hold_wait_arrived(Hold& h, uint64_t timeout_us);
void hold_release(Hold& h);
void hold_clear();

// Single-step (TF) traps go to `hook` (patchtorture's preemption points);
// it returns false for a trap it does not own.  Null: none.
void hold_set_step_hook(bool (*hook)(arch::TrapFrame* frame));

}  // namespace corral
