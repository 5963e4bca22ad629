// Tests for kernel/heap_arena: allocation, alignment, merging, fragmentation,
// and refusing bad frees / detecting damaged headers.
#include "kernel/heap_arena.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

using corral::HeapArena;

namespace {

bool is_aligned(const void* p, size_t align) { return reinterpret_cast<uintptr_t>(p) % align == 0; }

class Heap : public ::testing::Test {
protected:
    static constexpr size_t kSize = 64 * 1024;

    void SetUp() override
    {
        memory_.assign(kSize, 0);
        heap_.init(memory_.data(), memory_.size());
        initial_largest_ = heap_.largest_free_block();
        ASSERT_TRUE(heap_.check().is_ok());
    }

    void expect_healthy()
    {
        auto r = heap_.check();
        EXPECT_TRUE(r.is_ok()) << r.error();
    }

    std::vector<unsigned char> memory_;
    HeapArena heap_;
    size_t initial_largest_ = 0;
};

}  // namespace

TEST_F(Heap, StartsAsOneFreeBlock)
{
    EXPECT_EQ(heap_.block_count(), 1u);
    EXPECT_EQ(heap_.bytes_used(), 0u);
    EXPECT_EQ(heap_.bytes_free(), initial_largest_);
    EXPECT_GT(initial_largest_, kSize - 128) << "header overhead is small";
    EXPECT_LT(initial_largest_, kSize);
}

TEST_F(Heap, AllocReturnsUsableAlignedMemoryInside)
{
    void* p = heap_.alloc(100);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(is_aligned(p, 16));
    EXPECT_TRUE(heap_.contains(p));
    memset(p, 0x5a, 100);  // ASan would flag a block outside the arena
    EXPECT_EQ(heap_.block_count(), 2u);
    EXPECT_EQ(heap_.bytes_used(), 112u) << "100 rounded up to 16";
    expect_healthy();
}

TEST_F(Heap, ZeroSizeAllocsAreDistinct)
{
    void* a = heap_.alloc(0);
    void* b = heap_.alloc(0);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_NE(a, b);
    EXPECT_TRUE(heap_.free(a).is_ok());
    EXPECT_TRUE(heap_.free(b).is_ok());
    expect_healthy();
}

TEST_F(Heap, AlignmentHonoured)
{
    std::vector<void*> blocks;
    for (size_t align = 1; align <= HeapArena::kMaxAlign; align *= 2) {
        void* p = heap_.alloc(24, align);
        ASSERT_NE(p, nullptr) << "align " << align;
        EXPECT_TRUE(is_aligned(p, align < 16 ? 16 : align)) << "align " << align;
        blocks.push_back(p);
        expect_healthy();
    }
    for (void* p : blocks) ASSERT_TRUE(heap_.free(p).is_ok());
    EXPECT_EQ(heap_.largest_free_block(), initial_largest_);
    EXPECT_EQ(heap_.block_count(), 1u);
}

TEST_F(Heap, AlignmentGapIsReusable)
{
    void* small = heap_.alloc(16);
    void* page = heap_.alloc(64, 4096);
    ASSERT_NE(page, nullptr);
    EXPECT_TRUE(is_aligned(page, 4096));
    // The hole before the aligned block became a free block: a small alloc
    // (one that fits the smallest possible hole) must land there.
    void* filler = heap_.alloc(16);
    ASSERT_NE(filler, nullptr);
    EXPECT_LT(filler, page);
    EXPECT_GT(filler, small);
    expect_healthy();
}

TEST_F(Heap, InvalidAlignmentRefused)
{
    EXPECT_EQ(heap_.alloc(16, 0), nullptr);
    EXPECT_EQ(heap_.alloc(16, 3), nullptr);
    EXPECT_EQ(heap_.alloc(16, 48), nullptr);
    EXPECT_EQ(heap_.alloc(16, 8192), nullptr);
    EXPECT_EQ(heap_.block_count(), 1u) << "a refused alloc changes nothing";
}

