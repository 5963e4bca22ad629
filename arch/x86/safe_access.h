// Fault-tolerant memory access (see arch/x86/safe_access.asm).
#pragma once
#include <stdint.h>

namespace corral::arch {
struct TrapFrame;
}

extern "C" {
int safe_read_u8(const void* addr, uint8_t* out);     // 0, or -1 if it faulted
int safe_read_u32(const void* addr, uint32_t* out);
int safe_write_u8(void* addr, uint8_t value);
}

namespace corral::arch {
// If the fault happened at a registered access instruction, resume at its
// fixup and return true.
bool apply_exception_fixup(TrapFrame* frame);
}
