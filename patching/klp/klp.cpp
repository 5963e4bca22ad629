#include "patching/klp/klp.h"

#include "arch/x86/sections.h"
#include "kernel/console/console.h"
#include "kernel/config.h"
#include "kernel/cpu.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/panic.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/smp.h"
#include "arch/x86/lapic.h"
#include "arch/x86/trap.h"
#include "kernel/symbols.h"
#include "kernel/sync/cross_cpu.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time.h"
#include "patching/corral.h"
#include "patching/layout.h"
#include "patching/phase_clock.h"
#include "patching/scan.h"
#include "patching/strategy.h"

extern "C" const uint8_t klp_code_start[], klp_code_end[], klp_stubs[];

namespace corral::klp {
namespace {

constexpr int STUB_BYTES = 16;
constexpr int SITE_BYTES = FENTRY_SITE_LENGTH;
constexpr uint32_t PASS_MS = 10;
constexpr int MAX_STUCK = 4;      // threads named in a report

struct Site {
    uintptr_t target, target_end;
    uintptr_t replacement, replacement_end;
    // Whether the transition under way covers the site; if not, the site
    // means what its settled text means: the replacement, or the original.
    volatile bool covered;
    volatile bool settled_new;
};
Site sites[MAX_SITES];
int site_count = 0;

struct Transition {
    volatile bool active;
    // Threads may be switched: only once every site of the transition
    // leads to its stub.  Until then a thread switched at one site could
    // meet another that still holds the old text -- new `outer` calling the
    // old `inner` while text_poke_bp is still on its way to that site.
    // Off, too, while the goal or the sites change (quiet_checks).
    volatile bool switching;
    volatile uint32_t goal;        // 1: to the replacements, 0: back to the originals
    volatile uint32_t epoch;       // bumped whenever the goal or the sites change
    int site[MAX_SITES];
    int count;
    char name[32];
    uint64_t started_us;
    bool reported;
    // The last pass, for `patch status` and the timeout report.
    int threads, switched;
    int stuck_count;
    ScanHit stuck[MAX_STUCK];
    volatile uint32_t passes;      // completed, since boot
    uint32_t passes_here;          // of this transition
    volatile uint32_t kicks;       // check IPIs sent to CPUs whose running thread was not switched, since boot
    volatile bool chose_old, chose_new;   // what the stubs sent threads to, this transition
    PhaseTimes redirect;           // the stop-free window of the last redirect (bench window)
};
Transition tr;
Mutex klp_mutex("klp");            // start() and the transition thread
Semaphore work(0);
uint32_t timeout_ms = 10000;
bool quiet = false;                // no "transition complete" lines (patchtorture makes thousands)
bool tick_checks = true;           // ktests turn these off to show the other ways work without them
bool kick_checks = true;
bool safe_point_checks = true;
void (*volatile check_hook)() = nullptr;   // ktests: runs inside a running thread's check
void (*volatile inspect_hook)(Thread*, bool scanned) = nullptr;   // ktests: around a switched-out thread's scan

// A running thread's check (switch_current, switch_at_entry) reads
// tr.switching, then the goal and the sites, and writes the thread's
// universe, all with interrupts off.  What changes the goal or the sites
// stops the checks first: tr.switching off, then a sync round, which a CPU
// answers only once it is out of any check it was in.  Without the round a
// check whose vCPU was held up (8 vCPUs on 2 host cores) could land after a
// turnaround: a thread checked against the old goal's code would be written
// into the old goal after the transition thread had counted it in the new
// one, and run one function of each.  Under klp_mutex.
Result<void> quiet_checks(const char* what) {
    ASSERT_HOLDING(klp_mutex);
    tr.switching = false;
    Result<void> synced = sync_all_cpus();
    if (synced.is_error()) {
        tr.switching = true;
        return make_error("klp: %s: %s; nothing changed", what, synced.error());
    }
    return Ok{};
}

// klp_choose's own code (klp_init): part of the redirect, like the stubs.
CodeRange choose_code;
constexpr int MAX_RANGES = MAX_SITES + 2;

// What a thread must not have on its stack to switch to `goal`: the code it
// would leave (the originals when patching, the replacements when
// reverting), and the redirect itself -- the stubs, klp_common and
// klp_choose -- since a thread stopped in it has not yet been sent
// anywhere.  klp_choose needs naming on its own: stopped at its first
// instructions (before its frame exists; under TCG an interrupt is taken
// exactly there, at the start of a translation block) a thread has no
// return address into the stubs in its EBP chain, and the caller's return
// address (into old `outer`, say) is on its stack but in no chain either.
// Switched there, it would read the new universe and send old `outer` to
// new `inner` (make test saw it once: scenario.contract_klp at smp4-mttcg).
NOT_PATCHABLE int old_code(uint32_t goal, CodeRange* out) {
    int n = 0;
    for (int i = 0; i < tr.count; i++) {
        const Site& s = sites[tr.site[i]];
        out[n++] = goal ? CodeRange{s.target, s.target_end} : CodeRange{s.replacement, s.replacement_end};
    }
    out[n++] = CodeRange{uintptr_t(klp_code_start), uintptr_t(klp_code_end)};
    out[n++] = choose_code;
    return n;
}

// The hazards the transition exists for, and how it got past them, since
// boot (patchtorture's klp race proof).  Bumped with atomics: ticks on
// every CPU count too.
Counts counts_since_boot;

NOT_PATCHABLE void bump(volatile uint32_t& n) { __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED); }

// Whether `t`'s stack holds code the switch to `goal` would leave.  The
// klp-no-stack-check control says no, always.
NOT_PATCHABLE bool holds_old_code(Thread* t, const CodeRange* ranges, int n, ScanHit* hit) {
    if (corral_bug() == CorralBug::KlpNoStackCheck) return false;
    if (!scan_one_thread(t, ranges, n, hit)) return false;
    bump(counts_since_boot.held_back);
    return true;
}

// What each CPU's ticks last saw of a thread they could not switch: the
// timeout report says why a running thread is still not switched.
struct TickView {
    volatile uint64_t at_us;        // the last tick that looked (0: none since boot)
    volatile int thread_id;
    volatile uintptr_t eip;
    const char* volatile kind;
    volatile uint32_t unswitched;   // ticks that found it so, in a row
};
TickView tick_view[config::MAX_CPUS];

// `epoch`: tr.epoch when the check that found it fit read the goal.  A
// switch that lands after the goal or the sites changed is counted:
// quiet_checks() makes it impossible, and patchtorture fails a run that
// sees one.
NOT_PATCHABLE void switch_thread(Thread* t, uint32_t goal, uint32_t epoch, const char* how, uintptr_t at) {
    t->patch_universe = goal;
    t->patch_switched_how = how;
    t->patch_switched_at = at;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (tr.epoch != epoch) bump(counts_since_boot.switched_stale);
}

// The running thread, on its own CPU: it is not moving.  `how`: who asked
// (the tick, the check IPI, a safe point); `at`: where the thread was
// stopped, when the caller knows.
NOT_PATCHABLE void switch_current(const char* how, uintptr_t at) {
    if (!tr.switching) return;
    const uint32_t epoch = tr.epoch, goal = tr.goal;
    if (void (*hook)() = check_hook) hook();
    Thread* t = this_cpu_current();
    if (!t || t->patch_universe == goal) return;
    CodeRange ranges[MAX_RANGES];
    const int n = old_code(goal, ranges);
    ScanHit hit{};
    TickView& v = tick_view[cpu_index()];
    v.at_us = now_us();
    if (!holds_old_code(t, ranges, n, &hit)) {
        switch_thread(t, goal, epoch, how, at);
        v.unswitched = 0;
        bump(counts_since_boot.switched_running);
        return;
    }
    if (v.thread_id != t->id) v.unswitched = 0;
    v.thread_id = t->id;
    v.eip = hit.eip;
    v.kind = hit.kind;
    v.unswitched = v.unswitched + 1;
}

NOT_PATCHABLE void tick_check() {
    if (tick_checks) switch_current("running, at a tick", 0);
}

// A CPU's running thread cannot be inspected from elsewhere, and its ticks
// may keep missing the moment it is clear (a thread busy with interrupts
// off but for short windows, a tick that always lands at the same point of
// a loop).  When a pass finds a thread running and not switched, it asks
// that CPU to check now, wherever the request finds the thread; and a
// kernel thread that never sleeps checks itself at its safe points.
NOT_PATCHABLE bool check_ipi(arch::TrapFrame* frame) {
    switch_current("running, by the check IPI", frame->eip);
    return true;
}

NOT_PATCHABLE void safe_point() {
    if (!tr.switching || !safe_point_checks) return;
    InterruptGuard stay_here;   // the check and the switch on this CPU, as the tick does them
    switch_current("running, at a safe point", uintptr_t(__builtin_return_address(0)));
}

// A CPU about to run `next` waits while the transition thread inspects it.
NOT_PATCHABLE void wait_while_inspected(Thread* next) {
    // lab klp: begin switch-in-wait
    while (__atomic_load_n(&next->patch_checking, __ATOMIC_SEQ_CST)) cross_cpu_relax();
    // lab klp: end switch-in-wait
}

struct Pass {
    uint32_t goal;
    CodeRange ranges[MAX_RANGES];
    int n;
    int threads, switched, stuck;
    ScanHit hits[MAX_STUCK];
    uint32_t running_cpus;   // CPUs whose running thread is not switched
};

// A switched-out thread: flagged first, so no CPU switches it in until we
// are done; one that is on a CPU is left to that CPU's tick.
void inspect(Thread* t, void* ctx) {
    Pass& p = *static_cast<Pass*>(ctx);
    if (t->state == ThreadState::Dead) return;
    p.threads++;
    if (t->patch_universe == p.goal) {
        p.switched++;
        return;
    }
    ScanHit hit{};
    bool clean = false;
    if (t == this_cpu_current()) {
        clean = !holds_old_code(t, p.ranges, p.n, &hit);
        if (clean) switch_thread(t, p.goal, tr.epoch, "by itself (the transition thread)", 0);
    } else {
        // lab klp: begin inspect
        // Switched while flagged, never after: once the flag drops the
        // thread may run, and it must run in the universe it was found fit for.
        __atomic_store_n(&t->patch_checking, 1, __ATOMIC_SEQ_CST);
        void (*const hook)(Thread*, bool) = inspect_hook;
        const bool asleep = !__atomic_load_n(&t->on_cpu, __ATOMIC_SEQ_CST);
        if (asleep) {
            if (hook) hook(t, false);
            clean = !holds_old_code(t, p.ranges, p.n, &hit);
            if (clean) bump(counts_since_boot.switched_asleep);
        } else {
            hit = ScanHit{t->id, {}, t->cpu, 0, "running"};
            if (t->cpu >= 0 && t->cpu < 32) p.running_cpus |= 1u << t->cpu;
        }
        if (clean) switch_thread(t, p.goal, tr.epoch, "asleep", t->context ? t->context->eip : 0);
        if (asleep && hook) hook(t, true);
        __atomic_store_n(&t->patch_checking, 0, __ATOMIC_RELEASE);
        // lab klp: end inspect
    }
    if (clean) {
        p.switched++;
        return;
    }
    if (p.stuck < MAX_STUCK) {
        p.hits[p.stuck] = hit;
        str_copy(p.hits[p.stuck].thread_name, t->name, sizeof hit.thread_name);
    }
    p.stuck++;
}

// What poke_sites writes at every site of the transition.
enum class SiteText {
    Nop,           // the original fentry NOP: the transition back has finished
    Stub,          // jmp klp_stub_<i>: the per-thread choice, while threads switch
    Replacement,   // jmp replacement: the transition to the patch has finished
};
Result<void> poke_sites(SiteText text);

// Marks the transition's sites covered by it, or settled (to the
// replacements if `settled_new`).  Under klp_mutex.
void cover_sites(bool covered, uint32_t settled_new) {
    ASSERT_HOLDING(klp_mutex);
    for (int i = 0; i < tr.count; i++) {
        Site& s = sites[tr.site[i]];
        if (!covered) s.settled_new = settled_new;
        s.covered = covered;
    }
}

void print_stuck(const char* prefix) {
    for (int i = 0; i < tr.stuck_count && i < MAX_STUCK; i++) {
        const ScanHit& h = tr.stuck[i];
        char where[64] = "its CPU's next tick";
        if (h.eip) symbolize(h.eip, where, sizeof where);
        kprintf("%sthread %d '%s' %s %s (%s)\n", prefix, h.thread_id, h.thread_name, h.eip ? "at" : "waits for", where,
                h.kind);
        if (h.eip || h.cpu < 0 || h.cpu >= config::MAX_CPUS) continue;
        const TickView& v = tick_view[h.cpu];
        if (!v.at_us) {
            kprintf("%s  no tick on cpu %d has looked at a thread since boot\n", prefix, h.cpu);
        } else if (v.thread_id != h.thread_id) {
            kprintf("%s  cpu %d's last look, %llu ms ago, was at thread %d\n", prefix, h.cpu,
                    (unsigned long long)((now_us() - v.at_us) / 1000), v.thread_id);
        } else {
            char seen[64];
            symbolize(v.eip, seen, sizeof seen);
            kprintf("%s  cpu %d's ticks found it at %s (%s) %u time(s) in a row, the last %llu ms ago\n", prefix, h.cpu,
                    seen, v.kind ? v.kind : "?", v.unswitched, (unsigned long long)((now_us() - v.at_us) / 1000));
        }
    }
}

// One pass over every thread; finishes the transition when all switched.
void run_pass() {
    MutexGuard g(klp_mutex);
    if (!tr.active) return;
    Pass p{};
    p.goal = tr.goal;
    p.n = old_code(p.goal, p.ranges);
    for_each_thread(inspect, &p);
    tr.threads = p.threads;
    tr.switched = p.switched;
    tr.stuck_count = p.stuck;
    for (int i = 0; i < p.stuck && i < MAX_STUCK; i++) tr.stuck[i] = p.hits[i];
    tr.passes = tr.passes + 1;
    tr.passes_here++;
    // The first pass of a transition finds the CPUs' threads running as a
    // matter of course (their ticks will switch most of them): ask from the second on.
    if (p.stuck && p.running_cpus && tr.passes_here > 1 && kick_checks && smp_apic_mode())
        for (int c = 0; c < cpu_count(); c++)
            if ((p.running_cpus >> c & 1) && c != cpu_index()) {
                arch::ipi_send(cpus[c].lapic_id, arch::VECTOR_IPI_KLP_CHECK);
                tr.kicks = tr.kicks + 1;
            }
    if (p.stuck == 0) {
        // No check may still be at work when the next transition starts:
        // the poke's sync rounds wait for any that saw tr.switching set.
        tr.switching = false;
        Result<void> done = poke_sites(p.goal ? SiteText::Replacement : SiteText::Nop);
        if (done.is_error()) {
            kprintf("klp: %s: finishing the transition: %s; will try again\n", tr.name, done.error());
            tr.switching = true;
            return;
        }
        cover_sites(false, p.goal);
        tr.active = false;
        if (tr.chose_old && tr.chose_new) bump(counts_since_boot.both_universes);
        if (!quiet)
            kprintf("klp: %s: transition %s complete (%d thread%s)\n", tr.name, p.goal ? "to the patch" : "back",
                    p.threads, p.threads == 1 ? "" : "s");
        return;
    }
    if (!tr.reported && now_us() - tr.started_us > uint64_t(timeout_ms) * 1000) {
        tr.reported = true;
        kprintf("klp: %s: transition not finished after %u ms: %d of %d threads not switched; "
                "'patch revert' reverses it\n", tr.name, timeout_ms, p.stuck, p.threads);
        print_stuck("  ");
    }
}

void transition_thread(void*) {
    for (;;) {
        work.down();
        while (tr.active) {
            run_pass();
            if (tr.active) thread_sleep_ms(PASS_MS);
        }
    }
}

// Writes `text` at every site of the transition.  Under klp_mutex.
Result<void> poke_sites(SiteText text) {
    ASSERT_HOLDING(klp_mutex);
    static Patch patches[MAX_SITES];   // ~10 KiB: not on a kernel stack (klp_mutex serializes us)
    static Patch* batch[MAX_SITES];
    for (int i = 0; i < tr.count; i++) {
        const Site& s = sites[tr.site[i]];
        const uintptr_t to = text == SiteText::Stub ? uintptr_t(klp_stubs) + uintptr_t(tr.site[i]) * STUB_BYTES : s.replacement;
        Patch& p = patches[i];
        p = Patch{};
        p.target = s.target;
        p.edits[0] = jmp_rel32_edit(s.target, to);
        if (text == SiteText::Nop)
            for (int b = 0; b < SITE_BYTES; b++) p.edits[0].new_bytes[b] = FENTRY_NOP[b];
        p.edit_count = 1;
        batch[i] = &p;
    }
    return text_poke_bp(batch, tr.count, Direction::Apply, nullptr);
}

int site_for(const Patch& p) {
    for (int i = 0; i < site_count; i++)
        if (sites[i].target == p.target) {
            sites[i].replacement = p.replacement;   // a later patch of the same function
            sites[i].replacement_end = p.replacement + p.replacement_size;
            return i;
        }
    if (site_count == MAX_SITES) return -1;
    sites[site_count] =
        Site{p.target, p.target + p.target_size, p.replacement, p.replacement + p.replacement_size, false, false};
    return site_count++;
}

// Whether `batch` is the transition under way, turned around: the same
// functions and the same replacements.  (An apply of another version of
// them is not: a thread already switched to the first replacement would
// then mix the two.  It waits until the transition ends.)
bool same_sites(Patch* const* batch, int count) {
    if (count != tr.count) return false;
    for (int i = 0; i < count; i++) {
        const Site& s = sites[tr.site[i]];
        if (s.target != batch[i]->target || s.replacement != batch[i]->replacement) return false;
    }
    return true;
}

}  // namespace

