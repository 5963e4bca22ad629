// Leaving the machine: QEMU's isa-debug-exit device, and reset.
#pragma once
#include <stdint.h>

namespace corral::arch {

// QEMU exits with status (code << 1) | 1 when `-device isa-debug-exit,
// iobase=0xf4,iosize=0x04` is present; otherwise this returns and the
// caller halts.
void qemu_debug_exit(uint32_t code);
[[noreturn]] void reboot();
// An empty IDT then an exception: the CPU shuts down (triple fault) and
// QEMU resets.  Used only by the test driver's negative control.
[[noreturn]] void triple_fault();

}  // namespace corral::arch
