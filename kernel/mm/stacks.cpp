#include "kernel/mm/stacks.h"

#include "arch/x86/paging.h"
#include "kernel/config.h"
#include "kernel/mm/memory.h"
#include "kernel/panic.h"
#include "kernel/smp.h"
#include "kernel/sync/spinlock.h"

namespace corral {
namespace {

constexpr uintptr_t REGION = 0xd0000000;   // above the identity map, below the MMIO and text alias
constexpr uint32_t PAGES = config::KERNEL_STACK_SIZE / arch::PAGE_SIZE;
constexpr uintptr_t SLOT_SIZE = (PAGES + 1) * arch::PAGE_SIZE;   // guard page + stack
constexpr int SLOTS = 512;

Spinlock slots_lock("stack-slots");
uint32_t used[SLOTS / 32];

uintptr_t slot_base(int slot) { return REGION + uintptr_t(slot) * SLOT_SIZE; }

int take_slot() {
    SpinlockGuard g(slots_lock);
    for (int i = 0; i < SLOTS; i++) {
        if (used[i / 32] & (1u << (i % 32))) continue;
        used[i / 32] |= 1u << (i % 32);
        return i;
    }
    return -1;
}

void give_back_slot(int slot) {
    SpinlockGuard g(slots_lock);
    used[slot / 32] &= ~(1u << (slot % 32));
}

// Unmaps and frees the first `pages` pages of a slot's stack.
// The frames are freed only after every CPU has dropped the mappings (one
// shootdown for the whole range): a stale mapping would alias a reused frame.
void release_pages(int slot, uint32_t pages) {
    if (pages == 0) return;
    const uintptr_t first = slot_base(slot) + arch::PAGE_SIZE;
    uint32_t frames[PAGES];
    for (uint32_t p = 0; p < pages; p++) frames[p] = arch::lookup_pte(uint32_t(first + arch::PAGE_SIZE * p)) & ~0xfffu;
    Result<void> gone = unmap_pages_everywhere(first, pages);
    if (gone.is_error()) panic("stack_free: %s", gone.error());
    for (uint32_t p = 0; p < pages; p++)
        if (frame_free(frames[p]).is_error()) panic("stack_free: frame %#x was not allocated", frames[p]);
}

}  // namespace

static_assert(config::KERNEL_STACK_SIZE % arch::PAGE_SIZE == 0, "stacks are whole pages");

Result<uint8_t*> stack_alloc() {
    const int slot = take_slot();
    if (slot < 0) return make_error("no free stack slot (%d threads)", SLOTS);
    for (uint32_t p = 0; p < PAGES; p++) {
        Result<uint32_t> frame = frame_alloc();
        Result<void> mapped = frame.is_ok() ? arch::map_page(uint32_t(slot_base(slot) + arch::PAGE_SIZE * (p + 1)),
                                                             frame.value(), arch::PTE_WRITABLE)
                                            : Result<void>(frame.error_value());
        if (mapped.is_error()) {
            if (frame.is_ok()) (void)frame_free(frame.value());
            release_pages(slot, p);
            give_back_slot(slot);
            return mapped.error_value();
        }
    }
    return reinterpret_cast<uint8_t*>(slot_base(slot) + arch::PAGE_SIZE);
}

void stack_free(uint8_t* stack) {
    const uintptr_t base = uintptr_t(stack) - arch::PAGE_SIZE;
    if (base < REGION || (base - REGION) % SLOT_SIZE != 0 || (base - REGION) / SLOT_SIZE >= uintptr_t(SLOTS))
        panic("stack_free(%p): not a stack from stack_alloc", stack);
    const int slot = int((base - REGION) / SLOT_SIZE);
    release_pages(slot, PAGES);
    give_back_slot(slot);
}

bool is_stack_guard(uintptr_t address) {
    if (address < REGION || address >= REGION + SLOTS * SLOT_SIZE) return false;
    return (address - REGION) % SLOT_SIZE < arch::PAGE_SIZE;
}

}  // namespace corral
