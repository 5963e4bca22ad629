// Kernel stacks with a guard page: each stack is KERNEL_STACK_SIZE of
// mapped frames in its own slot of a virtual region, with an unmapped page
// below it.  An overflow faults on the guard, the fault cannot be pushed on
// the same stack, and the double-fault task (own TSS, own stack) reports
// it -- instead of the stack silently eating the heap below.
#pragma once
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {

// The lowest usable address of a fresh stack (KERNEL_STACK_SIZE bytes).
Result<uint8_t*> stack_alloc();
// Unmaps it on every CPU (TLB shootdown) and frees its frames.
void stack_free(uint8_t* stack);
// Whether `address` lies in some stack's guard page.
bool is_stack_guard(uintptr_t address);

}  // namespace corral
