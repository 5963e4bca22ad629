// HeapArena: a first-fit allocator over one contiguous region.
//
// The region is tiled by blocks, each starting with a header (magic, size,
// size of the previous block, free-list links, checksum).  Free blocks are
// kept on a list in address order, so first fit takes the lowest hole that
// fits and freed neighbours merge back into one block (the heap returns to
// a single block when everything is freed).
//
// It is paranoid on purpose: free() refuses (and changes nothing for) a
// double free, a pointer that is not from this arena or not a block start,
// and a damaged header; check() walks every block and the free list.  The
// kernel turns those errors into a panic naming the caller; the host tests
// provoke each one.
//
// No locking inside: the kernel heap wraps an arena in a spinlock.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {

struct HeapBlock;  // block header, defined in heap_arena.cpp

// Usable bytes (headers excluded).
struct HeapStats {
    size_t bytes_free;
    size_t bytes_used;          // capacity of live blocks (>= what was asked)
    size_t largest_free_block;  // the largest alloc(n) that can succeed
    size_t block_count;         // used + free
};

class HeapArena {
public:
    static constexpr size_t kMaxAlign = 4096;

    // Takes over [base, base + size).  The ends are trimmed to 16-byte
    // boundaries; a region too small for one block gives an arena in which
    // every alloc fails.
    void init(void* base, size_t size);

    // First fit.  `align` must be a power of two <= kMaxAlign (smaller than
    // 16 is raised to 16).  Returns nullptr when no free block fits or the
    // alignment is invalid.  alloc(0) returns a unique minimal block.
    [[nodiscard]] void* alloc(size_t size, size_t align = 16);

    // Frees a block from alloc(); free(nullptr) does nothing.  Refuses,
    // without touching the heap: double free, foreign or interior pointer,
    // corrupted header.
    Result<void> free(void* p);

    // Walks every block and the free list; the first inconsistency found is
    // the error text (a block address and what is wrong with it).
    Result<void> check() const;

    bool contains(const void* p) const;

    // Bytes of bookkeeping in front of every block (tests and `heap` stats).
    static size_t header_size();

    // Computed by walking the blocks (O(blocks)); stats() gets all four in
    // one walk.  Safe to call on a damaged heap.
    HeapStats stats() const;
    size_t bytes_free() const { return stats().bytes_free; }
    size_t bytes_used() const { return stats().bytes_used; }
    size_t largest_free_block() const { return stats().largest_free_block; }
    size_t block_count() const { return stats().block_count; }

private:
    HeapBlock* block_at(uintptr_t address) const;
    HeapBlock* next_block(const HeapBlock* b) const;  // nullptr after the last
    bool neighbours_agree(const HeapBlock* b) const;
    Result<HeapBlock*> block_to_free(void* p) const;
    Error explain_bad_free(void* p) const;
    Result<void> check_block(const HeapBlock* b, size_t expected_prev_size) const;
    Result<void> check_free_list(size_t free_blocks) const;
    void* carve(HeapBlock* b, uintptr_t header, size_t need);
    void list_insert_after(HeapBlock* pred, HeapBlock* b);
    void list_unlink(HeapBlock* b);
    HeapBlock* list_pred_for(const HeapBlock* b) const;
    void set_prev_size_after(const HeapBlock* b);

    uintptr_t begin_ = 0;  // first block header
    uintptr_t end_ = 0;    // one past the last block
    HeapBlock* free_head_ = nullptr;
};

}  // namespace corral