namespace {

// A thread not yet switched, entering a function of the transition: if
// nothing of the code it would leave is on its stack -- from its caller's
// return address down, and under every trap frame -- it switches here, on
// its way in.  The tick and the transition thread see only where a thread
// happens to be stopped; a thread in a tight loop over a patched function
// can be stopped inside it every time (a deterministic emulator's timer
// comes at the same point of the loop: Bochs never let such a transition
// finish), but it enters with a clear stack on every turn.
//
// Interrupts are off for the check, so the thread stays on this CPU until
// it has decided: the transition thread leaves a running thread alone, so
// it cannot count this one as switched (and finish) in between.
NOT_PATCHABLE void switch_at_entry(Thread* t, const RedirectFrame& f) {
    InterruptGuard no_ticks;
    if (!tr.switching) return;
    const uint32_t epoch = tr.epoch, goal = tr.goal;
    if (t->patch_universe == goal) return;
    CodeRange ranges[MAX_RANGES];
    const int n = old_code(goal, ranges);
    if (corral_bug() == CorralBug::KlpNoStackCheck || !scan_current_caller(f.return_address, f.ebp, ranges, n)) {
        switch_thread(t, goal, epoch, "at entry", f.return_address);
        bump(counts_since_boot.switched_at_entry);
    } else {
        bump(counts_since_boot.held_back);
    }
}

}  // namespace

