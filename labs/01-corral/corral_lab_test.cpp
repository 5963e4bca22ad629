// Lab 01 (corral): the checks the kernel's own ktests do not make.  They
// run in every `make test` too (test=*), so they must pass on the reference.
#include "arch/x86/cpu.h"
#include "kernel/cpu.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/thread.h"
#include "kernel/test/ktest.h"
#include "kernel/time.h"
#include "patching/corral.h"
#include "patching/tests/generous_timeout.h"

namespace corral {
namespace {

// ---- Parked means parked: while the work runs, no other CPU runs a thread.

volatile uint32_t spins[config::MAX_CPUS];
volatile bool spinners_stop = false;

void spinner(void* arg) {
    const int c = int(uintptr_t(arg));
    while (!spinners_stop) spins[c] = spins[c] + 1;
}

struct Stillness {
    uint32_t moved_mask;   // CPUs whose spinner advanced during the work
};

Result<void> watch_spinners(void* ctx, const CorralReport&) {
    auto* s = static_cast<Stillness*>(ctx);
    uint32_t before[config::MAX_CPUS];
    for (int c = 0; c < cpu_count(); c++) before[c] = spins[c];
    udelay(30000);   // a few timer ticks: a CPU that was not parked runs its spinner meanwhile
    s->moved_mask = 0;
    for (int c = 0; c < cpu_count(); c++)
        if (c != cpu_index() && spins[c] != before[c]) s->moved_mask |= 1u << c;
    return Ok{};
}

KTEST(lab_corral, nothing_runs_on_a_parked_cpu) {
    if (cpu_count() < 2) { t.skip("needs a second CPU"); return; }
    spinners_stop = false;
    Thread* threads[config::MAX_CPUS] = {};
    const int me = cpu_index();
    for (int c = 0; c < cpu_count(); c++) {
        if (c == me) continue;
        spins[c] = 0;
        threads[c] = thread_create("spinner", spinner, reinterpret_cast<void*>(uintptr_t(c)), 1u << c);
    }
    // Every spinner running before the corral begins.
    const uint64_t end = now_us() + 30000000;
    for (int c = 0; c < cpu_count(); c++)
        while (c != me && spins[c] == 0 && now_us() < end) thread_yield();
    Stillness s{};
    Result<void> r = make_error("not run");
    {
        GenerousCorralTimeout patient;
        r = corral_all_cpus(watch_spinners, &s);
    }
    spinners_stop = true;
    for (int c = 0; c < cpu_count(); c++)
        if (threads[c]) thread_join(threads[c]);
    KEXPECT(r.is_ok());
    if (s.moved_mask) t.fail(__FILE__, __LINE__, "cpu mask %#x ran a thread while parked", s.moved_mask);
}

// ---- park=halt: every parked CPU halts, and no timer tick runs on it.
// (park.halted_cpus_take_no_tick_* asks the same, waiting up to 30 s for
// each CPU in turn; this one waits 30 s in all, so a park that never halts
// fails in 30 s, not 30 s a CPU.)

struct HaltWatch {
    uint64_t halts[config::MAX_CPUS];
    uint32_t not_halted;   // CPUs that never halted
    uint64_t ticks_moved;  // timer ticks taken by parked CPUs
};

Result<void> watch_halts(void* ctx, const CorralReport&) {
    auto* w = static_cast<HaltWatch*>(ctx);
    const int me = cpu_index();
    const uint64_t end = now_us() + 30000000;
    auto pending = [&] {
        uint32_t m = 0;
        for (int c = 0; c < cpu_count(); c++)
            if (c != me && corral_park_stats(c).halts <= w->halts[c]) m |= 1u << c;
        return m;
    };
    while (pending() && now_us() < end) arch::cpu_relax();
    w->not_halted = pending();
    uint64_t ticks[config::MAX_CPUS];
    for (int c = 0; c < cpu_count(); c++) ticks[c] = cpus[c].ticks;
    udelay(50000);
    w->ticks_moved = 0;
    for (int c = 0; c < cpu_count(); c++)
        if (c != me) w->ticks_moved += cpus[c].ticks - ticks[c];
    return Ok{};
}

KTEST(lab_corral, parked_cpus_halt_and_take_no_tick) {
    if (cpu_count() < 2) { t.skip("needs a second CPU"); return; }
    const ParkMode saved = corral_park_mode();
    corral_set_park_mode(ParkMode::Halt);
    HaltWatch w{};
    for (int c = 0; c < cpu_count(); c++) w.halts[c] = corral_park_stats(c).halts;
    Result<void> r = make_error("not run");
    {
        GenerousCorralTimeout patient;
        r = corral_all_cpus(watch_halts, &w);
    }
    corral_set_park_mode(saved);
    KEXPECT(r.is_ok());
    if (w.not_halted) t.fail(__FILE__, __LINE__, "cpu mask %#x never halted while parked", w.not_halted);
    if (w.ticks_moved) t.fail(__FILE__, __LINE__, "parked cpus took %llu timer ticks: is the TPR raised?",
                              (unsigned long long)w.ticks_moved);
}

// ---- A deaf CPU is named: exactly it, in the report and in the error.

volatile bool deaf_stop = false;
volatile bool deaf_ready = false;
void deaf(void*) {
    arch::cli();   // takes no IPI: never answers
    deaf_ready = true;
    while (!deaf_stop) arch::cpu_relax();
    arch::sti();
}

bool ran_work = false;
Result<void> note_work(void*, const CorralReport&) {
    ran_work = true;
    return Ok{};
}

KTEST(lab_corral, the_deaf_cpu_is_named) {
    if (cpu_count() < 2) { t.skip("needs a second CPU to play deaf"); return; }
    const int d = cpu_count() - 1;
    deaf_stop = false;
    deaf_ready = false;
    ran_work = false;
    Thread* th = thread_create("deaf", deaf, nullptr, 1u << d);
    while (!deaf_ready) thread_yield();
    CorralReport report{};
    Result<void> r = make_error("not run");
    {
        ScopedCorralTimeout short_one(500000);
        r = corral_all_cpus(note_work, nullptr, &report);
    }
    deaf_stop = true;
    thread_join(th);
    KREQUIRE(r.is_error());
    KEXPECT(!ran_work);
    KEXPECT(report.missing_mask & (1u << d));
    KEXPECT(!(report.parked_mask & (1u << d)));
    char mask[16];
    format(mask, sizeof mask, "%#x", report.missing_mask);
    if (!str_contains(r.error(), mask) || !str_contains(r.error(), "nothing written"))
        t.fail(__FILE__, __LINE__, "the error does not say 'nothing written' and name mask %s: %s", mask, r.error());
}

}  // namespace
}  // namespace corral
