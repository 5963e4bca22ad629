// klp: a transition that completes under load, and one that cannot finish
// (a thread sleeps inside the old function), which is reported after its
// timeout and reversed by a revert.
#include "arch/x86/trap.h"
#include "kernel/config.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/shell.h"
#include "kernel/smp.h"
#include "kernel/sync/cross_cpu.h"
#include "kernel/cpu.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "arch/x86/cpu.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/sync/spinlock.h"
#include "kernel/test/ktest.h"
#include "kernel/time.h"
#include "patching/demo_targets.h"
#include "patching/klp/klp.h"
#include "patching/klp/nap.h"
#include "patching/strategy.h"
#include "patching/text_verify.h"
#include "patching/transaction.h"

namespace corral {

Semaphore klp_test_gate(0);

extern "C" __attribute__((noipa)) int klp_test_sleeps(int x) {
    klp_test_gate.down();
    return x + 1;
}
extern "C" __attribute__((noipa)) int klp_test_sleeps_v2(int x) { return x + 2; }
extern "C" __attribute__((noipa)) int klp_test_plain(int x) { return x + 1; }
extern "C" __attribute__((noipa)) int klp_test_plain_v2(int x) { return x + 2; }

namespace {

constexpr uint64_t SETTLE_US = 20000000;

volatile bool stop_callers = false;
volatile bool transition_done = false;
volatile uint32_t bad_results = 0, old_after_done = 0;
volatile uint32_t new_after_done[2 * config::MAX_CPUS];

// Every call gets one version or the other; a call begun after the
// transition finished gets the new one.
void caller(void* arg) {
    const int me = int(uintptr_t(arg));
    while (!stop_callers) {
        const bool after = transition_done;
        const int v = demo_fentry_counter(3);
        const bool v1 = v == 3 * 5 + 2, v2 = v == 3 * 5 + 2 + DEMO_V2_OFFSET;
        if (!v1 && !v2) bad_results = bad_results + 1;
        else if (after && v1) old_after_done = old_after_done + 1;
        else if (after) new_after_done[me] = new_after_done[me] + 1;
    }
}

// Waits (however slow the host) until every caller has made a call since.
bool every_caller_called_again(int n) {
    const uint64_t end = now_us() + SETTLE_US;
    for (int i = 0; i < n; i++)
        while (new_after_done[i] == 0 && old_after_done == 0) {
            if (now_us() > end) return false;
            thread_sleep_ms(5);
        }
    return true;
}

KTEST(klp, transition_completes_under_load_and_reverts) {
    PatchRecord* r = patch_find("fentry");
    KREQUIRE(r && r->state != PatchState::Applied);
    const int before = text_verify(false).patched_bytes;
    constexpr int MAX_CALLERS = 2 * config::MAX_CPUS;
    Thread* callers[MAX_CALLERS];
    const int n = 2 * cpu_count();
    stop_callers = false;
    transition_done = false;
    bad_results = 0;
    old_after_done = 0;
    for (int i = 0; i < n; i++) new_after_done[i] = 0;
    for (int i = 0; i < n; i++) callers[i] = thread_create("klp-caller", caller, reinterpret_cast<void*>(uintptr_t(i)));
    thread_sleep_ms(50);
    KREQUIRE(patch_apply(r, find_strategy("klp")).is_ok());
    const bool finished = klp::wait_idle(SETTLE_US);
    transition_done = true;
    KEXPECT(finished);
    KEXPECT(every_caller_called_again(n));
    KEXPECT_EQ(old_after_done, 0u);   // after the transition every call runs the replacement
    KREQUIRE(patch_revert(r).is_ok());
    KEXPECT(klp::wait_idle(SETTLE_US));
    stop_callers = true;
    for (int i = 0; i < n; i++) thread_join(callers[i]);
    KEXPECT_EQ(bad_results, 0u);
    KEXPECT_EQ(demo_fentry_counter(3), 3 * 5 + 2);
    KEXPECT_EQ(text_verify(false).patched_bytes, before);
}

volatile int sleeper_result = 0;
void sleeper(void*) { sleeper_result = klp_test_sleeps(1); }

bool blocked(void* t) {
    auto* th = static_cast<Thread*>(t);
    return th->state == ThreadState::Blocked && !th->on_cpu;
}

// The patch of klp_test_sleeps, defined by the first test that wants it.
Result<PatchRecord*> sleeps_patch() {
    if (PatchRecord* r = patch_find("klp-test")) return r;
    return patch_define("klp-test", "klp_test_sleeps", uintptr_t(&klp_test_sleeps_v2), "klp");
}

// The patch of klp_test_plain, which nothing calls but the tests.
Result<PatchRecord*> plain_patch() {
    if (PatchRecord* r = patch_find("klp-test-plain")) return r;
    return patch_define("klp-test-plain", "klp_test_plain", uintptr_t(&klp_test_plain_v2), "klp");
}

KTEST(klp, a_stuck_transition_is_reported_and_reversed) {
    Result<PatchRecord*> defined = sleeps_patch();
    KREQUIRE(defined.is_ok());
    PatchRecord* r = defined.value();
    const int before = text_verify(false).patched_bytes;
    Thread* s = thread_create("klp-sleeper", sleeper, nullptr);
    KREQUIRE(wait_until(blocked, s, 5000000));
    klp::set_timeout_ms(200);
    KREQUIRE(patch_apply(r, find_strategy("klp")).is_ok());
    thread_sleep_ms(600);
    const klp::Progress p = klp::progress();
    KEXPECT(p.active);
    KEXPECT(p.stuck >= 1);       // the sleeper, inside the old function
    KEXPECT(p.reported);         // the timeout report was printed
    KEXPECT(patch_revert(r).is_ok());   // reverses the transition
    KEXPECT(klp::wait_idle(SETTLE_US));
    klp::set_timeout_ms(10000);
    klp_test_gate.up();
    thread_join(s);
    KEXPECT_EQ(sleeper_result, 2);   // it finished the old version
    KEXPECT_EQ(klp_test_sleeps_v2(0), 2);
    KEXPECT_EQ(text_verify(false).patched_bytes, before);
}

// The transition thread flags a switched-out thread, sees it off every CPU
// and scans its saved context.  Meanwhile another CPU may pick the thread to
// run: it sets on_cpu and then waits at the switch-in hook, and the thread
// is still where it slept, inside the old function.  The scan must read that
// context all the same.  (It took on_cpu for "running on a parked CPU, its
// context stale", read nothing, and the thread was switched inside old code:
// the smp4-klp contract break of make stress.)  The hook wakes the sleeper
// from inside its inspection and waits until a CPU holds at the switch-in
// hook for it; then the scan runs.
Thread* volatile woken_sleeper = nullptr;
volatile bool wake_armed = false, race_now = false, held_at_switch_in = false, switched_inside = false;

void wake_during_scan(Thread* t, bool scanned) {
    if (t != woken_sleeper) return;
    if (scanned) {
        if (race_now) switched_inside = t->patch_universe == 1;   // still inside klp_test_sleeps
        race_now = false;
        return;
    }
    if (!wake_armed) return;
    wake_armed = false;
    t->affinity = smp_others_mask();   // not this CPU: it is busy here
    klp_test_gate.up();
    const uint64_t end = now_us() + 5000000;
    while (!__atomic_load_n(&t->on_cpu, __ATOMIC_ACQUIRE) && now_us() < end) cross_cpu_relax();
    held_at_switch_in = t->on_cpu;
    race_now = held_at_switch_in;
}

bool wake_done(void*) { return !wake_armed; }

// The wake-up must reach another CPU while the hook waits (a busy or
// unscheduled vCPU may take longer than the hook's 5 s): up to three
// attempts, each with a new sleeper and a new transition, until one sees
// the race; none may switch the sleeper inside.
KTEST(klp, a_sleeper_picked_to_run_during_its_scan_is_still_scanned) {
    if (cpu_count() < 2) return t.skip("needs a second CPU");
    Result<PatchRecord*> defined = sleeps_patch();
    KREQUIRE(defined.is_ok());
    PatchRecord* r = defined.value();
    int raced = 0, inside = 0;
    bool ok = true;
    for (int attempt = 0; attempt < 3 && raced == 0 && ok; attempt++) {
        if (!klp::wait_idle(SETTLE_US)) {
            ok = false;
            break;
        }
        Thread* s = thread_create("klp-sleeper", sleeper, nullptr);
        if (!wait_until(blocked, s, 5000000)) ok = false;
        woken_sleeper = s;
        race_now = false;
        held_at_switch_in = false;
        switched_inside = false;
        wake_armed = ok;
        klp::set_inspect_hook_for_tests(wake_during_scan);
        const bool applied = ok && patch_apply(r, find_strategy("klp")).is_ok();
        const bool woken = applied && wait_until(wake_done, nullptr, SETTLE_US);
        if (!woken) klp_test_gate.up();   // never inspected: let it go anyway
        thread_join(s);
        klp::set_inspect_hook_for_tests(nullptr);
        woken_sleeper = nullptr;
        raced += held_at_switch_in;
        inside += switched_inside;
        if (!applied || !woken || sleeper_result != 2) ok = false;   // 2: it finished the old version
        if (applied && patch_revert(r).is_error()) ok = false;
    }
    KEXPECT(ok);
    KEXPECT(raced > 0);   // the race really happened
    KEXPECT_EQ(inside, 0);
    KEXPECT(klp::wait_idle(SETTLE_US));
}

// A thread stopped at klp_choose's first instruction -- before its frame
// exists, where TCG takes a pending interrupt -- is still being redirected:
// the return address into the patched function's caller is on its stack
// but in no EBP chain, so only klp_choose's own address says so.  The
// transition must not switch it there.  (A fake thread whose one trap frame
// is at klp_choose+0; the transition is held open by a sleeper.)
KTEST(klp, a_thread_inside_klp_choose_is_not_switched) {
    Result<PatchRecord*> defined = sleeps_patch();
    KREQUIRE(defined.is_ok());
    PatchRecord* r = defined.value();
    Thread* s = thread_create("klp-sleeper", sleeper, nullptr);
    KREQUIRE(wait_until(blocked, s, 5000000));
    KREQUIRE(patch_apply(r, find_strategy("klp")).is_ok());
    arch::TrapFrame frame{};
    frame.eip = uint32_t(uintptr_t(&klp_choose));
    frame.ebp = 0;   // the frameless caller: nothing above it in the chain
    Thread ghost{};
    str_copy(ghost.name, "ghost", sizeof ghost.name);
    ghost.state = ThreadState::Ready;
    ghost.frames = &frame;
    const bool in_choose = klp::stack_is_clear(&ghost);
    frame.eip = uint32_t(uintptr_t(&klp_test_sleeps_v2));   // anywhere else: clear
    const bool elsewhere = klp::stack_is_clear(&ghost);
    KEXPECT(patch_revert(r).is_ok());
    KEXPECT(klp::wait_idle(SETTLE_US));
    klp_test_gate.up();
    thread_join(s);
    KEXPECT(!in_choose);
    KEXPECT(elsewhere);
}

// A thread not yet switched that enters a function of the transition with
// nothing of the patch on its stack switches right there, and runs the new
// version.  With interrupts off around the call, neither the tick nor the
// transition thread can have switched it: only the redirect can.  (Without
// that, a thread in a tight loop over a patched function may be found
// inside it at every tick -- under Bochs, every time -- and the transition
// never finishes.)  The sleeper holds the transition open meanwhile.
KTEST(klp, a_thread_entering_with_a_clear_stack_switches_there) {
    Result<PatchRecord*> sleeps = sleeps_patch();
    KREQUIRE(sleeps.is_ok());
    Result<PatchRecord*> plain_defined = plain_patch();
    KREQUIRE(plain_defined.is_ok());
    PatchRecord* plain = plain_defined.value();
    Thread* s = thread_create("klp-sleeper", sleeper, nullptr);
    KREQUIRE(wait_until(blocked, s, 5000000));
    PatchRecord* both[] = {sleeps.value(), plain};
    KREQUIRE(patch_apply_batch(both, 2, find_strategy("klp")).is_ok());
    KEXPECT(klp::progress().active);
    int got;
    uint32_t universe_after;
    {
        InterruptGuard no_ticks;
        Thread* me = current_thread();
        me->patch_universe = 0;   // as every thread was when the transition began
        got = klp_test_plain(40);
        universe_after = me->patch_universe;
        me->patch_universe = 1;   // (without the switch at entry: done by hand, not to hold the revert up)
    }
    KEXPECT_EQ(got, 42);
    KEXPECT_EQ(universe_after, 1u);
    KEXPECT(patch_revert_batch(both, 2).is_ok());
    KEXPECT(klp::wait_idle(SETTLE_US));
    klp_test_gate.up();
    thread_join(s);
    KEXPECT_EQ(sleeper_result, 2);
    KEXPECT_EQ(klp_test_plain(40), 41);
}

// The `nap` demo as a user types it: napping threads hold a klp transition
// of the built-in `napper` while they sleep inside demo_napper, `patch
// status` names them, and once `nap stop` wakes them the transition ends.
// Their calls, begun before the patch, return the old version's 1; every
// call after returns 2 -- until the revert's transition is done.
KTEST(klp, nap_holds_a_transition_until_the_nappers_leave) {
    KREQUIRE(shell_execute("nap 2 600 600000") == 0);
    const uint64_t end = now_us() + SETTLE_US;
    while (klp::nap_counts().entered < 2 && now_us() < end) thread_sleep_ms(5);
    KREQUIRE(klp::nap_counts().entered == 2);
    thread_sleep_ms(20);   // into demo_napper's sleep
    KREQUIRE(shell_execute("patch apply napper klp") == 0);
    KEXPECT(klp::wait_for_pass(SETTLE_US));
    // A napper wakes now and then to look at the clock, and a thread that
    // is running cannot be located ("waits for its CPU's next tick"): ask
    // again until both are seen asleep where they are.
    static char out[2048];
    auto both_located = [] {
        return str_contains(out, "'napper0' at corral::demo_napper+") &&
               str_contains(out, "'napper1' at corral::demo_napper+");
    };
    const uint64_t located_by = now_us() + SETTLE_US;
    for (;;) {
        console_capture_begin(out, sizeof out);
        shell_execute("patch status napper");
        console_capture_end();
        if (both_located() || now_us() >= located_by) break;
        thread_sleep_ms(20);
    }
    KEXPECT(str_contains(out, "transition to the patch"));
    KEXPECT(str_contains(out, "'napper0' at corral::demo_napper+"));
    KEXPECT(str_contains(out, "'napper1' at corral::demo_napper+"));
    KEXPECT(klp::progress().active);
    KREQUIRE(shell_execute("nap stop") == 0);
    KEXPECT(klp::wait_idle(SETTLE_US));
    while (klp::nap_counts().running && now_us() < end + SETTLE_US) thread_sleep_ms(5);
    const klp::NapCounts c = klp::nap_counts();
    KEXPECT_EQ(c.running, 0);
    KEXPECT_EQ(c.old_calls, 2u);
    KEXPECT_EQ(c.new_calls, 0u);
    KEXPECT_EQ(demo_napper(0), 2);
    KREQUIRE(shell_execute("patch revert napper") == 0);
    KEXPECT(klp::wait_idle(SETTLE_US));
    KEXPECT_EQ(demo_napper(0), 1);
}

// ---- A thread that never sleeps and never leaves its CPU ----------------
// (make stress once saw the reaper, busy reaping churned threads on its
// CPU, hold a transition for ten seconds.)  The spinner is pinned to CPU 1
// with preemption off, so the transition thread only ever finds it
// running, and the tick's check is turned off: only the check IPI a pass
// sends, or the spinner's own safe point, can switch it (and the CPUs'
// idle threads, which the same two reach: the idle loop has a safe point).
// With both off too, the transition must stay open: the setup really holds it.

volatile bool spinner_stop = false;
volatile bool spinner_safe_points = false;
volatile bool spinner_running = false;

void spinner(void*) {
    Thread* me = current_thread();
    me->preempt_off = me->preempt_off + 1;
    spinner_running = true;
    while (!spinner_stop) {
        for (int i = 0; i < 1000; i++) arch::cpu_relax();
        if (spinner_safe_points) sched_safe_point();
    }
    spinner_running = false;
    me->preempt_off = me->preempt_off - 1;
}

bool spinner_on_cpu1(void* t) {
    auto* th = static_cast<Thread*>(t);
    return spinner_running && th->on_cpu && th->cpu == 1;
}

// With no transition under way, the spinner running on CPU 1 (null if not).
Thread* start_spinner(bool safe_points) {
    if (!klp::wait_idle(SETTLE_US)) return nullptr;
    spinner_stop = false;
    spinner_safe_points = safe_points;
    Thread* s = thread_create("klp-spinner", spinner, nullptr, 1u << 1);
    if (wait_until(spinner_on_cpu1, s, 5000000)) return s;
    spinner_stop = true;
    thread_join(s);
    return nullptr;
}

// Applies klp-test-plain (no caller: nothing but the spinner can hold it)
// with only the given checks on, and says whether the transition finished
// within `us`; then reverts it with every check on again (threads the
// transition thread switched while they were off their CPU must be
// switched back, whatever CPU they are running on now).
bool transition_finishes(KTestContext& t, PatchRecord* plain, bool ticks, bool kicks, bool safe_points,
                         uint64_t us) {
    klp::set_checks_for_tests(ticks, kicks, safe_points);
    const bool applied = patch_apply(plain, find_strategy("klp")).is_ok();
    const bool done = applied && klp::wait_idle(us);
    klp::set_checks_for_tests(true, true, true);
    if (!applied) t.fail(__FILE__, __LINE__, "klp apply failed");
    else if (patch_revert(plain).is_error()) t.fail(__FILE__, __LINE__, "klp revert failed");
    if (!klp::wait_idle(SETTLE_US)) t.fail(__FILE__, __LINE__, "the revert's transition did not finish");
    return done;
}

KTEST(klp, a_thread_that_never_leaves_its_cpu_is_switched_without_its_tick) {
    if (cpu_count() < 2) return t.skip("needs a second CPU");
    Result<PatchRecord*> plain_defined = plain_patch();
    KREQUIRE(plain_defined.is_ok());
    PatchRecord* plain = plain_defined.value();
    Thread* s = start_spinner(false);
    KREQUIRE(s);

    const bool held = !transition_finishes(t, plain, false, false, false, 300000);   // the control
    const uint32_t kicks_before = klp::kick_count();
    const bool by_ipi = transition_finishes(t, plain, false, true, false, SETTLE_US);
    const uint32_t kicks = klp::kick_count() - kicks_before;
    spinner_safe_points = true;
    const bool by_safe_point = transition_finishes(t, plain, false, false, true, SETTLE_US);

    spinner_stop = true;
    thread_join(s);
    KEXPECT(held);
    KEXPECT(by_ipi);
    KEXPECT(kicks > 0);
    KEXPECT(by_safe_point);
}

// A running thread's check has read the goal when its CPU is held up (a
// vCPU unscheduled on a busy host: here, a hook that spins with interrupts
// off) and the transition is turned around.  The turnaround must wait for
// the check to land: landing after it, the check would write the old goal
// into a thread the transition thread had already counted in the new one
// (klp::Counts::switched_stale), and that thread could then run one
// function of the patch in each version.  The hold ends on its own after
// HOLD_US: with the wait, the revert returns only after that; without it,
// at once, and the check lands later.
constexpr uint64_t HOLD_US = 500000;
Thread* volatile held_thread = nullptr;
volatile bool hold_armed = false, hold_entered = false, hold_over = false;

void hold_check() {
    if (!hold_armed || current_thread() != held_thread) return;
    hold_armed = false;
    hold_entered = true;
    const uint64_t end = now_us() + HOLD_US;
    while (now_us() < end) arch::cpu_relax();   // no cross_cpu_relax(): held up, this CPU answers nothing
    hold_over = true;
}

bool hold_began(void*) { return hold_entered; }

KTEST(klp, a_turnaround_waits_for_a_check_under_way) {
    if (cpu_count() < 2) return t.skip("needs a second CPU");
    Result<PatchRecord*> plain_defined = plain_patch();
    KREQUIRE(plain_defined.is_ok());
    PatchRecord* plain = plain_defined.value();
    Thread* s = start_spinner(true);
    KREQUIRE(s);

    // Only the spinner's safe points switch it, and its first check of the
    // transition is held.
    const uint32_t stale_before = klp::counts().switched_stale;
    held_thread = s;
    hold_entered = false;
    hold_over = false;
    hold_armed = true;
    klp::set_check_hook_for_tests(hold_check);
    klp::set_checks_for_tests(false, false, true);
    const bool applied = patch_apply(plain, find_strategy("klp")).is_ok();
    const bool held = applied && wait_until(hold_began, nullptr, SETTLE_US);
    const bool reverted = held && patch_revert(plain).is_ok();   // the turnaround
    const bool waited = hold_over;
    while (held && !hold_over) thread_sleep_ms(5);
    hold_armed = false;
    klp::set_check_hook_for_tests(nullptr);
    klp::set_checks_for_tests(true, true, true);
    if (applied && !reverted && patch_revert(plain).is_error()) t.fail(__FILE__, __LINE__, "klp revert failed");
    const bool settled = klp::wait_idle(SETTLE_US);
    spinner_stop = true;
    thread_join(s);
    KEXPECT(applied);
    KEXPECT(held);
    KEXPECT(reverted);
    KEXPECT(waited);
    KEXPECT_EQ(klp::counts().switched_stale - stale_before, 0u);
    KEXPECT(settled);
}

}  // namespace
}  // namespace corral