// Where the current thread goes from the site klp_common came from.  It
// keeps interrupts on: this_cpu_current() is one gs-relative load, so it
// is this thread even if it moves to another CPU right after, and its
// universe cannot change while it is in klp code (no switch finds it clean
// there).  A cli window on every call would be worse than useless: a tick
// that came during it is taken at the pop_cli, so nearly every tick would
// find a caller in a tight loop inside klp code (seen at -smp 1).  Only a
// thread not yet switched turns them off, to try switching at the entry.
extern "C" NOT_PATCHABLE uintptr_t klp_choose(const RedirectFrame* f) {
    // lab klp: begin choose
    Thread* t = this_cpu_current();
    const Site& s = sites[f->index];
    // A thread can reach a stub after its site has settled: it took the
    // site's jmp just before the last write and then waited (preempted, or
    // its vCPU unscheduled), or it ran a translation of the jmp that QEMU's
    // TCG had not yet dropped.  It has no business with the universes of
    // whatever transition is under way now: it goes where the settled text
    // goes.  (patchtorture's contract pairs caught such a thread reading
    // the next transition's universe: new `outer`, then old `inner`.)
    if (!s.covered) return s.settled_new ? s.replacement : s.target + SITE_BYTES;
    if (t && tr.switching && t->patch_universe != tr.goal) switch_at_entry(t, *f);
    const bool patched = t && t->patch_universe;
    // Both, in one transition: threads really ran the two versions side by side.
    if (tr.switching) {
        volatile bool& chose = patched == bool(tr.goal) ? tr.chose_new : tr.chose_old;
        if (!chose) chose = true;
    }
    return patched ? s.replacement : s.target + SITE_BYTES;
    // lab klp: end choose
}

