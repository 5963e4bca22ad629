// What a patchtorture run did, counted and judged: the calls, the flips,
// conservation, torn bytes, and the race each strategy exists for.
#include "arch/x86/trap.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/sched/thread.h"
#include "kernel/smp.h"
#include "kernel/symbols.h"
#include "patching/corral.h"
#include "patching/farjmp.h"
#include "patching/torn.h"
#include "patching/torture/run.h"

namespace corral::torture {

// Every caller's context: the workers', each CPU's timer interrupt's, the
// churn slots'.
template <typename F>
void for_each_ctx(F visit) {
    for (int w = 0; w < run->worker_count; w++)
        if (run->worker_ctx[w]) visit(*run->worker_ctx[w]);
    for (int c = 0; c < cpu_count(); c++)
        if (run->irq_ctx[c]) visit(*run->irq_ctx[c]);
    for (const CallCtx* c : run->churn_ctx)
        if (c) visit(*c);
}

Totals totals() {
    Totals t{0, 0};
    for_each_ctx([&t](const CallCtx& c) {
        for (int i = 0; i < TARGETS; i++) t.calls += c.made[i];
    });
    for (const Patcher& p : run->patchers) t.flips += p.flips;
    return t;
}

// Outer calls of the contract pairs; those whose inner ran another version;
// and of those, the ones in families whose contract is checked.
struct ContractCounts {
    uint64_t calls, breaks, checked_breaks;
};
ContractCounts contract_counts() {
    ContractCounts n{0, 0, 0};
    for_each_ctx([&](const CallCtx& c) {
        for (int f = 0; f < FAMILIES; f++) {
            n.calls += c.contract_calls[f];
            n.breaks += c.contract_breaks[f];
            if (contract_checked(f)) n.checked_breaks += c.contract_breaks[f];
        }
    });
    return n;
}

// The race each strategy exists for, counted (targets.h, and the
// strategies' own counters): a run in which one stayed zero never tested
// what it claims to have survived.
struct RaceCounts {
    uint64_t write_straddles[FAMILIES], contract_straddles[FAMILIES], switched_calls[FAMILIES];
    uint64_t deferrals, written_after_deferring, cc_redirects, cc_mid_batch;
    uint64_t klp_held_back, klp_both_universes, klp_switched_asleep, klp_switched_running, klp_switched_at_entry;
};
RaceCounts race_counts() {
    RaceCounts n{};
    for_each_ctx([&](const CallCtx& c) {
        for (int f = 0; f < FAMILIES; f++) {
            n.write_straddles[f] += c.write_straddles[f];
            n.contract_straddles[f] += c.contract_straddles[f];
            n.switched_calls[f] += c.switched_calls[f];
        }
    });
    n.deferrals = far_jmp_deferral_count() - run->deferrals0;
    n.written_after_deferring = far_jmp_written_after_deferring_count() - run->written_after_deferring0;
    const Int3Redirects r = int3_redirects();
    n.cc_redirects = r.total - run->redirects0.total;
    n.cc_mid_batch = r.mid_batch - run->redirects0.mid_batch;
    const klp::Counts k = klp::counts();
    n.klp_held_back = k.held_back - run->klp0.held_back;
    n.klp_both_universes = k.both_universes - run->klp0.both_universes;
    n.klp_switched_asleep = k.switched_asleep - run->klp0.switched_asleep;
    n.klp_switched_running = k.switched_running - run->klp0.switched_running;
    n.klp_switched_at_entry = k.switched_at_entry - run->klp0.switched_at_entry;
    return n;
}

using ull = unsigned long long;

// ", races [<family> <strategy>: ...; ...]", for each patched family.
void print_races() {
    const RaceCounts n = race_counts();
    kprintf(", races [");
    bool first = true;
    for (int f = 0; f < FAMILIES; f++) {
        const Strategy* s = run->mode.by_family[f];
        if (!s) continue;
        kprintf("%s%s %s: write-straddles %llu, contract-straddles %llu, switched calls %llu", first ? "" : "; ",
                family_name(f), s->name(),
                ull(n.write_straddles[f]), ull(n.contract_straddles[f]), ull(n.switched_calls[f]));
        if (str_eq(s->name(), "int3") || str_eq(s->name(), "klp"))
            kprintf(", cc-redirects %llu (mid-batch %llu)", ull(n.cc_redirects), ull(n.cc_mid_batch));
        if (str_eq(s->name(), "stop-check") || str_eq(s->name(), "corral-scan"))
            kprintf(", written after deferring %llu", ull(n.written_after_deferring));
        if (str_eq(s->name(), "klp"))
            kprintf(", held-back %llu, both-universes %llu, switched asleep %llu / running %llu / at entry %llu",
                    ull(n.klp_held_back), ull(n.klp_both_universes), ull(n.klp_switched_asleep),
                    ull(n.klp_switched_running), ull(n.klp_switched_at_entry));
        first = false;
    }
    kprintf("]");
}

// The first race the run's strategies needed and never met, or null.
const char* race_not_exercised() {
    const RaceCounts n = race_counts();
    for (int f = 0; f < FAMILIES; f++) {
        const Strategy* s = run->mode.by_family[f];
        if (!s) continue;
        const char* name = s->name();
        const bool pairs = f != FAR;   // far pairs share a tail: no contract there
        if (str_eq(name, "corral-scan") && n.deferrals == 0)
            return "deferrals (the scan never found a thread inside a patch's bytes)";
        if (str_eq(name, "stop-check")) {
            if (n.deferrals == 0) return "deferrals (the stack check never found a thread inside an old function)";
            if (n.written_after_deferring == 0) return "written after deferring (no deferred patch was written later)";
            continue;   // its straddles are what it prevents: it defers instead
        }
        if (str_eq(name, "hotpatch") || str_eq(name, "int3") || str_eq(name, "klp")) {
            if (n.write_straddles[f] == 0) return "write-straddles (no call was inside a target while it was written)";
            if (n.switched_calls[f] == 0) return "switched calls (no call went through a patch's redirect)";
            if (pairs && n.contract_straddles[f] == 0)
                return "contract-straddles (no outer began before its inner was rewritten)";
        }
        if (str_eq(name, "int3") && n.cc_mid_batch == 0) return "cc-redirects mid-batch (no CPU executed a poked cc)";
        if (str_eq(name, "klp")) {
            if (n.klp_held_back == 0) return "held-back (no thread was found with an old function on its stack)";
            if (n.klp_both_universes == 0) return "both-universes (no transition ran the two versions side by side)";
            if (n.klp_switched_asleep == 0) return "switched asleep (no thread was switched while switched out)";
        }
    }
    return nullptr;
}

void print_counts() {
    const Totals t = totals();
    kprintf("flips %llu, calls %llu, preemption points %u, deferrals %llu, corrals %llu, syncs %llu, shootdowns %llu, "
            "threads churned %u",
            (unsigned long long)t.flips, (unsigned long long)t.calls, run->preempt_points,
            (unsigned long long)(far_jmp_deferral_count() - run->deferrals0),
            (unsigned long long)(corral_count() - run->corrals0), (unsigned long long)(sync_count() - run->syncs0),
            (unsigned long long)(tlb_shootdown_count() - run->shootdowns0), run->churned);
    const ContractCounts k = contract_counts();
    kprintf(", contract calls %llu (broken %llu, where checked %llu)", (unsigned long long)k.calls,
            (unsigned long long)k.breaks, (unsigned long long)k.checked_breaks);
    print_races();
}

void print_progress(uint64_t elapsed_us) {
    kprintf("patchtorture: %llu s: ", (unsigned long long)(elapsed_us / 1000000));
    print_counts();
    kprintf("; worker passes by cpu:");
    for (int c = 0; c < cpu_count(); c++) kprintf(" %u", run->passes_by_cpu[c]);
    kprintf("\n");
}

// calls made == calls counted by the version that ran == calls seen by the
// caller, per target and version, over every caller.
void check_conservation() {
    for (int t = 0; t < TARGETS && !run->failed; t++) {
        uint64_t made = 0, counted[VERSIONS] = {}, seen[VERSIONS] = {};
        for_each_ctx([&](const CallCtx& c) {
            made += c.made[t];
            for (int v = 1; v < VERSIONS; v++) {
                counted[v] += c.counted[t][v];
                seen[v] += c.seen[t][v];
            }
        });
        const uint64_t sum = counted[1] + counted[2] + counted[3];
        if (made != sum || counted[1] != seen[1] || counted[2] != seen[2] || counted[3] != seen[3])
            fail("calls of %s not conserved: made %llu, ran v1/v2/v3 %llu/%llu/%llu, seen %llu/%llu/%llu",
                 target(t).symbol, (unsigned long long)made, (unsigned long long)counted[1],
                 (unsigned long long)counted[2], (unsigned long long)counted[3], (unsigned long long)seen[1],
                 (unsigned long long)seen[2], (unsigned long long)seen[3]);
    }
}

void check_torn() {
    const uint32_t torn = torn_fault_count() - run->torn0;
    if (torn == 0) return;
    const TornFault f = last_torn_fault();
    char where[64];
    symbolize(f.eip, where, sizeof where);
    fail("%u thread(s) died in torn bytes, the last '%s' at %s (%s executing %02x %02x %02x)", torn, f.thread_name,
         where, arch::exception_name(f.vector), f.bytes[0], f.bytes[1], f.bytes[2]);
}

// klp: a switch that landed after the goal it was checked for had changed
// (a check overtaken by a turnaround or a new transition).  Impossible by
// construction (klp.cpp's quiet_checks); counted, and judged, all the same.
void check_klp_switches() {
    const uint32_t stale = klp::counts().switched_stale - run->klp0.switched_stale;
    if (stale)
        fail("klp: %u thread switch(es) landed after the goal they were checked for had changed", stale);
}

bool contract_pairs_were_called() {
    for (int f = 0; f < FAMILIES; f++) {
        if (!contract_checked(f)) continue;
        uint64_t calls = 0;
        for_each_ctx([&](const CallCtx& c) { calls += c.contract_calls[f]; });
        if (calls == 0) return false;
    }
    return true;
}

// The race must really have been run: a run where nothing was patched, or
// no thread was churned, proved nothing.
void check_it_happened() {
    const Totals t = totals();
    uint64_t irq_calls = 0;
    for (int c = 0; c < cpu_count(); c++)
        for (int i = 0; i < TARGETS; i++) irq_calls += run->irq_ctx[c]->made[i];
    if (t.flips == 0) fail("no patch was applied or reverted");
    else if (t.calls == 0) fail("no target was called");
    else if (run->churned == 0) fail("no thread was churned");
    else if (irq_calls == 0) fail("the timer interrupt never called a target");
    else if (cpu_count() > 1 && tlb_shootdown_count() == run->shootdowns0) fail("no TLB shootdown happened");
    else if (run->preempt_points == 0) fail("no thread was preempted inside a target");
    else if (!contract_pairs_were_called()) fail("no contract pair of a checked family was called");
    else if (const char* zero = race_not_exercised()) fail("race not exercised: %s", zero);
}

}  // namespace corral::torture
