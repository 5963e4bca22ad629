// Timestamps of the boot's milestones (`bench boot`): the TSC when _start
// ran its first instructions, then one mark per milestone (banner, paging,
// each AP, shell ready).  Marks are taken on any CPU; the TSCs of QEMU's
// vCPUs (and of one package's cores) count together.
#pragma once
#include <stdint.h>

extern "C" uint64_t boot_first_tsc;   // written by boot/multiboot.asm

namespace corral {

struct BootMark {
    char what[12];
    uint64_t tsc;
};
constexpr int MAX_BOOT_MARKS = 24;

void boot_mark(const char* what);
int boot_marks(BootMark* out, int max);   // in the order they were taken

}  // namespace corral