void klp_init() {
    const uintptr_t choose = uintptr_t(&klp_choose);
    const size_t size = symbol_size_at(choose);
    if (!size) panic("klp: no symbol size for klp_choose");
    choose_code = CodeRange{choose, choose + size};
    sched_set_switch_in_hook(wait_while_inspected);
    if (!sched_add_tick_hook(tick_check)) panic("klp: no room for the tick hook");
    sched_set_safe_point_hook(safe_point);
    arch::register_trap_handler(arch::VECTOR_IPI_KLP_CHECK, check_ipi);
    thread_create("klp", transition_thread, nullptr);
}

bool wait_idle(uint64_t timeout_us) {
    const uint64_t end = now_us() + timeout_us;
    while (tr.active && now_us() < end) thread_sleep_ms(5);
    return !tr.active;
}

Result<void> with_sites_settled(Result<void> (*fn)(void* ctx), void* ctx) {
    MutexGuard g(klp_mutex);   // poke_sites runs under it
    return fn(ctx);
}

void set_timeout_ms(uint32_t ms) { timeout_ms = ms; }
void set_check_hook_for_tests(void (*hook)()) { check_hook = hook; }
void set_inspect_hook_for_tests(void (*hook)(Thread* t, bool scanned)) { inspect_hook = hook; }
void set_checks_for_tests(bool ticks, bool kicks, bool safe_points) {
    tick_checks = ticks;
    kick_checks = kicks;
    safe_point_checks = safe_points;
}
Counts counts() { return counts_since_boot; }

