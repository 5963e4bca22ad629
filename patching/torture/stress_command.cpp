// The shell's `stress` command: patchtorture (torture.cpp) from the prompt.
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/shell.h"
#include "patching/corral.h"
#include "patching/torture/inject.h"
#include "patching/torture/torture.h"

namespace corral {
namespace {

// stress <seconds> [strategy|mixed|all] [seed=<n>] [flips=<n>] [inject=<list>] [broken=<bug>] [contract=strict]
int cmd_stress(int argc, char** argv) {
    if (argc < 2 || argc > 8)
        return shell_error("usage: stress <seconds> [strategy|mixed|all] [seed=<n>] [flips=<n>] [inject=<list>] [broken=<bug>] [contract=strict]");
    StressOptions o;
    Result<uint32_t> secs = parse_u32(argv[1]);
    if (secs.is_error()) return shell_error("stress: seconds: %s", secs.error());
    o.seconds = secs.value();
    bool have_strategy = false;
    for (int i = 2; i < argc; i++) {
        const char* a = argv[i];
        if (str_starts_with(a, "seed=")) {
            Result<uint32_t> seed = parse_u32(a + 5);
            if (seed.is_error()) return shell_error("stress: seed: %s", seed.error());
            o.seed = seed.value();
        } else if (str_starts_with(a, "flips=")) {
            Result<uint32_t> flips = parse_u32(a + 6);
            if (flips.is_error() || flips.value() == 0)
                return shell_error("stress: flips: %s", flips.is_error() ? flips.error() : "must be at least 1");
            o.flips = flips.value();
        } else if (str_starts_with(a, "inject=")) {
            Result<uint32_t> mask = torture::injections_by_names(a + 7);
            if (mask.is_error()) return shell_error("stress: %s", mask.error());
            o.inject = mask.value();
        } else if (str_eq(a, "contract=strict")) {
            o.strict_contract = true;
        } else if (str_starts_with(a, "broken=")) {
            if (!corral_bug_by_name(a + 7, &o.bug))
                return shell_error("stress: unknown broken corral '%s' (one of: %s)", a + 7, CORRAL_BUG_NAMES);
        } else if (!have_strategy) {
            o.strategy = a;
            have_strategy = true;
        } else {
            return shell_error("stress: unexpected '%s' (usage: stress <seconds> [strategy] [seed=<n>] [flips=<n>] [inject=<list>] [broken=<bug>] [contract=strict])",
                               a);
        }
    }
    Result<bool> r = stress_run(o);
    if (r.is_error()) return shell_error("%s", r.error());
    return r.value() ? 0 : 1;
}

}  // namespace

SHELL_COMMAND("stress", "stress <seconds> [strategy|mixed|all] [seed=<n>] [flips=<n>] [inject=<list>] [broken=<bug>] [contract=strict]",
              "patchtorture: patch under load on every cpu, then one SUCCESS/FAILURE verdict", cmd_stress);

}  // namespace corral
