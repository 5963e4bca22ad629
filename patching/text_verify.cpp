#include "patching/text_verify.h"

#include "kernel/console/console.h"
#include "kernel/panic.h"
#include "kernel/shell.h"
#include "kernel/lib/hash.h"
#include "kernel/lib/string.h"
#include "patching/module/module_format.h"
#include "patching/text_writer.h"
#include "patching/transaction.h"

extern "C" const uint8_t __text_start[], __text_end[];

namespace corral {
namespace {

struct TableHeader {
    char magic[4];
    uint32_t text_start, text_size, chunk_size, chunk_count, whole_hash;
};

// Filled by the build (objcopy --update-section).  volatile: the compiler
// must read what the build wrote, not the placeholder below.
[[gnu::section(".texthash"), gnu::used, gnu::aligned(4)]] const volatile uint8_t
    text_hash_table[TEXT_HASH_RESERVED] = {'u', 'n', 's', 'e', 't'};

}  // namespace

uint32_t kernel_build_id() {
    uint8_t head[module::TEXTHASH_HEADER_SIZE];
    for (size_t i = 0; i < sizeof head; i++) head[i] = text_hash_table[i];
    Result<uint32_t> id = module::build_id_from_texthash(head, sizeof head);
    return id.is_ok() ? id.value() : 0;
}

namespace {

uint32_t table_word(int index) {
    uint32_t v = 0;
    for (int b = 3; b >= 0; b--) v = v << 8 | text_hash_table[index * 4 + b];
    return v;
}

TextJournalEntry sorted[TEXT_JOURNAL_MAX];   // under the shell's single caller; see text_verify

int sort_journal() {
    const int n = text_journal_count();
    for (int i = 0; i < n; i++) {
        TextJournalEntry e = text_journal_entry(i);
        int j = i;
        for (; j > 0 && sorted[j - 1].address > e.address; j--) sorted[j] = sorted[j - 1];
        sorted[j] = e;
    }
    return n;   // never above TEXT_JOURNAL_MAX: the writer refuses past it
}

uint8_t live(uintptr_t a) { return *reinterpret_cast<const uint8_t*>(a); }

struct OwnerSearch { uintptr_t address; PatchRecord* found; };
// Applied first, then reverted (a hotpatch revert leaves its padding jmp),
// then patches only defined on the same function.
int owner_rank(const PatchRecord* r) {
    return r->state == PatchState::Applied ? 3 : r->state == PatchState::Reverted ? 2 : 1;
}
void find_owner(PatchRecord* r, void* ctx) {
    auto* s = static_cast<OwnerSearch*>(ctx);
    // The padding before the entry belongs to the patch too (hotpatch's jmp).
    if (s->address < r->target - 16 || s->address >= r->target + r->target_size) return;
    if (!s->found || owner_rank(r) > owner_rank(s->found)) s->found = r;
}

void print_range(uintptr_t start, const TextJournalEntry* first, int n) {
    OwnerSearch owner{start, nullptr};
    patch_for_each(find_owner, &owner);
    kprintf("  %#zx +%d:", start, n);
    for (int i = 0; i < n; i++) kprintf(" %02x", live(first[i].address));
    kprintf(" (ELF:");
    for (int i = 0; i < n; i++) kprintf(" %02x", first[i].original);
    if (owner.found) kprintf(") patch '%s' (%s)\n", owner.found->name, patch_state_name(owner.found->state));
    else kprintf(") no patch owns it\n");
}

// The patcher's changed bytes that differ now, as ranges of adjacent bytes.
void report_patched(TextVerifyReport& r, int n, bool print) {
    for (int i = 0; i < n;) {
        if (live(sorted[i].address) == sorted[i].original) { i++; continue; }
        int len = 1;
        while (i + len < n && sorted[i + len].address == sorted[i].address + len &&
               live(sorted[i + len].address) != sorted[i + len].original)
            len++;
        r.patched_ranges++;
        r.patched_bytes += len;
        if (print) print_range(sorted[i].address, &sorted[i], len);
        i += len;
    }
}

}  // namespace

TextVerifyReport text_verify(bool print) {
    TextVerifyReport r{};
    TableHeader h;
    for (size_t i = 0; i < sizeof h; i++) reinterpret_cast<uint8_t*>(&h)[i] = text_hash_table[i];
    const uintptr_t start = uintptr_t(__text_start);
    r.table_present = h.magic[0] == 'T' && h.magic[1] == 'X' && h.magic[2] == 'T' && h.magic[3] == 'H' && h.text_start == start &&
                      h.text_size == uintptr_t(__text_end) - start && h.chunk_size > 0;
    if (!r.table_present) {
        if (print) kprintf("text verify: no link-time hash of .text in this kernel (was it built by make?)\n");
        return r;
    }
    const int n = sort_journal();
    r.chunks = int(h.chunk_count);
    int j = 0;   // next journal entry, in address order
    for (uint32_t c = 0; c < h.chunk_count; c++) {
        const uintptr_t from = start + c * h.chunk_size;
        const uintptr_t to = from + h.chunk_size < uintptr_t(__text_end) ? from + h.chunk_size : uintptr_t(__text_end);
        uint32_t hash = FNV1A_INIT;
        for (uintptr_t a = from; a < to; a++) {
            while (j < n && sorted[j].address < a) j++;
            hash = fnv1a_step(hash, j < n && sorted[j].address == a ? sorted[j].original : live(a));
        }
        if (hash == table_word(int(sizeof h / 4) + int(c))) continue;
        r.unexplained_chunks++;
        if (print) kprintf("  %#zx..%#zx: changed, and not by the patcher (the hash recorded at link time differs)\n",
                           from, to);
    }
    report_patched(r, n, print);
    if (print) {
        if (r.unexplained_chunks == 0 && r.patched_ranges == 0)
            kprintf("text verify: clean: %d chunks of .text (%#zx..%#zx) are byte-identical to the ELF\n", r.chunks,
                    start, uintptr_t(__text_end));
        else
            kprintf("text verify: %d range(s), %d byte(s) changed by patches; %d chunk(s) changed by something else\n",
                    r.patched_ranges, r.patched_bytes, r.unexplained_chunks);
    }
    return r;
}

namespace {

int cmd_text(int argc, char** argv) {
    if (argc == 2 && str_eq(argv[1], "cleanup")) {
        Result<int> n = patch_cleanup_padding(true);
        if (n.is_error()) return shell_error("%s", n.error());
        kprintf("text cleanup: padding put back under %d function(s)\n", n.value());
        return 0;
    }
    if (argc != 2 || !str_eq(argv[1], "verify")) return shell_error("usage: text verify|cleanup");
    TextVerifyReport r = text_verify(true);
    return r.table_present && r.unexplained_chunks == 0 ? 0 : 1;
}
SHELL_COMMAND("text", "text verify|cleanup", "compare live text with the ELF (link-time hash); put back padding reverts left",
              cmd_text);

}  // namespace
}  // namespace corral
