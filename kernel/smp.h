// SMP bring-up: find the CPUs (ACPI MADT, MP table fallback), switch from
// the 8259 PIC to the LAPIC/IOAPIC, start every AP with INIT-SIPI-SIPI.
#pragma once
#include <stdint.h>

#include "arch/x86/lapic.h"
#include "kernel/lib/result.h"

namespace corral {

// Reads the firmware's tables (ACPI MADT, else the MP table).  Must run
// before paging: the tables may sit anywhere in physical memory.
void smp_discover();
// Brings up interrupts through the APICs and starts the APs.  On a machine
// without usable tables the kernel keeps running on the BSP alone.
void smp_init();
// Route an ISA IRQ (after smp_init) through the IOAPIC to the BSP.
void smp_route_isa_irq(int irq);
bool smp_apic_mode();
// CPUs the firmware listed (capped at config::MAX_CPUS), whether or not
// they started: a test compares this with cpu_count().
int smp_expected_cpus();

// TLB shootdown (Intel SDM vol. 3, 4.10.5): every other CPU drops its cached
// translation of `va`.  Waits for every CPU however long it takes (a stale
// mapping of a freed page is never acceptable), serving other CPUs' requests
// meanwhile and printing one "still waiting for cpu N" line a second.
Result<void> tlb_shootdown(uintptr_t va);
Result<void> tlb_shootdown_range(uintptr_t va, uint32_t pages);   // one round for `pages` pages
uint64_t tlb_shootdown_count();   // shootdowns completed (tests, torture)
bool tlb_shootdown_waiting_for(int cpu);
// Where `cpu` is right now, found by an NMI (it gets through interrupts-off
// code): its EIP and the return addresses above it.  For reports about a
// CPU that does not answer.
struct CpuSample {
    static constexpr int MAX = 6;
    uintptr_t eips[MAX];
    int count;
    bool interrupts_were_on;
    arch::LapicState lapic;   // e.g. a vector still in service blocks every IPI of its class
};
Result<CpuSample> smp_sample_cpu(int cpu);
void smp_print_sample(int cpu);   // one line: symbolized
uint32_t smp_nmis_taken(int cpu);         // NMIs `cpu` took and survived (tests)   // a shootdown still needs `cpu`'s answer (race tests)
// Every online CPU but this one, as a mask of CPU indexes.
uint32_t smp_others_mask();
// Sends `vector` to the CPUs in `mask` (indexes): one broadcast when that
// is every other CPU, else one IPI each.
void smp_send_ipi(uint32_t mask, int vector);
// Unmaps a page on every CPU: the mapping, then the shootdown.
Result<void> unmap_page_everywhere(uintptr_t va);
Result<void> unmap_pages_everywhere(uintptr_t va, uint32_t pages);

}  // namespace corral