uint32_t kick_count() { return tr.kicks; }
void set_quiet(bool q) { quiet = q; }

bool wait_for_pass(uint64_t timeout_us) {
    const uint32_t seen = tr.passes;
    const uint64_t end = now_us() + timeout_us;
    while (tr.active && tr.passes < seen + 2 && now_us() < end) thread_sleep_ms(2);   // + 2: one begun after this call
    return !tr.active || tr.passes >= seen + 2;
}

void print_progress(const char* prefix) {
    MutexGuard g(klp_mutex);
    if (!tr.active) {
        kprintf("%stransition complete\n", prefix);
        return;
    }
    kprintf("%s%d of %d threads switched; not yet:\n", prefix, tr.switched, tr.threads);
    char deeper[24];
    format(deeper, sizeof deeper, "%s  ", prefix);
    print_stuck(deeper);
}

bool in_transition(uintptr_t target) {
    if (!tr.active) return false;
    for (int i = 0; i < tr.count; i++)
        if (sites[tr.site[i]].target == target) return true;
    return false;
}

namespace {
// start() with klp_mutex held and no other transition under way (or this
// one, to be turned around).
Result<void> start_locked(Patch* const* batch, int count, uint32_t goal) {
    ASSERT_HOLDING(klp_mutex);
    if (tr.active) {   // the same sites: turn the transition under way around
        TRY_VOID(quiet_checks("turning the transition around"));
        tr.goal = goal;
        tr.epoch = tr.epoch + 1;
        tr.started_us = now_us();
        tr.reported = false;
        thread_set_initial_patch_universe(goal);
        tr.switching = true;
        return Ok{};
    }
    if (count > MAX_SITES) return make_error("klp: %d functions in one patch (max %d)", count, MAX_SITES);
    // No check is at work: tr.switching has been off since the last
    // transition's finishing poke, whose sync rounds waited for them.
    tr.epoch = tr.epoch + 1;
    tr.count = 0;
    for (int i = 0; i < count; i++) {
        const int s = site_for(*batch[i]);
        if (s < 0) return make_error("klp: more than %d functions ever patched with klp", MAX_SITES);
        tr.site[tr.count++] = s;
    }
    str_copy(tr.name, batch[0]->name, sizeof tr.name);
    tr.goal = goal;
    tr.started_us = now_us();
    tr.reported = false;
    tr.threads = tr.switched = tr.stuck_count = 0;
    tr.passes_here = 0;
    tr.chose_old = false;
    tr.chose_new = false;
    // Everyone starts where the text is now, and so do threads created
    // while the sites are being redirected: a thread already in the goal's
    // universe would take the new version at a site redirected first and
    // the old one at a site not yet redirected.  Once every site leads to
    // its stub, new threads start where the transition goes.
    tr.switching = false;
    thread_set_patch_universes(1 - goal, 1 - goal);
    cover_sites(true, 0);
    tr.active = true;
    Result<void> redirected = poke_sites(SiteText::Stub);
    if (redirected.is_error()) {
        cover_sites(false, 1 - goal);
        tr.active = false;
        return redirected;
    }
    thread_set_initial_patch_universe(goal);
    tr.switching = true;
    tr.redirect = phase_clock_read();   // before the transition thread's own pokes
    work.up();
    return Ok{};
}
}  // namespace

