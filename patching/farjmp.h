// The seed's canonical patch, shared by `naive`, `corral` and
// `corral-scan`: a 7-byte far jmp (ea <abs32> <sel16>) written over the
// first instructions of the target.  They differ only in how they
// coordinate with the other CPUs before writing.
#pragma once
#include "patching/strategy.h"

namespace corral {

enum class Coordination {
    None,        // naive: just write
    ParkCheck,   // corral: park every CPU, check only where each parked CPU is
    ParkScan,    // corral-scan: park, then scan every saved context
};

constexpr int FAR_JMP_LENGTH = 7;
constexpr int MAX_DEFERRALS = 20;   // then a clean refusal

Result<void> far_jmp_prepare(Patch& p);
Result<void> far_jmp_write(Patch* const* batch, int count, Direction dir, const PatchHooks* hooks,
                           Coordination how);

// Writes one edit's bytes for `dir` (capturing the old bytes on Apply).
Result<void> write_edit(Edit& e, Direction dir);

}  // namespace corral
