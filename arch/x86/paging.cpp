#include "arch/x86/paging.h"

#include "arch/x86/cpu.h"
#include "arch/x86/sections.h"

extern "C" const uint8_t __text_start[], __rodata_end[], __landing_start[], __landing_end[];

namespace corral::arch {
namespace {

constexpr uint32_t CR0_PG = 1u << 31, CR0_WP = 1u << 16;

uint32_t* page_directory = nullptr;
FrameSource frame_source = nullptr;

uint32_t* zeroed_frame() {
    Result<uint32_t> f = frame_source();
    if (f.is_error()) return nullptr;
    auto* p = reinterpret_cast<uint32_t*>(uintptr_t(f.value()));
    for (int i = 0; i < 1024; i++) p[i] = 0;
    return p;
}

// The page table covering `va`, created on demand.  Page tables live in
// identity-mapped RAM, so their physical address is also their pointer.
NOT_PATCHABLE uint32_t* table_for(uint32_t va, bool create) {
    uint32_t& pde = page_directory[va >> 22];
    if (!(pde & PTE_PRESENT)) {
        if (!create) return nullptr;
        uint32_t* table = zeroed_frame();
        if (!table) return nullptr;
        pde = uint32_t(uintptr_t(table)) | PTE_PRESENT | PTE_WRITABLE;
    }
    return reinterpret_cast<uint32_t*>(uintptr_t(pde & ~0xfffu));
}

}  // namespace

NOT_PATCHABLE Result<void> map_page(uint32_t va, uint32_t pa, uint32_t flags) {
    uint32_t* table = table_for(va, true);
    if (!table) return make_error("paging: out of frames for a page table (va %#x)", va);
    table[(va >> 12) & 1023] = (pa & ~0xfffu) | flags | PTE_PRESENT;
    invlpg(va);
    return Ok{};
}

NOT_PATCHABLE void unmap_page(uint32_t va) {
    uint32_t* table = table_for(va, false);
    if (!table) return;
    table[(va >> 12) & 1023] = 0;
    invlpg(va);
}

uint32_t lookup_pte(uint32_t va) {
    uint32_t* table = table_for(va, false);
    return table ? table[(va >> 12) & 1023] : 0;
}

Result<void> map_mmio(uint32_t phys, uint32_t size) {
    for (uint32_t off = 0; off < size; off += PAGE_SIZE)
        TRY_VOID(map_page((phys & ~0xfffu) + off, (phys & ~0xfffu) + off, PTE_WRITABLE | PTE_CACHE_DISABLE));
    return Ok{};
}

Result<void> paging_init(uint32_t phys_top, FrameSource frames) {
    frame_source = frames;
    page_directory = zeroed_frame();
    if (!page_directory) return make_error("paging: no frame for the page directory");
    const uint32_t ro_start = uint32_t(uintptr_t(__text_start));
    const uint32_t ro_end = uint32_t(uintptr_t(__rodata_end));
    const uint32_t landing_start = uint32_t(uintptr_t(__landing_start)) & ~(PAGE_SIZE - 1);
    const uint32_t landing_end = uint32_t(uintptr_t(__landing_end));
    // Page 0 stays unmapped: a null pointer dereference faults.
    for (uint32_t va = PAGE_SIZE; va < phys_top && va >= PAGE_SIZE; va += PAGE_SIZE) {
        bool read_only = (va >= ro_start && va < ro_end) || (va >= landing_start && va < landing_end);
        TRY_VOID(map_page(va, va, read_only ? 0 : PTE_WRITABLE));
    }
    paging_enable_on_this_cpu();
    return Ok{};
}

void paging_enable_on_this_cpu() {
    write_cr3(uint32_t(uintptr_t(page_directory)));
    // WP: ring 0 honours read-only pages, so .text can only be changed
    // through a deliberate writable alias (patching/text_writer).
    write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

uint32_t kernel_page_directory() { return uint32_t(uintptr_t(page_directory)); }

}  // namespace corral::arch
