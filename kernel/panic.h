// panic(): the one way the kernel gives up.  Prints `PANIC: <why>`, the
// registers, the bytes at the faulting EIP and a symbolized backtrace.
#pragma once
#include <stdint.h>

namespace corral {
namespace arch { struct TrapFrame; }

[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void panic_with_frame(const arch::TrapFrame* frame, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Return addresses along the EBP chain starting at `ebp` (fault-tolerant:
// a broken chain just ends the walk).  Returns how many were stored.
int backtrace_collect(uintptr_t ebp, uintptr_t* out, int max);
// Prints "  #n name+off" lines walking the EBP chain from `ebp`.
void print_backtrace(uintptr_t eip, uintptr_t ebp, bool eip_is_return_address = false);
// Prints `count` bytes at `address` as hex, "??" where unreadable.
void print_bytes(uintptr_t address, int count);

// Set by main: power QEMU off (failure) after a panic instead of halting.
void panic_set_exit_on_panic(bool exit);
// Set by SMP code: stop every other CPU (NMI) so the report stays readable.
// `stop` halts the other CPUs and returns how many confirmed (of how many).
struct StoppedCpus { int stopped, others; };
void panic_set_stop_others(StoppedCpus (*stop)());

#define KASSERT(cond) \
    do { if (!(cond)) ::corral::panic("assertion failed: %s (%s:%d)", #cond, __FILE__, __LINE__); } while (0)

}  // namespace corral
