// Global descriptor table: flat code/data segments, and per CPU a TSS, a
// double-fault TSS with its own stack, and a GS segment for per-CPU data.
#pragma once
#include <stdint.h>

namespace corral::arch {

constexpr uint16_t KERNEL_CS = 0x08;
constexpr uint16_t KERNEL_DS = 0x10;

// Loads the GDT, reloads the segment registers, points GS at `percpu_base`
// and loads this CPU's TSS.  Called once on every CPU.
void gdt_init_cpu(int cpu_index, void* percpu_base);

// The selector of the double-fault task gate's TSS for a CPU (for the IDT).
uint16_t double_fault_tss_selector(int cpu_index);

// Paging changes CR3 after the GDT is set up; the double-fault task needs it.
void gdt_update_double_fault_cr3(int cpu_index, uint32_t cr3);

}  // namespace corral::arch
