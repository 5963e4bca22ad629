// Physical frame allocator (see frame_bitmap.h).
#include "kernel/mm/frame_bitmap.h"

namespace corral {

namespace {

constexpr uint32_t kAllUsed = 0xFFFFFFFFu;

// Frame-index range [first, end), already clamped to the managed frames.
struct FrameRange {
    size_t first;
    size_t end;
};

// Divisions are by the constant 4096, so they compile to shifts: no libgcc
// 64-bit division helpers in the kernel.
FrameRange clamp(uint64_t first, uint64_t end, size_t max_frames)
{
    if (end > max_frames) end = max_frames;
    if (first > end) first = end;
    return {static_cast<size_t>(first), static_cast<size_t>(end)};
}

uint64_t range_end(uint64_t base, uint64_t length)
{
    uint64_t end = base + length;
    return end < base ? UINT64_MAX : end;  // saturate: a map entry can claim "to the top"
}

}  // namespace

void FrameBitmap::init(uint32_t* bitmap_words, size_t max_frames)
{
    if (max_frames > kMaxFrames) max_frames = kMaxFrames;  // 32-bit physical addresses only
    words_ = bitmap_words;
    max_frames_ = max_frames;
    free_count_ = 0;
    search_from_ = max_frames;  // nothing is free yet
    // The spare bits of the last word stay "used" forever, so alloc() can
    // skip full words without also checking max_frames.
    for (size_t i = 0; i < words_for(max_frames); ++i) words_[i] = kAllUsed;
}

bool FrameBitmap::test(size_t frame) const { return (words_[frame / 32] >> (frame % 32)) & 1u; }

void FrameBitmap::set_used(size_t frame)
{
    if (test(frame)) return;
    words_[frame / 32] |= 1u << (frame % 32);
    --free_count_;
}

void FrameBitmap::set_free(size_t frame)
{
    if (!test(frame)) return;
    words_[frame / 32] &= ~(1u << (frame % 32));
    ++free_count_;
    if (frame < search_from_) search_from_ = frame;
}

// Free ranges are rounded INWARD: a frame only partly inside "available"
// memory also holds bytes the firmware did not give us (ACPI tables, a
// reserved hole), and handing out the whole frame would let someone
// overwrite them.  Losing a partial frame costs at most 8 KiB per entry.
void FrameBitmap::mark_free(uint64_t base, uint64_t length)
{
    if (length == 0) return;
    uint64_t end = range_end(base, length);
    uint64_t first = base / kFrameSize + (base % kFrameSize != 0 ? 1 : 0);
    FrameRange r = clamp(first, end / kFrameSize, max_frames_);
    for (size_t f = r.first; f < r.end; ++f) set_free(f);
}

// Used ranges are rounded OUTWARD: a frame can only be owned as a whole, so
// if any byte of it is in use (the end of the kernel image, a module), the
// whole frame must never be handed out.
void FrameBitmap::mark_used(uint64_t base, uint64_t length)
{
    if (length == 0) return;
    uint64_t end = range_end(base, length);
    uint64_t last = end / kFrameSize + (end % kFrameSize != 0 ? 1 : 0);
    FrameRange r = clamp(base / kFrameSize, last, max_frames_);
    for (size_t f = r.first; f < r.end; ++f) set_used(f);
}

Result<uint32_t> FrameBitmap::alloc()
{
    for (size_t w = search_from_ / 32; w < words_for(max_frames_); ++w) {
        if (words_[w] == kAllUsed) continue;
        for (size_t bit = 0; bit < 32; ++bit) {
            size_t frame = w * 32 + bit;
            if (frame >= max_frames_ || test(frame)) continue;
            set_used(frame);
            search_from_ = frame + 1;
            return static_cast<uint32_t>(frame * kFrameSize);
        }
    }
    search_from_ = max_frames_;
    return make_error("frames: out of physical memory (all %zu frames in use)", max_frames_);
}

Result<void> FrameBitmap::free(uint32_t phys)
{
    if (phys % kFrameSize != 0) return make_error("frames: free(0x%08x): not 4 KiB aligned", phys);
    size_t frame = phys / kFrameSize;
    if (frame >= max_frames_)
        return make_error("frames: free(0x%08x): beyond the %zu managed frames", phys, max_frames_);
    if (!test(frame)) return make_error("frames: free(0x%08x): double free (already free)", phys);
    set_free(frame);
    return {};
}

bool FrameBitmap::is_free(uint32_t phys) const
{
    size_t frame = phys / kFrameSize;
    return frame < max_frames_ && !test(frame);
}

}  // namespace corral
