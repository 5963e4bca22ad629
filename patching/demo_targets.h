// Functions the patcher patches in demos, scenarios and tests, each with a
// replacement that returns a different signature, so a caller can tell
// which version ran (and that nothing else did).
#pragma once
#include <stdint.h>

extern "C" {
void seed_example();        // patching/seed_example.asm, the seed's bytes
void seed_example_v2();     // its replacement (counts calls)
void seed_landing();        // the far-jmp target for seed_example
}

namespace corral {

extern volatile uint32_t seed_example_v2_calls;

// Hotpatch layout (HOTPATCHABLE).
int demo_hot_counter(int x);       // returns x * 3 + 1
int demo_hot_counter_v2(int x);    // returns x * 3 + 1 + DEMO_V2_OFFSET
int demo_hot_counter_v3(int x);    // returns x * 3 + 1 + 2 * DEMO_V2_OFFSET (stacks on v2)

// fentry layout (an ordinary function with its 5-byte NOP).
int demo_fentry_counter(int x);    // returns x * 5 + 2
int demo_fentry_counter_v2(int x); // returns x * 5 + 2 + DEMO_V2_OFFSET

// A second fentry function, so int3 batches have two sites.
int demo_fentry_square(int x);     // returns x * x
int demo_fentry_square_v2(int x);  // returns x * x + DEMO_V2_OFFSET

constexpr int DEMO_V2_OFFSET = 1000000;

// fentry layout, and it sleeps inside itself: a thread that calls it keeps
// it on its stack for `ms`, so a klp transition of the built-in patch
// `napper` waits for that thread, visibly (`nap`, `patch status napper`).
int demo_napper(int ms);           // sleeps, returns 1
int demo_napper_v2(int ms);        // sleeps, returns 2

}  // namespace corral

// The `contract` scenario's pair: v2 of `outer` passes `inner` thousandths
// where v1 passed units, and v2 of `inner` expects them.  Either pair alone
// gives outer(x) == 2 * x; old outer calling new inner gives 0 for small x.
// One pair in the hotpatch layout (far-jmp strategies, hotpatch,
// stop-check), one in the fentry layout (int3).
extern "C" {
int contract_hot_outer(int x);
int contract_hot_outer_v2(int x);
int contract_hot_inner(int units);
int contract_hot_inner_v2(int thousandths);
int contract_fentry_outer(int x);
int contract_fentry_outer_v2(int x);
int contract_fentry_inner(int units);
int contract_fentry_inner_v2(int thousandths);
}
