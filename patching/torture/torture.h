// patchtorture: the safe strategies under sustained SMP load (modelled on
// Linux's rcutorture and locktorture).  Worker threads on every CPU call the
// 144 targets (targets.h) in tight loops, a churn thread creates and reaps
// short-lived threads (stack frees, so TLB shootdowns race the patcher), the
// timer interrupt calls targets too, and two patcher threads on different
// CPUs apply, revert, stack and batch patches as a seeded plan says
// (plan.h).  Every call is checked; at the end every patch is reverted, the
// padding cleaned and the text verified against the ELF.  One verdict line:
//   patchtorture: SUCCESS ...   or   patchtorture: FAILURE <why> ...
#pragma once
#include <stdint.h>

#include "patching/corral.h"

namespace corral {

struct StressOptions {
    uint32_t seconds = 20;
    const char* strategy = "all";   // a strategy, "mixed" (every safe one at once), or "all" (each, then mixed)
    uint32_t seed = 1;
    uint32_t flips = 0;                // stop once this many patches flipped (0: run `seconds`); then
                                       // `seconds` is the limit, and not reaching `flips` in it fails
    CorralBug bug = CorralBug::None;   // a broken corral, for the negative controls
    uint32_t inject = 0;               // fault injections (torture/inject.h), a bit per kind
    bool strict_contract = false;      // check the contract pairs whatever the strategy (a negative
                                       // control with hotpatch or int3, which switch per function)
};

// Runs it; true on SUCCESS.  Errors in the options come back as an error.
Result<bool> stress_run(const StressOptions& options);
const char* stress_strategy_names();   // what `strategy` may be

}  // namespace corral
