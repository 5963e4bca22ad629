#include "patching/text_writer.h"

#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/sections.h"
#include "kernel/panic.h"
#include "kernel/sync/spinlock.h"

extern "C" const uint8_t __text_start[], __text_end[], __landing_start[], __landing_end[];
extern "C" const uint8_t __not_patchable_text_start[], __not_patchable_text_end[];

namespace corral {
namespace {

// Two pages: a write of up to 16 bytes can straddle a page boundary.
constexpr uintptr_t ALIAS_BASE = 0xf0000000;
Spinlock writer_lock("text-writer");

TextJournalEntry journal[TEXT_JOURNAL_MAX];   // per byte
volatile int journal_count = 0;
TextWriteObserver volatile observer = nullptr;

NOT_PATCHABLE void observe(uintptr_t address, size_t len) {
    if (TextWriteObserver o = observer) o(address, len);
}

// Remembers the bytes before their first change.  Under writer_lock.
NOT_PATCHABLE Result<void> journal_before_write(uintptr_t address, size_t len) {
    ASSERT_HOLDING(writer_lock);
    for (size_t i = 0; i < len; i++) {
        const uintptr_t a = address + i;
        bool known = false;
        for (int j = 0; j < journal_count && !known; j++) known = journal[j].address == a;
        if (known) continue;
        if (journal_count == TEXT_JOURNAL_MAX) return make_error("text_write: journal full (%d bytes)", TEXT_JOURNAL_MAX);
        journal[journal_count] = TextJournalEntry{a, *reinterpret_cast<const uint8_t*>(a)};
        journal_count = journal_count + 1;
    }
    return Ok{};
}

bool fail_second_page = false;   // ktests: mapping the alias's second page fails

NOT_PATCHABLE Result<uintptr_t> map_alias(uintptr_t address, size_t len) {
    const uintptr_t first = address & ~uintptr_t(arch::PAGE_SIZE - 1);
    const uintptr_t last = (address + len - 1) & ~uintptr_t(arch::PAGE_SIZE - 1);
    TRY_VOID(arch::map_page(ALIAS_BASE, uint32_t(first), arch::PTE_WRITABLE));
    if (last != first) {
        if (fail_second_page) return make_error("text_write: the alias's second page could not be mapped (injected)");
        TRY_VOID(arch::map_page(ALIAS_BASE + arch::PAGE_SIZE, uint32_t(last), arch::PTE_WRITABLE));
    }
    return ALIAS_BASE + (address - first);
}

// The writable alias of the text page(s) holding [address, address+len),
// for as long as the object lives: the destructor unmaps both alias pages
// (and drops them from this CPU's TLB) on every way out of the scope, the
// early returns of TRY included, so kernel text is never left writable --
// not even when the second page of a write that straddles two could not
// be mapped after the first was.
class TextAlias {
public:
    [[nodiscard]] NOT_PATCHABLE TextAlias(uintptr_t address, size_t len) : at_(map_alias(address, len)) {}
    NOT_PATCHABLE ~TextAlias() {
        arch::unmap_page(ALIAS_BASE);
        arch::unmap_page(ALIAS_BASE + arch::PAGE_SIZE);
    }
    TextAlias(const TextAlias&) = delete;
    TextAlias& operator=(const TextAlias&) = delete;
    // Where `address` is writable, or why it is not.
    const Result<uintptr_t>& at() const { return at_; }

private:
    Result<uintptr_t> at_;
};

Result<void> check_target(uintptr_t address, size_t len) {
    if (len == 0 || len > 16) return make_error("text_write: %zu bytes (1..16 allowed)", len);
    if (!is_kernel_text(address, len))
        return make_error("text_write: %#zx..%#zx is not kernel text", address, address + len);
    return Ok{};
}

}  // namespace

void text_writer_init() {
    // Create the alias's page table now, not in the middle of a corral.
    TextAlias alias(uintptr_t(__text_start), 1);
    if (alias.at().is_error()) panic("text_writer_init: %s", alias.at().error());
}

bool is_kernel_text(uintptr_t address, size_t len) {
    auto within = [&](const uint8_t* start, const uint8_t* end) {
        return address >= uintptr_t(start) && address + len <= uintptr_t(end) && address + len > address;
    };
    return within(__text_start, __text_end) || within(__landing_start, __landing_end);   // the far-jmp landing too
}

bool is_not_patchable(uintptr_t address, size_t len) {
    return address < uintptr_t(__not_patchable_text_end) && address + len > uintptr_t(__not_patchable_text_start);
}

NOT_PATCHABLE Result<void> text_write(uintptr_t address, const uint8_t* bytes, size_t len) {
    TRY_VOID(check_target(address, len));
    SpinlockGuard guard(writer_lock);
    TRY_VOID(journal_before_write(address, len));
    {
        TextAlias alias(address, len);
        auto* dst = reinterpret_cast<volatile uint8_t*>(TRY(alias.at()));
        observe(address, len);
        for (size_t i = 0; i < len; i++) dst[i] = bytes[i];
    }
    observe(address, len);
    return Ok{};
}

NOT_PATCHABLE Result<void> text_write_u16_atomic(uintptr_t address, uint16_t value) {
    TRY_VOID(check_target(address, 2));
    // lab hotpatch: begin u16-store
    if (address & 1) return make_error("text_write_u16_atomic: %#zx is not 2-byte aligned", address);
    SpinlockGuard guard(writer_lock);
    TRY_VOID(journal_before_write(address, 2));
    {
        TextAlias alias(address, 2);
        auto* dst = reinterpret_cast<volatile uint16_t*>(TRY(alias.at()));
        observe(address, 2);
        *dst = value;   // one `mov word`: atomic when aligned
    }
    // lab hotpatch: end u16-store
    observe(address, 2);
    return Ok{};
}

void text_write_set_observer(TextWriteObserver o) { observer = o; }
void text_write_fail_second_page_for_tests(bool fail) { fail_second_page = fail; }

uintptr_t text_alias_base() { return ALIAS_BASE; }

int text_journal_count() { return journal_count; }
TextJournalEntry text_journal_entry(int i) { return journal[i]; }

bool text_journal_original(uintptr_t address, uint8_t* original) {
    SpinlockGuard guard(writer_lock);
    for (int j = 0; j < journal_count; j++)
        if (journal[j].address == address) {
            *original = journal[j].original;
            return true;
        }
    return false;
}

void text_journal_forget(uintptr_t address) {
    SpinlockGuard guard(writer_lock);
    for (int j = 0; j < journal_count; j++)
        if (journal[j].address == address) {
            journal[j] = journal[journal_count - 1];
            journal_count = journal_count - 1;
            return;
        }
}

NOT_PATCHABLE void text_alias_flush_local() {
    arch::invlpg(ALIAS_BASE);
    arch::invlpg(ALIAS_BASE + arch::PAGE_SIZE);
}

}  // namespace corral
