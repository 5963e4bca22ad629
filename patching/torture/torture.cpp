#include "patching/torture/torture.h"

#include <stdarg.h>

#include "arch/x86/cpu.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"

#include "kernel/config.h"
#include "kernel/console/console.h"
#include "kernel/cpu.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/shell.h"
#include "kernel/smp.h"
#include "kernel/symbols.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time.h"
#include "patching/corral.h"
#include "patching/farjmp.h"
#include "patching/hold.h"
#include "patching/klp/klp.h"
#include "patching/strategy.h"
#include "patching/text_verify.h"
#include "patching/text_writer.h"
#include "patching/torn.h"
#include "patching/torture/inject.h"
#include "patching/torture/plan.h"
#include "patching/torture/run.h"
#include "patching/torture/targets.h"
#include "patching/transaction.h"

namespace corral {
namespace torture {

Run* run = nullptr;

void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char* fmt, ...) {
    SpinlockGuard g(run->why_lock);
    if (run->failed) return;   // the first failure is the verdict
    va_list ap;
    va_start(ap, fmt);
    vformat(run->why, sizeof run->why, fmt, ap);
    va_end(ap);
    run->failed_at_us = now_us();
    run->failed = true;
}

// Whether the contract pairs of `family` must never see an old outer call
// a new inner (or the reverse).  Only stop-check and klp promise that; and
// not in the far family, whose versions all end in one shared tail
// (far_targets.asm), so that a thread inside a far outer's body is not
// inside any of its versions for a scan to find.
bool contract_checked(int family) {
    const Strategy* s = run->mode.by_family[family];
    return s && family != FAR && (run->mode.strict_contract || s->consistent_across_functions());
}

}  // namespace torture

