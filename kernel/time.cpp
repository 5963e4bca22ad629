#include "kernel/time.h"

#include "arch/x86/cpu.h"
#include "arch/x86/interrupts.h"
#include "arch/x86/sections.h"

namespace corral {
namespace {
uint64_t hz = 1000000000;   // a sane guess until measured
uint64_t boot_tsc = 0;
}  // namespace

// The TSC against 10 ms of the PIT, three times, keeping the lowest rate.
// A delay can only inflate one measurement, never shrink it: a vCPU the
// host deschedules after the PIT ran out but before the closing rdtsc
// counts the pause as PIT time.  One boot under a loaded host measured 41
// times the real rate, and every timeout and sleep of that boot lasted 41
// times too long (a make test step took 482 s instead of 44).
void time_init() {
    boot_tsc = arch::rdtsc();
    uint64_t best = 0;
    for (int i = 0; i < 3; i++) {
        const uint64_t measured = arch::pit_measure_tsc_hz();
        if (measured > 1000000 && (best == 0 || measured < best)) best = measured;
    }
    if (best) hz = best;
}

uint64_t tsc_hz() { return hz; }
NOT_PATCHABLE uint64_t now_us() { return (arch::rdtsc() - boot_tsc) * 1000000 / hz; }

void udelay(uint32_t us) {
    uint64_t end = arch::rdtsc() + uint64_t(us) * hz / 1000000;
    while (arch::rdtsc() < end) arch::cpu_relax();
}

NOT_PATCHABLE bool wait_until(bool (*done)(void*), void* ctx, uint64_t timeout_us) {
    uint64_t end = arch::rdtsc() + timeout_us * hz / 1000000;
    while (!done(ctx)) {
        if (arch::rdtsc() >= end) return done(ctx);
        arch::cpu_relax();
    }
    return true;
}

}  // namespace corral
