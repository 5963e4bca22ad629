// Concurrency smoke test: threads on every CPU call patchable functions in
// tight loops while the main thread applies and reverts patches with each
// safe strategy.  Every call must return exactly the old or the new
// signature, both must be seen, and nothing may fault.
#include "kernel/cpu.h"
#include "kernel/heap.h"
#include "kernel/sched/thread.h"
#include "kernel/test/ktest.h"
#include "patching/tests/generous_timeout.h"
#include "patching/demo_targets.h"
#include "patching/hold.h"
#include "patching/strategy.h"
#include "patching/torn.h"
#include "patching/transaction.h"

namespace corral {
namespace {

constexpr int CYCLES = 12;        // apply + revert pairs per strategy, at least
constexpr int MAX_CYCLES = 200;   // more only until both versions were seen (a starved host)

struct Tally {
    volatile bool stop;
    volatile uint32_t old_calls, new_calls, wrong;
    int (*fn)(int);
    int (*v1)(int);
    int (*v2)(int);
};

void hammer(void* arg) {
    auto* t = static_cast<Tally*>(arg);
    for (int i = 0; !t->stop; i++) {
        const int x = i & 1023;
        const int got = t->fn(x);
        if (got == t->v1(x)) __atomic_add_fetch(&t->old_calls, 1, __ATOMIC_RELAXED);
        else if (got == t->v2(x)) __atomic_add_fetch(&t->new_calls, 1, __ATOMIC_RELAXED);
        else __atomic_add_fetch(&t->wrong, 1, __ATOMIC_RELAXED);
    }
}

int hot_v1(int x) { return x * 3 + 1; }
int fentry_v1(int x) { return x * 5 + 2; }

void smoke(KTestContext& t, const char* patch_name, const char* strategy, int (*fn)(int), int (*v1)(int),
           int (*v2)(int)) {
    PatchRecord* p = patch_find(patch_name);
    const Strategy* s = find_strategy(strategy);
    KREQUIRE(p && s);
    GenerousCorralTimeout generous;
    Tally* tally = new Tally{false, 0, 0, 0, fn, v1, v2};
    const uint32_t faults = torn_fault_count();
    Thread* workers[config::MAX_CPUS];
    for (int c = 0; c < cpu_count(); c++) workers[c] = thread_create("hammer", hammer, tally, 1u << c);
    int deferrals = 0;
    for (int i = 0; i < CYCLES || (i < MAX_CYCLES && (tally->old_calls == 0 || tally->new_calls == 0)); i++) {
        Result<void> a = patch_apply(p, s);
        if (a.is_error()) { t.fail(__FILE__, __LINE__, "%s apply: %s", strategy, a.error()); break; }
        deferrals += p->applied.deferrals;
        thread_sleep_ms(2);
        Result<void> r = patch_revert(p);
        if (r.is_error()) { t.fail(__FILE__, __LINE__, "%s revert: %s", strategy, r.error()); break; }
        thread_sleep_ms(2);
    }
    tally->stop = true;
    for (int c = 0; c < cpu_count(); c++) thread_join(workers[c]);
    KEXPECT_EQ(tally->wrong, 0u);
    KEXPECT_EQ(torn_fault_count(), faults);
    KEXPECT(tally->old_calls > 0);
    KEXPECT(tally->new_calls > 0);   // the patch really took effect under load
    delete tally;
}

KTEST(smoke, corral_scan_under_load) { smoke(t, "hot", "corral-scan", demo_hot_counter, hot_v1, demo_hot_counter_v2); }
KTEST(smoke, hotpatch_under_load) { smoke(t, "hot", "hotpatch", demo_hot_counter, hot_v1, demo_hot_counter_v2); }
KTEST(smoke, int3_under_load) { smoke(t, "fentry", "int3", demo_fentry_counter, fentry_v1, demo_fentry_counter_v2); }

// corral-scan must not wait forever for a function that is never free: a
// thread parked inside the bytes for good makes it give up cleanly, with
// nothing written.
KTEST(patching, corral_scan_gives_up_cleanly_on_a_hot_function) {
    PatchRecord* seed = patch_find("seed");
    KREQUIRE(seed);
    Hold* h = new Hold();
    hold_prepare(*h, seed->target + 2, HoldMode::SwitchedOut);
    struct Arg { Hold* h; } arg{h};
    Thread* v = thread_create("stuck", [](void* a) {
        hold_arm_this_cpu(*static_cast<Arg*>(a)->h);
        seed_example();
    }, &arg, 1u << (cpu_count() - 1));
    KREQUIRE(hold_wait_arrived(*h, 10000000));
    uint8_t before[7];
    for (int i = 0; i < 7; i++) before[i] = reinterpret_cast<const uint8_t*>(seed->target)[i];
    Result<void> r = patch_apply(seed, find_strategy("corral-scan"));
    bool unchanged = true;
    for (int i = 0; i < 7; i++) unchanged = unchanged && reinterpret_cast<const uint8_t*>(seed->target)[i] == before[i];
    hold_release(*h);
    thread_join(v);
    hold_clear();
    delete h;
    KEXPECT(r.is_error());
    KEXPECT(unchanged);
    KEXPECT(seed->state != PatchState::Applied);
}

}  // namespace
}  // namespace corral
