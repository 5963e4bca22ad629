// Corral's limits, in one place (xv6 style).
#pragma once
#include <stddef.h>
#include <stdint.h>

#define CORRAL_VERSION "0.1.0"

namespace corral::config {

constexpr int MAX_CPUS = 16;                         // APs beyond this are ignored, with a message
constexpr uint64_t MAX_PHYS_MEMORY = 1ull << 30;      // frames above 1 GiB are not used
constexpr uintptr_t LOW_MEMORY_RESERVED = 0x100000;   // BIOS, trampoline: never handed out
constexpr size_t KERNEL_HEAP_SIZE = 8u << 20;         // kernel heap (contiguous, identity-mapped)
constexpr size_t KERNEL_STACK_SIZE = 16u << 10;       // per thread
constexpr size_t DOUBLE_FAULT_STACK_SIZE = 8u << 10;  // per CPU, separate TSS
constexpr uint32_t PIT_HZ = 100;                      // legacy timer tick before the LAPIC
constexpr size_t SHELL_LINE_MAX = 160;
constexpr size_t SHELL_MAX_WORDS = 16;
constexpr size_t SERIAL_INPUT_BUFFER = 4096;   // a terminal paste of 50 lines fits
constexpr int BACKTRACE_MAX_FRAMES = 24;
constexpr size_t PEEK_MAX_BYTES = 256;

}  // namespace corral::config