namespace {

using namespace torture;


constexpr int CHURN_BACKLOG = 32;             // exited ones not yet freed by the reaper, at most
constexpr uint32_t STEP_EVERY = 64;           // worker passes per preemption point (more: corral-scan gives up)
constexpr uint64_t PROGRESS_US = 5000000;
constexpr uint64_t TORTURE_CORRAL_TIMEOUT_US = 20000000;
constexpr uint64_t INJECT_EXTRA_US = 120000000;   // at most this much longer, to let every injection run
constexpr uint64_t PLAN_DIGEST_OPS = 1000;
constexpr int TORTURE_MAX_DEFERRALS = 100;   // see far_jmp_set_max_deferrals
constexpr uint64_t KLP_UNWIND_US = 60000000;  // the last revert's transition, with the workers stopped    // the printed digest covers this many ops per patcher


Records records[TARGETS];
bool defined = false;
volatile bool running = false;

void check_ctx(const CallCtx* c, const char* who) {
    for (int f = 0; f < FAMILIES; f++)
        if (c->contract_breaks[f] && contract_checked(f)) {
            char where[64] = "an unknown place";   // symbolized only on the way to a verdict: this runs every pass
            if (c->break_switched_at) symbolize(c->break_switched_at, where, sizeof where);
            fail("%s: %s v%d called %s and ran v%d: the contract of the pair broke (%s switched one function "
                 "without the other)%s; the thread was last switched %s, at %s",
                 who, target(c->break_outer).symbol, c->break_outer_version,
                 target(contract_inner(c->break_outer)).symbol, c->break_inner_version, run->mode.by_family[f]->name(),
                 c->break_in_irq ? " in a call from the timer interrupt" : "",
                 c->break_switched_how ? c->break_switched_how : "never", where);
        }
    if (c->bad)
        fail("%s: a call of %s returned %#x, which is no version's signature", who, target(c->bad_target).symbol,
             c->bad_signature);
    if (c->torn_bodies)
        fail("%s: a far-jmp target ran a torn mov (signature %#x): bytes changed under it", who, c->torn_signature);
}

// ---------------------------------------------------------------- callers

// A preemption point (see call_target_stepped): the thread single-stepped
// into a target and is now past its first instruction -- for a far-jmp
// target, at +2, inside the 7 bytes a patch overwrites.  It sleeps there a
// tick, switched out with this #DB frame as its only record of where it is:
// what corral-scan must find, and what the controls must miss.
bool preemption_point(arch::TrapFrame* f) {
    Run* r = run;
    if (!r) return false;
    if (is_target_entry(f->eip)) return true;   // at the entry: one more step
    f->eflags &= ~arch::EFLAGS_TF;
    __atomic_add_fetch(&r->preempt_points, 1, __ATOMIC_RELAXED);
    Thread* t = current_thread();
    if (!f->prev && t && !t->is_idle) thread_sleep_ms(1);
    return true;
}

void worker(void* arg) {
    const int w = int(reinterpret_cast<uintptr_t>(arg));
    CallCtx* c = run->worker_ctx[w];
    const int start = (w * 37) % TARGETS;   // workers meet the targets in different orders
    char who[24];
    format(who, sizeof who, "worker %d", w);
    for (uint32_t pass = 0; !run->stop_workers; pass++) {
        int stepped = -1;
        if (pass % STEP_EVERY == 0 && run->stepped_family_count) {
            const int f = run->stepped_families[(pass / STEP_EVERY) % uint32_t(run->stepped_family_count)];
            stepped = f * PER_FAMILY + int((pass / STEP_EVERY * 7 + uint32_t(w)) % PER_FAMILY);
        }
        for (int j = 0; j < TARGETS; j++) {
            const int id = (start + j) % TARGETS;
            if (id == stepped) call_target_stepped(c, id);
            else call_target(c, id);
        }
        const int cpu = cpu_index();
        run->passes_by_cpu[cpu] = run->passes_by_cpu[cpu] + 1;   // approximate: two threads may share a CPU
        check_ctx(c, who);
    }
}

// The timer interrupt calls target 0 of each family, on every CPU.
NOT_PATCHABLE void tick() {
    Run* r = run;
    if (!r || !r->tick_calls) return;
    CallCtx* c = r->irq_ctx[cpu_index()];
    for (int f = 0; f < FAMILIES; f++)
        if (r->irq_family[f]) call_target(c, f * PER_FAMILY);
}

void churn_child(void* arg) {
    const int slot = int(reinterpret_cast<uintptr_t>(arg));
    CallCtx* c = run->churn_ctx[slot];
    for (int j = 0; j < TARGETS; j++) call_target(c, j);
    check_ctx(c, "churn thread");
    __atomic_store_n(&run->churn_busy[slot], false, __ATOMIC_RELEASE);
}

// Threads created, run, exited and freed the whole time (by the reaper):
// each free unmaps a stack, and that is a TLB shootdown.  The reaper is one
// thread among many, so the churn waits for it rather than run the kernel
// out of stacks.
void churner(void*) {
    const int baseline = thread_count();
    while (!run->stop_workers) {
        for (int s = 0; s < CHURN_SLOTS && thread_count() < baseline + CHURN_BACKLOG; s++) {
            if (__atomic_load_n(&run->churn_busy[s], __ATOMIC_ACQUIRE)) continue;
            run->churn_busy[s] = true;
            Thread* t = thread_create("churn", churn_child, reinterpret_cast<void*>(uintptr_t(s)));
            if (!t) {
                run->churn_busy[s] = false;
                break;
            }
            thread_detach(t);
            run->churned = run->churned + 1;
        }
        thread_sleep_ms(1);
    }
}

// ---------------------------------------------------------------- patchers

PatchRecord* top_of(int t) {
    return records[t].v3->state == PatchState::Applied ? records[t].v3 : records[t].v2;
}

Result<void> execute(const Op& op) {
    const Strategy* s = run->mode.by_family[op.family];
    PatchRecord* list[MAX_BATCH];
    for (int i = 0; i < op.count; i++) {
        const Records& r = records[op.targets[i]];
        const bool revert = op.kind == OpKind::Revert || op.kind == OpKind::BatchRevert;
        list[i] = revert ? top_of(op.targets[i]) : op.version == 3 ? r.v3 : r.v2;
    }
    // A single operation on a contract pair is two patches: a batch, like
    // every multi-function patch (transaction.h).
    const bool one = op.count == 1;
    switch (op.kind) {
        case OpKind::Apply:
        case OpKind::Stack:
        case OpKind::BatchApply: return one ? patch_apply(list[0], s) : patch_apply_batch(list, op.count, s);
        case OpKind::Revert:
        case OpKind::BatchRevert: return one ? patch_revert(list[0]) : patch_revert_batch(list, op.count);
    }
    return make_error("unknown op");
}

void patcher(void* arg) {
    Patcher& p = *static_cast<Patcher*>(arg);
    while (!run->stop_patchers && !run->failed) {
        const Op op = p.plan.next();
        Result<void> r = execute(op);
        // An injected deaf or halted CPU makes corrals and sync rounds abort,
        // with nothing written: the same operation is tried again after it.
        while (r.is_error() && injection_may_abort() && !run->stop_patchers &&
               (str_contains(r.error(), "aborted") || str_contains(r.error(), "did not answer"))) {
            injection_count_abort();
            thread_sleep_ms(20);
            r = execute(op);
        }
        if (r.is_error()) {
            fail("patcher %d, op %llu (%s of %d %s target(s), first %s): %s", p.index,
                 (unsigned long long)p.plan.ops(), op_kind_name(op.kind), op.count, family_name(op.family),
                 target(op.targets[0]).symbol, r.error());
            return;
        }
        p.flips = p.flips + uint64_t(op.count);
    }
}

// Whether `t` is patched with `s` in this run.  Every target is, but one:
// stop-check does not patch the fentry family's sleeper.  A whole-patch
// switch waits until no thread is inside any function of the patch, and
// with every worker napping in the sleeper now and then, one nearly always
// is: a batch with it backs off for seconds (Linux's kpatch has the same
// limit, and klp's per-thread transition exists because of it).  The far
// family's sleeper sleeps in the shared tail, outside the 7 bytes, and is
// patched.
bool patched_with(const Strategy* s, int t) {
    return !(behavior_of(t) == Behavior::Sleeps && t / PER_FAMILY == FENTRY && str_eq(s->name(), "stop-check"));
}

// Patcher k owns every k-th unit of each patched family: a target, or a
// contract pair (its outer and inner, always patched together).
void assign(Patcher& p, int k) {
    p.index = k;
    p.plan.init(run->seed, k);
    for (int f = 0; f < FAMILIES; f++)
        if (const Strategy* s = run->mode.by_family[f]) {
            int unit = 0;
            for (int i = 0; i < PER_FAMILY; i++) {
                const int t = f * PER_FAMILY + i;
                if (behavior_of(t) == Behavior::Inner || !patched_with(s, t)) continue;   // an inner goes with its outer
                if (unit++ % PATCHERS == k) p.plan.own(t, f, contract_inner(t));
            }
            if (str_eq(s->name(), "klp")) p.plan.forbid_stacking(f);   // klp patches only a plain NOP
        }
}

uint32_t plan_preview_digest() {
    uint32_t d = 0;
    for (int k = 0; k < PATCHERS; k++) {
        Patcher p{};
        assign(p, k);
        for (uint64_t i = 0; i < PLAN_DIGEST_OPS; i++) p.plan.next();
        d = d * 31 + p.plan.digest();
    }
    return d;
}

// ---------------------------------------------------------------- setup

Result<void> define_patches() {
    if (defined) return Ok{};
    targets_init();
    static const char* const defaults[FAMILIES] = {"corral-scan", "hotpatch", "int3"};
    for (int t = 0; t < TARGETS; t++) {
        const Target& tg = target(t);
        char name[32];
        format(name, sizeof name, "%s.v2", tg.symbol);
        records[t].v2 = TRY(patch_define(name, tg.symbol, tg.v2, defaults[tg.family]));
        format(name, sizeof name, "%s.v3", tg.symbol);
        records[t].v3 = TRY(patch_define(name, tg.symbol, tg.v3, defaults[tg.family]));
    }
    defined = true;
    return Ok{};
}

// Reverts every torture patch, top of each stack first.  A klp revert is
// done once its transition is: only then are the sites NOPs again.
Result<void> unwind() {
    for (int t = 0; t < TARGETS; t++)
        while (top_of(t)->state == PatchState::Applied) TRY_VOID(patch_revert(top_of(t)));
    if (!klp::wait_idle(KLP_UNWIND_US)) return make_error("the last klp transition did not finish");
    return Ok{};
}

Result<Mode> mode_for(const char* name, CorralBug bug, bool strict_contract) {
    Mode m{};
    str_copy(m.name, name, sizeof m.name);
    if (str_eq(name, "mixed")) {
        m.by_family[FAR] = find_strategy("corral-scan");
        m.by_family[HOT] = find_strategy("hotpatch");
        m.by_family[FENTRY] = find_strategy("int3");
    } else {
        const Strategy* s = find_strategy(name);
        if (!s) return make_error("stress: unknown strategy '%s' (one of: %s)", name, stress_strategy_names());
        const int family = str_eq(name, "hotpatch") ? HOT : str_eq(name, "int3") || str_eq(name, "klp") ? FENTRY : FAR;
        m.by_family[family] = s;
        // stop-check also takes the fentry family: its contract pairs are
        // where the whole-patch switch is checked (see contract_checked).
        if (str_eq(name, "stop-check")) m.by_family[FENTRY] = s;
        m.control = !s->is_safe();
    }
    m.strict_contract = strict_contract;
    if (strict_contract)
        for (const Strategy* s : m.by_family)
            if (s && !s->consistent_across_functions()) m.control = true;
    if (bug != CorralBug::None) {
        if (!str_eq(name, corral_bug_strategy(bug)))
            return make_error("stress: broken=%s breaks %s's check: use strategy=%s", corral_bug_name(bug),
                              corral_bug_strategy(bug), corral_bug_strategy(bug));
        m.control = true;
    }
    return m;
}

CallCtx* new_ctx(bool in_irq) {
    auto* c = new CallCtx();
    c->in_irq = in_irq;
    return c;
}

// ---------------------------------------------------------------- one run

void start_threads() {
    const int n = cpu_count();
    for (int c = 0; c < n; c++) run->irq_ctx[c] = new_ctx(true);
    for (int s = 0; s < CHURN_SLOTS; s++) run->churn_ctx[s] = new_ctx(false);
    for (int c = 0; c < n; c++)
        for (int k = 0; k < WORKERS_PER_CPU; k++) {
            const int w = run->worker_count++;
            run->worker_ctx[w] = new_ctx(false);
            char name[16];
            format(name, sizeof name, "tw%d%s", c, k == 0 ? "pin" : "");
            run->workers[w] = thread_create(name, worker, reinterpret_cast<void*>(uintptr_t(w)),
                                            k == 0 ? 1u << c : AFFINITY_ANY);
        }
    run->tick_calls = sched_add_tick_hook(tick);
    run->churner = thread_create("churner", churner, nullptr);
    for (int k = 0; k < PATCHERS; k++) {
        assign(run->patchers[k], k);
        char name[16];
        format(name, sizeof name, "patcher%d", k);
        run->patchers[k].thread = thread_create(name, patcher, &run->patchers[k], 1u << ((k + 1) % n));
    }
}

void stop_threads() {
    run->stop_patchers = true;
    for (Patcher& p : run->patchers) thread_join(p.thread);
    run->stop_workers = true;
    run->tick_calls = false;
    sched_remove_tick_hook(tick);
    thread_join(run->churner);
    for (int w = 0; w < run->worker_count; w++) thread_join(run->workers[w]);
    // A churn thread killed in torn bytes (a control) never frees its slot.
    const uint64_t deadline = now_us() + (torn_fault_count() != run->torn0 ? 1000000 : 10000000);
    for (int s = 0; s < CHURN_SLOTS; s++)
        while (__atomic_load_n(&run->churn_busy[s], __ATOMIC_ACQUIRE) && now_us() < deadline) thread_sleep_ms(1);
    for (int s = 0; s < CHURN_SLOTS; s++)
        if (run->churn_busy[s] && torn_fault_count() == run->torn0) fail("a churn thread never finished");
}

bool run_one(const Mode& mode, const StressOptions& o) {
    run = new Run();
    run->mode = mode;
    run->seconds = o.seconds;
    run->seed = o.seed;
    // A target torn in a control would fault inside the timer interrupt,
    // with no thread of its own to kill: controls call only the families
    // they leave alone from there.
    for (int f = 0; f < FAMILIES; f++) {
        run->irq_family[f] = !(mode.control && mode.by_family[f]);
        if (mode.by_family[f]) run->stepped_families[run->stepped_family_count++] = f;
    }
    if (o.flips) kprintf("patchtorture: until %u flips, at most %u s\n", o.flips, o.seconds);
    kprintf("patchtorture: strategy=%s cpus=%d seconds=%u seed=%u%s%s%s: %d targets (%d per family: far-jmp, hotpatch, "
            "fentry), patching",
            mode.name, cpu_count(), o.seconds, o.seed, o.bug != CorralBug::None ? " broken=" : "",
            o.bug != CorralBug::None ? corral_bug_name(o.bug) : "", o.strict_contract ? " contract=strict" : "",
            TARGETS, PER_FAMILY);
    for (int f = 0; f < FAMILIES; f++)
        if (mode.by_family[f]) kprintf(" %s with %s", family_name(f), mode.by_family[f]->name());
    kprintf("; %d patchers, %d workers per cpu, churn; plan digest %#x (first %llu ops of each patcher)%s\n", PATCHERS,
            WORKERS_PER_CPU, plan_preview_digest(), (unsigned long long)PLAN_DIGEST_OPS,
            mode.control ? "; a negative control: it must FAIL" : "");
    run->corrals0 = corral_count();
    run->syncs0 = sync_count();
    run->shootdowns0 = tlb_shootdown_count();
    run->deferrals0 = far_jmp_deferral_count();
    run->written_after_deferring0 = far_jmp_written_after_deferring_count();
    run->redirects0 = int3_redirects();
    run->klp0 = klp::counts();
    run->torn0 = torn_fault_count();
    corral_set_bug(o.bug);
    // A corral that aborts is a failure here, so the timeout is one that
    // only a hang reaches, not a vCPU the host left unscheduled for a while.
    const uint64_t timeout_before = corral_timeout_us();
    corral_set_timeout_us(o.inject ? INJECT_CORRAL_TIMEOUT_US : TORTURE_CORRAL_TIMEOUT_US);
    hold_set_step_hook(preemption_point);
    text_write_set_observer(note_text_write);
    klp::set_quiet(true);
    far_jmp_set_max_deferrals(TORTURE_MAX_DEFERRALS);
    run->start_us = now_us();
    start_threads();
    if (o.inject) injector_start(o.inject);

    uint64_t next_progress = run->start_us + PROGRESS_US;
    const uint64_t end = run->start_us + uint64_t(o.seconds) * 1000000;
    // An injection run goes on (a while) until every injection has had its turn.
    auto time_left = [&] {
        const uint64_t now = now_us();
        return now < end || (o.inject && !injection_all_ran() && now < end + INJECT_EXTRA_US);
    };
    while (!run->failed && time_left() && !(o.flips && totals().flips >= o.flips)) {
        thread_sleep_ms(50);
        check_torn();
        check_klp_switches();
        if (now_us() >= next_progress) {
            print_progress(now_us() - run->start_us);
            next_progress += PROGRESS_US;
        }
    }
    if (o.inject) {
        injector_stop();
        if (const char* problem = injection_problem()) fail("injection: %s", problem);
    }
    stop_threads();
    hold_set_step_hook(nullptr);
    text_write_set_observer(nullptr);
    corral_set_bug(CorralBug::None);
    corral_set_timeout_us(timeout_before);
    check_torn();
    check_klp_switches();
    if (o.flips && totals().flips < o.flips)
        fail("only %llu of %u flips in %u s", (unsigned long long)totals().flips, o.flips, o.seconds);
    const uint64_t ran_us = (run->failed ? run->failed_at_us : now_us()) - run->start_us;

    // Back to the ELF's bytes: every patch reverted, the padding cleaned,
    // the text verified.
    Result<void> unwound = unwind();
    if (unwound.is_error()) fail("reverting every patch at the end: %s", unwound.error());
    Result<int> cleaned = patch_cleanup_padding();
    if (cleaned.is_error()) fail("cleaning the hotpatch padding at the end: %s", cleaned.error());
    klp::set_quiet(false);
    far_jmp_set_max_deferrals(0);
    const TextVerifyReport text = text_verify(false);
    if (!text.table_present) fail("text verify: this build has no text hash");
    else if (text.unexplained_chunks || text.patched_ranges)
        fail("text verify: %d chunk(s) differ from the ELF, %d patched range(s) not restored (run 'text verify')",
             text.unexplained_chunks, text.patched_ranges);
    check_conservation();
    if (!run->failed) check_it_happened();

    uint32_t digest = 0;
    uint64_t ops = 0;
    for (const Patcher& p : run->patchers) {
        digest = digest * 31 + p.plan.digest();
        ops += p.plan.ops();
    }
    const bool ok = !run->failed;
    kprintf("patchtorture: %s strategy=%s cpus=%d seconds=%u seed=%u", ok ? "SUCCESS" : "FAILURE", mode.name,
            cpu_count(), o.seconds, o.seed);
    if (o.bug != CorralBug::None) kprintf(" broken=%s", corral_bug_name(o.bug));
    if (o.strict_contract) kprintf(" contract=strict");
    if (!ok) kprintf(": %s (after %llu.%01llu s)", run->why, (unsigned long long)(ran_us / 1000000),
                     (unsigned long long)(ran_us / 100000 % 10));
    kprintf("; ");
    print_counts();
    kprintf(", torn %u; ops %llu, sequence digest %#x; text %s", torn_fault_count() - run->torn0,
            (unsigned long long)ops, digest, text.unexplained_chunks || text.patched_ranges ? "differs" : "verified");
    if (o.inject) {
        const InjectionReport ir = injection_report();
        kprintf("; injected");
        for (int k = 0; k < INJECTIONS; k++)
            if (o.inject >> k & 1) kprintf(" %s x%u", injection_name(Injection(k)), ir.rounds[k]);
        kprintf(" (expected aborts %u, irq corrals refused %u, nmis %u, extra corrals %u)", ir.aborts, ir.refusals,
                ir.nmis_sent, ir.extra_corrals);
    }
    kprintf("\n");
    for (int w = 0; w < run->worker_count; w++) delete run->worker_ctx[w];
    for (int c = 0; c < cpu_count(); c++) delete run->irq_ctx[c];
    // A slot still busy belongs to a churn thread that was killed (or is
    // somehow still running): its context is left, and so is the run.
    bool churn_done = true;
    for (int s = 0; s < CHURN_SLOTS; s++) {
        if (run->churn_busy[s]) churn_done = false;
        else delete run->churn_ctx[s];
    }
    if (churn_done) delete run;
    run = nullptr;
    return ok;
}


// The run ends by reverting its own patches and checking the text against
// the ELF: a patch someone else applied would fail that check after the
// whole run.  Refused up front instead, naming it.
struct AppliedPatches {
    int count;
    const char* first;
};

void count_applied(PatchRecord* r, void* ctx) {
    auto& a = *static_cast<AppliedPatches*>(ctx);
    if (r->state != PatchState::Applied) return;
    if (!a.count) a.first = r->name;
    a.count++;
}

Result<void> check_text_is_the_elfs() {
    AppliedPatches a{0, nullptr};
    patch_for_each(count_applied, &a);
    if (a.count)
        return make_error("stress: patch '%s'%s is applied; revert it first (the run ends by checking the text "
                          "against the ELF, and 'patch list' shows what is applied)", a.first,
                          a.count > 1 ? " (and others)" : "");
    TRY(patch_cleanup_padding());
    const TextVerifyReport text = text_verify(false);
    if (text.unexplained_chunks || text.patched_ranges)
        return make_error("stress: the text differs from the ELF before the run (%d chunk(s), %d patched range(s)); "
                          "'text verify' shows where", text.unexplained_chunks, text.patched_ranges);
    return Ok{};
}

}  // namespace

