// text verify: the live text compared with the hash recorded at link time.
#include "arch/x86/paging.h"
#include "kernel/test/ktest.h"
#include "patching/text_verify.h"
#include "patching/text_writer.h"
#include "patching/transaction.h"

extern "C" const uint8_t __text_start[];

namespace corral {
namespace {

// W^X by construction: a write that straddles two pages, whose second alias
// page cannot be mapped once the first is, fails -- and leaves neither alias
// page mapped (the page table says so), the text as it was.
KTEST(text, a_failed_write_leaves_no_writable_alias) {
    const uintptr_t boundary = (uintptr_t(__text_start) + 2 * arch::PAGE_SIZE) & ~uintptr_t(arch::PAGE_SIZE - 1);
    const uintptr_t at = boundary - 1;
    const uint8_t same[2] = {*reinterpret_cast<const uint8_t*>(at), *reinterpret_cast<const uint8_t*>(at + 1)};
    text_write_fail_second_page_for_tests(true);
    Result<void> r = text_write(at, same, 2);   // its own bytes: nothing would change if it went through
    text_write_fail_second_page_for_tests(false);
    KEXPECT(r.is_error());
    KEXPECT_EQ(arch::lookup_pte(uint32_t(text_alias_base())) & arch::PTE_PRESENT, 0u);
    KEXPECT_EQ(arch::lookup_pte(uint32_t(text_alias_base() + arch::PAGE_SIZE)) & arch::PTE_PRESENT, 0u);
    KEXPECT_EQ(text_verify(false).unexplained_chunks, 0);
    KEXPECT(text_write(at, same, 2).is_ok());   // and the writer works as before
    KEXPECT_EQ(arch::lookup_pte(uint32_t(text_alias_base())) & arch::PTE_PRESENT, 0u);
}

KTEST(text, verify_finds_the_link_time_hash_and_no_stray_change) {
    TextVerifyReport r = text_verify(false);
    KREQUIRE(r.table_present);
    KEXPECT(r.chunks > 100);
    KEXPECT_EQ(r.unexplained_chunks, 0);
}

// An int3 patch shows up as its 5 bytes while applied, and leaves the text
// exactly as it was once reverted.
KTEST(text, verify_sees_a_patch_and_its_revert) {
    PatchRecord* f = patch_find("fentry");
    KREQUIRE(f && f->state != PatchState::Applied);
    const int base = text_verify(false).patched_bytes;
    KREQUIRE(patch_apply(f, find_strategy("int3")).is_ok());
    TextVerifyReport applied = text_verify(false);
    KEXPECT(patch_revert(f).is_ok());
    TextVerifyReport reverted = text_verify(false);
    KEXPECT(applied.patched_bytes > base);
    KEXPECT_EQ(applied.unexplained_chunks, 0);
    KEXPECT_EQ(reverted.patched_bytes, base);
    KEXPECT_EQ(reverted.unexplained_chunks, 0);
}

// A hotpatch revert leaves its padding jmp; the cleanup puts the padding
// back, and then the text is the ELF's again.
KTEST(text, cleanup_puts_back_the_padding_a_revert_left) {
    PatchRecord* hot = patch_find("hot");
    KREQUIRE(hot && hot->state != PatchState::Applied);
    KREQUIRE(patch_cleanup_padding().is_ok());
    const int base = text_verify(false).patched_bytes;
    KREQUIRE(patch_apply(hot, find_strategy("hotpatch")).is_ok());
    KEXPECT(patch_revert(hot).is_ok());
    KEXPECT_EQ(text_verify(false).patched_bytes, base + 5);   // the jmp in the padding, on purpose
    Result<int> cleaned = patch_cleanup_padding();
    KREQUIRE(cleaned.is_ok());
    KEXPECT(cleaned.value() >= 1);
    KEXPECT_EQ(text_verify(false).patched_bytes, base);
    KEXPECT_EQ(text_verify(false).unexplained_chunks, 0);
}

// The second hour's sequence: hotpatch, revert, naive, revert.  The naive
// patch wrote the entry last, but the hotpatch's jmp is still in the
// padding; the cleanup must find it from the text, not from the patch
// that happens to be the latest.
KTEST(text, cleanup_restores_a_padding_whatever_strategy_wrote_the_entry_last) {
    PatchRecord* seed = patch_find("seed");
    KREQUIRE(seed && seed->state != PatchState::Applied);
    KREQUIRE(patch_cleanup_padding().is_ok());
    const int base = text_verify(false).patched_bytes;
    KREQUIRE(patch_apply(seed, find_strategy("hotpatch")).is_ok());
    KREQUIRE(patch_revert(seed).is_ok());
    KREQUIRE(patch_apply(seed, find_strategy("naive")).is_ok());
    KREQUIRE(patch_revert(seed).is_ok());
    KEXPECT_EQ(text_verify(false).patched_bytes, base + 5);
    Result<int> cleaned = patch_cleanup_padding();
    KREQUIRE(cleaned.is_ok());
    KEXPECT_EQ(cleaned.value(), 1);
    const TextVerifyReport after = text_verify(false);
    KEXPECT_EQ(after.patched_bytes, base);
    KEXPECT_EQ(after.patched_ranges, 0);
    KEXPECT_EQ(after.unexplained_chunks, 0);
}

// While a patch leads into the padding, the cleanup leaves it alone.
KTEST(text, cleanup_keeps_the_padding_of_an_applied_hotpatch) {
    PatchRecord* hot = patch_find("hot");
    KREQUIRE(hot && hot->state != PatchState::Applied);
    KREQUIRE(patch_cleanup_padding().is_ok());   // what earlier tests left, first
    KREQUIRE(patch_apply(hot, find_strategy("hotpatch")).is_ok());
    const auto* pad = reinterpret_cast<const uint8_t*>(hot->target - 5);
    const uint8_t jmp_before = pad[0];
    const int applied = text_verify(false).patched_bytes;
    Result<int> cleaned = patch_cleanup_padding();
    const int after = text_verify(false).patched_bytes;
    const uint8_t jmp_after = pad[0];
    KEXPECT(patch_revert(hot).is_ok());
    KREQUIRE(cleaned.is_ok());
    KEXPECT_EQ(cleaned.value(), 0);
    KEXPECT_EQ(after, applied);
    KEXPECT_EQ(jmp_before, 0xe9);
    KEXPECT_EQ(jmp_after, 0xe9);
    KREQUIRE(patch_cleanup_padding().is_ok());
}

// Negative control: a change the patcher cannot explain must be caught.
// The byte is in the multiboot header (data at the start of .text that
// nothing reads after boot); the journal is told to forget it.
KTEST(text, verify_catches_a_change_nobody_made) {
    const uintptr_t victim = uintptr_t(__text_start) + 1;
    const uint8_t original = *reinterpret_cast<const uint8_t*>(victim);
    const uint8_t flipped = uint8_t(original ^ 0x5a);
    KREQUIRE(text_write(victim, &flipped, 1).is_ok());
    text_journal_forget(victim);
    TextVerifyReport caught = text_verify(false);
    KREQUIRE(text_write(victim, &original, 1).is_ok());
    text_journal_forget(victim);
    KEXPECT_EQ(caught.unexplained_chunks, 1);
    KEXPECT_EQ(text_verify(false).unexplained_chunks, 0);
}

}  // namespace
}  // namespace corral
