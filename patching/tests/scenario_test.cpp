// The seed's table, asserted on every run: each scenario with each
// strategy must end exactly as docs/design.md §1 says -- a FAIL cell that stops
// failing is a test failure too (the demonstration lost its teeth).
#include "kernel/config.h"
#include "kernel/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/cross_cpu.h"
#include "kernel/sync/spinlock.h"
#include "kernel/test/ktest.h"
#include "patching/corral.h"
#include "patching/scenario.h"
#include "patching/tests/generous_timeout.h"
#include "kernel/lib/string.h"
#include "patching/demo_targets.h"
#include "patching/farjmp.h"
#include "patching/strategy.h"
#include "patching/transaction.h"

namespace corral {
namespace {

void expect_cell(KTestContext& t, const char* scenario, const char* strategy, int release_step) {
    GenerousCorralTimeout generous;   // a FAIL cell must fail for its reason, not a starved host's
    Result<ScenarioResult> r = run_scenario(scenario, strategy, release_step, false);
    if (r.is_error()) {
        t.fail(__FILE__, __LINE__, "%s/%s: %s", scenario, strategy, r.error());
        return;
    }
    const ScenarioResult& s = r.value();
    if (s.skipped) {
        t.skip("%s", s.detail);
        return;
    }
    if (!cell_matches(s))
        t.fail(__FILE__, __LINE__, "%s/%s: expected %s reason=%s, observed %s reason=%s (%s)", scenario, strategy,
               outcome_name(s.expected), fail_reason_name(s.expected_reason), outcome_name(s.observed),
               fail_reason_name(s.reason), s.detail);
}

#define SCENARIO_CELL(name, strategy, id) \
    KTEST(scenario, name##_##id) { expect_cell(t, #name, strategy, 0); }

SCENARIO_CELL(torn, "naive", naive)
SCENARIO_CELL(torn, "corral", corral)
SCENARIO_CELL(torn, "corral-scan", corral_scan)
SCENARIO_CELL(torn, "hotpatch", hotpatch)
SCENARIO_CELL(torn, "int3", int3)
SCENARIO_CELL(preempted, "naive", naive)
SCENARIO_CELL(preempted, "corral", corral)
SCENARIO_CELL(preempted, "corral-scan", corral_scan)
SCENARIO_CELL(preempted, "hotpatch", hotpatch)
SCENARIO_CELL(preempted, "int3", int3)
SCENARIO_CELL(interrupted, "naive", naive)
SCENARIO_CELL(interrupted, "corral", corral)
SCENARIO_CELL(interrupted, "corral-scan", corral_scan)
SCENARIO_CELL(interrupted, "hotpatch", hotpatch)
SCENARIO_CELL(interrupted, "int3", int3)
SCENARIO_CELL(torn, "stop-check", stop_check)
SCENARIO_CELL(preempted, "stop-check", stop_check)
SCENARIO_CELL(interrupted, "stop-check", stop_check)
// The contract row: a two-function patch whose contract changes together.
// Every strategy that switches one function at a time must FAIL it --
// hotpatch and int3 included, the seed's safe ones.
SCENARIO_CELL(contract, "naive", naive)
SCENARIO_CELL(contract, "corral", corral)
SCENARIO_CELL(contract, "corral-scan", corral_scan)
SCENARIO_CELL(contract, "hotpatch", hotpatch)
SCENARIO_CELL(contract, "int3", int3)
SCENARIO_CELL(contract, "stop-check", stop_check)
SCENARIO_CELL(contract, "klp", klp)
SCENARIO_CELL(torn, "klp", klp)
SCENARIO_CELL(preempted, "klp", klp)
SCENARIO_CELL(interrupted, "klp", klp)

// The klp cell's negative control: with a stack check blind to trap frames
// (the held thread's EIP inside old outer is only in its #DB frame), klp
// switches the held thread too, and it must fail like hotpatch does.  A klp
// that passed here would not be checking stacks at all.
KTEST(scenario, contract_klp_with_a_scan_blind_to_trap_frames_fails) {
    corral_set_bug(CorralBug::SkipTrapFrames);
    Result<ScenarioResult> r = run_scenario("contract", "klp", 0, false);
    corral_set_bug(CorralBug::None);
    KREQUIRE(r.is_ok());
    if (r.value().skipped) return t.skip("%s", r.value().detail);
    KEXPECT(r.value().observed == Outcome::Fail);
    KEXPECT(r.value().reason == FailReason::OldOuterNewInner);
}

// While alive, one CPU -- not 0, whose tick wakes sleepers, nor the
// victim's -- holds a spinlock, so no corral parks it (corral.cpp) and every
// corral times out; it keeps answering shootdowns and sync rounds.
class UnparkableCpu {
public:
    explicit UnparkableCpu(int cpu) {
        thread_set_affinity(current_thread(), ~(1u << cpu));   // never queued behind the holder
        holder_ = thread_create("unparkable", hold, this, 1u << cpu);
        while (!held_) thread_yield();
    }
    ~UnparkableCpu() {
        stop_ = true;
        thread_join(holder_);
        thread_set_affinity(current_thread(), AFFINITY_ANY);
    }
    UnparkableCpu(const UnparkableCpu&) = delete;
    UnparkableCpu& operator=(const UnparkableCpu&) = delete;

private:
    static void hold(void* arg) {
        auto* u = static_cast<UnparkableCpu*>(arg);
        SpinlockGuard g(u->lock_);
        u->held_ = true;
        while (!u->stop_) cross_cpu_relax();
    }
    Spinlock lock_{"unparkable"};
    Thread* holder_ = nullptr;
    volatile bool held_ = false, stop_ = false;
};

// The reasons' negative control: preempted/corral with a corral that times
// out still FAILs, as the table says, but nothing was written, so nothing
// tore.  Compared by outcome alone that cell was green; it must not match.
KTEST(scenario, a_fail_cell_failing_for_another_reason_does_not_match) {
    if (cpu_count() < 3) return t.skip("needs a third CPU to keep out of the corral (not cpu 0, not the victim's)");
    Result<ScenarioResult> r = make_error("not run");
    {
        UnparkableCpu unparkable(cpu_count() - 2);
        ScopedCorralTimeout short_wait(300000);
        r = run_scenario("preempted", "corral", 0, false);
    }
    KREQUIRE(r.is_ok());
    const ScenarioResult& s = r.value();
    KEXPECT(s.expected == Outcome::Fail && s.observed == Outcome::Fail);
    KEXPECT(s.expected_reason == FailReason::TornBytes);
    KEXPECT(s.reason == FailReason::Timeout);
    KEXPECT(!cell_matches(s));
}

// A refusal is named as one: corral-scan allowed a single deferral gives up
// on the held thread it found, and the PASS cell reports why it did not pass.
KTEST(scenario, a_refused_patch_is_reported_as_refused) {
    GenerousCorralTimeout generous;
    far_jmp_set_max_deferrals(1);
    Result<ScenarioResult> r = run_scenario("preempted", "corral-scan", 0, false);
    far_jmp_set_max_deferrals(0);
    KREQUIRE(r.is_ok());
    const ScenarioResult& s = r.value();
    KEXPECT(s.reason == FailReason::Refused);
    KEXPECT(str_contains(s.detail, "gave up after 1 deferrals"));
    KEXPECT(!cell_matches(s));
}

// int3 with the held thread released between the text_poke_bp steps.
KTEST(scenario, int3_released_after_each_step) {
    const char* scenarios[] = {"torn", "preempted", "interrupted"};
    for (const char* sc : scenarios)
        for (int step = 1; step <= 3; step++) expect_cell(t, sc, "int3", step);
}

// The same table with `load` running on every CPU: two busy threads per CPU,
// free to move.  A held thread must keep its place whatever else runs.
volatile bool load_stop = false;

volatile uint32_t load_spins = 0;

void busy(void*) {
    while (!load_stop) load_spins = load_spins + 1;
}

KTEST(scenario, every_cell_holds_under_load) {
    constexpr int MAX_LOAD = 2 * config::MAX_CPUS;
    Thread* load[MAX_LOAD];
    const int n = 2 * cpu_count();
    load_stop = false;
    for (int i = 0; i < n; i++) load[i] = thread_create("load", busy, nullptr);
    const char* scenarios[] = {"torn", "preempted", "interrupted", "contract"};
    const char* strategies[] = {"naive", "corral", "corral-scan", "hotpatch", "int3", "stop-check", "klp"};
    for (const char* sc : scenarios)
        for (const char* st : strategies) expect_cell(t, sc, st, 0);
    load_stop = true;
    for (int i = 0; i < n; i++) thread_join(load[i]);
}

// Any patch on a scenario's target is refused up front, whoever defined it
// (here one defined the way a module's is): the victim would meet it
// instead of the scenario's own patch, and the scenario would report that
// the victim never reached its hold point.
KTEST(scenario, refuses_a_target_another_patch_is_applied_on) {
    if (cpu_count() < 2) return t.skip("needs a second CPU (a scenario skips itself before choosing a target)");
    PatchRecord* other = patch_find("module_like_seed");
    if (!other) {
        Result<PatchRecord*> defined =
            patch_define("module_like_seed", "seed_example", uintptr_t(&seed_example_v2), "int3");
        KREQUIRE(defined.is_ok());
        other = defined.value();
    }
    KREQUIRE(other->state != PatchState::Applied);
    KREQUIRE(patch_apply(other, find_strategy("corral-scan")).is_ok());
    Result<ScenarioResult> r = run_scenario("torn", "naive", 0, false);
    KEXPECT(patch_revert(other).is_ok());
    KEXPECT(patch_undefine(other).is_ok());
    KREQUIRE(r.is_error());
    KEXPECT(str_contains(r.error(), "patch 'module_like_seed' is applied on seed_example"));
}

}  // namespace
}  // namespace corral
