// `klp`: the Linux livepatch consistency model (kGraft's per-thread
// switching with kpatch's stack check), on fentry sites.
//
// No CPU is stopped.  Applying a patch starts a *transition*:
//   1. every thread is put in the "unpatched" universe; new threads start
//      in the goal's (they have no old function on their stack);
//   2. each patched function's 5-byte NOP becomes `jmp klp_stub_<i>`
//      (text_poke_bp); the stub sends each calling thread to the old body or
//      to the replacement, by that thread's universe (klp_stubs.asm);
//   3. each thread is switched to the goal once none of the patch's old
//      functions (and no stub) is on its stack -- by the timer tick for the
//      thread a CPU is running (and by a check IPI the transition sends that
//      CPU when a pass finds its thread running and not switched, and at the
//      safe points of kernel threads that never sleep: sched_safe_point),
//      by the transition thread `klp` for threads
//      that are switched out (the scheduler's switch-in hook keeps them
//      from running while they are inspected), and by the redirect itself
//      when the thread enters a function of the patch with a clear stack;
//   4. when every thread has switched, each site becomes a plain
//      `jmp replacement`: the per-thread choice leaves the hot path and a
//      finished patch costs what an int3 patch costs.
// Reverting runs the same transition the other way (the replacements are
// then the old code), from a finished patch or in the middle of a
// transition.  One transition at a time.  A transition that has not
// finished after its timeout is reported, with the threads that hold it up
// and where they are; it goes on, and `patch revert` reverses it.  A patch
// of other functions waits for it, as long as that timeout.
#pragma once
#include <stdint.h>

#include "kernel/lib/result.h"
#include "patching/phase_clock.h"

namespace corral {
struct Patch;
struct Thread;
enum class Direction;
struct PatchHooks;
}

namespace corral::klp {

constexpr int MAX_SITES = 64;   // stubs in klp_stubs.asm; sites are kept for good, one per function

void klp_init();
Result<void> start(Patch* const* batch, int count, Direction dir);
// Runs fn(ctx) while no transition writes a site: a site the transition
// thread is rewriting holds an int3 for a moment, which a planner must not see.
Result<void> with_sites_settled(Result<void> (*fn)(void* ctx), void* ctx);
// True while a transition covering `target` is under way.
bool in_transition(uintptr_t target);
// Waits (sleeping) until no transition is under way; false on timeout.
bool wait_idle(uint64_t timeout_us);
void set_timeout_ms(uint32_t ms);
void set_quiet(bool quiet);   // no line per finished transition (patchtorture)
// ktests: which of the ways to switch a running thread are on (all, normally):
// its CPU's tick, the check IPI a pass sends its CPU, its own safe points.
void set_checks_for_tests(bool ticks, bool kicks, bool safe_points);
uint32_t kick_count();        // check IPIs sent since boot
// ktests: `hook` runs in each running thread's check, after it has read the
// goal and before it looks at the thread (null: none).
void set_check_hook_for_tests(void (*hook)());
// ktests: `hook` runs as the transition thread inspects a switched-out
// thread it holds off every CPU: before the scan, and after the switch it
// decided (`scanned`), while still holding it.
void set_inspect_hook_for_tests(void (*hook)(Thread* t, bool scanned));

// Since boot: what klp's hazard looked like and how threads got past it.
struct Counts {
    volatile uint32_t held_back;          // checks that found old code on a thread's stack (it stayed unswitched)
    volatile uint32_t both_universes;     // transitions in which the stubs sent threads to both versions
    volatile uint32_t switched_asleep;    // by the transition thread, switched out (a sleep or preemption point)
    volatile uint32_t switched_running;   // by their CPU: its tick, a check IPI, a safe point
    volatile uint32_t switched_at_entry;  // on their way into a patched function, stack clear
    volatile uint32_t switched_stale;     // switches that landed after their goal had changed: must stay 0
};
Counts counts();
// Waits until the transition thread has made a whole pass over every thread
// since the call (or the transition ended): what could switch, has.
bool wait_for_pass(uint64_t timeout_us);
void print_progress(const char* prefix);   // switched / not yet, one line each
// `patch status`: the transition as it stands, or nothing if none covers `target`.
bool print_status(uintptr_t target);

struct Progress {
    bool active;
    uint32_t goal;
    int threads, switched, stuck;
    bool reported;        // the timeout report was printed
};
Progress progress();
// Whether the transition under way may switch `t` as its stack stands (no
// code it would leave, no redirect code): what the tick and the transition
// thread ask.  True when no transition is under way.  (ktests.)
bool stack_is_clear(Thread* t);
// The text_poke_bp phases of the last redirect to the stubs (`bench window`).
PhaseTimes redirect_phases();

// What klp_common (klp_stubs.asm) hands klp_choose: pushad's registers (the
// caller's, unchanged), the stub's site index, and the return address into
// the patched function's caller.
struct RedirectFrame {
    uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
    uint32_t index;
    uint32_t return_address;
};
static_assert(sizeof(RedirectFrame) == 40, "klp_stubs.asm's layout");

}  // namespace corral::klp

// Where the current thread goes from a site: the replacement or the old
// body past its NOP (and, on the way, switches a thread whose stack is clear).
extern "C" uintptr_t klp_choose(const corral::klp::RedirectFrame* f);
