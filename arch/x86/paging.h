// 32-bit paging (no PAE) with 4 KiB pages: the kernel is identity-mapped,
// .text and .rodata read-only (CR0.WP makes that bind ring 0 too), page 0
// unmapped to catch null pointers.
#pragma once
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral::arch {

constexpr uint32_t PAGE_SIZE = 4096;
constexpr uint32_t PTE_PRESENT = 1u << 0, PTE_WRITABLE = 1u << 1, PTE_CACHE_DISABLE = 1u << 4;

using FrameSource = Result<uint32_t> (*)();   // a zeroed-or-not 4 KiB physical frame

// Identity-maps [0, phys_top) and enables paging on this CPU.
Result<void> paging_init(uint32_t phys_top, FrameSource frames);
void paging_enable_on_this_cpu();          // for APs: same page directory
uint32_t kernel_page_directory();

// Map or unmap one page in the shared kernel address space.  The caller is
// responsible for TLB shootdown on other CPUs (see paging_set_shootdown).
Result<void> map_page(uint32_t va, uint32_t pa, uint32_t flags);
void unmap_page(uint32_t va);
// The PTE for `va`, or 0 when it is not mapped.
uint32_t lookup_pte(uint32_t va);
// Identity-maps a device's registers uncached (LAPIC, IOAPIC).
Result<void> map_mmio(uint32_t phys, uint32_t size);

}  // namespace corral::arch
