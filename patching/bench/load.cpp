// What the other CPUs do while a benchmark measures: nothing (halted in
// their idle loops), spin with interrupts on, or spin with interrupts off
// for stretches (the CPU answers only between them).  And sleeping threads,
// whose saved contexts the corral-scan has to walk.
#include "arch/x86/cpu.h"
#include "kernel/config.h"
#include "kernel/cpu.h"
#include "kernel/heap.h"
#include "kernel/sched/thread.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/time.h"
#include "patching/bench/bench.h"

namespace corral::bench {
namespace {

constexpr uint32_t IRQ_OFF_US = 20;   // "briefly": well under a tick, long next to an IPI

volatile bool load_stopping = false;
Load load_kind = Load::Idle;
Thread* loaders[config::MAX_CPUS];

void spin(void*) {
    while (!load_stopping) {
        if (load_kind == Load::IrqOff) {
            arch::cli();
            udelay(IRQ_OFF_US);
            arch::sti();
        }
        arch::cpu_relax();
    }
}

Semaphore* wake_sleepers = nullptr;
Thread** sleepers = nullptr;
int sleeper_count = 0;

void sleeper(void*) { wake_sleepers->down(); }

}  // namespace

const char* load_name(Load l) {
    switch (l) {
        case Load::Idle: return "idle";
        case Load::Busy: return "busy";
        case Load::IrqOff: return "irqoff";
    }
    return "?";
}

void load_start(Load l) {
    load_kind = l;
    load_stopping = false;
    for (int c = 0; c < cpu_count(); c++) {
        loaders[c] = nullptr;
        if (l != Load::Idle && c != cpu_index()) loaders[c] = thread_create("bench-load", spin, nullptr, 1u << c);
    }
    thread_sleep_ms(20);   // every loader on its CPU before the first sample
}

void load_stop() {
    load_stopping = true;
    for (int c = 0; c < cpu_count(); c++)
        if (loaders[c]) thread_join(loaders[c]);
}

Result<void> sleepers_start(int count) {
    wake_sleepers = new Semaphore(0);
    sleepers = new Thread*[count];
    if (!wake_sleepers || !sleepers) return make_error("bench: no memory for %d sleeping threads", count);
    sleeper_count = count;
    for (int i = 0; i < count; i++) sleepers[i] = thread_create("bench-sleeper", sleeper, nullptr);
    // Each must be asleep, with its context saved, before we scan it.
    for (int i = 0; i < count; i++)
        while (sleepers[i]->state != ThreadState::Blocked || sleepers[i]->on_cpu) thread_sleep_ms(2);
    return Ok{};
}

void sleepers_stop() {
    for (int i = 0; i < sleeper_count; i++) wake_sleepers->up();
    for (int i = 0; i < sleeper_count; i++) thread_join(sleepers[i]);
    delete[] sleepers;
    delete wake_sleepers;
    sleepers = nullptr;
    wake_sleepers = nullptr;
    sleeper_count = 0;
}

}  // namespace corral::bench
