// The scheduler: per-CPU run queues, preemption from the timer, balancing
// by stealing (and by taking the queue of a CPU that cannot switch), and the
// idle loop.  Thread-facing calls are in thread.h.
#pragma once
#include <stdint.h>

namespace corral {
namespace arch { struct TrapFrame; }
struct Thread;

constexpr uint32_t SCHED_HZ = 100;          // LAPIC timer ticks per second, per CPU
constexpr int SCHED_SLICE_TICKS = 2;        // round-robin time slice

void sched_init_bsp();                      // the boot flow becomes thread "main"
[[noreturn]] void sched_start_ap();         // an AP's boot flow becomes its idle thread

// Picks the next thread and switches to it.  Interrupts must be off.  The
// current thread's state says what happens to it: Running → requeued,
// Blocked/Sleeping/Dead → not.
void schedule();
// Makes a Blocked or Sleeping thread runnable on a suitable CPU.
void sched_wake(Thread* t);
void sched_enqueue_new(Thread* t);
// Timer interrupt on this CPU (slice accounting, sleepers on CPU 0, then
// the tick hooks).
void sched_timer_tick();
// Functions called on every CPU's timer tick, inside the interrupt
// (interrupts off; they must not sleep).  At most MAX_TICK_HOOKS; removing
// one returns after no CPU can still be inside it.
constexpr int MAX_TICK_HOOKS = 4;
// Called in schedule() on the CPU that is about to switch to `next`, after
// `next` is marked on-CPU and before it runs (interrupts off).  One hook;
// null: none.  patching/klp uses it to wait while it inspects `next`.
void sched_set_switch_in_hook(void (*hook)(Thread* next));

bool sched_add_tick_hook(void (*hook)());
// A safe point: a kernel thread that may run for long stretches without
// sleeping or leaving its CPU (the reaper, the idle loops) calls this
// between two pieces of its work.  The hook (one; null: none) lets the
// patcher's per-thread consistency model check the calling thread's own
// stack and switch it there, so that it does not depend on a timer tick
// finding it clean -- Linux livepatch calls klp_update_patch_state from the
// idle loop and cond_resched for the same reason.  Cheap when no
// transition is under way.
void sched_safe_point();
void sched_set_safe_point_hook(void (*hook)());
void sched_remove_tick_hook(void (*hook)());
// On the way out of an interrupt: preempt if it is due and allowed.
void sched_maybe_preempt(arch::TrapFrame* frame);
uint64_t sched_jiffies();
int sched_queue_length(int cpu);
// Adds a sleeping thread to the sleep list (interrupts off).
void sched_add_sleeper(Thread* t);

}  // namespace corral
