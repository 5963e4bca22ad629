// Patch module: a new version of the seed's function.
//
// seed_example (patching/seed_example.asm) saves and restores registers and
// returns; the kernel's own replacement, seed_example_v2, counts its calls.
// This one counts too, in its own counter, so a test can tell which
// version ran.  The strategy is corral-scan: the 7-byte far jmp over the
// entry, written only when no thread, running or saved, is inside those
// bytes.  The target is C-named (NASM), so the compiler can check the
// replacement's type against the kernel's declaration.
#include "patches/patch.h"
#include "patching/demo_targets.h"

namespace {
volatile uint32_t seed_v3_calls = 0;
}

extern "C" void seed_example_v3() { seed_v3_calls = seed_v3_calls + 1; }

CORRAL_PATCH(seed_example, seed_example_v3, "corral-scan");
