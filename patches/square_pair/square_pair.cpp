// Patch module: two functions changed together.
//
// demo_fentry_counter and demo_fentry_square (patching/demo_targets.cpp)
// are replaced by one module, so a loader applies both or neither: both
// have the fentry layout, and with int3 they can go in one batch (one set
// of sync rounds).  The new versions add their own offset, distinct from
// the kernel's v2, so a caller sees which ones run.
#include "patches/patch.h"
#include "patching/demo_targets.h"

namespace {
constexpr int PAIR_OFFSET = 2000000;
}

int pair_counter_v3(int x) { return x * 5 + 2 + PAIR_OFFSET; }
int pair_square_v3(int x) { return x * x + PAIR_OFFSET; }

CORRAL_PATCH(corral::demo_fentry_counter, pair_counter_v3, "int3");
CORRAL_PATCH(corral::demo_fentry_square, pair_square_v3, "int3");
