#include "patching/corral.h"

#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"
#include "kernel/console/console.h"
#include "kernel/cpu.h"
#include "kernel/lib/string.h"
#include "kernel/panic.h"
#include "kernel/smp.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/cross_cpu.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time.h"
#include "patching/phase_clock.h"
#include "patching/text_writer.h"

namespace corral {
namespace {

enum class Phase : uint32_t { Idle, Prepare, Parked, Release, Abort, Sync };

// On hardware a few milliseconds.  TCG with 8 vCPUs on 2 host cores (and
// other QEMUs beside it, as in `make test`) was seen leaving a vCPU
// unscheduled for over half a second, so the default is generous; tests
// that want an abort set a short one.
constexpr uint64_t DEFAULT_TIMEOUT_US = 3000000;
// park=adaptive spins this long before it halts: about one IPI round trip
// to a halted CPU under TCG (docs/performance.md), so a corral whose work is
// short releases spinners without an IPI.
constexpr uint64_t ADAPTIVE_SPIN_US = 20;

// The phase and the round's generation share one word, so a CPU reads both
// at once: it can never park for a round that has already ended.  Each CPU
// answers in its own words (the generation it arrived for, and departed
// from), so a CPU that arrives late for an aborted round disturbs nobody.
struct Rendezvous {
    volatile uint32_t state = 0;   // state_word(generation, phase)
    volatile int owner = -1;       // the CPU running the corral
    volatile uint32_t want = 0;    // the CPUs this round asks for (every other one, but for benchmarks)
    volatile uint32_t arrived[config::MAX_CPUS] = {};
    volatile uint32_t departed[config::MAX_CPUS] = {};
    volatile uint32_t halted[config::MAX_CPUS] = {};   // the generation a CPU is about to halt in, or 0
    arch::TrapFrame* volatile frames[config::MAX_CPUS] = {};
};

Rendezvous rv;
Spinlock corral_lock("corral");   // one corral (or sync round) at a time
uint64_t timeout_us = DEFAULT_TIMEOUT_US;
volatile uint64_t completed = 0;
volatile uint64_t syncs = 0;
volatile uint64_t waited_for_lock = 0;
volatile uint64_t gather_us_total = 0;
volatile CorralBug bug = CorralBug::None;
volatile uint32_t late_park[config::MAX_CPUS] = {};   // ack-before-park: the round each CPU still owes a park
volatile ParkMode park_mode = ParkMode::Halt;

// Per CPU, written only by that CPU.
struct ParkCounters {
    volatile uint64_t parks, halts, released_by_ipi, nmi_wakeups, spurious_wakeups, spun_in_service;
};
ParkCounters park_counters[config::MAX_CPUS];

// The state word: the round's generation above PHASE_BITS bits of phase.
constexpr uint32_t PHASE_BITS = 3;
constexpr uint32_t PHASE_MASK = (1u << PHASE_BITS) - 1;
static_assert(uint32_t(Phase::Sync) <= PHASE_MASK, "every phase fits below the generation");
NOT_PATCHABLE constexpr uint32_t state_word(uint32_t generation, Phase p) {
    return generation << PHASE_BITS | uint32_t(p);
}
NOT_PATCHABLE Phase phase_of(uint32_t state) { return Phase(state & PHASE_MASK); }
NOT_PATCHABLE uint32_t generation_of(uint32_t state) { return state >> PHASE_BITS; }
NOT_PATCHABLE uint32_t load_state() { return __atomic_load_n(&rv.state, __ATOMIC_ACQUIRE); }
NOT_PATCHABLE void set_phase(uint32_t generation, Phase p) {
    __atomic_store_n(&rv.state, state_word(generation, p), __ATOMIC_RELEASE);
}

// Is a corral or a sync round waiting for this CPU?  A CPU holding a
// spinlock is not parked: the corral's work might need that lock.  The
// corral times out instead (nothing written).
NOT_PATCHABLE bool corral_pending() {
    const uint32_t s = load_state();
    const Phase p = phase_of(s);
    if (p != Phase::Prepare && p != Phase::Sync) return false;
    const int me = cpu_index();
    if (rv.owner == me || !(rv.want >> me & 1) || rv.arrived[me] == generation_of(s)) return false;
    return p == Phase::Sync || this_cpu()->spinlocks_held == 0;
}

NOT_PATCHABLE void park(uint32_t gen);

// Answers a corral or a sync round, from the IPI or from any wait loop
// (cross_cpu.h).  Interrupts are off.
NOT_PATCHABLE void corral_serve(arch::TrapFrame* frame) {
    if (!corral_pending()) return;   // late IPI, or already answered by a poll
    const int me = cpu_index();
    const uint32_t s = load_state();
    const uint32_t gen = generation_of(s);
    if (phase_of(s) == Phase::Sync) {
        text_alias_flush_local();
        arch::serialize();
        __atomic_store_n(&rv.arrived[me], gen, __ATOMIC_RELEASE);
        return;
    }
    // A thread held at a breakpoint "is executing" the held instruction.
    rv.frames[me] = this_cpu()->held_at ? this_cpu()->held_at : frame;
    __atomic_store_n(&rv.arrived[me], gen, __ATOMIC_RELEASE);
    if (bug == CorralBug::AckBeforePark) {
        late_park[me] = gen;   // the bug: acknowledged, but not parked (until the next tick)
        return;
    }
    park(gen);
}

// May this CPU halt now and count on an IPI to wake it?  Only with its APIC
// running and no rendezvous vector in service: a park inside a handler of
// class 15 (the corral's own IPI takes its EOI first, lapic.h) could not be
// reached by the release, so it spins instead.
NOT_PATCHABLE bool can_halt() {
    return arch::lapic_present() && (arch::lapic_ppr() >> 4) < 0xf;
}

// One halt while parked: publish that we are about to halt, look at the
// round once more (the owner publishes the release, then looks at the
// halted words: each side stores, then loads the other's word, with a full
// barrier between, so at least one of them sees the other), then halt with
// only the rendezvous vectors let in.  Returns when anything woke us.
NOT_PATCHABLE void halt_once(uint32_t gen, uint32_t prepare, uint32_t parked) {
    const int me = cpu_index();
    ParkCounters& pc = park_counters[me];
    __atomic_store_n(&rv.halted[me], gen, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    const uint32_t now = load_state();
    if (now == prepare || now == parked) {
        const uint32_t nmis = smp_nmis_taken(me);
        pc.halts = pc.halts + 1;
        arch::sti_hlt();   // sti's shadow covers hlt: a wake-up IPI cannot slip in between
        arch::cli();
        const uint32_t after = load_state();
        if (after != prepare && after != parked) pc.released_by_ipi = pc.released_by_ipi + 1;
        else if (smp_nmis_taken(me) != nmis) pc.nmi_wakeups = pc.nmi_wakeups + 1;
        else pc.spurious_wakeups = pc.spurious_wakeups + 1;   // a shootdown, a ping, a late call
    }
    __atomic_store_n(&rv.halted[me], 0, __ATOMIC_RELEASE);
}

// Parked until the round's owner releases us, then back to the code we
// interrupted, after flushing the alias and serializing.  Interrupts are off
// on the way in and on the way out.  park=spin waits with pause; park=halt
// halts at once with the task priority raised so that only the rendezvous
// vectors get in (lapic.h), giving the host core back to the CPUs that still
// have to arrive; park=adaptive spins ADAPTIVE_SPIN_US first.  Whatever
// wakes a halted CPU, it goes back to the loop and looks at the round again.
NOT_PATCHABLE void park(uint32_t gen) {
    // lab corral: begin park
    const int me = cpu_index();
    ParkCounters& pc = park_counters[me];
    pc.parks = pc.parks + 1;
    const uint32_t prepare = state_word(gen, Phase::Prepare), parked = state_word(gen, Phase::Parked);
    const ParkMode mode = park_mode;
    const bool halts = mode != ParkMode::Spin && arch::lapic_present();
    const uint32_t saved_tpr = halts ? arch::lapic_tpr() : 0;
    if (halts) arch::lapic_set_tpr(arch::TPR_RENDEZVOUS_ONLY);
    const uint64_t spin_until =
        mode == ParkMode::Adaptive ? arch::rdtsc() + ADAPTIVE_SPIN_US * tsc_hz() / 1000000 : 0;
    for (uint32_t now = load_state(); now == prepare || now == parked; now = load_state()) {
        if (!halts || (spin_until && arch::rdtsc() < spin_until)) {
            cross_cpu_relax();   // parked, but still answering TLB shootdowns sent before the corral began
            continue;
        }
        if (!can_halt()) {
            pc.spun_in_service = pc.spun_in_service + 1;
            cross_cpu_relax();
            continue;
        }
        halt_once(gen, prepare, parked);
        cross_cpu_serve();   // whatever a wake-up brought that its IPI did not answer
    }
    if (halts) arch::lapic_set_tpr(saved_tpr);
    // Another CPU may have rewritten code we are about to run: drop the
    // alias from our TLB and serialize before returning (SDM 8.1.3).
    text_alias_flush_local();
    arch::serialize();
    rv.frames[me] = nullptr;
    __atomic_store_n(&rv.departed[me], gen, __ATOMIC_RELEASE);
    // lab corral: end park
}

// ack-before-park: a CPU parks at its next tick for the round it acknowledged.
NOT_PATCHABLE void late_park_tick() {
    const int me = cpu_index();
    const uint32_t gen = late_park[me];
    if (!gen) return;
    late_park[me] = 0;
    park(gen);
}

NOT_PATCHABLE bool corral_ipi(arch::TrapFrame* frame) {
    corral_serve(frame);
    return true;
}

struct Answers {
    volatile uint32_t* words;
    uint32_t want, generation;
};
NOT_PATCHABLE uint32_t answered(const Answers& a) {
    uint32_t mask = 0;
    for (int c = 0; c < cpu_count(); c++)
        if ((a.want >> c & 1) && __atomic_load_n(&a.words[c], __ATOMIC_ACQUIRE) == a.generation) mask |= 1u << c;
    return mask;
}
NOT_PATCHABLE bool all_answered(void* ctx) {
    const Answers& a = *static_cast<Answers*>(ctx);
    return answered(a) == a.want;
}

// Takes the corral lock, answering other CPUs' corrals while it waits (two
// patchers on two CPUs: the second is parked by the first, then goes).
NOT_PATCHABLE Result<uint32_t> begin_round(const char* what, Phase phase, uint32_t want) {
    Thread* t = this_cpu_current();
    if (t && t->frames)
        return make_error("%s: refused: called from interrupt context (vector %u)", what, t->frames->vector);
    if (corral_lock.holding()) return make_error("%s: refused: a corral is already in progress on this cpu", what);
    if (!corral_lock.try_lock()) {
        waited_for_lock = waited_for_lock + 1;
        while (!corral_lock.try_lock()) cross_cpu_relax();
    }
    rv.owner = cpu_index();
    rv.want = want;
    const uint32_t gen = generation_of(load_state()) + 1;
    set_phase(gen, phase);
    return gen;
}

NOT_PATCHABLE void end_round(uint32_t gen) {
    text_alias_flush_local();
    arch::serialize();
    set_phase(gen, Phase::Idle);
    rv.owner = -1;
    corral_lock.unlock();
}

// Sends the IPI and waits for every wanted CPU's answer.
NOT_PATCHABLE bool gather(const Answers& a, uint64_t* waited_us) {
    const uint64_t start = now_us();
    smp_send_ipi(a.want, arch::VECTOR_IPI_CALL);
    Answers ctx = a;
    const bool ok = cross_cpu_wait_until(all_answered, &ctx, timeout_us);
    *waited_us = now_us() - start;
    return ok;
}

// Ends the park of every CPU in `mask` (release or abort): publish the
// phase, then wake the ones that halted (the other half of halt_once's
// handshake).  Spinners see the phase by themselves.
NOT_PATCHABLE void end_park(uint32_t mask, uint32_t gen, Phase phase) {
    set_phase(gen, phase);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint32_t sleepers = 0;
    for (uint32_t m = mask; m; m &= m - 1) {
        const int c = __builtin_ctz(m);
        if (__atomic_load_n(&rv.halted[c], __ATOMIC_ACQUIRE) == gen) sleepers |= 1u << c;
    }
    if (sleepers) smp_send_ipi(sleepers, arch::VECTOR_IPI_CALL);
}

NOT_PATCHABLE void wait_departed(uint32_t mask, uint32_t gen) {
    Answers d{rv.departed, mask, gen};
    while (!all_answered(&d)) cross_cpu_relax();
}

}  // namespace

void corral_init() {
    arch::register_trap_handler(arch::VECTOR_IPI_CALL, corral_ipi);
    cross_cpu_register(CrossCpuServer{"corral", corral_pending, corral_serve});
}
void corral_set_timeout_us(uint64_t us) { timeout_us = us; }
uint64_t corral_timeout_us() { return timeout_us; }
uint64_t corral_count() { return completed; }
uint64_t sync_count() { return syncs; }

NOT_PATCHABLE Result<void> corral_all_cpus(CorralWork work, void* ctx, CorralReport* report_out) {
    return corral_cpus(smp_others_mask(), work, ctx, report_out);
}

NOT_PATCHABLE Result<void> corral_cpus(uint32_t mask, CorralWork work, void* ctx, CorralReport* report_out) {
    // lab corral: begin corral-cpus
    const uint32_t want = mask & smp_others_mask();
    const uint32_t gen = TRY(begin_round("corral", Phase::Prepare, want));
    phase_clock_start();
    CorralReport report{};
    report.cpus = cpu_count();
    Answers arrivals{rv.arrived, want, gen};
    const bool all_parked = gather(arrivals, &report.wait_us);
    const uint32_t arrived = answered(arrivals);
    report.parked_mask = arrived | (1u << cpu_index());
    report.missing_mask = want & ~arrived;
    for (int c = 0; c < config::MAX_CPUS; c++) report.parked_frame[c] = (arrived >> c & 1) ? rv.frames[c] : nullptr;
    if (report_out) *report_out = report;
    if (!all_parked) {
        // Abort before any work: whoever did arrive goes back untouched.
        for (int c = 0; c < cpu_count(); c++)
            if (report.missing_mask >> c & 1) {
                const Cpu& m = cpus[c];
                kprintf("corral: cpu %d did not answer: running '%s', %d spinlock(s) held%s%s%s\n", c,
                        m.current ? m.current->name : "?", m.spinlocks_held, m.spinlocks_held ? " (newest '" : "",
                        m.spinlocks_held && m.newest_lock ? m.newest_lock : "", m.spinlocks_held ? "')" : "");
                smp_print_sample(c);
            }
        end_park(arrived, gen, Phase::Abort);
        wait_departed(arrived, gen);
        end_round(gen);
        return make_error("corral: aborted after %llu us, nothing written: cpu mask %#x never answered",
                          (unsigned long long)report.wait_us, report.missing_mask);
    }
    set_phase(gen, Phase::Parked);
    phase_clock_mark("gather");
    gather_us_total = gather_us_total + report.wait_us;   // under the corral lock
    Result<void> result = work(ctx, report);
    end_park(want, gen, Phase::Release);
    wait_departed(want, gen);
    phase_clock_mark("release");
    end_round(gen);
    phase_clock_mark("serialize");
    completed = completed + 1;
    return result;
    // lab corral: end corral-cpus
}

NOT_PATCHABLE Result<void> sync_all_cpus() {
    const uint32_t gen = TRY(begin_round("sync_all_cpus", Phase::Sync, smp_others_mask()));
    uint64_t waited;
    const uint32_t want = smp_others_mask();
    Answers acks{rv.arrived, want, gen};
    const bool ok = gather(acks, &waited);
    const uint32_t missing = want & ~answered(acks);
    end_round(gen);
    if (!ok) return make_error("sync: cpu mask %#x did not answer within %llu us", missing,
                               (unsigned long long)timeout_us);
    syncs = syncs + 1;
    return Ok{};
}

uint64_t corral_lock_waits() { return waited_for_lock; }

void corral_set_park_mode(ParkMode mode) { park_mode = mode; }
ParkMode corral_park_mode() { return park_mode; }

const char* park_mode_name(ParkMode mode) {
    switch (mode) {
        case ParkMode::Spin: return "spin";
        case ParkMode::Halt: return "halt";
        case ParkMode::Adaptive: return "adaptive";
    }
    return "?";
}

bool park_mode_by_name(const char* name, ParkMode* out) {
    constexpr ParkMode all[] = {ParkMode::Spin, ParkMode::Halt, ParkMode::Adaptive};
    for (ParkMode m : all)
        if (str_eq(name, park_mode_name(m))) {
            *out = m;
            return true;
        }
    return false;
}

ParkStats corral_park_stats(int cpu) {
    const ParkCounters& c = park_counters[cpu];
    return ParkStats{c.parks, c.halts, c.released_by_ipi, c.nmi_wakeups, c.spurious_wakeups, c.spun_in_service};
}

ParkStats corral_park_stats_total() {
    ParkStats t{};
    for (int c = 0; c < cpu_count(); c++) {
        const ParkStats s = corral_park_stats(c);
        t.parks += s.parks;
        t.halts += s.halts;
        t.released_by_ipi += s.released_by_ipi;
        t.nmi_wakeups += s.nmi_wakeups;
        t.spurious_wakeups += s.spurious_wakeups;
        t.spun_in_service += s.spun_in_service;
    }
    return t;
}
uint64_t corral_gather_us_total() { return gather_us_total; }

void corral_set_bug(CorralBug b) {
    if (b == CorralBug::AckBeforePark) sched_add_tick_hook(late_park_tick);
    bug = b;
    if (b != CorralBug::AckBeforePark) sched_remove_tick_hook(late_park_tick);
}
CorralBug corral_bug() { return bug; }

const char* corral_bug_name(CorralBug b) {
    switch (b) {
        case CorralBug::None: return "none";
        case CorralBug::AckBeforePark: return "ack-before-park";
        case CorralBug::SkipTrapFrames: return "skip-trap-frames";
        case CorralBug::StopCheckNoScan: return "stop-check-no-scan";
        case CorralBug::KlpNoStackCheck: return "klp-no-stack-check";
    }
    return "?";
}

const char* corral_bug_strategy(CorralBug b) {
    switch (b) {
        case CorralBug::None: return nullptr;
        case CorralBug::AckBeforePark:
        case CorralBug::SkipTrapFrames: return "corral-scan";
        case CorralBug::StopCheckNoScan: return "stop-check";
        case CorralBug::KlpNoStackCheck: return "klp";
    }
    return nullptr;
}

bool corral_bug_by_name(const char* name, CorralBug* out) {
    constexpr CorralBug all[] = {CorralBug::None, CorralBug::AckBeforePark, CorralBug::SkipTrapFrames,
                                 CorralBug::StopCheckNoScan, CorralBug::KlpNoStackCheck};
    for (CorralBug b : all)
        if (str_eq(name, corral_bug_name(b))) {
            *out = b;
            return true;
        }
    return false;
}

RoundKind corral_round_waiting_for(int cpu) {
    const uint32_t s = load_state();
    if (rv.owner == cpu || !(rv.want >> cpu & 1) || rv.arrived[cpu] == generation_of(s)) return RoundKind::None;
    if (phase_of(s) == Phase::Prepare) return RoundKind::Corral;
    return phase_of(s) == Phase::Sync ? RoundKind::Sync : RoundKind::None;
}

}  // namespace corral
