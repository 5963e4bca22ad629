// Leaving the machine: QEMU's isa-debug-exit device, and reset.
#pragma once
#include <stdint.h>

namespace corral::arch {

// QEMU exits with status (code << 1) | 1 when `-device isa-debug-exit,
// iobase=0xf4,iosize=0x04` is present; otherwise this returns and the
// caller halts.  The kernel's two values are chosen so that QEMU's status
// can never be mistaken for one QEMU gives for its own reasons (1 for its
// own errors, 0 for a user quitting): success 0x10 -> 33, failure 0x11 -> 35.
constexpr uint32_t EXIT_SUCCESS_VALUE = 0x10;   // QEMU exits 33
constexpr uint32_t EXIT_FAILURE_VALUE = 0x11;   // QEMU exits 35
void qemu_debug_exit(uint32_t code);
inline void qemu_exit(bool success) { qemu_debug_exit(success ? EXIT_SUCCESS_VALUE : EXIT_FAILURE_VALUE); }
[[noreturn]] void reboot();
// An empty IDT then an exception: the CPU shuts down (triple fault) and
// QEMU resets.  Used only by the test driver's negative control.
[[noreturn]] void triple_fault();

}  // namespace corral::arch