// One transition at a time: a patch of other functions waits (sleeping)
// for the one under way to finish, for as long as a transition may take
// before it is reported.
Result<void> start(Patch* const* batch, int count, Direction dir) {
    const uint32_t goal = dir == Direction::Apply ? 1 : 0;
    const uint64_t give_up = now_us() + uint64_t(timeout_ms) * 1000;
    for (;;) {
        {
            MutexGuard g(klp_mutex);
            if (!tr.active || same_sites(batch, count)) return start_locked(batch, count, goal);
            if (now_us() > give_up)
                return make_error("klp: %s is still in transition after %u ms (%d of %d threads switched); "
                                  "wait, or revert it", tr.name, timeout_ms, tr.switched, tr.threads);
        }
        thread_sleep_ms(5);
    }
}

PhaseTimes redirect_phases() { return tr.redirect; }

bool stack_is_clear(Thread* t) {
    MutexGuard g(klp_mutex);
    if (!tr.active) return true;
    CodeRange ranges[MAX_RANGES];
    const int n = old_code(tr.goal, ranges);
    return !scan_one_thread(t, ranges, n, nullptr);
}

Progress progress() {
    return Progress{tr.active, tr.goal, tr.threads, tr.switched, tr.stuck_count, tr.reported};
}

bool print_status(uintptr_t target) {
    MutexGuard g(klp_mutex);
    if (!in_transition(target)) return false;
    kprintf("  transition %s, for %llu ms: %d of %d threads switched\n", tr.goal ? "to the patch" : "back (reverting)",
            (unsigned long long)((now_us() - tr.started_us) / 1000), tr.switched, tr.threads);
    if (tr.stuck_count) kprintf("  not yet switched (%d):\n", tr.stuck_count);
    print_stuck("    ");
    return true;
}

}  // namespace corral::klp
