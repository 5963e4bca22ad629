#include "kernel/mm/memory.h"

#include "arch/x86/paging.h"
#include "kernel/config.h"
#include "kernel/console/console.h"
#include "kernel/heap.h"
#include "kernel/mm/frame_bitmap.h"
#include "kernel/sync/spinlock.h"

extern "C" const uint8_t __kernel_start[], __kernel_end[];
extern "C" uint8_t boot_stack_bottom[];

namespace corral {
namespace {

constexpr size_t MAX_FRAMES = size_t(config::MAX_PHYS_MEMORY / arch::PAGE_SIZE);
uint32_t bitmap_words[MAX_FRAMES / 32];
FrameBitmap frames;
Spinlock frames_lock("frames");
size_t usable_frames = 0;
uint32_t identity_top = 0;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

}  // namespace

Result<uint32_t> frame_alloc() {
    SpinlockGuard guard(frames_lock);
    return frames.alloc();
}

Result<void> frame_free(uint32_t phys) {
    SpinlockGuard guard(frames_lock);
    return frames.free(phys);
}

size_t frames_free() {
    SpinlockGuard guard(frames_lock);
    return frames.free_count();
}
size_t frames_total() { return usable_frames; }
uint32_t phys_top() { return identity_top; }

Result<void> memory_init(const BootInfo& info) {
    frames.init(bitmap_words, MAX_FRAMES);
    uint64_t top = 0;        // end of usable RAM
    uint64_t map_top = 0;    // end of everything to identity-map (ACPI tables sit in reserved RAM)
    for (size_t i = 0; i < info.region_count; i++) {
        const MemoryRegion& r = info.regions[i];
        if (r.base >= config::MAX_PHYS_MEMORY) continue;
        uint64_t end = r.base + r.length;
        if (end > config::MAX_PHYS_MEMORY) end = config::MAX_PHYS_MEMORY;
        if (end > map_top) map_top = end;
        if (r.type != 1) continue;
        frames.mark_free(r.base, end - r.base);
        if (end > top) top = end;
    }
    usable_frames = frames.free_count();
    // Low memory holds the BIOS data, the AP trampoline and the multiboot
    // structures; the kernel image follows at 1 MiB.
    frames.mark_used(0, config::LOW_MEMORY_RESERVED);
    const uint64_t kernel_start = uintptr_t(__kernel_start), kernel_end = uintptr_t(__kernel_end);
    frames.mark_used(kernel_start, kernel_end - kernel_start);
    // Boot modules (patch modules the loader put beside the kernel) stay
    // where they are until patching has read them.
    uint64_t image_end = kernel_end;
    for (size_t i = 0; i < info.module_count; i++) {
        const BootModule& m = info.modules[i];
        frames.mark_used(m.start, uint64_t(m.end) - m.start);
        if (m.end > image_end) image_end = m.end;
    }

    // The heap: one contiguous run right after the kernel and its modules.
    const uint64_t heap_base = align_up(image_end, arch::PAGE_SIZE);
    if (heap_base + config::KERNEL_HEAP_SIZE > top)
        return make_error("memory: %llu KiB of RAM is too little for an %zu KiB heap",
                          (unsigned long long)(top / 1024), config::KERNEL_HEAP_SIZE / 1024);
    frames.mark_used(heap_base, config::KERNEL_HEAP_SIZE);

    identity_top = uint32_t(align_up(map_top, arch::PAGE_SIZE));
    TRY_VOID(arch::paging_init(identity_top, frame_alloc));
    heap_init(reinterpret_cast<void*>(uintptr_t(heap_base)), config::KERNEL_HEAP_SIZE);
    // The boot stack's lowest page is a guard: an overflow faults there, the
    // fault cannot be delivered on that stack, and the double-fault task
    // (its own TSS and stack) reports it.
    arch::unmap_page(uint32_t(uintptr_t(boot_stack_bottom)));
    kprintf("memory: %zu MiB usable, %zu frames free, heap %zu KiB at %#llx\n",
            usable_frames * arch::PAGE_SIZE >> 20, frames.free_count(), config::KERNEL_HEAP_SIZE >> 10,
            (unsigned long long)heap_base);
    return Ok{};
}

}  // namespace corral
