// `text verify`: is the live kernel text what the linker produced?
//
// The build records, inside the kernel, an FNV-1a hash of every 64-byte
// chunk of the linked .text (scripts/gen-texthash fills the reserved
// .texthash section after the link).  At run time every chunk is hashed
// again with the bytes the patcher changed put back as they were (the text
// writer's journal keeps them), so a chunk that still differs was changed
// by something other than the patcher.  Every byte the patcher did change
// and that differs now is reported, as ranges, with its owner patch.
#pragma once
#include <stdint.h>

namespace corral {

constexpr int TEXT_HASH_RESERVED = 20480;   // bytes; must match the Makefile

struct TextVerifyReport {
    bool table_present;       // false: the build did not fill .texthash
    int chunks;
    int unexplained_chunks;   // differ even with the patcher's changes undone
    int patched_ranges;       // ranges the patcher changed that differ from the ELF now
    int patched_bytes;
};

// `print`: one line per finding, then a summary line.
TextVerifyReport text_verify(bool print);

// The kernel's build-id, from the same link-time table (docs/module-format.md):
// a patch module carries the one it was built against.  0 if the build did not fill the table.
uint32_t kernel_build_id();

}  // namespace corral