TEST_F(Heap, TooLargeFails)
{
    EXPECT_EQ(heap_.alloc(kSize), nullptr);
    EXPECT_EQ(heap_.alloc(SIZE_MAX), nullptr);
    EXPECT_EQ(heap_.alloc(SIZE_MAX - 8), nullptr) << "size rounding must not overflow";
    EXPECT_EQ(heap_.alloc(initial_largest_ + 1), nullptr);
    void* all = heap_.alloc(initial_largest_);
    EXPECT_NE(all, nullptr) << "largest_free_block is exactly what can be allocated";
    EXPECT_EQ(heap_.bytes_free(), 0u);
    expect_healthy();
}

TEST_F(Heap, ExhaustThenRecover)
{
    std::vector<void*> blocks;
    while (void* p = heap_.alloc(200)) blocks.push_back(p);
    EXPECT_GT(blocks.size(), 200u);
    EXPECT_LT(heap_.largest_free_block(), 208u);
    expect_healthy();
    for (void* p : blocks) ASSERT_TRUE(heap_.free(p).is_ok());
    EXPECT_EQ(heap_.largest_free_block(), initial_largest_);
    EXPECT_EQ(heap_.block_count(), 1u);
}

TEST_F(Heap, ManySizesNoOverlapFullRecovery)
{
    std::mt19937 rng(1234);
    struct Live {
        unsigned char* p;
        size_t size;
        unsigned char tag;
    };
    std::vector<Live> live;
    for (int round = 0; round < 2000; ++round) {
        bool do_alloc = live.empty() || rng() % 3 != 0;
        if (do_alloc) {
            size_t size = rng() % 700;
            size_t align = size_t{16} << (rng() % 4);
            auto* p = static_cast<unsigned char*>(heap_.alloc(size, align));
            if (p == nullptr) continue;
            ASSERT_TRUE(is_aligned(p, align));
            auto tag = static_cast<unsigned char>(round);
            memset(p, tag, size);
            live.push_back({p, size, tag});
        } else {
            size_t i = rng() % live.size();
            // Contents intact means no other block was carved over this one.
            for (size_t k = 0; k < live[i].size; ++k) ASSERT_EQ(live[i].p[k], live[i].tag);
            ASSERT_TRUE(heap_.free(live[i].p).is_ok());
            live.erase(live.begin() + static_cast<long>(i));
        }
        if (round % 50 == 0) {
            auto r = heap_.check();
            ASSERT_TRUE(r.is_ok()) << r.error();
        }
    }
    for (auto& b : live) {
        for (size_t k = 0; k < b.size; ++k) ASSERT_EQ(b.p[k], b.tag);
        ASSERT_TRUE(heap_.free(b.p).is_ok());
    }
    expect_healthy();
    EXPECT_EQ(heap_.largest_free_block(), initial_largest_) << "everything merged back";
    EXPECT_EQ(heap_.block_count(), 1u);
}

TEST_F(Heap, FreeMergesWithBothNeighbours)
{
    void* a = heap_.alloc(64);
    void* b = heap_.alloc(64);
    void* c = heap_.alloc(64);
    void* guard = heap_.alloc(64);  // keeps c from touching the big free tail
    ASSERT_TRUE(a && b && c && guard);
    EXPECT_EQ(heap_.block_count(), 5u);
    ASSERT_TRUE(heap_.free(a).is_ok());
    ASSERT_TRUE(heap_.free(c).is_ok());
    EXPECT_EQ(heap_.block_count(), 5u) << "a and c are not neighbours";
    ASSERT_TRUE(heap_.free(b).is_ok());
    EXPECT_EQ(heap_.block_count(), 3u) << "a, b, c became one free block";
    void* abc = heap_.alloc(3 * 64);
    EXPECT_EQ(abc, a) << "first fit reuses the merged block";
    expect_healthy();
}

TEST_F(Heap, FreeMergesWithFollowingBlock)
{
    void* a = heap_.alloc(64);
    void* b = heap_.alloc(64);
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(heap_.free(b).is_ok());
    EXPECT_EQ(heap_.block_count(), 2u) << "b merged into the free tail";
    ASSERT_TRUE(heap_.free(a).is_ok());
    EXPECT_EQ(heap_.block_count(), 1u);
    EXPECT_EQ(heap_.largest_free_block(), initial_largest_);
}

