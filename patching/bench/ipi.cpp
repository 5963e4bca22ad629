// `ipi` and `corral`: the floor and what the corral costs above it.
//
// A ping is the smallest cross-CPU request there is: the sender writes a
// sequence number into the target's slot and sends an IPI; the handler (or
// a wait loop's poll, as for every cross-CPU request, kernel/sync/cross_cpu.h)
// copies it into the answer slot; the sender sees the answer.  The corral
// does the same, plus parking and release: its cost over the ping is the
// protocol's own.
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"
#include "kernel/config.h"
#include "kernel/cpu.h"
#include "kernel/heap.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/smp.h"
#include "kernel/sync/cross_cpu.h"
#include "patching/bench/bench.h"
#include "patching/corral.h"
#include "patching/phase_clock.h"

namespace corral::bench {
namespace {

constexpr int DEFAULT_IPI_SAMPLES = 1000;
constexpr int DEFAULT_CORRAL_SAMPLES = 200;
constexpr uint64_t PING_TIMEOUT_US = 5000000;

volatile uint32_t ping[config::MAX_CPUS];
volatile uint32_t pong[config::MAX_CPUS];
uint32_t sequence = 0;

NOT_PATCHABLE bool ping_pending() {
    const int me = cpu_index();
    return __atomic_load_n(&ping[me], __ATOMIC_ACQUIRE) != pong[me];
}

NOT_PATCHABLE void ping_serve(arch::TrapFrame*) {
    const int me = cpu_index();
    __atomic_store_n(&pong[me], __atomic_load_n(&ping[me], __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
}

NOT_PATCHABLE bool ping_ipi(arch::TrapFrame* frame) {
    if (ping_pending()) ping_serve(frame);
    return true;
}

struct Pings {
    uint32_t mask, seq;
};
NOT_PATCHABLE bool all_ponged(void* ctx) {
    const Pings& p = *static_cast<Pings*>(ctx);
    for (uint32_t m = p.mask; m; m &= m - 1)
        if (__atomic_load_n(&pong[__builtin_ctz(m)], __ATOMIC_ACQUIRE) != p.seq) return false;
    return true;
}

// The first `n` CPUs other than this one.
uint32_t first_others(int n) {
    uint32_t mask = 0;
    for (uint32_t m = smp_others_mask(); m && n > 0; m &= m - 1, n--) mask |= m & -m;
    return mask;
}

Result<void> no_work(void*, const CorralReport&) { return Ok{}; }

struct Samples {
    uint64_t* v;
    int n;
    explicit Samples(int count) : v(new uint64_t[count]), n(count) {}
    ~Samples() { delete[] v; }
    Samples(const Samples&) = delete;
    Samples& operator=(const Samples&) = delete;
};

}  // namespace

void ipi_init() {
    arch::register_trap_handler(arch::VECTOR_IPI_PING, ping_ipi);
    cross_cpu_register(CrossCpuServer{"bench-ping", ping_pending, ping_serve});
}

uint64_t ipi_round_trip(uint32_t mask) {
    Pings p{mask, ++sequence};
    const uint64_t start = cycles_now();
    for (uint32_t m = mask; m; m &= m - 1) __atomic_store_n(&ping[__builtin_ctz(m)], p.seq, __ATOMIC_RELEASE);
    smp_send_ipi(mask, arch::VECTOR_IPI_PING);
    if (!cross_cpu_wait_until(all_ponged, &p, PING_TIMEOUT_US)) return 0;
    return cycles_now() - start;
}

namespace {

Result<Stats> ping_stats(uint32_t mask, int samples) {
    Samples s(samples);
    if (!s.v) return make_error("bench: no memory for %d samples", samples);
    for (int i = -warmup(samples); i < samples; i++) {
        const uint64_t c = ipi_round_trip(mask);
        if (c == 0) return make_error("bench ipi: cpu mask %#x did not answer a ping within %llu ms", mask,
                                      (unsigned long long)(PING_TIMEOUT_US / 1000));
        if (i >= 0) s.v[i] = c;
    }
    return stats_of(s.v, samples);
}

}  // namespace

Result<void> bench_ipi(const Options& o) {
    const int samples = o.pick(DEFAULT_IPI_SAMPLES);
    for (uint32_t m = smp_others_mask(); m; m &= m - 1) {
        const int target = __builtin_ctz(m);
        const Stats st = TRY(ping_stats(1u << target, samples));
        char kase[16];
        format(kase, sizeof kase, "cpu%d", target);
        Line l("ipi", kase);
        l.stats_us(st);
        l.add_int("target", target);
        l.finish();
    }
    const Stats st = TRY(ping_stats(smp_others_mask(), samples));
    Line l("ipi", "broadcast");
    l.stats_us(st);
    l.add_int("targets", cpu_count() - 1);
    l.finish();
    return Ok{};
}

namespace {

// Corrals of the first k-1 other CPUs, each next to a ping of the same
// CPUs, in turn: both see the same conditions.
Result<void> corral_at(int k, const char* kase, int samples) {
    const uint32_t mask = first_others(k - 1);
    Samples corral(samples), pings(samples), gather(samples), release(samples);
    if (!corral.v || !pings.v || !gather.v || !release.v) return make_error("bench: no memory for %d samples", samples);
    for (int i = -warmup(samples); i < samples; i++) {
        const uint64_t p = ipi_round_trip(mask);
        if (p == 0) return make_error("bench corral: cpu mask %#x did not answer a ping", mask);
        const uint64_t start = cycles_now();
        TRY_VOID(corral_cpus(mask, no_work, nullptr));
        const uint64_t c = cycles_now() - start;
        if (i < 0) continue;
        const PhaseTimes t = phase_clock_read();
        corral.v[i] = c;
        pings.v[i] = p;
        gather.v[i] = t.cycles_of("gather");
        release.v[i] = t.cycles_of("release") + t.cycles_of("serialize");
    }
    const Stats cs = stats_of(corral.v, samples);
    const Stats ps = stats_of(pings.v, samples);
    Line l("corral", kase);
    l.stats_us(cs);
    l.add_int("ncpus", k);
    l.add_str("park", park_mode_name(corral_park_mode()));
    l.add_us("ipi_median", ps.median);
    l.add_ratio("ratio", cs.median, ps.median);
    l.add_us("gather_median", stats_of(gather.v, samples).median);     // until every CPU is parked
    l.add_us("release_median", stats_of(release.v, samples).median);   // until every CPU has left
    // The goal is the default park's; park=spin is measured beside it for comparison.
    if (!str_eq(kase, "idle-spin")) l.goal("corral/ipi <= 2.5", cs.median * 2 <= ps.median * 5);
    l.finish();
    return Ok{};
}

}  // namespace

Result<void> bench_corral(const Options& o) {
    const int samples = o.pick(DEFAULT_CORRAL_SAMPLES);
    constexpr Load loads[] = {Load::Idle, Load::Busy, Load::IrqOff};
    for (Load load : loads) {
        load_start(load);
        Result<void> r = Ok{};
        for (int k = 2; k <= cpu_count() && r.is_ok(); k++) r = corral_at(k, load_name(load), samples);
        load_stop();
        TRY_VOID(r);
    }
    // The same idle corrals with parked CPUs spinning, for the comparison
    // in one boot (docs/performance.md, "Parking").
    const ParkMode mode = corral_park_mode();
    if (mode == ParkMode::Spin) return Ok{};
    corral_set_park_mode(ParkMode::Spin);
    Result<void> r = Ok{};
    for (int k = 2; k <= cpu_count() && r.is_ok(); k++) r = corral_at(k, "idle-spin", samples);
    corral_set_park_mode(mode);
    return r;
}

}  // namespace corral::bench
