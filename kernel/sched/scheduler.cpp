#include "kernel/sched/scheduler.h"

#include "kernel/sync/cross_cpu.h"

#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/trap.h"
#include "kernel/cpu.h"
#include "kernel/panic.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/spinlock.h"
#include "arch/x86/sections.h"

extern "C" void switch_context(corral::Context** save, corral::Context* load);

namespace corral {
namespace {

struct RunQueue {
    Spinlock lock{"runqueue"};
    Thread* head = nullptr;
    Thread* tail = nullptr;
    volatile int length = 0;
};

RunQueue run_queues[config::MAX_CPUS];
Thread* switching_from[config::MAX_CPUS];   // per CPU: the thread just switched away from
volatile bool running = false;
volatile uint64_t jiffies = 0;
Spinlock sleep_lock("sleepers");
Thread* sleepers = nullptr;                   // sorted by wake_tick

bool allowed_on(const Thread* t, int cpu) { return (t->affinity >> cpu) & 1; }

void push_back(RunQueue& q, Thread* t) {
    t->queue_next = nullptr;
    if (q.tail) q.tail->queue_next = t; else q.head = t;
    q.tail = t;
    q.length = q.length + 1;
}

// First thread in `q` allowed on `cpu`, unlinked.
Thread* take_allowed(RunQueue& q, int cpu) {
    Thread* prev = nullptr;
    for (Thread* t = q.head; t; prev = t, t = t->queue_next) {
        if (!allowed_on(t, cpu)) continue;
        if (prev) prev->queue_next = t->queue_next; else q.head = t->queue_next;
        if (q.tail == t) q.tail = prev;
        t->queue_next = nullptr;
        q.length = q.length - 1;
        return t;
    }
    return nullptr;
}

// The least-loaded online CPU `t` may run on, preferring where it was.
int pick_cpu(const Thread* t) {
    int best = -1;
    for (int c = 0; c < cpu_count(); c++) {
        if (!allowed_on(t, c) || !cpus[c].online) continue;
        int load = run_queues[c].length + (cpus[c].current && !cpus[c].current->is_idle ? 1 : 0);
        int best_load = best < 0 ? 0 : run_queues[best].length + (cpus[best].current && !cpus[best].current->is_idle);
        if (best < 0 || load < best_load || (load == best_load && c == t->cpu)) best = c;
    }
    return best < 0 ? 0 : best;
}

void enqueue(Thread* t, int cpu) {
    t->cpu = cpu;
    {
        SpinlockGuard g(run_queues[cpu].lock);
        push_back(run_queues[cpu], t);
    }
    // A halted CPU only notices new work at its next tick; nudge it now.
    if (cpu != cpu_index() && running) arch::ipi_send(cpus[cpu].lapic_id, arch::VECTOR_IPI_RESCHEDULE);
}

Thread* dequeue_local(int me) {
    SpinlockGuard g(run_queues[me].lock);
    return take_allowed(run_queues[me], me);
}

// A CPU whose thread cannot be preempted (inside a trap handler, a held
// thread spinning in its #DB handler, a preempt_off stretch) goes on ticking
// but switches nothing: its queue would wait behind it however busy the
// other CPUs are, since they only steal when idle.  Each tick records how
// far past its slice the running thread is; once that is a whole slice,
// the other CPUs take the stalled CPU's waiting threads before their own.
// (Seen: a klp transition thread queued behind a held scenario victim
// waited 10 s while two busy CPUs never went idle.)
volatile int overdue_ticks[config::MAX_CPUS] = {};

Thread* take_from_stalled(int me) {
    for (int c = 0; c < cpu_count(); c++) {
        if (c == me || overdue_ticks[c] < SCHED_SLICE_TICKS || run_queues[c].length == 0) continue;
        SpinlockGuard g(run_queues[c].lock);
        if (Thread* t = take_allowed(run_queues[c], me)) return t;
    }
    return nullptr;
}

// Load balancing: an idle CPU takes work from the busiest queue.
Thread* steal(int me) {
    int victim = -1;
    for (int c = 0; c < cpu_count(); c++)
        if (c != me && run_queues[c].length > 0 && (victim < 0 || run_queues[c].length > run_queues[victim].length))
            victim = c;
    if (victim < 0) return nullptr;
    SpinlockGuard g(run_queues[victim].lock);
    return take_allowed(run_queues[victim], me);
}

// Wakeup preemption: a thread made runnable on another CPU gets that CPU at
// the reschedule IPI, not after the running thread's slice.  (Patchers, the
// reaper and every woken waiter depend on it under load; and the thread it
// preempts stops at whatever instruction it was on, as a preempted thread
// on real hardware does.)
volatile bool woken[config::MAX_CPUS] = {};

bool reschedule_ipi(arch::TrapFrame*) {
    woken[cpu_index()] = true;
    return true;   // the switch happens in sched_maybe_preempt
}

}  // namespace

// Runs first on the new thread after every switch: the previous thread has
// left its stack, so another CPU may now run it.
NOT_PATCHABLE void sched_finish_switch() {
    Thread*& prev = switching_from[cpu_index()];
    if (prev) {
        __atomic_store_n(&prev->on_cpu, false, __ATOMIC_RELEASE);
        prev = nullptr;
    }
}

static void (*volatile switch_in_hook)(Thread* next) = nullptr;
void sched_set_switch_in_hook(void (*hook)(Thread* next)) { switch_in_hook = hook; }

NOT_PATCHABLE void schedule() {
    if (arch::interrupts_enabled()) panic("schedule() with interrupts enabled");
    Cpu* c = this_cpu();
    const int me = c->index;
    Thread* cur = c->current;
    woken[me] = false;
    if (cur->state == ThreadState::Running && !cur->is_idle) {
        cur->state = ThreadState::Ready;
        enqueue(cur, allowed_on(cur, me) ? me : pick_cpu(cur));
    }
    overdue_ticks[me] = 0;
    Thread* next = take_from_stalled(me);
    if (!next) next = dequeue_local(me);
    if (!next) next = steal(me);
    if (!next) next = c->idle;
    if (next == cur) {
        cur->state = ThreadState::Running;
        cur->slice_ticks = SCHED_SLICE_TICKS;
        return;
    }
    // It may still be switching out on the CPU that queued it -- and that
    // CPU may be parked in a corral halfway through its own schedule() (its
    // run-queue lock wait answers corrals), so this wait must answer them
    // too, or the corral waits for us while we wait for the parked CPU.
    // (patchtorture found it: a 20 s stall that ended in a corral abort.)
    while (__atomic_load_n(&next->on_cpu, __ATOMIC_ACQUIRE)) cross_cpu_relax();
    __atomic_store_n(&next->on_cpu, true, __ATOMIC_SEQ_CST);
    if (void (*hook)(Thread*) = switch_in_hook) hook(next);
    next->state = ThreadState::Running;
    next->cpu = me;
    next->cpus_seen |= 1u << me;
    next->switches_in++;
    next->slice_ticks = SCHED_SLICE_TICKS;
    if (cur->is_idle) cur->state = ThreadState::Ready;   // idle threads wait off-queue
    c->current = next;
    c->context_switches++;
    switching_from[me] = cur;
    // Interrupt nesting belongs to the thread, not the CPU (xv6's intena).
    const int depth = c->cli_depth;
    const bool were_enabled = c->irqs_were_enabled;
    switch_context(&cur->context, next->context);
    c = this_cpu();   // may be another CPU now
    c->cli_depth = depth;
    c->irqs_were_enabled = were_enabled;
    sched_finish_switch();
}

void sched_wake(Thread* t) {
    for (;;) {
        ThreadState s = t->state;
        if (s != ThreadState::Blocked && s != ThreadState::Sleeping) return;
        ThreadState expected = s;
        if (__atomic_compare_exchange_n(&t->state, &expected, ThreadState::Ready, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            break;
    }
    enqueue(t, pick_cpu(t));
}

void sched_enqueue_new(Thread* t) {
    t->state = ThreadState::Ready;
    enqueue(t, pick_cpu(t));
}

void sched_add_sleeper(Thread* t) {
    SpinlockGuard g(sleep_lock);
    Thread** p = &sleepers;
    while (*p && (*p)->wake_tick <= t->wake_tick) p = &(*p)->queue_next;
    t->queue_next = *p;
    *p = t;
}

static void (*volatile tick_hooks[MAX_TICK_HOOKS])() = {};
static volatile uint32_t hooks_running = 0;   // CPUs inside run_tick_hooks

static NOT_PATCHABLE void run_tick_hooks() {
    __atomic_add_fetch(&hooks_running, 1, __ATOMIC_ACQ_REL);
    for (int i = 0; i < MAX_TICK_HOOKS; i++) {
        void (*hook)() = tick_hooks[i];
        if (hook) hook();
    }
    __atomic_sub_fetch(&hooks_running, 1, __ATOMIC_ACQ_REL);
}

NOT_PATCHABLE void sched_timer_tick() {
    Cpu* c = this_cpu();
    c->ticks = c->ticks + 1;
    if (Thread* cur = c->current) {
        cur->slice_ticks--;
        overdue_ticks[c->index] = cur->is_idle || cur->slice_ticks >= 0 ? 0 : -cur->slice_ticks;
    }
    run_tick_hooks();
    if (c->index != 0) return;
    jiffies = jiffies + 1;
    // Wake the sleepers whose time has come.
    for (;;) {
        Thread* due = nullptr;
        {
            SpinlockGuard g(sleep_lock);
            if (sleepers && sleepers->wake_tick <= jiffies) {
                due = sleepers;
                sleepers = due->queue_next;
            }
        }
        if (!due) break;
        sched_wake(due);
    }
}

// Preempts only plain thread code: an interrupt that arrived while the
// thread was already inside another trap handler (frame->prev set) returns
// there first.
NOT_PATCHABLE void sched_maybe_preempt(arch::TrapFrame* frame) {
    if (!running) return;
    Cpu* c = this_cpu();
    Thread* cur = c->current;
    if (!cur || frame->prev || c->cli_depth > 0 || cur->preempt_off) return;
    bool slice_over = cur->slice_ticks <= 0 || woken[c->index];
    bool idle_with_work = cur->is_idle && (run_queues[c->index].length > 0 || cpu_count() > 1);
    if (slice_over || idle_with_work) schedule();
}

uint64_t sched_jiffies() { return jiffies; }
int sched_queue_length(int cpu) { return run_queues[cpu].length; }

namespace sched_internal {
void set_running() {
    arch::register_trap_handler(arch::VECTOR_IPI_RESCHEDULE, reschedule_ipi);
    running = true;
}
}  // namespace sched_internal

static void (*volatile safe_point_hook)() = nullptr;
void sched_set_safe_point_hook(void (*hook)()) { safe_point_hook = hook; }

NOT_PATCHABLE void sched_safe_point() {
    if (void (*hook)() = safe_point_hook) hook();
}

bool sched_add_tick_hook(void (*hook)()) {
    for (auto& slot : tick_hooks) {
        void (*empty)() = nullptr;
        if (__atomic_compare_exchange_n(&slot, &empty, hook, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return true;
    }
    return false;
}

void sched_remove_tick_hook(void (*hook)()) {
    for (auto& slot : tick_hooks) {
        void (*expected)() = hook;
        __atomic_compare_exchange_n(&slot, &expected, nullptr, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
    // A CPU may have read the hook just before: wait until none is inside.
    while (__atomic_load_n(&hooks_running, __ATOMIC_ACQUIRE) != 0) thread_yield();
}

}  // namespace corral