const char* stress_strategy_names() { return "naive corral corral-scan hotpatch int3 stop-check klp mixed all"; }

Result<bool> stress_run(const StressOptions& o) {
    if (o.seconds < 1 || o.seconds > 86400) return make_error("stress: seconds must be 1..86400, not %u", o.seconds);
    const bool all = str_eq(o.strategy, "all");
    if (all && o.bug != CorralBug::None)
        return make_error("stress: broken=%s needs strategy=%s, not all", corral_bug_name(o.bug), corral_bug_strategy(o.bug));
    if (all && o.strict_contract) return make_error("stress: contract=strict needs one strategy, not all");
    if (o.inject && cpu_count() < 2) return make_error("stress: inject= needs a second cpu");
    const char* const sequence[] = {"corral-scan", "hotpatch", "int3", "stop-check", "klp", "mixed"};
    Mode modes[6];
    int count = 0;
    if (all)
        for (const char* s : sequence) modes[count++] = TRY(mode_for(s, CorralBug::None, false));
    else
        modes[count++] = TRY(mode_for(o.strategy, o.bug, o.strict_contract));
    if (__atomic_exchange_n(&running, true, __ATOMIC_ACQ_REL)) return make_error("stress: a run is in progress");
    Result<void> clean = check_text_is_the_elfs();
    if (clean.is_error()) {
        running = false;
        return clean.error_value();
    }
    Result<void> defined_ok = define_patches();
    if (defined_ok.is_error()) {
        running = false;
        return make_error("stress: defining the patches: %s", defined_ok.error());
    }
    int passed = 0;
    for (int i = 0; i < count; i++) passed += run_one(modes[i], o) ? 1 : 0;
    if (all)
        kprintf("patchtorture: %s strategy=all: %d of %d runs passed (corral-scan, hotpatch, int3, stop-check, klp, "
                "mixed)\n",
                passed == count ? "SUCCESS" : "FAILURE", passed, count);
    running = false;
    return passed == count;
}

}  // namespace corral
