// Lab 03 (hotpatch): the checks the kernel's own ktests do not make.  They
// run in every `make test` too (test=*), so they must pass on the reference.
//
// Under the corral nobody runs while the bytes change, so the order of the
// two writes and the width of the entry's store cannot be seen from what
// the other CPUs execute.  These tests look at the writes themselves: the
// text writer's observer reports each write's range, in order, and a
// debug-register watchpoint on the entry's two bytes (through the alias,
// where the store lands) counts the stores that hit them.
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"
#include "kernel/lib/format.h"
#include "kernel/test/ktest.h"
#include "patching/layout.h"
#include "patching/strategy.h"
#include "patching/tests/generous_timeout.h"
#include "patching/text_writer.h"
#include "patching/transaction.h"

namespace corral {
namespace {

struct Write {
    uintptr_t address;
    uint32_t length;
    uint32_t entry_stores;   // stores the watchpoint saw hit the entry's two bytes
};
constexpr int MAX_WRITES = 8;
Write writes[MAX_WRITES];
volatile int write_count = 0;
volatile bool inside_write = false;
volatile uintptr_t watched_entry = 0;
volatile uint32_t stores = 0;
arch::TrapHandler previous_debug = nullptr;

constexpr uint32_t DR6_B0 = 1u << 0;
// DR0 on (L0), R/W0 = 01: data writes, LEN0 = 01: two bytes (SDM vol. 3, 17.2.4).
constexpr uint32_t DR7_WATCH_TWO_BYTES = 1u << 0 | 1u << 16 | 1u << 18;

// A data breakpoint is a trap: the store is done, EIP is already past it.
NOT_PATCHABLE bool count_store(arch::TrapFrame* frame) {
    if (!(arch::read_dr6() & DR6_B0) || !inside_write) return previous_debug ? previous_debug(frame) : false;
    arch::write_dr6(0);
    stores = stores + 1;
    return true;
}

// The observer: called right before and right after each write.
NOT_PATCHABLE void note_write(uintptr_t address, size_t length) {
    if (!inside_write) {
        stores = 0;
        inside_write = true;
        const uintptr_t e = watched_entry;
        if (address < e + 2 && address + length > e) {
            // The writer maps the page of `address` at the alias base (and the next one after it).
            const uintptr_t page = address & ~uintptr_t(arch::PAGE_SIZE - 1);
            arch::write_dr0(uint32_t(text_alias_base() + (e - page)));
            arch::write_dr7(DR7_WATCH_TWO_BYTES);
        }
        return;
    }
    arch::write_dr7(0);
    inside_write = false;
    const int n = write_count;
    if (n < MAX_WRITES) writes[n] = Write{address, uint32_t(length), stores};
    write_count = n + 1;
}

// While alive: every text write is recorded, and stores to `entry` counted.
class WatchWrites {
public:
    explicit WatchWrites(uintptr_t entry) {
        write_count = 0;
        inside_write = false;
        watched_entry = entry;
        previous_debug = arch::register_trap_handler(arch::VECTOR_DEBUG, count_store);
        text_write_set_observer(note_write);
    }
    ~WatchWrites() {
        text_write_set_observer(nullptr);
        arch::register_trap_handler(arch::VECTOR_DEBUG, previous_debug);
        watched_entry = 0;
    }
    WatchWrites(const WatchWrites&) = delete;
    WatchWrites& operator=(const WatchWrites&) = delete;
};

// "entry-5/5, entry+0/2 (2 stores)": each write's start relative to the
// entry and its length, and the stores that hit the entry.
const char* describe(uintptr_t entry, char* out, size_t size) {
    size_t at = 0;
    out[0] = 0;
    const int n = write_count < MAX_WRITES ? write_count : MAX_WRITES;
    for (int i = 0; i < n && at < size; i++) {
        at += size_t(format(out + at, size - at, "%sentry%+ld/%u", i ? ", " : "", long(writes[i].address) - long(entry),
                            writes[i].length));
        if (writes[i].entry_stores > 1 && at < size)
            at += size_t(format(out + at, size - at, " (%u stores)", writes[i].entry_stores));
    }
    if (n == 0) format(out, size, "nothing");
    return out;
}

bool wrote(int i, uintptr_t address, uint32_t length) {
    return i < write_count && writes[i].address == address && writes[i].length == length;
}

// The built-in patch 'hot', not applied, over int3 padding again (a revert
// leaves its jmp there; `text cleanup` puts the padding back).
PatchRecord* fresh_hot(KTestContext& t) {
    PatchRecord* hot = patch_find("hot");
    if (!hot || hot->state == PatchState::Applied) {
        t.fail(__FILE__, __LINE__, "the built-in patch 'hot' is missing or already applied");
        return nullptr;
    }
    Result<int> cleaned = patch_cleanup_padding();
    if (cleaned.is_error()) {
        t.fail(__FILE__, __LINE__, "text cleanup: %s", cleaned.error());
        return nullptr;
    }
    return hot;
}

// Applies `p` with hotpatch (or reverts it) with every write recorded and
// the stores at the patched entry counted; fails the test when refused.
bool patch_watched(KTestContext& t, PatchRecord* p, bool apply) {
    Result<void> r = make_error("not run");
    {
        WatchWrites w(p->target);
        r = apply ? patch_apply(p, find_strategy("hotpatch")) : patch_revert(p);
    }
    if (r.is_error()) t.fail(__FILE__, __LINE__, "patch %s %s: %s", apply ? "apply" : "revert", p->name, r.error());
    return r.is_ok();
}

// ---- Apply: the 5-byte jmp into the padding first, then the entry.

KTEST(lab_hot, padding_jmp_written_before_the_entry) {
    GenerousCorralTimeout generous;   // about what is written, not how fast: a starved host must not abort
    PatchRecord* hot = fresh_hot(t);
    if (!hot) return;
    const uintptr_t e = hot->target;
    char seen[160];
    if (!patch_watched(t, hot, true)) return;
    if (write_count != 2 || !wrote(0, e - HOTPATCH_PADDING_LENGTH, 5) || !wrote(1, e, 2))
        t.fail(__FILE__, __LINE__,
               "apply wrote %s; want the padding's jmp (entry-5/5), then the entry (entry+0/2)",
               describe(e, seen, sizeof seen));
    // Stacked on it, hot-v3 changes the padding's jmp first as well.
    PatchRecord* v3 = patch_find("hot-v3");
    KREQUIRE(v3 && v3->state != PatchState::Applied);
    const bool stacked = patch_watched(t, v3, true);
    if (stacked && (write_count < 1 || !wrote(0, e - HOTPATCH_PADDING_LENGTH, 5)))
        t.fail(__FILE__, __LINE__, "stacking hot-v3 on hot wrote %s; want the padding's jmp first",
               describe(e, seen, sizeof seen));
    if (stacked) KEXPECT(patch_revert(v3).is_ok());
    KEXPECT(patch_revert(hot).is_ok());
}

// ---- Revert: only the entry; the jmp in the padding stays.

KTEST(lab_hot, revert_writes_only_the_entry) {
    GenerousCorralTimeout generous;
    PatchRecord* hot = fresh_hot(t);
    if (!hot) return;
    const uintptr_t e = hot->target;
    const auto* pad = reinterpret_cast<const uint8_t*>(e - HOTPATCH_PADDING_LENGTH);
    Result<void> r = patch_apply(hot, find_strategy("hotpatch"));
    if (r.is_error()) return t.fail(__FILE__, __LINE__, "patch apply hot: %s", r.error());
    uint8_t jmp[5];
    for (int i = 0; i < 5; i++) jmp[i] = pad[i];
    char seen[160];
    if (!patch_watched(t, hot, false)) return;
    if (write_count != 1 || !wrote(0, e, 2))
        t.fail(__FILE__, __LINE__,
               "revert wrote %s; want the entry alone (entry+0/2): the padding keeps its jmp",
               describe(e, seen, sizeof seen));
    for (int i = 0; i < 5; i++)
        if (pad[i] != jmp[i])
            t.fail(__FILE__, __LINE__, "padding byte entry-%d is %02x after the revert, was %02x", 5 - i, pad[i], jmp[i]);
    const auto* entry = reinterpret_cast<const uint8_t*>(e);
    if (entry[0] != 0x8b || entry[1] != 0xff)
        t.fail(__FILE__, __LINE__, "the entry is %02x %02x after the revert, want 8b ff", entry[0], entry[1]);
}

// ---- The entry changes in one aligned 16-bit store.

uint32_t entry_stores_of_the_write(uintptr_t e) {
    for (int i = 0; i < write_count && i < MAX_WRITES; i++)
        if (writes[i].address < e + 2 && writes[i].address + writes[i].length > e) return writes[i].entry_stores;
    return 0;
}

KTEST(lab_hot, one_aligned_store_at_the_entry) {
    GenerousCorralTimeout generous;
    PatchRecord* hot = fresh_hot(t);
    if (!hot) return;
    const uintptr_t e = hot->target;
    char seen[160];
    if (!patch_watched(t, hot, true)) return;
    if (entry_stores_of_the_write(e) != 1)
        t.fail(__FILE__, __LINE__,
               "apply: the entry's 2 bytes took %u stores (writes: %s); want one aligned 16-bit store",
               entry_stores_of_the_write(e), describe(e, seen, sizeof seen));
    if (!patch_watched(t, hot, false)) return;
    if (entry_stores_of_the_write(e) != 1)
        t.fail(__FILE__, __LINE__, "revert: the entry's two bytes took %u stores (writes: %s); want one",
               entry_stores_of_the_write(e), describe(e, seen, sizeof seen));
    // The writer itself: one store, and an odd address refused with nothing written.
    const auto* code = reinterpret_cast<const uint8_t*>(e);
    const uint16_t now = uint16_t(code[0] | code[1] << 8);
    Result<void> r = make_error("not run");
    {
        WatchWrites w(e);
        r = text_write_u16_atomic(e, now);
    }
    if (r.is_error()) t.fail(__FILE__, __LINE__, "text_write_u16_atomic(entry): %s", r.error());
    else if (entry_stores_of_the_write(e) != 1)
        t.fail(__FILE__, __LINE__, "text_write_u16_atomic(entry) took %u stores; want one",
               entry_stores_of_the_write(e));
    const uint8_t before[3] = {code[0], code[1], code[2]};
    r = text_write_u16_atomic(e + 1, uint16_t(code[1] | code[2] << 8));   // the same bytes: harmless if written
    if (r.is_ok())
        t.fail(__FILE__, __LINE__, "text_write_u16_atomic(entry+1) succeeded: refuse an odd address");
    for (int i = 0; i < 3; i++) KEXPECT_EQ(code[i], before[i]);
}

}  // namespace
}  // namespace corral
