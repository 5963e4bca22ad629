// How a parked CPU waits (patching/corral.h ParkMode).  park=halt must give
// the core back (hlt) and still be a park: no timer tick runs on a parked
// CPU, the release IPI ends it, an NMI is counted and the CPU halts again.
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "kernel/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/smp.h"
#include "kernel/test/ktest.h"
#include "kernel/time.h"
#include "patching/corral.h"

namespace corral {
namespace {

// Generous: with 8 vCPUs on 2 host cores a parked vCPU may wait long for a core.
constexpr uint64_t STARVED_US = 30000000;

struct ScopedParkMode {
    ParkMode saved = corral_park_mode();
    explicit ScopedParkMode(ParkMode m) { corral_set_park_mode(m); }
    ~ScopedParkMode() { corral_set_park_mode(saved); }
    ScopedParkMode(const ScopedParkMode&) = delete;
    ScopedParkMode& operator=(const ScopedParkMode&) = delete;
};

Result<void> no_work(void*, const CorralReport&) { return Ok{}; }

// Waits until `cpu` has halted more than `halts` times.
bool halted_past(int cpu, uint64_t halts) {
    const uint64_t end = now_us() + STARVED_US;
    while (corral_park_stats(cpu).halts <= halts)
        if (now_us() > end) return false;
        else arch::cpu_relax();
    return true;
}

struct TickWork {
    uint64_t halts_before[config::MAX_CPUS];
    bool all_halted;
    uint64_t ticks_moved;   // timer ticks the parked CPUs took while halted
};

// Every other CPU halts; then for ten ticks' worth of time none of them
// takes its timer interrupt (the task priority holds it back).
Result<void> watch_ticks(void* ctx, const CorralReport&) {
    auto* w = static_cast<TickWork*>(ctx);
    w->all_halted = true;
    for (int c = 0; c < cpu_count(); c++)
        if (c != cpu_index() && !halted_past(c, w->halts_before[c])) w->all_halted = false;
    uint64_t ticks[config::MAX_CPUS];
    for (int c = 0; c < cpu_count(); c++) ticks[c] = cpus[c].ticks;
    udelay(10 * 1000000 / SCHED_HZ);
    w->ticks_moved = 0;
    for (int c = 0; c < cpu_count(); c++)
        if (c != cpu_index()) w->ticks_moved += cpus[c].ticks - ticks[c];
    return Ok{};
}

KTEST(park, halted_cpus_take_no_tick_and_leave_on_the_release_ipi) {
    if (cpu_count() < 2 || !arch::lapic_present()) { t.skip("needs a second CPU and the LAPIC"); return; }
    ScopedParkMode halt(ParkMode::Halt);
    TickWork w{};
    uint64_t released[config::MAX_CPUS];
    for (int c = 0; c < cpu_count(); c++) {
        w.halts_before[c] = corral_park_stats(c).halts;
        released[c] = corral_park_stats(c).released_by_ipi;
    }
    CorralReport report{};
    KREQUIRE(corral_all_cpus(watch_ticks, &w, &report).is_ok());
    KEXPECT(w.all_halted);
    KEXPECT_EQ(w.ticks_moved, 0ull);
    for (int c = 0; c < cpu_count(); c++)
        if (c != cpu_index()) KEXPECT(corral_park_stats(c).released_by_ipi > released[c]);
    // And the ticks held back while parked come once it is over.
    uint64_t after[config::MAX_CPUS];
    for (int c = 0; c < cpu_count(); c++) after[c] = cpus[c].ticks;
    const uint64_t end = now_us() + STARVED_US;
    for (int c = 0; c < cpu_count(); c++)
        while (cpus[c].ticks == after[c] && now_us() < end) arch::cpu_relax();
    for (int c = 0; c < cpu_count(); c++) KEXPECT(cpus[c].ticks != after[c]);
}

struct NmiWork {
    uint64_t halts_before[config::MAX_CPUS];
    int target;   // a parked CPU: the next one after the owner
    bool halted, nmi_seen, halted_again;
};

Result<void> nmi_a_halted_cpu(void* ctx, const CorralReport&) {
    auto* w = static_cast<NmiWork*>(ctx);
    w->target = (cpu_index() + 1) % cpu_count();
    w->halted = halted_past(w->target, w->halts_before[w->target]);
    if (!w->halted) return Ok{};
    const uint64_t halts = corral_park_stats(w->target).halts;
    const uint32_t nmis = smp_nmis_taken(w->target);
    arch::ipi_send_nmi(cpus[w->target].lapic_id);
    const uint64_t end = now_us() + STARVED_US;
    while (smp_nmis_taken(w->target) == nmis && now_us() < end) arch::cpu_relax();
    w->nmi_seen = smp_nmis_taken(w->target) != nmis;
    w->halted_again = halted_past(w->target, halts);   // back to the loop, round unchanged: halt again
    return Ok{};
}

KTEST(park, nmi_while_halted_is_counted_and_the_cpu_halts_again) {
    if (cpu_count() < 2 || !arch::lapic_present()) { t.skip("needs a second CPU and the LAPIC"); return; }
    ScopedParkMode halt(ParkMode::Halt);
    NmiWork w{};
    uint64_t nmi_wakeups[config::MAX_CPUS];
    for (int c = 0; c < cpu_count(); c++) {
        w.halts_before[c] = corral_park_stats(c).halts;
        nmi_wakeups[c] = corral_park_stats(c).nmi_wakeups;
    }
    CorralReport report{};
    KREQUIRE(corral_all_cpus(nmi_a_halted_cpu, &w, &report).is_ok());
    KEXPECT(w.halted);
    KEXPECT(w.nmi_seen);
    KEXPECT(w.halted_again);
    KEXPECT_EQ(report.missing_mask, 0u);
    KEXPECT(corral_park_stats(w.target).nmi_wakeups > nmi_wakeups[w.target]);
    KEXPECT(corral_all_cpus(no_work, nullptr).is_ok());
}

// The last corral's work under park=halt: it waits until another CPU has
// halted (with no work at all the release can come before any parker gets
// to its hlt: under multi-threaded TCG twenty corrals once saw no halt).
// `ctx`: each CPU's halts before the corral.
Result<void> wait_for_a_halt(void* ctx, const CorralReport&) {
    const int other = cpu_index() == 0 ? 1 : 0;   // the owner is this CPU; every other one parks
    halted_past(other, static_cast<const uint64_t*>(ctx)[other]);   // if it never does, the check below fails
    return Ok{};
}

// Each mode forms and releases corrals; only spin never halts.
KTEST(park, every_mode_parks_and_releases) {
    if (cpu_count() < 2 || !arch::lapic_present()) { t.skip("needs a second CPU and the LAPIC"); return; }
    constexpr ParkMode modes[] = {ParkMode::Spin, ParkMode::Halt, ParkMode::Adaptive};
    for (ParkMode m : modes) {
        ScopedParkMode mode(m);
        const ParkStats before = corral_park_stats_total();
        for (int i = 0; i < 20; i++) {
            CorralReport report{};
            uint64_t halts[config::MAX_CPUS];
            for (int c = 0; c < cpu_count(); c++) halts[c] = corral_park_stats(c).halts;
            const bool last_halt = m == ParkMode::Halt && i == 19;
            Result<void> r = last_halt ? corral_all_cpus(wait_for_a_halt, halts, &report)
                                       : corral_all_cpus(no_work, nullptr, &report);
            if (r.is_error()) t.fail(__FILE__, __LINE__, "park=%s: %s", park_mode_name(m), r.error());
            KEXPECT_EQ(report.missing_mask, 0u);
        }
        const ParkStats after = corral_park_stats_total();
        KEXPECT_EQ(after.parks - before.parks, uint64_t(20 * (cpu_count() - 1)));
        if (m == ParkMode::Spin) KEXPECT_EQ(after.halts, before.halts);
        if (m == ParkMode::Halt) KEXPECT(after.halts > before.halts);
    }
}

}  // namespace
}  // namespace corral
