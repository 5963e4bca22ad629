#include "patching/hold.h"

#include "arch/x86/cpu.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"
#include "kernel/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/panic.h"
#include "kernel/time.h"

namespace corral {
namespace {

constexpr uint32_t DR6_B0 = 1u << 0;
constexpr uint32_t DR6_BS = 1u << 14;   // single step (TF)
constexpr uint32_t DR7_L0 = 1u << 0;   // DR0 enabled; R/W0 = 00 (execute), LEN0 = 00

Hold* volatile active = nullptr;
bool (*volatile step_hook)(arch::TrapFrame* frame) = nullptr;

NOT_PATCHABLE void disarm(arch::TrapFrame* frame) {
    arch::write_dr7(0);
    frame->eflags |= arch::EFLAGS_RF;   // resume without re-triggering
}

NOT_PATCHABLE bool debug_trap(arch::TrapFrame* frame) {
    const uint32_t dr6 = arch::read_dr6();
    arch::write_dr6(0);   // DR6 keeps its bits until software clears them
    if (dr6 & DR6_BS) {
        bool (*hook)(arch::TrapFrame*) = step_hook;
        if (hook && hook(frame)) return true;
    }
    if (!(dr6 & DR6_B0)) return false;
    Hold* h = active;
    if (!h || frame->eip != h->address) {
        disarm(frame);
        return true;
    }
    h->hits = h->hits + 1;
    h->arrived = true;
    switch (h->mode) {
        case HoldMode::Running:
            // Spin here, interrupts on, rather than re-faulting on the
            // breakpoint: Bochs checks code breakpoints before external
            // interrupts, so a re-faulting CPU there never takes an IPI.  An
            // interrupt taken here nests on this frame, so the scheduler
            // never preempts the held thread: it keeps its CPU.  held_at
            // tells the corral this CPU is executing the held instruction.
            this_cpu()->held_at = frame;
            arch::sti();
            while (!h->released) arch::cpu_relax();
            arch::cli();
            this_cpu()->held_at = nullptr;
            // Released, it is still at the held instruction: it must run on
            // from there, not be preempted at it by the next tick (its slice
            // ran out while it was held), or a "running" thread would turn
            // into a preempted one under load.  The held code ends the guard
            // (scenario.cpp's victim, once the function returned).
            this_cpu_current()->preempt_off = this_cpu_current()->preempt_off + 1;
            disarm(frame);
            return true;
        case HoldMode::InHandler:
            arch::sti();   // interrupts nest on top of this #DB frame
            while (!h->released) arch::cpu_relax();
            arch::cli();
            disarm(frame);
            return true;
        case HoldMode::SwitchedOut: {
            SpinlockGuard g(h->lock);
            while (!h->released) h->waiters.wait(&h->lock);
            disarm(frame);
            return true;
        }
    }
    return false;
}

bool arrived(void* h) { return static_cast<Hold*>(h)->arrived; }

}  // namespace

void hold_init() { arch::register_trap_handler(arch::VECTOR_DEBUG, debug_trap); }

void hold_prepare(Hold& h, uintptr_t address, HoldMode mode) {
    h.address = address;
    h.mode = mode;
    h.arrived = false;
    h.released = false;
    h.hits = 0;
    active = &h;
}

void hold_arm_this_cpu(const Hold& h) {
    arch::write_dr6(0);
    arch::write_dr0(uint32_t(h.address));
    arch::write_dr7(DR7_L0);
}

bool hold_wait_arrived(Hold& h, uint64_t timeout_us) { return wait_until(arrived, &h, timeout_us); }

void hold_release(Hold& h) {
    SpinlockGuard g(h.lock);
    h.released = true;
    h.waiters.wake_all();
}

void hold_clear() { active = nullptr; }

void hold_set_step_hook(bool (*hook)(arch::TrapFrame* frame)) { step_hook = hook; }

}  // namespace corral
