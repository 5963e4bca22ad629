// Where code goes.  NOT_PATCHABLE marks code that runs while the patcher
// patches (trap entry, the #BP/#DB/IPI handlers, the corral, the scan, the
// text writer, the context-switch path): it is placed in its own text range
// [__not_patchable_text_start, __not_patchable_text_end), gets no fentry
// NOP, and the patch planner refuses any target inside it.  Never patch the
// code that is doing the patching.
#pragma once

#define NOT_PATCHABLE __attribute__((section(".text.not_patchable"), no_instrument_function, noinline))