TEST_F(Heap, FragmentationThenNeighboursHeal)
{
    constexpr int kBlocks = 16;
    constexpr size_t kBlock = 1024;
    void* blocks[kBlocks];
    for (void*& p : blocks) {
        p = heap_.alloc(kBlock);
        ASSERT_NE(p, nullptr);
    }
    // Take the rest of the heap so only the holes we make are free.
    void* rest = heap_.alloc(heap_.largest_free_block());
    ASSERT_NE(rest, nullptr);
    ASSERT_EQ(heap_.bytes_free(), 0u);

    for (int i = 0; i < kBlocks; i += 2) ASSERT_TRUE(heap_.free(blocks[i]).is_ok());
    EXPECT_EQ(heap_.bytes_free(), 8 * kBlock) << "8 holes of 1 KiB";
    EXPECT_EQ(heap_.largest_free_block(), kBlock);
    EXPECT_EQ(heap_.alloc(3 * kBlock), nullptr) << "enough in total, but no hole is big enough";
    expect_healthy();

    // Freeing the neighbours of hole 2 joins holes 0..4 into one block.
    ASSERT_TRUE(heap_.free(blocks[1]).is_ok());
    ASSERT_TRUE(heap_.free(blocks[3]).is_ok());
    EXPECT_GE(heap_.largest_free_block(), 3 * kBlock);
    void* big = heap_.alloc(3 * kBlock);
    EXPECT_EQ(big, blocks[0]);
    expect_healthy();
}

TEST_F(Heap, FreeNullIsNoOp)
{
    EXPECT_TRUE(heap_.free(nullptr).is_ok());
    EXPECT_EQ(heap_.block_count(), 1u);
}

TEST_F(Heap, DoubleFreeRefused)
{
    void* a = heap_.alloc(64);
    void* b = heap_.alloc(64);
    void* c = heap_.alloc(64);
    ASSERT_TRUE(a && b && c);
    ASSERT_TRUE(heap_.free(b).is_ok());  // neighbours used: b stays its own block
    size_t blocks = heap_.block_count();
    size_t free_bytes = heap_.bytes_free();
    auto r = heap_.free(b);
    ASSERT_TRUE(r.is_error());
    EXPECT_NE(std::string(r.error()).find("double free"), std::string::npos) << r.error();
    EXPECT_EQ(heap_.block_count(), blocks);
    EXPECT_EQ(heap_.bytes_free(), free_bytes);
    expect_healthy();
}

TEST_F(Heap, DoubleFreeAfterMergeRefused)
{
    void* a = heap_.alloc(64);
    void* b = heap_.alloc(64);
    void* c = heap_.alloc(64);
    ASSERT_TRUE(a && b && c);
    ASSERT_TRUE(heap_.free(a).is_ok());
    ASSERT_TRUE(heap_.free(b).is_ok());  // b's header is now inside a's free block
    auto r = heap_.free(b);
    ASSERT_TRUE(r.is_error());
    EXPECT_NE(std::string(r.error()).find("double free"), std::string::npos) << r.error();
    expect_healthy();
    EXPECT_EQ(heap_.alloc(128), a) << "the merged block is intact";
}

TEST_F(Heap, ForeignPointerRefused)
{
    int on_stack = 0;
    auto r = heap_.free(&on_stack);
    ASSERT_TRUE(r.is_error());
    EXPECT_NE(std::string(r.error()).find("not a pointer from this heap"), std::string::npos)
        << r.error();

    std::vector<unsigned char> other_memory(4096);
    HeapArena other;
    other.init(other_memory.data(), other_memory.size());
    void* theirs = other.alloc(32);
    ASSERT_NE(theirs, nullptr);
    EXPECT_TRUE(heap_.free(theirs).is_error());
    EXPECT_TRUE(other.free(theirs).is_ok());
    expect_healthy();
}

TEST_F(Heap, InteriorPointerRefused)
{
    auto* p = static_cast<unsigned char*>(heap_.alloc(256));
    ASSERT_NE(p, nullptr);
    size_t used = heap_.bytes_used();
    auto r = heap_.free(p + 64);
    ASSERT_TRUE(r.is_error());
    EXPECT_NE(std::string(r.error()).find("not the start of a block"), std::string::npos)
        << r.error();
    EXPECT_TRUE(heap_.free(p + 3).is_error()) << "unaligned";
    EXPECT_EQ(heap_.bytes_used(), used);
    EXPECT_TRUE(heap_.free(p).is_ok());
}

