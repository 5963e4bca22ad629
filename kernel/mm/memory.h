// Physical memory: the frame allocator built from the multiboot memory map,
// the kernel heap carved right after the kernel image, and paging.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"
#include "kernel/multiboot.h"

namespace corral {

Result<void> memory_init(const BootInfo& info);
Result<uint32_t> frame_alloc();
Result<void> frame_free(uint32_t phys);
size_t frames_free();
size_t frames_total();     // usable frames found in the map
uint32_t phys_top();       // end of the identity map

}  // namespace corral
