#include "kernel/multiboot.h"

#include "kernel/lib/string.h"

namespace corral {
namespace {

struct [[gnu::packed]] MultibootInfo {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
    uint32_t mods_count, mods_addr, syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr, config_table, boot_loader_name;
};
struct [[gnu::packed]] MmapEntry {
    uint32_t size;            // of the rest of the entry: the next one is size + 4 bytes on
    uint64_t base, length;
    uint32_t type;
};
constexpr uint32_t FLAG_MEM = 1u << 0, FLAG_CMDLINE = 1u << 2, FLAG_MODS = 1u << 3, FLAG_MMAP = 1u << 6,
                   FLAG_LOADER = 1u << 9;
struct [[gnu::packed]] ModuleEntry {
    uint32_t start, end, string, reserved;
};

BootInfo parsed;

}  // namespace

const BootInfo& boot_info() { return parsed; }

Result<void> multiboot_parse(uint32_t magic, uint32_t info_phys, BootInfo* out) {
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
        return make_error("multiboot: bad magic %#x (not loaded by a multiboot loader?)", magic);
    auto* mbi = reinterpret_cast<const MultibootInfo*>(uintptr_t(info_phys));
    *out = BootInfo{};
    if (mbi->flags & FLAG_CMDLINE)
        str_copy(out->cmdline, reinterpret_cast<const char*>(uintptr_t(mbi->cmdline)), sizeof out->cmdline);
    str_copy(out->loader, (mbi->flags & FLAG_LOADER)
                              ? reinterpret_cast<const char*>(uintptr_t(mbi->boot_loader_name)) : "unknown",
             sizeof out->loader);
    if (mbi->flags & FLAG_MODS) {
        auto* mods = reinterpret_cast<const ModuleEntry*>(uintptr_t(mbi->mods_addr));
        for (uint32_t i = 0; i < mbi->mods_count; i++) {
            if (out->module_count == MAX_BOOT_MODULES || mods[i].end < mods[i].start) {
                out->modules_ignored++;
                continue;
            }
            BootModule& m = out->modules[out->module_count++];
            m.start = mods[i].start;
            m.end = mods[i].end;
            str_copy(m.name, mods[i].string ? reinterpret_cast<const char*>(uintptr_t(mods[i].string)) : "", sizeof m.name);
        }
    }
    if (mbi->flags & FLAG_MMAP) {
        uintptr_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
        while (p + sizeof(MmapEntry) <= end && out->region_count < 32) {
            auto* e = reinterpret_cast<const MmapEntry*>(p);
            out->regions[out->region_count++] = MemoryRegion{e->base, e->length, e->type};
            if (e->type == 1) out->usable_bytes += e->length;
            p += e->size + 4;
        }
    } else if (mbi->flags & FLAG_MEM) {
        // No map: the two "mem_lower/mem_upper" figures (KiB) are all we have.
        out->regions[0] = MemoryRegion{0, uint64_t(mbi->mem_lower) * 1024, 1};
        out->regions[1] = MemoryRegion{0x100000, uint64_t(mbi->mem_upper) * 1024, 1};
        out->region_count = 2;
        out->usable_bytes = out->regions[0].length + out->regions[1].length;
    } else {
        return make_error("multiboot: the loader gave no memory information (flags %#x)", mbi->flags);
    }
    parsed = *out;
    return Ok{};
}

}  // namespace corral
