// Patch module: a replacement that calls back into the kernel.
//
// demo_hot_counter (hotpatch layout) keeps its result, and every call is
// counted under a spinlock that lives in the module and announced with
// kprintf.  Both are kernel services reached through relocations against
// kernel symbols (Spinlock::lock/unlock, kprintf), which the loader
// resolves with the kernel's symbol table.  The lock has a constexpr
// constructor, so it is plain initialized data: no constructor has to run
// when the module is loaded.
#include "kernel/console/console.h"
#include "kernel/sync/spinlock.h"
#include "patches/patch.h"
#include "patching/demo_targets.h"

namespace {

corral::Spinlock counted_lock("counted_calls");
uint32_t counted = 0;

uint32_t count_one_call() {
    corral::SpinlockGuard guard(counted_lock);
    return ++counted;
}

}  // namespace

int counted_hot_counter(int x) {
    const uint32_t n = count_one_call();
    corral::kprintf("counted_calls: demo_hot_counter(%d) call %u\n", x, n);
    return x * 3 + 1;
}

CORRAL_PATCH(corral::demo_hot_counter, counted_hot_counter, "hotpatch");
