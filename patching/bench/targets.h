// The functions the benchmarks patch: 64 in the hotpatch layout and 64 in
// the fentry layout (a batch of up to 64 in one transaction), each with a
// replacement, defined as patches "bench_hot_<i>" and "bench_fentry_<i>"
// (listed by `patch list all`); and the functions `bench call` times.
#pragma once
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {
struct PatchRecord;
struct PatchSet;
class Semaphore;
}

namespace corral::bench {

constexpr int TARGETS_PER_LAYOUT = 64;

PatchRecord* hot_patch(int i);      // bench_hot_<i> -> bench_hot_<i>_v2 (hotpatch)
PatchRecord* fentry_patch(int i);   // bench_fentry_<i> -> bench_fentry_<i>_v2 (int3)
PatchRecord* far_patch();           // a far jmp over an fentry function (corral, corral-scan)
Result<void> targets_init();

// `bench call`: the same small body in each layout, and a plain function
// reached through two jumps (what a patched hotpatch site costs at most).
using CallFn = uint32_t (*)(uint32_t);
extern "C" uint32_t bench_call_plain(uint32_t x);
extern "C" uint32_t bench_call_hot(uint32_t x);
extern "C" uint32_t bench_call_fentry(uint32_t x);
extern "C" uint32_t bench_call_two_jumps(uint32_t x);
PatchRecord* call_hot_patch();      // bench_call_hot -> its replacement (hotpatch)
PatchRecord* call_fentry_patch();   // bench_call_fentry -> its replacement (int3)
// bench_call_fentry and bench_klp_nap, with klp: while a thread naps inside
// bench_klp_nap (until bench_nap_gate is raised), the transition stays on.
PatchSet* call_klp_pair();
extern "C" uint32_t bench_klp_nap(uint32_t x);
extern Semaphore bench_nap_gate;

}  // namespace corral::bench
