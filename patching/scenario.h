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

// Why a cell failed, in the word its line prints (`reason=torn-bytes`): a
// FAIL cell must fail for the reason the table gives, not for any reason.
enum class FailReason {
    None,               // applied, and the held thread finished cleanly: a pass
    TornBytes,          // the held thread died executing bytes that changed under it
    OldOuterNewInner,   // the contract victim's old outer called new inner
    VictimExit,         // the held thread exited non-zero without a torn fault
    Timeout,            // a corral, sync round or klp transition timed out; nothing written
    Refused,            // the strategy or its planner refused the patch; nothing written
};
const char* fail_reason_name(FailReason r);   // "none", "torn-bytes", "old-outer-new-inner", ...

struct ScenarioResult {
    Outcome expected;
    Outcome observed;
    FailReason expected_reason;   // None for a PASS cell
    FailReason reason;            // the outcome follows from it: None is a pass
    bool skipped;
    char detail[120];   // why it failed, or why it was skipped
};

// The cell ended as the table says: the same outcome, for the same reason.
bool cell_matches(const ScenarioResult& r);

// int3_release_step: 0 releases the held thread once the patch is written;
// 1..3 release it right after that text_poke_bp step instead.
Result<ScenarioResult> run_scenario(const char* scenario, const char* strategy, int int3_release_step, bool narrate);
Result<FailReason> expected_reason(const char* scenario, const char* strategy);
const char* scenario_names();   // "torn preempted interrupted"

}  // namespace corral
