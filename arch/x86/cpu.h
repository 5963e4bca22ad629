// Thin wrappers over single x86 instructions.  arch/ is the only place in
// Corral with inline asm and port I/O; everything else calls these.
#pragma once
#include <stdint.h>

namespace corral::arch {

inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
inline uint8_t inb(uint16_t port) {
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

inline void cli() { asm volatile("cli" ::: "memory"); }
inline void sti() { asm volatile("sti" ::: "memory"); }
inline void hlt() { asm volatile("hlt" ::: "memory"); }
// `sti` takes effect after the next instruction, so no interrupt can slip in
// between it and `hlt` and leave the CPU halted with work pending.
inline void sti_hlt() { asm volatile("sti; hlt" ::: "memory"); }
// `pause` tells the CPU (and QEMU) that this is a spin loop.
inline void cpu_relax() { asm volatile("pause" ::: "memory"); }
inline void compiler_barrier() { asm volatile("" ::: "memory"); }

inline uint32_t read_eflags() {
    uint32_t f;
    asm volatile("pushfl; popl %0" : "=r"(f));
    return f;
}
constexpr uint32_t EFLAGS_IF = 1u << 9;
constexpr uint32_t EFLAGS_TF = 1u << 8;
constexpr uint32_t EFLAGS_RF = 1u << 16;
inline bool interrupts_enabled() { return read_eflags() & EFLAGS_IF; }

inline uint32_t read_cr0() { uint32_t v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
inline uint32_t read_cr2() { uint32_t v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
inline uint32_t read_cr3() { uint32_t v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
inline uint32_t read_cr4() { uint32_t v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
inline void write_cr0(uint32_t v) { asm volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
inline void write_cr3(uint32_t v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
inline void write_cr4(uint32_t v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }
inline void invlpg(uintptr_t va) { asm volatile("invlpg (%0)" ::"r"(va) : "memory"); }

inline uint64_t rdtsc() {
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t(hi) << 32) | lo;
}

struct CpuidResult { uint32_t eax, ebx, ecx, edx; };
inline CpuidResult cpuid(uint32_t leaf, uint32_t subleaf = 0) {
    CpuidResult r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

// CPUID is architecturally serializing (Intel SDM vol. 3, 8.3).  After
// another CPU rewrites code, this CPU must execute a serializing instruction
// before it runs the new bytes (SDM 8.1.3); a fence is not enough.
inline void serialize() {
    uint32_t a = 0, b, c = 0, d;
    asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d)::"memory");
}

inline uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t(hi) << 32) | lo;
}
inline void wrmsr(uint32_t msr, uint64_t v) {
    asm volatile("wrmsr" ::"c"(msr), "a"(uint32_t(v)), "d"(uint32_t(v >> 32)));
}

inline uintptr_t read_ebp() { uintptr_t v; asm volatile("mov %%ebp, %0" : "=r"(v)); return v; }
inline uintptr_t read_esp() { uintptr_t v; asm volatile("mov %%esp, %0" : "=r"(v)); return v; }

// Debug registers (SDM vol. 3, 17.2): DR0-DR3 addresses, DR6 status, DR7 control.
inline uint32_t read_dr6() { uint32_t v; asm volatile("mov %%dr6, %0" : "=r"(v)); return v; }
inline void write_dr6(uint32_t v) { asm volatile("mov %0, %%dr6" ::"r"(v)); }
inline uint32_t read_dr7() { uint32_t v; asm volatile("mov %%dr7, %0" : "=r"(v)); return v; }
inline void write_dr7(uint32_t v) { asm volatile("mov %0, %%dr7" ::"r"(v)); }
inline void write_dr0(uint32_t v) { asm volatile("mov %0, %%dr0" ::"r"(v)); }

inline void breakpoint() { asm volatile("int3" ::: "memory"); }

[[noreturn]] inline void halt_forever() {
    for (;;) { cli(); hlt(); }
}

}  // namespace corral::arch
