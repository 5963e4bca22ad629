// Shell commands of the patching engine: patch list|apply|revert, demo.
#include "kernel/console/console.h"
#include "kernel/panic.h"
#include "patching/corral.h"
#include "patching/klp/klp.h"
#include "kernel/lib/string.h"
#include "kernel/shell.h"
#include "kernel/symbols.h"
#include "patching/scenario.h"
#include "patching/strategy.h"
#include "patching/text_writer.h"
#include "patching/transaction.h"
#include "patching/x86_decode.h"

namespace corral {
namespace module {
int module_command(int argc, char** argv);   // module_commands.cpp; -1: not one of its words
}
namespace {

struct ListOptions {
    bool all;
    int hidden;
    int width;   // of the name column: the longest name listed
};

// patchtorture's 288 patches and the benchmarks' are listed only by `patch list all`.
bool is_machine_patch(const PatchRecord* r) {
    return str_starts_with(r->name, "torture_") || str_starts_with(r->name, "bench_");
}

void widen(ListOptions& o, const char* name) {
    const int n = int(str_len(name));
    if (n > o.width) o.width = n;
}

void measure_record(PatchRecord* r, void* ctx) {
    auto* o = static_cast<ListOptions*>(ctx);
    if (o->all || !is_machine_patch(r)) widen(*o, r->name);
}

void measure_set(PatchSet* s, void* ctx) { widen(*static_cast<ListOptions*>(ctx), s->name); }

void print_record(PatchRecord* r, void* ctx) {
    auto* o = static_cast<ListOptions*>(ctx);
    if (!o->all && is_machine_patch(r)) {
        o->hidden++;
        return;
    }
    char to[48];
    symbolize(r->replacement, to, sizeof to);
    kprintf("  %-*s %-9s %-28s -> %-30s default %-11s", o->width, r->name, patch_state_name(r->state), r->target_name,
            to, r->default_strategy->name());
    if (r->state == PatchState::Applied) {
        kprintf(" (by %s", r->applied.strategy->name());
        if (r->stacked_on) kprintf(", over %s", r->stacked_on->name);
        kprintf(")");
    }
    kprintf("\n");
}

// A multi-function patch, in the words of its members' states.
void print_set(PatchSet* s, void* ctx) {
    const char* state = patch_set_applied(s) ? "applied" : patch_state_name(s->members[0]->state);
    kprintf("  %-*s %-9s multi-function:", static_cast<ListOptions*>(ctx)->width, s->name, state);
    for (int i = 0; i < s->count; i++) kprintf(" %s", s->members[i]->name);
    if (patch_set_applied(s)) kprintf(" (by %s)", s->members[0]->applied.strategy->name());
    kprintf("\n");
}

int patch_list(bool all) {
    kprintf("patches (strategies: %s):\n", strategy_names());
    ListOptions o{all, 0, 8};
    patch_for_each(measure_record, &o);
    patch_set_for_each(measure_set, &o);
    patch_for_each(print_record, &o);
    patch_set_for_each(print_set, &o);
    if (o.hidden) kprintf("  (and %d patchtorture and benchmark patches: 'patch list all')\n", o.hidden);
    return 0;
}

PatchRecord* find_or_complain(const char* name) {
    PatchRecord* r = patch_find(name);
    if (!r) shell_error("patch: no patch named '%s' (see 'patch list')", name);
    return r;
}

// One patch or a multi-function one: its state, and a klp transition's progress.
int patch_status(const char* name) {
    PatchSet* set = patch_set_find(name);
    PatchRecord* r = set ? set->members[0] : find_or_complain(name);
    if (!r) return 1;
    const bool applied = set ? patch_set_applied(set) : r->state == PatchState::Applied;
    kprintf("%s: %s", name, applied ? "applied" : patch_state_name(r->state));
    if (r->state != PatchState::Defined) kprintf(" (last by %s)", r->applied.strategy->name());
    kprintf("\n");
    const int count = set ? set->count : 1;
    for (int i = 0; i < count; i++) {
        PatchRecord* m = set ? set->members[i] : r;
        char to[48];
        symbolize(m->replacement, to, sizeof to);
        kprintf("  %s -> %s\n", m->target_name, to);
    }
    if (!klp::print_status(r->target)) kprintf("  no transition under way\n");
    return 0;
}

int apply_set(PatchSet* set, const char* strategy_name) {
    const Strategy* s = nullptr;
    if (strategy_name && !(s = find_strategy(strategy_name)))
        return shell_error("patch: unknown strategy '%s' (one of: %s)", strategy_name, strategy_names());
    Result<void> done = patch_set_apply(set, s);
    if (done.is_error()) return shell_error("patch apply: %s", done.error());
    const Strategy* used = set->members[0]->applied.strategy;
    kprintf("applied %s (%d functions, one write) with %s", set->name, set->count, used->name());
    if (set->members[0]->applied.deferrals) kprintf(" (deferred %d times)", set->members[0]->applied.deferrals);
    kprintf("\n");
    if (klp::in_transition(set->members[0]->target))
        kprintf("klp transition under way: 'patch status %s' shows which threads have switched\n", set->name);
    if (!used->is_safe()) kprintf("warning: %s is unsafe: it guarantees %s\n", used->name(), used->guarantees());
    return 0;
}

int cmd_patch(int argc, char** argv) {
    if (const int done = module::module_command(argc, argv); done >= 0) return done;
    if (argc == 2 && str_eq(argv[1], "list")) return patch_list(false);
    if (argc == 3 && str_eq(argv[1], "list") && str_eq(argv[2], "all")) return patch_list(true);
    if ((argc == 3 || argc == 4) && str_eq(argv[1], "apply") && patch_set_find(argv[2]))
        return apply_set(patch_set_find(argv[2]), argc == 4 ? argv[3] : nullptr);
    if (argc == 3 && str_eq(argv[1], "revert") && patch_set_find(argv[2])) {
        Result<void> done = patch_set_revert(patch_set_find(argv[2]));
        if (done.is_error()) return shell_error("patch revert: %s", done.error());
        kprintf("reverted %s: every function has its previous bytes again\n", argv[2]);
        return 0;
    }
    if (argc == 3 && str_eq(argv[1], "status")) return patch_status(argv[2]);
    if ((argc == 3 || argc == 4) && str_eq(argv[1], "apply")) {
        PatchRecord* r = find_or_complain(argv[2]);
        if (!r) return 1;
        const Strategy* s = nullptr;
        if (argc == 4 && !(s = find_strategy(argv[3])))
            return shell_error("patch: unknown strategy '%s' (one of: %s)", argv[3], strategy_names());
        Result<void> done = patch_apply(r, s);
        if (done.is_error()) return shell_error("patch apply: %s", done.error());
        const Strategy* used = r->applied.strategy;
        kprintf("applied %s to %s with %s", r->name, r->target_name, used->name());
        if (r->applied.deferrals) kprintf(" (deferred %d times)", r->applied.deferrals);
        kprintf("\n");
        if (klp::in_transition(r->target))
            kprintf("klp transition under way: 'patch status %s' shows which threads have switched\n", r->name);
        // After the checks and the write: a refused patch gets its reason alone.
        if (!used->is_safe()) kprintf("warning: %s is unsafe: it guarantees %s\n", used->name(), used->guarantees());
        return 0;
    }
    if (argc == 3 && str_eq(argv[1], "revert")) {
        PatchRecord* r = find_or_complain(argv[2]);
        if (!r) return 1;
        Result<void> done = patch_revert(r);
        if (done.is_error()) return shell_error("patch revert: %s", done.error());
        kprintf("reverted %s: %s has its previous bytes again\n", r->name, r->target_name);
        return 0;
    }
    return shell_error("usage: patch list [all] | patch apply <name> [strategy] | patch revert <name> | "
                       "patch status <name> | patch load <size> <crc32> | patch unload <name> | patch modules");
}
SHELL_COMMAND("patch", "patch list [all]|apply <name> [strategy]|revert <name>|status <name>|load <size> <crc32>|unload <name>|modules",
              "list, apply or revert a patch (try: patch apply hot, peek demo_hot_counter-5 8)", cmd_patch);

int cmd_demo(int argc, char** argv) {
    if (argc < 2 || argc > 3) return shell_error("usage: demo <torn|preempted|interrupted|contract|all> [strategy]");
    const char* one_strategy = argc == 3 ? argv[2] : nullptr;
    if (one_strategy && !find_strategy(one_strategy))
        return shell_error("demo: unknown strategy '%s' (one of: %s)", one_strategy, strategy_names());
    const char* scenarios[] = {"torn", "preempted", "interrupted", "contract"};
    const char* strategies[] = {"naive", "corral", "corral-scan", "hotpatch", "int3", "stop-check", "klp"};
    bool all = str_eq(argv[1], "all"), any = false;
    int mismatches = 0, expected = 0, skipped = 0;
    const char* skip_why = "";
    for (const char* sc : scenarios) {
        if (!all && !str_eq(argv[1], sc)) continue;
        any = true;
        for (const char* st : strategies) {
            if (one_strategy && !str_eq(one_strategy, st)) continue;
            Result<ScenarioResult> r = run_scenario(sc, st, 0, true);
            if (r.is_error()) return shell_error("demo %s %s: %s", sc, st, r.error());
            if (r.value().skipped) {
                kprintf("SCENARIO %s %s: skipped (%s)\n", sc, st, r.value().detail);
                skipped++;
                skip_why = r.value().detail;
            } else if (!cell_matches(r.value())) {   // a FAIL for another reason is unexpected too
                mismatches++;
            } else {
                expected++;
            }
        }
    }
    if (!any) return shell_error("demo: unknown scenario '%s' (one of: %s, all)", argv[1], scenario_names());
    // One summary line (scripts/corral-qemu knows it): how many cells ran,
    // and how many were skipped and why.  A demo with no cell run is no pass.
    const int cells = expected + mismatches + skipped;
    kprintf("demo: %d cell%s: %d as expected, %d unexpected, %d skipped%s%s%s\n", cells, cells == 1 ? "" : "s",
            expected, mismatches, skipped, skipped ? " (" : "", skipped ? skip_why : "", skipped ? ")" : "");
    return mismatches || expected == 0 ? 1 : 0;
}
SHELL_COMMAND("demo", "demo <torn|preempted|interrupted|contract|all> [strategy]",
              "reproduce the seed's failures, narrated, with one or every strategy", cmd_demo);

// Instruction by instruction, with the decoder the planners use.
int cmd_dis(int argc, char** argv) {
    if (argc < 2 || argc > 3) return shell_error("usage: dis <symbol|address> [count]");
    Result<uint32_t> where = shell_parse_address(argv[1]);
    if (where.is_error()) return shell_error("dis: %s", where.error());
    uintptr_t address = where.value();
    uint32_t count = 8;
    if (argc == 3) {
        Result<uint32_t> c = parse_u32(argv[2]);
        if (c.is_error() || c.value() == 0 || c.value() > 64) return shell_error("dis: count must be 1..64");
        count = c.value();
    }
    if (!is_kernel_text(address, 1)) return shell_error("dis: %#zx is not kernel text", address);
    for (uint32_t i = 0; i < count && is_kernel_text(address, 1); i++) {
        const auto* code = reinterpret_cast<const uint8_t*>(address);
        Result<Instruction> insn = decode_instruction(code, 15);
        if (insn.is_error()) return shell_error("dis: at %#zx: %s", address, insn.error());
        char line[120];
        format_instruction(line, sizeof line, address, code, insn.value());
        kprintf("%s\n", line);
        address += insn.value().length;
    }
    return 0;
}
SHELL_COMMAND("dis", "dis <symbol|address> [count]", "decode instructions (lengths as the patch planners see them)",
              cmd_dis);

}  // namespace
}  // namespace corral

