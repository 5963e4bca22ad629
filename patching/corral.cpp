#include "patching/corral.h"

#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"
#include "kernel/cpu.h"
#include "kernel/panic.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time.h"
#include "patching/text_writer.h"

namespace corral {
namespace {

enum class Phase : uint32_t { Idle, Prepare, Parked, Release, Abort, Sync };

// On hardware a few milliseconds.  TCG with 8 vCPUs on 2 host cores (and
// other QEMUs beside it, as in `make test`) was seen leaving a vCPU
// unscheduled for over half a second, so the default is generous; tests
// that want an abort set a short one.
constexpr uint64_t DEFAULT_TIMEOUT_US = 3000000;

struct Rendezvous {
    volatile Phase phase = Phase::Idle;
    volatile uint32_t generation = 0;   // a late IPI from an aborted round must not park
    volatile uint32_t arrived_mask = 0;
    volatile int departed = 0;
    arch::TrapFrame* volatile frames[config::MAX_CPUS] = {};
};

Rendezvous rv;
Spinlock corral_lock("corral");   // one corral (or sync round) at a time
uint64_t timeout_us = DEFAULT_TIMEOUT_US;
volatile uint64_t completed = 0;
volatile uint64_t syncs = 0;

uint32_t others_mask() {
    uint32_t all = cpu_count() >= 32 ? 0xffffffffu : (1u << cpu_count()) - 1;
    return all & ~(1u << cpu_index());
}

// The IPI_CALL handler: every other CPU comes here, interrupts off.
NOT_PATCHABLE bool corral_ipi(arch::TrapFrame* frame) {
    const int me = cpu_index();
    const uint32_t gen = rv.generation;
    const Phase phase = rv.phase;
    if (phase == Phase::Sync) {
        text_alias_flush_local();
        arch::serialize();
        __atomic_or_fetch(&rv.arrived_mask, 1u << me, __ATOMIC_ACQ_REL);
        return true;
    }
    if (phase != Phase::Prepare) return true;   // late for an aborted round: ignore
    rv.frames[me] = frame;
    __atomic_or_fetch(&rv.arrived_mask, 1u << me, __ATOMIC_ACQ_REL);
    while (rv.generation == gen && (rv.phase == Phase::Prepare || rv.phase == Phase::Parked)) arch::cpu_relax();
    // Another CPU may have rewritten code we are about to run: drop the
    // alias from our TLB and serialize before returning (SDM 8.1.3).
    text_alias_flush_local();
    arch::serialize();
    rv.frames[me] = nullptr;
    __atomic_add_fetch(&rv.departed, 1, __ATOMIC_ACQ_REL);
    return true;
}

struct ArrivedAll { uint32_t want; };
NOT_PATCHABLE bool all_arrived(void* ctx) {
    return (rv.arrived_mask & static_cast<ArrivedAll*>(ctx)->want) == static_cast<ArrivedAll*>(ctx)->want;
}

// Sends the IPI and waits for every other CPU's answer.
NOT_PATCHABLE bool gather(Phase phase, uint32_t want, uint64_t* waited_us) {
    rv.arrived_mask = 0;
    rv.departed = 0;
    rv.generation = rv.generation + 1;
    rv.phase = phase;
    const uint64_t start = now_us();
    if (want) arch::ipi_send_all_but_self(arch::VECTOR_IPI_CALL);
    ArrivedAll ctx{want};
    bool ok = wait_until(all_arrived, &ctx, timeout_us);
    *waited_us = now_us() - start;
    return ok;
}

NOT_PATCHABLE void wait_departed(int count) {
    while (__atomic_load_n(&rv.departed, __ATOMIC_ACQUIRE) < count) arch::cpu_relax();
}

int popcount(uint32_t v) { return __builtin_popcount(v); }

}  // namespace

void corral_init() { arch::register_trap_handler(arch::VECTOR_IPI_CALL, corral_ipi); }
void corral_set_timeout_us(uint64_t us) { timeout_us = us; }
uint64_t corral_timeout_us() { return timeout_us; }
uint64_t corral_count() { return completed; }
uint64_t sync_count() { return syncs; }

NOT_PATCHABLE Result<void> corral_all_cpus(CorralWork work, void* ctx, CorralReport* report_out) {
    if (corral_lock.holding() || rv.phase != Phase::Idle)
        return make_error("corral: refused: a corral is already in progress on cpu %d", corral_lock.owner_cpu());
    SpinlockGuard guard(corral_lock);   // also keeps this CPU's interrupts off throughout
    CorralReport report{};
    report.cpus = cpu_count();
    const uint32_t want = others_mask();
    const bool all_parked = gather(Phase::Prepare, want, &report.wait_us);
    report.parked_mask = (rv.arrived_mask & want) | (1u << cpu_index());
    report.missing_mask = want & ~rv.arrived_mask;
    for (int c = 0; c < config::MAX_CPUS; c++) report.parked_frame[c] = rv.frames[c];
    if (report_out) *report_out = report;
    if (!all_parked) {
        // Abort before any work: whoever did arrive goes back untouched.
        rv.phase = Phase::Abort;
        const uint32_t arrived = rv.arrived_mask & want;
        wait_departed(popcount(arrived));
        rv.phase = Phase::Idle;
        return make_error("corral: aborted after %llu us, nothing written: cpu mask %#x never answered",
                          (unsigned long long)report.wait_us, report.missing_mask);
    }
    rv.phase = Phase::Parked;
    Result<void> result = work(ctx, report);
    rv.phase = Phase::Release;
    wait_departed(popcount(want));
    text_alias_flush_local();
    arch::serialize();
    rv.phase = Phase::Idle;
    completed = completed + 1;
    return result;
}

NOT_PATCHABLE Result<void> sync_all_cpus() {
    if (corral_lock.holding()) return make_error("sync_all_cpus: refused inside a corral");
    SpinlockGuard guard(corral_lock);
    uint64_t waited;
    const uint32_t want = others_mask();
    const bool ok = gather(Phase::Sync, want, &waited);
    const uint32_t missing = want & ~rv.arrived_mask;
    rv.phase = Phase::Idle;
    text_alias_flush_local();
    arch::serialize();
    if (!ok) return make_error("sync: cpu mask %#x did not answer within %llu us", missing,
                               (unsigned long long)timeout_us);
    syncs = syncs + 1;
    return Ok{};
}

}  // namespace corral
