// FrameBitmap: the physical 4 KiB frame allocator, one bit per frame
// (1 = used).  The kernel builds it from the multiboot memory map: start
// with everything used, free what the firmware calls available RAM, then
// take back what is not ours to hand out (low memory, the kernel image,
// the bitmap itself).
//
// Addresses are 32-bit: this is an i386 kernel without PAE, so frames above
// 4 GiB could never be mapped; init() caps max_frames accordingly.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {

class FrameBitmap {
public:
    static constexpr uint32_t kFrameSize = 4096;
    static constexpr size_t kMaxFrames = size_t{1} << 20;  // 4 GiB / 4 KiB

    // Words needed for a bitmap of max_frames frames.
    static constexpr size_t words_for(size_t max_frames) { return (max_frames + 31) / 32; }

    // `bitmap_words` must hold words_for(max_frames) words; it is owned by
    // the caller.  Every frame starts USED, so memory nobody described as
    // free can never be allocated.
    void init(uint32_t* bitmap_words, size_t max_frames);

    // Byte ranges from a memory map; parts beyond max_frames are ignored.
    void mark_free(uint64_t base, uint64_t length);
    void mark_used(uint64_t base, uint64_t length);

    // Lowest free frame's physical address; an error when none is left.
    Result<uint32_t> alloc();
    // Refuses (changing nothing) an unaligned address, one beyond the
    // managed range, and a frame that is already free.
    Result<void> free(uint32_t phys);

    bool is_free(uint32_t phys) const;
    size_t free_count() const { return free_count_; }
    size_t max_frames() const { return max_frames_; }

private:
    bool test(size_t frame) const;
    void set_used(size_t frame);
    void set_free(size_t frame);

    uint32_t* words_ = nullptr;
    size_t max_frames_ = 0;
    size_t free_count_ = 0;
    size_t search_from_ = 0;  // no free frame below this index (speeds up alloc)
};

}  // namespace corral
