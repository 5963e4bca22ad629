// Writing to read-only kernel text.  Never by clearing CR0.WP: the target
// page is mapped a second time, writable, at a private virtual address (the
// alias), written there, and the alias is removed again.  .text stays
// read-only everywhere else the whole time.
//
// A write changes memory only.  Before another CPU may execute the new
// bytes it must execute a serializing instruction (Intel SDM vol. 3,
// 8.1.3): the corral's release path and the int3 sync rounds do that, and
// also flush the alias from each CPU's TLB.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {

void text_writer_init();

// Copies `len` bytes (at most 16) to kernel text at `address` through the
// alias, one byte at a time, in increasing address order.
Result<void> text_write(uintptr_t address, const uint8_t* bytes, size_t len);
// One aligned 16-bit store: no CPU can ever see half of it.  This is what
// makes the hotpatch layout's 2-byte entry switch safe.
Result<void> text_write_u16_atomic(uintptr_t address, uint16_t value);

// Called right before and right after every write, with the range written
// (never while another write is under way: both calls hold the writer's
// lock).  patchtorture counts, with it, the calls that were inside a
// target while its bytes changed.  Null: none.  It must be NOT_PATCHABLE.
using TextWriteObserver = void (*)(uintptr_t address, size_t len);
void text_write_set_observer(TextWriteObserver observer);
// ktests: mapping the second page of a write that straddles two fails
// (the first is mapped by then), so the test sees what is left writable.
void text_write_fail_second_page_for_tests(bool fail);

// Every byte ever written through this writer, with what the ELF had there
// before the first write (text verify undoes these to compare with the
// hash recorded at link time).
struct TextJournalEntry { uintptr_t address; uint8_t original; };
constexpr int TEXT_JOURNAL_MAX = 4096;   // bytes; distinct sites are few (each at most 16 bytes)
int text_journal_count();
TextJournalEntry text_journal_entry(int i);
// What the ELF had at `address`, if the writer ever changed it.
bool text_journal_original(uintptr_t address, uint8_t* original);
// Negative control only: forget a byte, so its change becomes unexplained.
void text_journal_forget(uintptr_t address);

// The alias's virtual address range, for TLB flushes on other CPUs.
uintptr_t text_alias_base();
void text_alias_flush_local();

// Whether [address, address+len) lies in kernel .text at all.
bool is_kernel_text(uintptr_t address, size_t len);
// Whether it touches code the patcher runs while patching.
bool is_not_patchable(uintptr_t address, size_t len);

}  // namespace corral
