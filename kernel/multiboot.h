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

// A file the loader put in memory beside the kernel (QEMU -initrd a,b;
// GRUB `module` lines): Corral's patch modules at boot.
struct BootModule {
    uint32_t start, end;    // physical, identity-mapped
    char name[64];          // the loader's string for it (QEMU: the path)
};
constexpr size_t MAX_BOOT_MODULES = 8;

struct BootInfo {
    char cmdline[256];
    char loader[48];
    MemoryRegion regions[32];
    size_t region_count;
    uint64_t usable_bytes;
    BootModule modules[MAX_BOOT_MODULES];
    size_t module_count;
    size_t modules_ignored;   // past MAX_BOOT_MODULES
};

Result<void> multiboot_parse(uint32_t magic, uint32_t info_phys, BootInfo* out);
const BootInfo& boot_info();

}  // namespace corral
