// What the boot loader told us (Multiboot spec 0.6.96, section 3.3), copied
// out of low memory early so nothing depends on the loader's structures.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {

constexpr uint32_t MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;

struct MemoryRegion {
    uint64_t base, length;
    uint32_t type;          // 1 = usable RAM
};

struct BootInfo {
    char cmdline[256];
    char loader[48];
    MemoryRegion regions[32];
    size_t region_count;
    uint64_t usable_bytes;
};

Result<void> multiboot_parse(uint32_t magic, uint32_t info_phys, BootInfo* out);
const BootInfo& boot_info();

}  // namespace corral
