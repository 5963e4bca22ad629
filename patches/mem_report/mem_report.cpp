// Patch module: `mem` answers the question people ask it.
//
// The kernel's `mem` (kernel/shell_commands.cpp) lists the memory map and
// raw counts.  The replacement says in three lines how much RAM there is
// and how full the frames and the heap are, as shares; after loading it
// the change is visible from the shell at once.  cmd_mem has internal
// linkage (an anonymous namespace), so the patch names it by the symbol
// name `sym` shows.  It is an ordinary function with the fentry NOP at its
// entry: strategy int3.
#include "kernel/console/console.h"
#include "kernel/heap.h"
#include "kernel/mm/memory.h"
#include "kernel/multiboot.h"
#include "kernel/shell.h"
#include "patches/patch.h"

namespace {

// Tenths of a percent, in integers: the kernel has no floating point.
unsigned permille(uint64_t part, uint64_t whole) { return whole == 0 ? 0 : unsigned(part * 1000 / whole); }

void print_share(const char* what, uint64_t used, uint64_t total, const char* unit) {
    const unsigned p = permille(used, total);
    corral::kprintf("%-7s %llu of %llu %s used (%u.%u%%)\n", what, (unsigned long long)used, (unsigned long long)total,
                    unit, p / 10, p % 10);
}

}  // namespace

int mem_report_v2(int argc, char**) {
    using namespace corral;
    if (argc != 1) return shell_error("usage: mem");
    const BootInfo& info = boot_info();
    uint64_t usable = 0;
    for (size_t i = 0; i < info.region_count; i++)
        if (info.regions[i].type == 1) usable += info.regions[i].length;
    kprintf("ram:    %llu KiB usable in %zu map regions (from %s)\n", (unsigned long long)(usable >> 10),
            info.region_count, info.loader);
    print_share("frames:", frames_total() - frames_free(), frames_total(), "frames");
    HeapStats h = heap_stats();
    print_share("heap:", h.bytes_used, h.bytes_used + h.bytes_free, "bytes");
    kprintf("(mem: patched by module mem_report)\n");
    return 0;
}

CORRAL_PATCH_NAMED("corral::(anonymous namespace)::cmd_mem", mem_report_v2, "int3");