TEST_F(Heap, OverrunIntoNextHeaderDetected)
{
    auto* a = static_cast<unsigned char*>(heap_.alloc(32));
    void* b = heap_.alloc(32);
    ASSERT_TRUE(a && b);
    expect_healthy();
    memset(a, 0xAB, 32 + 8);  // a classic off-the-end write into b's header
    auto r = heap_.check();
    ASSERT_TRUE(r.is_error());
    EXPECT_NE(std::string(r.error()).find("bad magic"), std::string::npos) << r.error();
    EXPECT_TRUE(heap_.free(b).is_error()) << "a damaged block is never freed";
    EXPECT_TRUE(heap_.free(a).is_error()) << "nor one whose neighbour is damaged";
}

TEST_F(Heap, ScribbledSizeDetectedByChecksum)
{
    void* a = heap_.alloc(64);
    void* b = heap_.alloc(64);
    ASSERT_TRUE(a && b);
    // Keep the magic, change only the size field (after the 32-bit magic
    // and checksum): as if a stray store hit a plausible value.
    auto* header = static_cast<unsigned char*>(b) - HeapArena::header_size();
    size_t size;
    memcpy(&size, header + 8, sizeof(size));
    size += 16;
    memcpy(header + 8, &size, sizeof(size));
    auto r = heap_.check();
    ASSERT_TRUE(r.is_error());
    EXPECT_NE(std::string(r.error()).find("checksum"), std::string::npos) << r.error();
    EXPECT_TRUE(heap_.free(b).is_error());
}

TEST_F(Heap, AllocStopsAtDamagedFreeBlock)
{
    void* a = heap_.alloc(64);
    void* b = heap_.alloc(64);
    void* c = heap_.alloc(64);
    ASSERT_TRUE(a && b && c);
    ASSERT_TRUE(heap_.free(b).is_ok());  // b is now the lowest free block
    // Grow b's size field (magic kept) so it would overlap c if trusted.
    auto* header = static_cast<unsigned char*>(b) - HeapArena::header_size();
    size_t size;
    memcpy(&size, header + 8, sizeof(size));
    size += 4096;
    memcpy(header + 8, &size, sizeof(size));
    EXPECT_EQ(heap_.alloc(64), nullptr) << "never hand out memory from a damaged block";
    EXPECT_TRUE(heap_.check().is_error());
}

TEST_F(Heap, FreeOfDamagedBlockChangesNothing)
{
    auto* a = static_cast<unsigned char*>(heap_.alloc(32));
    void* b = heap_.alloc(32);
    ASSERT_TRUE(a && b);
    a[32] ^= 0xFF;  // damage b's header (a's 32 bytes end where it starts)
    std::vector<unsigned char> damaged = memory_;
    EXPECT_TRUE(heap_.free(b).is_error());
    EXPECT_TRUE(heap_.free(a).is_error());
    EXPECT_EQ(memory_, damaged) << "a refused free writes nothing";
}

TEST(HeapArenaSmall, TooSmallRegionIsEmptyButSafe)
{
    unsigned char tiny[40];
    HeapArena heap;
    heap.init(tiny, sizeof(tiny));
    EXPECT_EQ(heap.alloc(1), nullptr);
    EXPECT_TRUE(heap.check().is_ok());
    EXPECT_EQ(heap.block_count(), 0u);
    EXPECT_EQ(heap.bytes_free(), 0u);
    EXPECT_TRUE(heap.free(tiny + 16).is_error());
}

TEST(HeapArenaSmall, UnalignedBaseIsTrimmed)
{
    alignas(16) unsigned char memory[4096 + 16];
    HeapArena heap;
    heap.init(memory + 3, 4096);
    void* p = heap.alloc(100);
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(is_aligned(p, 16));
    EXPECT_GE(static_cast<unsigned char*>(p), memory + 3);
    EXPECT_LE(static_cast<unsigned char*>(p) + 100, memory + 3 + 4096);
    EXPECT_TRUE(heap.check().is_ok());
}
