#include "arch/x86/gdt.h"

#include "arch/x86/cpu.h"
#include "kernel/config.h"
#include "kernel/panic.h"

namespace corral::arch {
namespace {

struct [[gnu::packed]] GdtEntry {
    uint16_t limit_low, base_low;
    uint8_t base_mid, access, flags_limit_high, base_high;
};

struct [[gnu::packed]] Tss {   // SDM vol. 3, figure 8-2
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap_base;
};

constexpr int FIXED_ENTRIES = 3;             // null, code, data
constexpr int ENTRIES_PER_CPU = 3;           // TSS, double-fault TSS, GS
constexpr int GDT_ENTRIES = FIXED_ENTRIES + ENTRIES_PER_CPU * config::MAX_CPUS;

GdtEntry gdt[GDT_ENTRIES] __attribute__((aligned(8)));
Tss tss[config::MAX_CPUS];
Tss double_fault_tss[config::MAX_CPUS];
alignas(16) uint8_t double_fault_stack[config::MAX_CPUS][config::DOUBLE_FAULT_STACK_SIZE];

GdtEntry make_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags) {
    return GdtEntry{uint16_t(limit & 0xffff), uint16_t(base & 0xffff), uint8_t((base >> 16) & 0xff), access,
                    uint8_t((flags << 4) | ((limit >> 16) & 0xf)), uint8_t(base >> 24)};
}

uint16_t selector(int index) { return uint16_t(index * 8); }
int tss_index(int cpu) { return FIXED_ENTRIES + ENTRIES_PER_CPU * cpu; }

}  // namespace

extern "C" [[noreturn]] void double_fault_task();

uint16_t double_fault_tss_selector(int cpu_index) { return selector(tss_index(cpu_index) + 1); }

void gdt_init_cpu(int cpu, void* percpu_base) {
    if (cpu < 0 || cpu >= config::MAX_CPUS) panic("gdt: cpu index %d out of range", cpu);
    if (cpu == 0) {
        gdt[1] = make_entry(0, 0xfffff, 0x9a, 0xc);   // ring-0 code, 4 GiB, 32-bit
        gdt[2] = make_entry(0, 0xfffff, 0x92, 0xc);   // ring-0 data
    }
    const int t = tss_index(cpu);
    const uint16_t gs_sel = selector(t + 2);
    gdt[t] = make_entry(uint32_t(uintptr_t(&tss[cpu])), sizeof(Tss) - 1, 0x89, 0x0);
    gdt[t + 1] = make_entry(uint32_t(uintptr_t(&double_fault_tss[cpu])), sizeof(Tss) - 1, 0x89, 0x0);
    gdt[t + 2] = make_entry(uint32_t(uintptr_t(percpu_base)), 0xfffff, 0x92, 0xc);

    tss[cpu].ss0 = KERNEL_DS;
    tss[cpu].iomap_base = sizeof(Tss);
    // A double fault switches to this task (a task gate in the IDT), so even
    // a blown kernel stack gets a fresh one to report from.
    Tss& df = double_fault_tss[cpu];
    df.eip = uint32_t(uintptr_t(&double_fault_task));
    df.esp = uint32_t(uintptr_t(double_fault_stack[cpu] + config::DOUBLE_FAULT_STACK_SIZE));
    df.cs = KERNEL_CS;
    df.ss = df.ds = df.es = df.fs = KERNEL_DS;
    df.gs = gs_sel;
    df.eflags = 0x2;   // interrupts off
    df.iomap_base = sizeof(Tss);

    struct [[gnu::packed]] { uint16_t limit; uint32_t base; } gdtr{sizeof(gdt) - 1, uint32_t(uintptr_t(gdt))};
    asm volatile("lgdt %0" ::"m"(gdtr));
    asm volatile(
        "ljmp %0, $1f\n1:\n"
        "mov %1, %%ds\n mov %1, %%es\n mov %1, %%ss\n mov %1, %%fs\n"
        "mov %2, %%gs\n"
        ::"i"(KERNEL_CS), "r"(uint32_t(KERNEL_DS)), "r"(uint32_t(gs_sel))
        : "memory");
    df.cr3 = read_cr3();
    asm volatile("ltr %0" ::"r"(selector(t)));
}

// The double-fault TSS keeps the CR3 of the moment paging was enabled.
void gdt_update_double_fault_cr3(int cpu, uint32_t cr3) { double_fault_tss[cpu].cr3 = cr3; }

// Registers of the task that double-faulted, saved by the CPU in its TSS.
extern "C" void double_fault_saved_state(int cpu, uint32_t* eip, uint32_t* esp, uint32_t* ebp) {
    *eip = tss[cpu].eip;
    *esp = tss[cpu].esp;
    *ebp = tss[cpu].ebp;
}

}  // namespace corral::arch
