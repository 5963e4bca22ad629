#include "patching/demo_targets.h"

#include "patching/klp/nap.h"
#include "patching/layout.h"

namespace corral {

volatile uint32_t seed_example_v2_calls = 0;

HOTPATCHABLE int demo_hot_counter(int x) { return x * 3 + 1; }
int demo_hot_counter_v2(int x) { return x * 3 + 1 + DEMO_V2_OFFSET; }
int demo_hot_counter_v3(int x) { return x * 3 + 1 + 2 * DEMO_V2_OFFSET; }

// noipa: GCC must neither inline nor clone it, or callers would bypass the
// patched entry.
__attribute__((noipa)) int demo_fentry_counter(int x) { return x * 5 + 2; }
__attribute__((noipa)) int demo_fentry_counter_v2(int x) { return x * 5 + 2 + DEMO_V2_OFFSET; }
__attribute__((noipa)) int demo_fentry_square(int x) { return x * x; }
__attribute__((noipa)) int demo_fentry_square_v2(int x) { return x * x + DEMO_V2_OFFSET; }

}  // namespace corral

extern "C" void seed_example_v2() { corral::seed_example_v2_calls = corral::seed_example_v2_calls + 1; }

// seed_example is hand-written, so it declares its layout here.
namespace corral {
DECLARE_HOTPATCHABLE(demo_hot_counter);
}
DECLARE_HOTPATCHABLE(seed_example);

namespace {
// Keeps each call a call (no tail jump, no folding into the caller), so a
// thread inside outer has outer's frame on its stack.
inline int keep(int v) {
    asm volatile("" : "+r"(v));
    return v;
}
}  // namespace

namespace corral {
// The return after the sleep keeps demo_napper's frame (and the return
// address into it) on the sleeping thread's stack.
__attribute__((noipa)) int demo_napper(int ms) {
    klp::nap_sleep(uint32_t(ms));
    return keep(1);
}
__attribute__((noipa)) int demo_napper_v2(int ms) {
    klp::nap_sleep(uint32_t(ms));
    return keep(2);
}
}  // namespace corral

extern "C" {
HOTPATCHABLE int contract_hot_inner(int units) { return keep(units * 2); }
__attribute__((noipa)) int contract_hot_inner_v2(int thousandths) { return keep(thousandths * 2 / 1000); }
HOTPATCHABLE int contract_hot_outer(int x) { return keep(contract_hot_inner(keep(x))); }
__attribute__((noipa)) int contract_hot_outer_v2(int x) { return keep(contract_hot_inner(keep(x * 1000))); }
__attribute__((noipa)) int contract_fentry_inner(int units) { return keep(units * 2); }
__attribute__((noipa)) int contract_fentry_inner_v2(int thousandths) { return keep(thousandths * 2 / 1000); }
__attribute__((noipa)) int contract_fentry_outer(int x) { return keep(contract_fentry_inner(keep(x))); }
__attribute__((noipa)) int contract_fentry_outer_v2(int x) { return keep(contract_fentry_inner(keep(x * 1000))); }
}
DECLARE_HOTPATCHABLE(contract_hot_inner);
DECLARE_HOTPATCHABLE(contract_hot_outer);
