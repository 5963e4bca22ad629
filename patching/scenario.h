// The seed's failures, reproduced deterministically (docs/design.md §1), for
// every strategy.  The same code serves `demo` (narrated) and the ktests
// that assert the expected table on every run.
//
//   torn         a thread running on another CPU at seed_example+2
//   preempted    a thread switched out with its EIP at +2 (in a trap frame)
//   interrupted  +2 in an older trap frame under a nested interrupt on a
//                CPU that the corral parks
//
// The far-jmp strategies and `hotpatch` target seed_example held at +2;
// `int3` targets demo_fentry_counter held at its entry NOP.
#pragma once
#include "kernel/lib/result.h"

namespace corral {

enum class Outcome { Pass, Fail };
const char* outcome_name(Outcome o);

struct ScenarioResult {
    Outcome expected;
    Outcome observed;
    bool skipped;
    char detail[120];   // why it failed, or why it was skipped
};

// int3_release_step: 0 releases the held thread once the patch is written;
// 1..3 release it right after that text_poke_bp step instead.
Result<ScenarioResult> run_scenario(const char* scenario, const char* strategy, int int3_release_step, bool narrate);
Result<Outcome> expected_outcome(const char* scenario, const char* strategy);
const char* scenario_names();   // "torn preempted interrupted"

}  // namespace corral
