// Paging protections, the frame allocator and the kernel heap.
#include "arch/x86/paging.h"
#include "arch/x86/safe_access.h"
#include "kernel/heap.h"
#include "kernel/mm/memory.h"
#include "kernel/sched/thread.h"
#include "kernel/test/ktest.h"

extern "C" void kmain(uint32_t, uint32_t);
extern "C" const uint8_t __rodata_start[];

namespace corral {
namespace {

int writable_global = 1;

KTEST(memory, text_is_read_only) {
    auto* text = reinterpret_cast<uint8_t*>(&kmain);
    uint8_t before = *text;
    // With CR0.WP the write faults even in ring 0; the fixup turns it into -1.
    KEXPECT_EQ(safe_write_u8(text, 0xcc), -1);
    KEXPECT_EQ(*text, before);
    KEXPECT_EQ(arch::lookup_pte(uint32_t(uintptr_t(text))) & arch::PTE_WRITABLE, 0u);
}

KTEST(memory, rodata_is_read_only) {
    auto* ro = const_cast<uint8_t*>(__rodata_start);
    KEXPECT_EQ(safe_write_u8(ro, *ro), -1);
}

KTEST(memory, data_is_writable) {
    KEXPECT_EQ(safe_write_u8(&writable_global, 7), 0);
    KEXPECT_EQ(writable_global, 7);
}

KTEST(memory, null_page_is_unmapped) {
    uint8_t b;
    KEXPECT_EQ(safe_read_u8(nullptr, &b), -1);
    KEXPECT_EQ(safe_read_u8(reinterpret_cast<void*>(0xfff), &b), -1);
    KEXPECT_EQ(arch::lookup_pte(0), 0u);
}

KTEST(memory, frames_alloc_free_and_double_free) {
    for (int tries = 0; tries < 500 && reaper_busy(); tries++) thread_sleep_ms(10);   // stacks still coming back
    size_t before = frames_free();
    Result<uint32_t> a = frame_alloc(), b = frame_alloc();
    KREQUIRE(a.is_ok() && b.is_ok());
    KEXPECT(a.value() != b.value());
    KEXPECT_EQ(a.value() & 0xfff, 0u);
    KEXPECT(a.value() >= 0x100000);   // low memory is never handed out
    KEXPECT_EQ(frames_free(), before - 2);
    KEXPECT(frame_free(a.value()).is_ok());
    KEXPECT(frame_free(a.value()).is_error());   // double free refused
    KEXPECT(frame_free(b.value()).is_ok());
    KEXPECT_EQ(frames_free(), before);
}

KTEST(heap, kmalloc_many_sizes_and_back) {
    HeapStats before = heap_stats();
    void* blocks[64];
    for (int i = 0; i < 64; i++) {
        size_t size = size_t(1 + i * 37);
        blocks[i] = kmalloc(size);
        KREQUIRE(blocks[i] != nullptr);
        KEXPECT_EQ(uintptr_t(blocks[i]) & 15, 0u);
        auto* p = static_cast<uint8_t*>(blocks[i]);
        for (size_t j = 0; j < size; j++) p[j] = uint8_t(i);
    }
    for (int i = 0; i < 64; i++) {
        auto* p = static_cast<uint8_t*>(blocks[i]);
        for (size_t j = 0; j < size_t(1 + i * 37); j++)
            if (p[j] != uint8_t(i)) { t.fail(__FILE__, __LINE__, "block %d overwritten", i); return; }
    }
    for (int i = 0; i < 64; i += 2) kfree(blocks[i]);
    for (int i = 1; i < 64; i += 2) kfree(blocks[i]);
    HeapStats after = heap_stats();
    KEXPECT_EQ(after.bytes_free, before.bytes_free);
    KEXPECT_EQ(after.largest_free_block, before.largest_free_block);
}

KTEST(heap, fragmentation_then_coalescing) {
    // A private arena inside the kernel heap, so the test controls every block.
    constexpr size_t ARENA = 64 * 1024;
    void* region = kmalloc(ARENA);
    KREQUIRE(region);
    HeapArena arena;
    arena.init(region, ARENA);
    // Fill the arena completely with 1 KiB blocks.
    void* small[80];
    int count = 0;
    while (count < 80 && (small[count] = arena.alloc(1024)) != nullptr) count++;
    KREQUIRE(count > 40 && count < 80);
    // Free every other block: lots of free memory, but only in 1 KiB holes.
    for (int i = 0; i < count; i += 2) KEXPECT(arena.free(small[i]).is_ok());
    KEXPECT(arena.bytes_free() >= size_t(count / 2) * 1024);
    KEXPECT(arena.largest_free_block() < 2 * 1024);
    KEXPECT(arena.alloc(2 * 1024) == nullptr);
    // Freeing the neighbours coalesces the holes into one block again.
    for (int i = 1; i < count; i += 2) KEXPECT(arena.free(small[i]).is_ok());
    KEXPECT(arena.largest_free_block() >= 40 * 1024);
    void* big = arena.alloc(40 * 1024);
    KEXPECT(big != nullptr);
    KEXPECT(arena.check().is_ok());
    kfree(region);
}

KTEST(heap, double_free_and_foreign_pointer_refused) {
    constexpr size_t ARENA = 16 * 1024;
    void* region = kmalloc(ARENA);
    KREQUIRE(region);
    HeapArena arena;
    arena.init(region, ARENA);
    void* p = arena.alloc(100);
    KREQUIRE(p);
    KEXPECT(arena.free(p).is_ok());
    Result<void> again = arena.free(p);
    KEXPECT(again.is_error());
    int on_stack;
    KEXPECT(arena.free(&on_stack).is_error());
    KEXPECT(arena.check().is_ok());
    kfree(region);
}

struct Tracked {
    static int live;
    int value;
    explicit Tracked(int v) : value(v) { live++; }
    ~Tracked() { live--; }
};
int Tracked::live = 0;

KTEST(heap, new_and_delete_run_constructors) {
    Tracked* one = new Tracked(5);
    Tracked* many = new Tracked[3]{Tracked(1), Tracked(2), Tracked(3)};
    KEXPECT_EQ(Tracked::live, 4);
    KEXPECT_EQ(one->value + many[2].value, 8);
    delete one;
    delete[] many;
    KEXPECT_EQ(Tracked::live, 0);
}

}  // namespace
}  // namespace corral
