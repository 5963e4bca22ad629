// Tests for kernel/mm/frame_bitmap: rounding of map ranges, allocation until
// exhaustion, and refusing bad frees.
#include "kernel/mm/frame_bitmap.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using corral::FrameBitmap;

namespace {

constexpr uint32_t kPage = FrameBitmap::kFrameSize;

class Frames : public ::testing::Test {
protected:
    void make(size_t frames)
    {
        // One extra word after the bitmap, to catch writes past its end.
        words_.assign(FrameBitmap::words_for(frames) + 1, 0x5A5A5A5Au);
        frames_.init(words_.data(), frames);
    }

    uint32_t guard_word() const { return words_.back(); }

    std::vector<uint32_t> words_;
    FrameBitmap frames_;
};

}  // namespace

TEST_F(Frames, StartsAllUsed)
{
    make(64);
    EXPECT_EQ(frames_.free_count(), 0u);
    EXPECT_FALSE(frames_.is_free(0));
    auto r = frames_.alloc();
    ASSERT_TRUE(r.is_error());
    EXPECT_STREQ(r.error(), "frames: out of physical memory (all 64 frames in use)");
    EXPECT_EQ(guard_word(), 0x5A5A5A5Au);
}

TEST_F(Frames, MarkFreeWholeFrames)
{
    make(64);
    frames_.mark_free(0x1000, 4 * kPage);
    EXPECT_EQ(frames_.free_count(), 4u);
    EXPECT_FALSE(frames_.is_free(0x0000));
    EXPECT_TRUE(frames_.is_free(0x1000));
    EXPECT_TRUE(frames_.is_free(0x4000));
    EXPECT_FALSE(frames_.is_free(0x5000));
}

TEST_F(Frames, MarkFreeRoundsInward)
{
    make(64);
    frames_.mark_free(0x1800, 0x2000);  // [0x1800, 0x3800): only 0x2000..0x3000 is whole
    EXPECT_EQ(frames_.free_count(), 1u);
    EXPECT_FALSE(frames_.is_free(0x1000));
    EXPECT_TRUE(frames_.is_free(0x2000));
    EXPECT_FALSE(frames_.is_free(0x3000));
}

TEST_F(Frames, MarkFreeOfLessThanAFrameFreesNothing)
{
    make(64);
    frames_.mark_free(0x1001, kPage);      // straddles two frames, covers neither
    frames_.mark_free(0x5000, kPage - 1);  // one byte short
    frames_.mark_free(0x8000, 0);
    EXPECT_EQ(frames_.free_count(), 0u);
}

TEST_F(Frames, MarkUsedRoundsOutward)
{
    make(16);
    frames_.mark_free(0, 16 * uint64_t{kPage});
    ASSERT_EQ(frames_.free_count(), 16u);
    frames_.mark_used(0x1800, 0x10);  // a few bytes inside frame 1
    EXPECT_FALSE(frames_.is_free(0x1000));
    frames_.mark_used(0x2FFF, 2);     // the last byte of frame 2 and the first of 3
    EXPECT_FALSE(frames_.is_free(0x2000));
    EXPECT_FALSE(frames_.is_free(0x3000));
    EXPECT_TRUE(frames_.is_free(0x4000));
    EXPECT_EQ(frames_.free_count(), 13u);
}

TEST_F(Frames, MarkingTwiceCountsOnce)
{
    make(32);
    frames_.mark_free(0, 8 * kPage);
    frames_.mark_free(0, 8 * kPage);
    EXPECT_EQ(frames_.free_count(), 8u);
    frames_.mark_used(0, kPage);
    frames_.mark_used(0, kPage);
    EXPECT_EQ(frames_.free_count(), 7u);
}

TEST_F(Frames, RangesBeyondTheEndAreClipped)
{
    make(40);  // not a multiple of 32: the last word is partly spare
    frames_.mark_free(30 * kPage, 100 * uint64_t{kPage});
    EXPECT_EQ(frames_.free_count(), 10u);
    frames_.mark_free(uint64_t{5} << 32, kPage);  // far above 4 GiB
    EXPECT_EQ(frames_.free_count(), 10u);
    EXPECT_EQ(guard_word(), 0x5A5A5A5Au);
}

