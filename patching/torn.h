// Catching the seed's failures instead of dying of them.  A fault whose EIP
// lies in bytes the patcher changed (a "watched" range) is attributed: the
// thread, the address, the bytes it met are printed, that thread is killed,
// the kernel goes on.  Faults anywhere else still panic.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace corral {

struct TornFault {
    int thread_id;
    char thread_name[24];
    uint32_t vector;
    uintptr_t eip;
    uint8_t bytes[8];     // what the CPU found at eip
};

void torn_init();
// Once watched, a range stays watched: a CPU can fault in torn bytes after
// the patcher has put them back (under QEMU's TCG it may still be running a
// translation of the torn ones), and that fault is still the patcher's.
void watch_range(uintptr_t start, size_t length);
// Faults attributed so far, and the most recent one.
uint32_t torn_fault_count();
TornFault last_torn_fault();

}  // namespace corral
