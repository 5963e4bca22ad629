// The kernel command line (docs/design.md §3): what this boot should do.
//
//   [<kernel path>] [test=<glob>] [demo=<name|all>] [stress=<seconds>]
//                   [bench=<name|all>] [samples=<n>] [patch=<name>[:<strategy>],...]
//                   [strategy=<name|mixed|all>] [seed=<n>]
//                   [flips=<n>] [inject=<list>] [broken=<ack-before-park|skip-trap-frames>]
//                   [park=<spin|halt|adaptive>] [contract=strict]
//                   [exit]
//                   [selftest=<fail|panic|triple|hang|overflow>]
//
// Words are separated by spaces or tabs.  QEMU's multiboot loader puts the
// kernel's path first; GRUB 2.06 as Debian ships it does not.  So a first
// word that looks like a path (no '=', not a key) is skipped.  Anything not understood is an error, never a silent default:
// the caller prints the one-line error and falls back to the shell.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {

struct BootOptions {
    bool has_test = false;
    char test_glob[64] = {};
    bool has_demo = false;
    char demo[32] = {};
    bool has_stress = false;
    uint32_t stress_seconds = 0;
    bool has_bench = false;
    char bench[32] = {};
    bool has_bench_samples = false;
    uint32_t samples = 0;  // bench: samples per distribution (0: each benchmark's default)
    bool has_patch = false;
    char patch[128] = {};        // patches to apply at boot: name[:strategy], comma-separated (boot modules)
    bool has_strategy = false;
    char strategy[16] = {};      // one of: naive corral corral-scan hotpatch int3 (and for stress: mixed all)
    bool has_seed = false;
    uint32_t seed = 0;
    bool has_flips = false;
    uint32_t flips = 0;          // stress: stop after this many patch flips (stress= is then the limit)
    bool has_inject = false;
    char inject[64] = {};        // stress: fault injections, comma-separated (patching/torture/inject.h)
    bool has_broken = false;
    char broken[20] = {};        // a deliberately broken corral for stress (patching/corral.h)
    bool has_park = false;
    char park[12] = {};          // how a parked CPU waits (patching/corral.h ParkMode)
    bool has_contract = false;
    char contract[8] = {};       // stress: "strict" checks the contract pairs whatever the strategy
    bool exit_when_done = false;  // `exit`: power off via isa-debug-exit when done
    bool has_selftest = false;
    char selftest[16] = {};      // negative controls for the test driver

    // True when no work was requested (test, demo, stress, bench, selftest):
    // then the kernel starts the serial shell.  strategy/seed/exit only
    // modify work, so on their own they still get the shell.
    bool wants_shell() const;
};

// Parses a multiboot command line.  nullptr or "" (or only the kernel path)
// gives all defaults.  Errors (unknown key, missing value, value too long,
// bad number, unknown strategy or selftest, a key given twice, a value on
// `exit`) come back as one line starting "cmdline: ".
Result<BootOptions> parse_cmdline(const char* cmdline);

}  // namespace corral