TEST_F(Frames, HugeLengthSaturatesInsteadOfWrapping)
{
    make(32);
    frames_.mark_free(0x3000, UINT64_MAX);  // base + length wraps around 2^64
    EXPECT_EQ(frames_.free_count(), 29u);
    frames_.mark_used(0x10000, UINT64_MAX);
    EXPECT_EQ(frames_.free_count(), 13u);
}

TEST_F(Frames, AllocLowestFirstUntilExhausted)
{
    make(40);
    frames_.mark_free(0, 40 * kPage);
    std::vector<uint32_t> got;
    for (;;) {
        auto r = frames_.alloc();
        if (r.is_error()) break;
        got.push_back(r.value());
    }
    ASSERT_EQ(got.size(), 40u) << "exactly the managed frames, no spare bits handed out";
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], i * kPage);
    EXPECT_EQ(frames_.free_count(), 0u);
    EXPECT_EQ(guard_word(), 0x5A5A5A5Au);
}

TEST_F(Frames, AllocSkipsUsedFrames)
{
    make(128);
    frames_.mark_free(0x50000, 2 * kPage);  // frames 80 and 81 only
    EXPECT_EQ(frames_.alloc().value(), 0x50000u);
    EXPECT_EQ(frames_.alloc().value(), 0x51000u);
    EXPECT_TRUE(frames_.alloc().is_error());
}

TEST_F(Frames, FreedFrameIsReusedFirst)
{
    make(64);
    frames_.mark_free(0, 64 * kPage);
    uint32_t a = frames_.alloc().value();
    uint32_t b = frames_.alloc().value();
    uint32_t c = frames_.alloc().value();
    ASSERT_TRUE(frames_.free(b).is_ok());
    EXPECT_EQ(frames_.alloc().value(), b) << "the lowest free frame again";
    EXPECT_EQ(frames_.alloc().value(), c + kPage);
    (void)a;
}

TEST_F(Frames, DoubleFreeRefused)
{
    make(32);
    frames_.mark_free(0, 32 * kPage);
    uint32_t f = frames_.alloc().value();
    ASSERT_TRUE(frames_.free(f).is_ok());
    size_t count = frames_.free_count();
    auto r = frames_.free(f);
    ASSERT_TRUE(r.is_error());
    EXPECT_STREQ(r.error(), "frames: free(0x00000000): double free (already free)");
    EXPECT_EQ(frames_.free_count(), count);
}

TEST_F(Frames, NeverAllocatedFrameIsAlsoADoubleFree)
{
    make(32);
    frames_.mark_free(0x4000, kPage);
    EXPECT_TRUE(frames_.free(0x4000).is_error()) << "free but never allocated";
}

TEST_F(Frames, UnalignedAndOutOfRangeRefused)
{
    make(32);
    frames_.mark_free(0, 32 * kPage);
    uint32_t f = frames_.alloc().value();
    auto unaligned = frames_.free(f + 0x10);
    ASSERT_TRUE(unaligned.is_error());
    EXPECT_STREQ(unaligned.error(), "frames: free(0x00000010): not 4 KiB aligned");
    auto beyond = frames_.free(32 * kPage);
    ASSERT_TRUE(beyond.is_error());
    EXPECT_STREQ(beyond.error(), "frames: free(0x00020000): beyond the 32 managed frames");
    EXPECT_FALSE(frames_.is_free(f)) << "refused frees change nothing";
    EXPECT_EQ(frames_.free_count(), 31u);
}

TEST_F(Frames, CapsAtFourGiB)
{
    words_.assign(FrameBitmap::words_for(FrameBitmap::kMaxFrames) + 1, 0x5A5A5A5Au);
    frames_.init(words_.data(), FrameBitmap::kMaxFrames * 2);
    EXPECT_EQ(frames_.max_frames(), FrameBitmap::kMaxFrames);
    EXPECT_EQ(guard_word(), 0x5A5A5A5Au);
    frames_.mark_free(0xFFFFF000u, kPage);
    EXPECT_EQ(frames_.alloc().value(), 0xFFFFF000u) << "the topmost 32-bit frame";
}

TEST(FramesUninitialised, RefusesEverything)
{
    FrameBitmap frames;
    EXPECT_TRUE(frames.alloc().is_error());
    EXPECT_TRUE(frames.free(0).is_error());
    EXPECT_EQ(frames.free_count(), 0u);
}