namespace corral {
namespace {

Result<void> panic_while_parked(void*, const CorralReport& report) {
    kprintf("corral panic: panicking inside a corral, %d of %d cpus parked\n", __builtin_popcount(report.parked_mask),
            report.cpus);
    panic("corral panic: deliberate panic with every other cpu parked");
}

// `corral panic` is the negative control for panic x corral: the panic must
// stop every parked CPU (they are in the IPI handler, interrupts off) and
// report it, with no corral timeout or abort.
int cmd_corral(int argc, char** argv) {
    if (argc == 1 || (argc == 2 && str_eq(argv[1], "stats"))) {
        const uint64_t n = corral_count();
        kprintf("corrals %llu (gathering every cpu took %llu us on average), sync rounds %llu, rounds that waited for "
                "another cpu's %llu, timeout %llu us, broken: %s\n",
                (unsigned long long)n, (unsigned long long)(n ? corral_gather_us_total() / n : 0),
                (unsigned long long)sync_count(), (unsigned long long)corral_lock_waits(),
                (unsigned long long)corral_timeout_us(), corral_bug_name(corral_bug()));
        const ParkStats p = corral_park_stats_total();
        kprintf("park %s: parked %llu times, halted %llu, woken by the release %llu, by an NMI %llu, by something "
                "else %llu, spun with a rendezvous vector in service %llu\n",
                park_mode_name(corral_park_mode()), (unsigned long long)p.parks, (unsigned long long)p.halts,
                (unsigned long long)p.released_by_ipi, (unsigned long long)p.nmi_wakeups,
                (unsigned long long)p.spurious_wakeups, (unsigned long long)p.spun_in_service);
        return 0;
    }
    if (argc == 3 && str_eq(argv[1], "park")) {
        ParkMode mode;
        if (!park_mode_by_name(argv[2], &mode))
            return shell_error("corral park: unknown mode '%s' (one of: %s)", argv[2], PARK_MODE_NAMES);
        corral_set_park_mode(mode);
        kprintf("corral: parked cpus now %s\n", mode == ParkMode::Spin       ? "spin with pause"
                                               : mode == ParkMode::Halt     ? "halt, woken by the release IPI"
                                                                            : "spin briefly, then halt");
        return 0;
    }
    if (argc == 3 && str_eq(argv[1], "break")) {
        CorralBug bug;
        if (!corral_bug_by_name(argv[2], &bug))
            return shell_error("corral break: unknown bug '%s' (one of: %s)", argv[2], CORRAL_BUG_NAMES);
        const CorralBug before = corral_bug();
        corral_set_bug(bug);
        if (bug != CorralBug::None)
            kprintf("warning: %s's check is now broken on purpose (%s): patches written with it can tear or break "
                    "their contract; 'corral break none' repairs it\n", corral_bug_strategy(bug), corral_bug_name(bug));
        else if (before != CorralBug::None)
            kprintf("corral: %s repaired: every check works as designed again\n", corral_bug_name(before));
        else
            kprintf("corral: nothing was broken; every check works as designed\n");
        return 0;
    }
    if (argc == 2 && str_eq(argv[1], "panic")) {
        Result<void> r = corral_all_cpus(panic_while_parked, nullptr);
        return shell_error("corral panic: the corral did not form: %s", r.is_error() ? r.error() : "?");
    }
    return shell_error("usage: corral [stats|panic|park <spin|halt|adaptive>|break <bug>]");
}
SHELL_COMMAND("corral", "corral [stats|panic|park <spin|halt|adaptive>|break <none|ack-before-park|skip-trap-frames|stop-check-no-scan|klp-no-stack-check>]",
              "corral counters; 'panic' panics with every cpu parked (a test); 'park' says how parked cpus wait; 'break' breaks it on purpose",
              cmd_corral);

}  // namespace
}  // namespace corral
