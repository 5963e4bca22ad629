// First-fit heap over one region (see heap_arena.h).
#include "kernel/heap_arena.h"

namespace corral {

// alignas(16): headers sit on 16-byte boundaries and are a multiple of 16
// long, so every payload is 16-aligned without extra work.
struct alignas(16) HeapBlock {
    uint32_t magic;       // kUsedMagic or kFreeMagic; anything else is damage
    uint32_t checksum;    // over all other fields, catches a size scribbled over
    size_t size;          // whole block, header included, multiple of kGranule
    size_t prev_size;     // size of the block just below; 0 for the first block
    HeapBlock* next_free; // free list in address order; nullptr in used blocks
    HeapBlock* prev_free;
};

namespace {

constexpr uint32_t kUsedMagic = 0xA110C8EDu;
constexpr uint32_t kFreeMagic = 0xF7EEB10Cu;
constexpr uint32_t kDeadMagic = 0xDEADB10Cu;  // a header merged into its neighbour
constexpr size_t kGranule = 16;
constexpr size_t kHeader = sizeof(HeapBlock);
// The smallest block worth having: a header and one granule.  A leftover
// smaller than this stays inside the block it was cut from.
constexpr size_t kMinBlock = kHeader + kGranule;

static_assert(kHeader % kGranule == 0, "payloads must stay 16-aligned");

uintptr_t align_up(uintptr_t v, uintptr_t align) { return (v + align - 1) & ~(align - 1); }

uint32_t fold(uint64_t v) { return static_cast<uint32_t>(v) ^ static_cast<uint32_t>(v >> 32); }

// Not cryptographic: it only has to make a header that was overwritten by a
// buffer overrun (or a stray store of a plausible size) fail validation.
uint32_t checksum_of(const HeapBlock* b)
{
    uint32_t h = 0x2545F491u ^ b->magic;
    const uint64_t fields[] = {b->size, b->prev_size, reinterpret_cast<uintptr_t>(b->next_free),
                               reinterpret_cast<uintptr_t>(b->prev_free),
                               reinterpret_cast<uintptr_t>(b)};
    for (uint64_t f : fields) h = (h ^ fold(f)) * 0x9E3779B1u;
    return h;
}

void seal(HeapBlock* b) { b->checksum = checksum_of(b); }

bool intact(const HeapBlock* b)
{
    return (b->magic == kUsedMagic || b->magic == kFreeMagic) && b->checksum == checksum_of(b);
}

bool is_free(const HeapBlock* b) { return b->magic == kFreeMagic; }

HeapBlock* make_block(uintptr_t address, size_t size, size_t prev_size, uint32_t magic)
{
    auto* b = reinterpret_cast<HeapBlock*>(address);
    b->magic = magic;
    b->size = size;
    b->prev_size = prev_size;
    b->next_free = nullptr;
    b->prev_free = nullptr;
    seal(b);
    return b;
}

// Marks a header swallowed by a merge as dead.  Belt and braces: a stale
// header is already refused by neighbours_agree() (its neighbours no longer
// point back at it), but a dead magic also makes it obvious in a memory dump.
void retire(HeapBlock* b)
{
    b->magic = kDeadMagic;
    b->checksum = 0;
}

uintptr_t address_of(const HeapBlock* b) { return reinterpret_cast<uintptr_t>(b); }

}  // namespace

void HeapArena::init(void* base, size_t size)
{
    uintptr_t start = align_up(reinterpret_cast<uintptr_t>(base), kGranule);
    uintptr_t end = (reinterpret_cast<uintptr_t>(base) + size) & ~(kGranule - 1);
    free_head_ = nullptr;
    if (end < start || end - start < kMinBlock) {
        begin_ = end_ = start;  // empty arena: every alloc fails
        return;
    }
    begin_ = start;
    end_ = end;
    free_head_ = make_block(start, end - start, 0, kFreeMagic);
}

size_t HeapArena::header_size() { return kHeader; }

bool HeapArena::contains(const void* p) const
{
    auto a = reinterpret_cast<uintptr_t>(p);
    return a >= begin_ && a < end_;
}

HeapBlock* HeapArena::block_at(uintptr_t address) const
{
    return reinterpret_cast<HeapBlock*>(address);
}

HeapBlock* HeapArena::next_block(const HeapBlock* b) const
{
    // Bounds are checked so a walk over a damaged heap stops instead of
    // running off the region (the stats use this walk too).
    if (b->size < kMinBlock || b->size > end_ - address_of(b)) return nullptr;
    uintptr_t next = address_of(b) + b->size;
    return next + kHeader <= end_ ? block_at(next) : nullptr;
}

// ---- free list (address order; every changed header is resealed) ----

void HeapArena::list_insert_after(HeapBlock* pred, HeapBlock* b)
{
    b->prev_free = pred;
    b->next_free = pred != nullptr ? pred->next_free : free_head_;
    if (b->next_free != nullptr) {
        b->next_free->prev_free = b;
        seal(b->next_free);
    }
    if (pred != nullptr) {
        pred->next_free = b;
        seal(pred);
    } else {
        free_head_ = b;
    }
    seal(b);
}

void HeapArena::list_unlink(HeapBlock* b)
{
    if (b->prev_free != nullptr) {
        b->prev_free->next_free = b->next_free;
        seal(b->prev_free);
    } else {
        free_head_ = b->next_free;
    }
    if (b->next_free != nullptr) {
        b->next_free->prev_free = b->prev_free;
        seal(b->next_free);
    }
    b->next_free = b->prev_free = nullptr;
    seal(b);
}

HeapBlock* HeapArena::list_pred_for(const HeapBlock* b) const
{
    HeapBlock* pred = nullptr;
    for (HeapBlock* f = free_head_; f != nullptr && f < b; f = f->next_free) pred = f;
    return pred;
}

void HeapArena::set_prev_size_after(const HeapBlock* b)
{
    HeapBlock* after = next_block(b);
    if (after == nullptr) return;
    after->prev_size = b->size;
    seal(after);
}

// ---- alloc ----

namespace {

// Where a block of `need` bytes with an `align`-aligned payload could start
// inside free block b, or 0 when it does not fit.  A gap left in front must
// be able to live as a free block of its own.
uintptr_t fit(const HeapBlock* b, size_t need, size_t align)
{
    uintptr_t start = address_of(b);
    uintptr_t end = start + b->size;
    uintptr_t header = align_up(start + kHeader, align) - kHeader;
    while (header != start && header - start < kMinBlock) header += align;
    if (header >= end || end - header < need) return 0;
    return header;
}

}  // namespace

void* HeapArena::alloc(size_t size, size_t align)
{
    if (align == 0 || (align & (align - 1)) != 0 || align > kMaxAlign) return nullptr;
    if (align < kGranule) align = kGranule;
    if (size > end_ - begin_) return nullptr;  // also keeps the rounding below from overflowing
    size_t need = align_up(size == 0 ? 1 : size, kGranule) + kHeader;
    for (HeapBlock* b = free_head_; b != nullptr; b = b->next_free) {
        // A damaged free block ends the search: handing out memory near it
        // would spread the damage.  The caller's check() names the block.
        if (!intact(b)) return nullptr;
        uintptr_t header = fit(b, need, align);
        if (header != 0) return carve(b, header, need);
    }
    return nullptr;
}

// Cuts free block b into [leading free gap][used block][trailing free rest],
// where the gap and the rest exist only when large enough to be blocks.
void* HeapArena::carve(HeapBlock* b, uintptr_t header, size_t need)
{
    HeapBlock* pred = b->prev_free;
    uintptr_t start = address_of(b);
    uintptr_t end = start + b->size;
    size_t prev_size = b->prev_size;
    list_unlink(b);
    if (header > start) {
        HeapBlock* gap = make_block(start, header - start, prev_size, kFreeMagic);
        list_insert_after(pred, gap);
        pred = gap;
        prev_size = gap->size;
    }
    size_t size = end - header;
    HeapBlock* rest = nullptr;
    if (size - need >= kMinBlock) {
        rest = make_block(header + need, size - need, need, kFreeMagic);
        list_insert_after(pred, rest);
        size = need;
    }
    HeapBlock* used = make_block(header, size, prev_size, kUsedMagic);
    // The block above the old free block now sits on top of whichever piece
    // ends at `end`.
    set_prev_size_after(rest != nullptr ? rest : used);
    return reinterpret_cast<void*>(header + kHeader);
}

// ---- free ----

// Cheap O(1) proof that b is a real block: both neighbours must point back
// at it.  A pointer into the middle of a block, or a header copied around,
// fails this even if its magic and checksum look right.
bool HeapArena::neighbours_agree(const HeapBlock* b) const
{
    uintptr_t a = address_of(b);
    if (b->size < kMinBlock || b->size > end_ - a) return false;
    if (a == begin_) {
        if (b->prev_size != 0) return false;
    } else {
        if (b->prev_size < kMinBlock || b->prev_size > a - begin_) return false;
        const HeapBlock* prev = block_at(a - b->prev_size);
        if (!intact(prev) || prev->size != b->prev_size) return false;
    }
    const HeapBlock* next = next_block(b);
    return next == nullptr || (intact(next) && next->prev_size == b->size);
}

Result<HeapBlock*> HeapArena::block_to_free(void* p) const
{
    auto a = reinterpret_cast<uintptr_t>(p);
    if (a < begin_ + kHeader || a >= end_ || a % kGranule != 0)
        return make_error("heap: free(%p): not a pointer from this heap", p);
    HeapBlock* b = block_at(a - kHeader);
    if (b->magic == kUsedMagic && intact(b) && neighbours_agree(b)) return b;
    return explain_bad_free(p);
}

// Slow path, only for a refused free: find out what p really points at.
Error HeapArena::explain_bad_free(void* p) const
{
    const HeapBlock* hdr = block_at(reinterpret_cast<uintptr_t>(p) - kHeader);
    if (hdr->magic == kFreeMagic && intact(hdr) && neighbours_agree(hdr))
        return make_error("heap: free(%p): double free", p);
    auto checked = check();
    if (checked.is_error()) return make_error("heap: free(%p) refused: %s", p, checked.error());
    // The heap is sound, so p is inside some block but not at its start.
    auto a = reinterpret_cast<uintptr_t>(p);
    for (const HeapBlock* b = block_at(begin_); b != nullptr; b = next_block(b)) {
        if (a >= address_of(b) + b->size) continue;
        if (is_free(b)) return make_error("heap: free(%p): double free (memory is already free)", p);
        return make_error("heap: free(%p): not the start of a block (block at %p)", p,
                          reinterpret_cast<const void*>(address_of(b) + kHeader));
    }
    return make_error("heap: free(%p): not a block", p);
}

Result<void> HeapArena::free(void* p)
{
    if (p == nullptr) return {};
    HeapBlock* b = TRY(block_to_free(p));
    // From here on nothing can fail: every check happened above.
    HeapBlock* prev = address_of(b) == begin_ ? nullptr : block_at(address_of(b) - b->prev_size);
    HeapBlock* next = next_block(b);
    bool merge_prev = prev != nullptr && is_free(prev);
    bool merge_next = next != nullptr && is_free(next);

    if (merge_prev) {  // b disappears into prev, which keeps its list place
        if (merge_next) {
            list_unlink(next);
            prev->size += next->size;
            retire(next);
        }
        prev->size += b->size;
        seal(prev);
        retire(b);
        b = prev;
    } else {
        HeapBlock* pred = merge_next ? next->prev_free : list_pred_for(b);
        if (merge_next) {
            list_unlink(next);
            b->size += next->size;
            retire(next);
        }
        b->magic = kFreeMagic;
        list_insert_after(pred, b);  // also reseals b
    }
    set_prev_size_after(b);
    return {};
}

// ---- check and stats ----

Result<void> HeapArena::check_block(const HeapBlock* b, size_t expected_prev_size) const
{
    const void* at = b;
    if (b->magic != kUsedMagic && b->magic != kFreeMagic)
        return make_error("heap: block %p: bad magic 0x%08x (overwritten?)", at, b->magic);
    if (b->checksum != checksum_of(b))
        return make_error("heap: block %p: header checksum mismatch (overwritten?)", at);
    if (b->size < kMinBlock || b->size % kGranule != 0 || b->size > end_ - address_of(b))
        return make_error("heap: block %p: bad size %zu", at, b->size);
    if (b->prev_size != expected_prev_size)
        return make_error("heap: block %p: prev_size %zu but the block below has %zu", at,
                          b->prev_size, expected_prev_size);
    return {};
}

Result<void> HeapArena::check_free_list(size_t free_blocks) const
{
    size_t n = 0;
    const HeapBlock* prev = nullptr;
    for (const HeapBlock* b = free_head_; b != nullptr; b = b->next_free) {
        const void* at = b;
        if (++n > free_blocks)
            return make_error("heap: free list longer than the %zu free blocks (cycle?)", free_blocks);
        if (!contains(b) || address_of(b) % kGranule != 0)
            return make_error("heap: free list entry %p is outside the heap", at);
        if (!is_free(b)) return make_error("heap: free list entry %p is not a free block", at);
        if (b->prev_free != prev) return make_error("heap: free list back link broken at %p", at);
        if (prev != nullptr && b <= prev)
            return make_error("heap: free list out of address order at %p", at);
        prev = b;
    }
    if (n != free_blocks)
        return make_error("heap: free list has %zu entries but the heap has %zu free blocks", n,
                          free_blocks);
    return {};
}

Result<void> HeapArena::check() const
{
    size_t free_blocks = 0;
    size_t expected_prev = 0;
    bool prev_was_free = false;
    uintptr_t a = begin_;
    while (a < end_) {
        const HeapBlock* b = block_at(a);
        if (end_ - a < kMinBlock)
            return make_error("heap: block %p: too close to the end of the heap", static_cast<const void*>(b));
        TRY_VOID(check_block(b, expected_prev));
        // Merging on free means two free blocks are never neighbours.
        if (is_free(b) && prev_was_free)
            return make_error("heap: block %p: two free neighbours (missed merge)",
                              static_cast<const void*>(b));
        free_blocks += is_free(b) ? 1 : 0;
        prev_was_free = is_free(b);
        expected_prev = b->size;
        a += b->size;
    }
    return check_free_list(free_blocks);
}

// One bounded walk over the blocks (not the free list, which a damaged heap
// could turn into a cycle): stats must never hang, even on a broken heap.
HeapStats HeapArena::stats() const
{
    HeapStats st{};
    if (begin_ == end_) return st;
    for (const HeapBlock* b = block_at(begin_); b != nullptr; b = next_block(b)) {
        size_t payload = b->size - kHeader;
        ++st.block_count;
        if (is_free(b)) {
            st.bytes_free += payload;
            if (payload > st.largest_free_block) st.largest_free_block = payload;
        } else {
            st.bytes_used += payload;
        }
    }
    return st;
}

}  // namespace corral
