// The small, visible C++ runtime (banan-os style): global constructors,
// pure virtual calls, thread-safe function-local statics.
#include <stdint.h>

#include "arch/x86/cpu.h"
#include "kernel/panic.h"

extern "C" {

using Constructor = void (*)();
extern const Constructor __init_array_start[], __init_array_end[];

void run_global_constructors() {
    for (const Constructor* c = __init_array_start; c < __init_array_end; c++) (*c)();
}

void __cxa_pure_virtual() { corral::panic("pure virtual function called"); }

// Corral never runs global destructors: the kernel does not exit.
void* __dso_handle = nullptr;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }

// Function-local statics (Itanium C++ ABI 3.3.2).  Byte 0 of the guard is
// "done"; byte 1 is "being initialized", taken atomically so two CPUs
// reaching the same static never both run its initializer.
int __cxa_guard_acquire(uint64_t* guard) {
    auto* g = reinterpret_cast<volatile uint8_t*>(guard);
    for (;;) {
        if (__atomic_load_n(&g[0], __ATOMIC_ACQUIRE)) return 0;
        uint8_t expected = 0;
        if (__atomic_compare_exchange_n(&g[1], &expected, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            if (g[0]) {   // someone finished between our two looks
                __atomic_store_n(&g[1], 0, __ATOMIC_RELEASE);
                return 0;
            }
            return 1;
        }
        corral::arch::cpu_relax();
    }
}

void __cxa_guard_release(uint64_t* guard) {
    auto* g = reinterpret_cast<volatile uint8_t*>(guard);
    __atomic_store_n(&g[0], 1, __ATOMIC_RELEASE);
    __atomic_store_n(&g[1], 0, __ATOMIC_RELEASE);
}

void __cxa_guard_abort(uint64_t* guard) {
    auto* g = reinterpret_cast<volatile uint8_t*>(guard);
    __atomic_store_n(&g[1], 0, __ATOMIC_RELEASE);
}

}
