// Cross-CPU protocols meeting each other (docs/design.md §3: every cross-CPU
// wait keeps serving the requests aimed at its own CPU).  Each test makes
// one pair race on purpose, proves that both were in flight at the same
// moment -- a run that never hit the race fails -- and then requires that
// both complete with no timeout and no abort.
//
// The trick is the same in each: the test's CPU turns interrupts off, so
// the only way it can answer the other CPU is from inside its own wait
// loop.  Before that rule, each pair here deadlocked until a timeout.
#include "arch/x86/cpu.h"
#include "kernel/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/smp.h"
#include "kernel/sync/spinlock.h"
#include "kernel/test/ktest.h"
#include "kernel/time.h"
#include "patching/corral.h"
#include "patching/tests/generous_timeout.h"

namespace corral {
namespace {

constexpr uintptr_t RACE_VA = 0xe0400000;            // never mapped: invlpg of it is harmless
constexpr uint64_t RACE_SETUP_TIMEOUT_US = 30000000;  // a starved vCPU may take a while to start

// Pins the test to CPU 0 and its partner thread to CPU 1 for one race.
class RacePair {
public:
    RacePair(const char* name, void (*fn)(void*), void* arg) {
        thread_set_affinity(current_thread(), 1u);
        partner_ = thread_create(name, fn, arg, 1u << 1);
    }
    ~RacePair() {
        thread_join(partner_);
        thread_set_affinity(current_thread(), AFFINITY_ANY);
    }

private:
    Thread* partner_;
};

// These tests are about protocols meeting, not about timing
// (GenerousCorralTimeout, generous_timeout.h).

// Spins (deliberately *not* serving anyone) until `cond` holds.
bool spin_until(bool (*cond)(void*), void* ctx) { return wait_until(cond, ctx, RACE_SETUP_TIMEOUT_US); }

Result<void> nothing_to_do(void*, const CorralReport&) { return Ok{}; }

struct Partner {
    volatile bool go = false;
    volatile bool done = false;
    Result<void> result = make_error("partner did not run");
};


void shootdown_partner(void* arg) {
    auto* p = static_cast<Partner*>(arg);
    while (!p->go) arch::cpu_relax();
    p->result = tlb_shootdown(RACE_VA);
    p->done = true;
}

void sync_partner(void* arg) {
    auto* p = static_cast<Partner*>(arg);
    while (!p->go) arch::cpu_relax();
    p->result = sync_all_cpus();
    p->done = true;
}

void corral_partner(void* arg) {
    auto* p = static_cast<Partner*>(arg);
    while (!p->go) arch::cpu_relax();
    p->result = corral_all_cpus(nothing_to_do, nullptr);
    p->done = true;
}

bool shootdown_waits_for_cpu0(void*) { return tlb_shootdown_waiting_for(0); }
bool sync_waits_for_cpu0(void*) { return corral_round_waiting_for(0) == RoundKind::Sync; }
bool corral_waits_for_cpu0(void*) { return corral_round_waiting_for(0) == RoundKind::Corral; }

// CPU 1 starts `partner`'s protocol; CPU 0, interrupts off, waits until that
// protocol is waiting for CPU 0, then corrals.  Returns whether the overlap
// was seen; `corral` gets the corral's result.
bool corral_against(void (*partner_fn)(void*), bool (*waits_for_cpu0)(void*), Partner& p, Result<void>& corral,
                    CorralReport& report) {
    bool overlapped;
    GenerousCorralTimeout patient;
    RacePair pair("race-partner", partner_fn, &p);
    InterruptGuard deaf_to_ipis;
    p.go = true;
    overlapped = spin_until(waits_for_cpu0, nullptr);
    corral = corral_all_cpus(nothing_to_do, nullptr, &report);
    return overlapped;
}

#define SKIP_UNLESS_TWO_CPUS() \
    do { if (cpu_count() < 2) { t.skip("a race needs a second CPU"); return; } } while (0)

KTEST(race, tlb_shootdown_meets_corral) {
    SKIP_UNLESS_TWO_CPUS();
    const uint64_t shootdowns = tlb_shootdown_count(), corrals = corral_count();
    Partner p;
    Result<void> c = make_error("not run");
    CorralReport report{};
    const bool overlapped = corral_against(shootdown_partner, shootdown_waits_for_cpu0, p, c, report);
    KEXPECT(overlapped);   // the shootdown was waiting for CPU 0 when CPU 0 began its corral
    KEXPECT(c.is_ok());
    KEXPECT_EQ(report.missing_mask, 0u);
    KEXPECT(p.done && p.result.is_ok());
    KEXPECT(tlb_shootdown_count() >= shootdowns + 1);
    KEXPECT(corral_count() >= corrals + 1);
}

KTEST(race, int3_sync_meets_corral) {
    SKIP_UNLESS_TWO_CPUS();
    const uint64_t syncs = sync_count(), waits = corral_lock_waits();
    Partner p;
    Result<void> c = make_error("not run");
    CorralReport report{};
    const bool overlapped = corral_against(sync_partner, sync_waits_for_cpu0, p, c, report);
    KEXPECT(overlapped);
    KEXPECT(c.is_ok());
    KEXPECT(p.done && p.result.is_ok());
    KEXPECT(sync_count() >= syncs + 1);
    KEXPECT(corral_lock_waits() >= waits + 1);   // CPU 0's corral waited its turn
}

KTEST(race, corral_meets_corral_from_another_cpu) {
    SKIP_UNLESS_TWO_CPUS();
    const uint64_t corrals = corral_count(), waits = corral_lock_waits();
    Partner p;
    Result<void> c = make_error("not run");
    CorralReport report{};
    const bool overlapped = corral_against(corral_partner, corral_waits_for_cpu0, p, c, report);
    KEXPECT(overlapped);
    KEXPECT(c.is_ok());
    KEXPECT_EQ(report.missing_mask, 0u);
    KEXPECT(p.done && p.result.is_ok());
    KEXPECT(corral_count() >= corrals + 2);
    KEXPECT(corral_lock_waits() >= waits + 1);
}

// ---- A TLB shootdown sent by the holder of a lock another CPU spins for.

struct LockRace {
    Spinlock lock{"race-lock"};
    volatile bool holder_has_it = false;
    volatile bool spinner_wants_it = false;
    volatile bool spinner_got_it = false;
    volatile bool shot_while_contended = false;
    volatile uint64_t spinner_ticks_at_start = 0;
    volatile bool saw_ticks_while_spinning = false;
    bool wait_for_ticks = false;
    Result<void> result = make_error("holder did not run");
};

bool holder_has_it(void* r) { return static_cast<LockRace*>(r)->holder_has_it; }
bool spinner_wants_it(void* r) { return static_cast<LockRace*>(r)->spinner_wants_it; }
bool cpu0_ticked(void* r) { return cpus[0].ticks >= static_cast<LockRace*>(r)->spinner_ticks_at_start + 3; }

void lock_holder(void* arg) {
    auto* r = static_cast<LockRace*>(arg);
    SpinlockGuard g(r->lock);
    r->holder_has_it = true;
    if (!spin_until(spinner_wants_it, r)) return;
    if (r->wait_for_ticks) {
        r->saw_ticks_while_spinning = spin_until(cpu0_ticked, r);
        return;
    }
    // CPU 0 now spins for our lock, interrupts off: the shootdown can only
    // be answered from inside that spin.
    r->result = tlb_shootdown(RACE_VA);
    r->shot_while_contended = !r->spinner_got_it;
}

void run_lock_race(LockRace& r, bool interrupts_off) {
    RacePair pair("race-holder", lock_holder, &r);
    if (!spin_until(holder_has_it, &r)) return;
    if (interrupts_off) push_cli();
    r.spinner_ticks_at_start = cpus[0].ticks;
    r.spinner_wants_it = true;
    r.lock.lock();
    r.spinner_got_it = true;
    r.lock.unlock();
    if (interrupts_off) pop_cli();
}

KTEST(race, tlb_shootdown_meets_contended_spinlock) {
    SKIP_UNLESS_TWO_CPUS();
    LockRace* r = new LockRace();
    run_lock_race(*r, true);
    KEXPECT(r->shot_while_contended);   // answered while CPU 0 was still spinning for the lock
    KEXPECT(r->result.is_ok());
    KEXPECT(r->spinner_got_it);
    delete r;
}

// Thread code (interrupts on) spinning for a lock keeps taking interrupts:
// CPU 0's timer ticks while it waits.
KTEST(race, spinlock_spins_with_interrupts_on) {
    SKIP_UNLESS_TWO_CPUS();
    LockRace* r = new LockRace();
    r->wait_for_ticks = true;
    run_lock_race(*r, false);
    KEXPECT(r->saw_ticks_while_spinning);
    KEXPECT(r->spinner_got_it);
    delete r;
}

}  // namespace
}  // namespace corral
