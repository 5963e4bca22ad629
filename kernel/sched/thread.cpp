#include "kernel/sched/thread.h"

#include "arch/x86/cpu.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"
#include "kernel/config.h"
#include "kernel/cpu.h"
#include "kernel/heap.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/stacks.h"
#include "kernel/panic.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sync/cross_cpu.h"

extern "C" uint8_t boot_stack_bottom[], boot_stack_top[];

namespace corral {
void sched_finish_switch();
namespace sched_internal { void set_running(); }

namespace {

Spinlock threads_lock("threads");
Thread* all_threads = nullptr;
int next_id = 1;
Thread idle_threads[config::MAX_CPUS];
Thread main_thread;

volatile int thread_total = 0;   // registered: alive, or dead and not yet freed

volatile uint32_t initial_patch_universe = 0;   // under threads_lock

void register_thread(Thread* t, const char* name) {
    str_copy(t->name, name, sizeof t->name);
    SpinlockGuard g(threads_lock);
    t->id = next_id++;
    t->patch_universe = initial_patch_universe;
    t->patch_switched_how = "born";
    t->patch_switched_at = 0;
    t->all_next = all_threads;
    all_threads = t;
    thread_total = thread_total + 1;
}

void unregister_thread(Thread* t) {
    SpinlockGuard g(threads_lock);
    for (Thread** p = &all_threads; *p; p = &(*p)->all_next)
        if (*p == t) {
            *p = t->all_next;
            thread_total = thread_total - 1;
            return;
        }
}

// The first code a new thread runs, "returned into" by switch_context.
[[noreturn]] void thread_bootstrap() {
    sched_finish_switch();
    Cpu* c = this_cpu();
    c->cli_depth = 0;
    c->irqs_were_enabled = false;
    Thread* t = c->current;   // before sti: after it we may move to another CPU
    arch::sti();
    t->entry(t->arg);
    thread_exit(0);
}

// Both run on every trap (the patcher's IPIs and #BP/#DB included).
NOT_PATCHABLE arch::TrapFrame** current_frame_chain() {   // interrupts are off here
    Thread* t = this_cpu_current();
    return t ? &t->frames : nullptr;
}

NOT_PATCHABLE void after_irq(arch::TrapFrame* frame) { sched_maybe_preempt(frame); }

[[noreturn]] void idle_loop() {
    for (;;) {
        sched_safe_point();
        arch::cli();
        schedule();
        // Whatever another CPU asked of us is answered before we sleep, so
        // no request has to count on its IPI alone to wake us.
        cross_cpu_serve();
        arch::sti_hlt();   // an IPI or the tick brings us back
    }
}

[[noreturn]] void idle_bootstrap() {
    sched_finish_switch();
    this_cpu()->cli_depth = 0;
    idle_loop();
}

// A stack that looks as if switch_context had saved it, "returning" into
// `start` with a null frame pointer (which ends backtraces).
void prepare_initial_stack(Thread* t, void (*start)()) {
    t->stack_size = config::KERNEL_STACK_SIZE;
    Result<uint8_t*> stack = stack_alloc();
    if (stack.is_error()) panic("thread %s: no stack: %s", t->name, stack.error());
    t->stack = stack.value();
    auto* top = reinterpret_cast<uint32_t*>(t->stack + t->stack_size);
    *--top = 0;   // start()'s return address: none
    auto* ctx = reinterpret_cast<Context*>(reinterpret_cast<uint8_t*>(top) - sizeof(Context));
    *ctx = Context{0, 0, 0, 0, uint32_t(uintptr_t(start))};
    t->context = ctx;
}

// The BSP's idle thread gets a fresh stack (the boot flow becomes "main");
// an AP's boot flow simply becomes its idle thread.
void init_idle(int cpu, bool adopt_boot_flow) {
    Thread* idle = &idle_threads[cpu];
    char name[16];
    format(name, sizeof name, "idle%d", cpu);
    idle->is_idle = true;
    idle->affinity = 1u << cpu;
    idle->cpu = cpu;
    idle->cpus_seen = 1u << cpu;
    register_thread(idle, name);
    if (adopt_boot_flow) {
        idle->state = ThreadState::Running;
        idle->on_cpu = true;
        cpus[cpu].current = idle;
    } else {
        idle->state = ThreadState::Ready;
        prepare_initial_stack(idle, idle_bootstrap);
    }
    cpus[cpu].idle = idle;
}

}  // namespace

const char* thread_state_name(ThreadState s) {
    switch (s) {
        case ThreadState::Ready: return "ready";
        case ThreadState::Running: return "running";
        case ThreadState::Blocked: return "blocked";
        case ThreadState::Sleeping: return "sleeping";
        case ThreadState::Dead: return "dead";
    }
    return "?";
}

Thread* current_thread() { return this_cpu_current(); }

void thread_set_initial_patch_universe(uint32_t universe) {
    SpinlockGuard g(threads_lock);
    initial_patch_universe = universe;
}

void thread_set_patch_universes(uint32_t every_thread, uint32_t new_threads) {
    SpinlockGuard g(threads_lock);
    for (Thread* t = all_threads; t; t = t->all_next) {
        t->patch_universe = every_thread;
        t->patch_switched_how = "all at once";
        t->patch_switched_at = 0;
    }
    initial_patch_universe = new_threads;
}

Thread* thread_create(const char* name, void (*entry)(void*), void* arg, uint32_t affinity) {
    Thread* t = new Thread();
    t->entry = entry;
    t->arg = arg;
    t->affinity = affinity;
    t->cpu = cpu_index();
    prepare_initial_stack(t, thread_bootstrap);
    register_thread(t, name);   // visible to `threads` and the scan only once complete
    sched_enqueue_new(t);
    return t;
}

// ---- The reaper: frees detached threads once they are dead and off-CPU.
namespace {
Spinlock reaper_lock("reaper");
WaitQueue reaper_wakeup;
Thread* reap_list = nullptr;
volatile bool reaping = false;   // a thread taken off reap_list is being freed

void reap(Thread* t) {
    while (__atomic_load_n(&t->on_cpu, __ATOMIC_ACQUIRE)) arch::cpu_relax();
    unregister_thread(t);
    stack_free(t->stack);
    delete t;
}

void reaper(void*) {
    for (;;) {
        Thread* t;
        {
            SpinlockGuard g(reaper_lock);
            while (!reap_list) reaper_wakeup.wait(&reaper_lock);
            t = reap_list;
            reap_list = t->queue_next;
            reaping = true;
        }
        reap(t);
        reaping = false;
        sched_safe_point();   // busy for seconds on end under churn: a klp transition must not wait for it
    }
}

void hand_to_reaper(Thread* t) {
    SpinlockGuard r(reaper_lock);
    t->queue_next = reap_list;
    reap_list = t;
    reaper_wakeup.wake_one();
}
}  // namespace

void reaper_start() { thread_create("reaper", reaper, nullptr); }

int thread_count() { return thread_total; }

bool reaper_busy() {
    SpinlockGuard r(reaper_lock);
    return reap_list || reaping;
}

void thread_detach(Thread* t) {
    SpinlockGuard g(t->join_lock);
    t->detached = true;
    if (t->state == ThreadState::Dead) hand_to_reaper(t);   // already gone: hand it over now
}

void thread_exit(int code) {
    arch::cli();
    Thread* t = current_thread();
    if (t->is_idle || t == &main_thread) panic("thread_exit: %s may not exit", t->name);
    t->exit_code = code;
    t->join_lock.lock();
    t->state = ThreadState::Dead;
    t->exited.wake_all();
    if (t->detached) hand_to_reaper(t);
    t->join_lock.unlock();   // interrupts stay off: they were off before the lock
    schedule();
    panic("thread_exit: dead thread %s was scheduled", t->name);
}

int thread_join(Thread* t) {
    if (t == current_thread()) panic("thread_join: %s joining itself", t->name);
    {
        SpinlockGuard g(t->join_lock);
        while (t->state != ThreadState::Dead) t->exited.wait(&t->join_lock);
    }
    // Dead, but its CPU may still be switching away from its stack.
    while (__atomic_load_n(&t->on_cpu, __ATOMIC_ACQUIRE)) arch::cpu_relax();
    int code = t->exit_code;
    unregister_thread(t);
    stack_free(t->stack);
    delete t;
    return code;
}

void thread_yield() {
    InterruptGuard g;
    schedule();
}

void thread_sleep_ms(uint32_t ms) {
    InterruptGuard g;
    Thread* t = current_thread();
    t->wake_tick = sched_jiffies() + (uint64_t(ms) * SCHED_HZ + 999) / 1000 + 1;
    t->state = ThreadState::Sleeping;
    sched_add_sleeper(t);
    schedule();
}

void thread_set_affinity(Thread* t, uint32_t affinity) {
    if (affinity == 0) panic("thread_set_affinity(%s): empty mask", t->name);
    t->affinity = affinity;
    // The running thread moves at its next schedule(): do it now.
    if (t == current_thread() && !((affinity >> cpu_index()) & 1)) thread_yield();
}

NOT_PATCHABLE void for_each_thread(void (*fn)(Thread* t, void* ctx), void* ctx) {
    SpinlockGuard g(threads_lock);
    for (Thread* t = all_threads; t; t = t->all_next) fn(t, ctx);
}

void sched_init_bsp() {
    Cpu* c = this_cpu();
    main_thread.state = ThreadState::Running;
    main_thread.on_cpu = true;
    main_thread.affinity = AFFINITY_ANY;
    main_thread.stack = boot_stack_bottom;
    main_thread.stack_size = size_t(boot_stack_top - boot_stack_bottom);
    main_thread.cpus_seen = 1;
    main_thread.slice_ticks = SCHED_SLICE_TICKS;
    register_thread(&main_thread, "main");
    c->current = &main_thread;
    init_idle(0, false);
    arch::set_trap_hooks(arch::TrapHooks{current_frame_chain, after_irq});
    sched_internal::set_running();
}

void sched_start_ap() {
    init_idle(cpu_index(), true);
    idle_loop();
}

}  // namespace corral
