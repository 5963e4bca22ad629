#include "patching/module/loader.h"

#include "arch/x86/paging.h"
#include "arch/x86/safe_access.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/console/console.h"
#include "kernel/mm/memory.h"
#include "kernel/multiboot.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/smp.h"
#include "kernel/symbols.h"
#include "patching/corral.h"
#include "patching/klp/klp.h"
#include "patching/module/module_elf.h"
#include "patching/module/module_format.h"
#include "patching/scan.h"
#include "patching/text_verify.h"
#include "patching/text_writer.h"
#include "patching/transaction.h"

namespace corral::module {
namespace {

// Each module gets a slot of the virtual space above the kernel stacks: its
// code pages, then its data pages.  A slot is never shared, so a stale
// translation of a freed module can only point at a page no one maps.
constexpr uintptr_t REGION = 0xd8000000;
constexpr uint32_t SLOT_BYTES = 2 * 1024 * 1024;   // > max_image_size, with room for page rounding

struct Module {
    LoadedModule info;
    bool used;
    PatchRecord* records[MAX_TARGETS];
    PatchSet* set;
};

Module modules[MAX_MODULES];
Mutex loader_mutex("module-loader");
ModuleLayout layout;   // ~20 KiB: never on a stack; under loader_mutex

uint32_t pages_for(uint32_t bytes) { return (bytes + arch::PAGE_SIZE - 1) / arch::PAGE_SIZE; }

bool resolve(void*, const char* name, KernelSymbol* out) {
    Symbol s;
    if (!symbol_by_linkage_name(name, &s)) return false;
    *out = KernelSymbol{uint32_t(s.address), uint32_t(s.size)};
    return true;
}

// The bytes the linker put there: a byte the patcher changed is read from
// its journal.  A module's old-bytes hash says which code it was built
// against, and that is the same whether or not a patch (built-in or another
// module) is applied there now; whether it may stack on that patch is the
// strategy's question, asked when it is applied.
bool read_bytes(void*, uint32_t address, uint8_t* out, size_t count) {
    for (size_t i = 0; i < count; i++) {
        const uintptr_t at = uintptr_t(address + i);
        if (text_journal_original(at, &out[i])) continue;
        if (safe_read_u8(reinterpret_cast<const void*>(at), &out[i]) != 0) return false;
    }
    return true;
}

// Unmaps `pages` pages from `va` on every CPU, then frees their frames.
void release(uintptr_t va, uint32_t pages) {
    if (pages == 0) return;
    uint32_t frames[SLOT_BYTES / arch::PAGE_SIZE];
    uint32_t n = 0;
    for (uint32_t p = 0; p < pages; p++) {
        const uint32_t pte = arch::lookup_pte(uint32_t(va + p * arch::PAGE_SIZE));
        if (pte & arch::PTE_PRESENT) frames[n++] = pte & ~0xfffu;
    }
    (void)unmap_pages_everywhere(va, pages);   // never gives up: a stale mapping is not allowed
    for (uint32_t i = 0; i < n; i++) (void)frame_free(frames[i]);
}

// Maps fresh, zeroed, writable pages; on failure nothing stays mapped.
Result<void> map_fresh(uintptr_t va, uint32_t pages) {
    for (uint32_t p = 0; p < pages; p++) {
        const uintptr_t at = va + p * arch::PAGE_SIZE;
        Result<uint32_t> frame = frame_alloc();
        Result<void> mapped = frame.is_ok() ? arch::map_page(uint32_t(at), frame.value(), arch::PTE_WRITABLE)
                                            : Result<void>(frame.error_value());
        if (mapped.is_error()) {
            if (frame.is_ok()) (void)frame_free(frame.value());
            release(va, p);
            return make_error("module: no memory for %u pages: %s", pages, mapped.error());
        }
        for (uint32_t i = 0; i < arch::PAGE_SIZE / 4; i++) reinterpret_cast<uint32_t*>(at)[i] = 0;
    }
    return Ok{};
}

// W^X: once relocated, the code is read-only (and, as all memory without
// PAE's NX bit, executable), as kernel text is.
Result<void> seal_code(uintptr_t va, uint32_t pages) {
    for (uint32_t p = 0; p < pages; p++) {
        const uint32_t at = uint32_t(va + p * arch::PAGE_SIZE);
        const uint32_t frame = arch::lookup_pte(at) & ~0xfffu;
        arch::unmap_page(at);
        TRY_VOID(arch::map_page(at, frame, 0));
    }
    return tlb_shootdown_range(va, pages);   // no CPU may keep a writable translation
}

uintptr_t section_address(const Module& m, const LoadSection& s) {
    return (s.executable() ? m.info.code : m.info.data) + s.image_offset;
}

void copy_and_relocate(const Module& m) {
    for (int i = 0; i < layout.section_count; i++) {
        const LoadSection& s = layout.sections[i];
        if (!s.bytes) continue;   // .bss: the pages are zeroed
        auto* to = reinterpret_cast<uint8_t*>(section_address(m, s));
        for (uint32_t b = 0; b < s.size; b++) to[b] = s.bytes[b];
    }
    for (int i = 0; i < layout.relocation_count; i++) {
        const LoadRelocation& r = layout.relocations[i];
        const uintptr_t place = section_address(m, layout.sections[r.section]) + r.offset;
        uintptr_t symbol = r.value;
        if (r.kind == SymbolKind::Module) symbol = section_address(m, layout.sections[r.symbol_section]) + r.value;
        auto* word = reinterpret_cast<uint32_t*>(place);
        const uint32_t addend = *word;   // SHT_REL: the addend is what the object holds there
        *word = r.type == elf::R_386_32 ? uint32_t(symbol + addend) : uint32_t(symbol + addend - place);
    }
}

Module* find(const char* name) {
    for (Module& m : modules)
        if (m.used && str_eq(m.info.name, name)) return &m;
    return nullptr;
}

// The module's patches: one named like the module, or members and a set.
Result<void> define_patches(Module& m) {
    const char* names[MAX_TARGETS];
    char member[MAX_TARGETS][32];
    for (int i = 0; i < layout.target_count; i++) {
        const LoadTarget& t = layout.targets[i];
        SymbolHit hit;
        if (!symbol_for_address(t.target_address, &hit) || hit.offset != 0)
            return make_error("module: no kernel symbol starts at %#x", t.target_address);
        if (layout.target_count == 1) str_copy(member[i], m.info.name, sizeof member[i]);
        else format(member[i], sizeof member[i], "%s.%d", m.info.name, i);
        const uintptr_t replacement = section_address(m, layout.sections[t.replacement_section]) + t.replacement_offset;
        Result<PatchRecord*> r = patch_define_at(member[i], hit.symbol, replacement, t.strategy);
        if (r.is_error()) return r.error_value();
        m.records[i] = r.value();
        names[i] = member[i];
    }
    if (layout.target_count > 1) m.set = TRY(patch_set_define(m.info.name, names, layout.target_count));
    return Ok{};
}

void forget_patches(Module& m) {
    if (m.set) patch_set_undefine(m.set);
    m.set = nullptr;
    for (PatchRecord*& r : m.records)
        if (r) {
            (void)patch_undefine(r);
            r = nullptr;
        }
}

void free_module(Module& m) {
    forget_patches(m);
    release(m.info.code, m.info.code_pages);
    release(m.info.data, m.info.data_pages);
    m = Module{};
}

}  // namespace

Result<const LoadedModule*> module_load(const uint8_t* bytes, size_t size) {
    KernelFacts facts{kernel_build_id(), nullptr, resolve, read_bytes, ModuleLimits{}};
    facts.limits.max_file_size = MAX_MODULE_FILE;
    facts.limits.max_image_size = SLOT_BYTES - 2 * arch::PAGE_SIZE;
    return module_load_with(bytes, size, facts);
}

Result<const LoadedModule*> module_load_with(const uint8_t* bytes, size_t size, const KernelFacts& facts) {
    MutexGuard g(loader_mutex);
    TRY_VOID(validate_module(bytes, size, facts, layout));
    if (find(layout.name)) return make_error("module: %s is loaded already", layout.name);
    if (patch_find(layout.name) || patch_set_find(layout.name))
        return make_error("module: a patch named '%s' exists already", layout.name);
    int slot = 0;
    while (slot < MAX_MODULES && modules[slot].used) slot++;
    if (slot == MAX_MODULES) return make_error("module: %d modules are loaded, the most there can be", MAX_MODULES);
    Module& m = modules[slot];
    m = Module{};
    str_copy(m.info.name, layout.name, sizeof m.info.name);
    m.info.targets = layout.target_count;
    m.info.code_size = layout.code_size;
    m.info.data_size = layout.data_size;
    m.info.code_pages = pages_for(layout.code_size);
    m.info.data_pages = pages_for(layout.data_size);
    m.info.code = REGION + uintptr_t(slot) * SLOT_BYTES;
    m.info.data = m.info.code + m.info.code_pages * arch::PAGE_SIZE;
    TRY_VOID(map_fresh(m.info.code, m.info.code_pages));
    Result<void> r = map_fresh(m.info.data, m.info.data_pages);
    if (r.is_error()) {
        release(m.info.code, m.info.code_pages);
        m = Module{};
        return r.error_value();
    }
    m.used = true;
    copy_and_relocate(m);
    r = seal_code(m.info.code, m.info.code_pages);
    if (r.is_ok()) r = define_patches(m);
    if (r.is_error()) {
        free_module(m);
        return r.error_value();
    }
    return &m.info;
}

namespace {

// Unload: nothing may still lead into the module's code.
Result<void> check_unused(Module& m) {
    for (PatchRecord* r : m.records) {
        if (!r) continue;
        if (r->state == PatchState::Applied) return make_error("%s is applied; revert it first", r->name);
        if (klp::in_transition(r->target))
            return make_error("%s is in a klp transition; wait for it to finish", r->name);
    }
    // A hotpatch revert leaves its padding jmp pointing at the replacement.
    TRY(patch_cleanup_padding());
    const uintptr_t start = m.info.code, end = m.info.code + m.info.code_size;
    for (PatchRecord* r : m.records) {
        if (!r) continue;
        const auto* pad = reinterpret_cast<const uint8_t*>(r->target - 5);
        if (pad[0] != 0xe9) continue;
        const uintptr_t to = r->target + uint32_t(pad[1] | pad[2] << 8 | pad[3] << 16 | uint32_t(pad[4]) << 24);
        if (to >= start && to < end)
            return make_error("the padding before %s still jumps into the module", r->target_name);
    }
    return Ok{};
}

struct CodeScan {
    uintptr_t start, end;
    bool busy;
    ScanHit hit;
};

Result<void> scan_module_code(void* ctx, const CorralReport&) {
    auto& s = *static_cast<CodeScan*>(ctx);
    s.busy = scan_saved_contexts(s.start, s.end, ScanMode::Function, &s.hit);
    return Ok{};
}

}  // namespace

Result<void> module_unload(const char* name) {
    MutexGuard g(loader_mutex);
    Module* m = find(name);
    if (!m) return make_error("no module named '%s' is loaded", name);
    TRY_VOID(check_unused(*m));
    CodeScan s{m->info.code, m->info.code + m->info.code_pages * arch::PAGE_SIZE, false, {}};
    TRY_VOID(corral_all_cpus(scan_module_code, &s));
    if (s.busy)
        return make_error("thread %d '%s' is at %#zx in %s's code (%s); try again", s.hit.thread_id,
                          s.hit.thread_name, s.hit.eip, name, s.hit.kind);
    free_module(*m);
    return Ok{};
}

bool module_at(int index, LoadedModule* out) {
    int seen = 0;
    for (const Module& m : modules) {
        if (!m.used) continue;
        if (seen++ == index) {
            *out = m.info;
            return true;
        }
    }
    return false;
}

bool name_module_code(uintptr_t address, char* buf, size_t size) {
    const LoadedModule* m = module_containing(address);
    if (!m) return false;
    format(buf, size, "[%s]+%#zx", m->name, address - m->code);
    return true;
}

void loader_init() { symbols_set_outside_kernel(name_module_code); }

void load_boot_modules() {
    const BootInfo& info = boot_info();
    if (info.modules_ignored)
        kprintf("boot: %zu boot module(s) past the first %zu ignored\n", info.modules_ignored, MAX_BOOT_MODULES);
    for (size_t i = 0; i < info.module_count; i++) {
        const BootModule& b = info.modules[i];
        Result<const LoadedModule*> r =
            module_load(reinterpret_cast<const uint8_t*>(uintptr_t(b.start)), size_t(b.end - b.start));
        if (r.is_error()) kprintf("boot: patch module '%s': %s\n", b.name, r.error());
        else kprintf("boot: patch module '%s': loaded %s (%d target(s))\n", b.name, r.value()->name,
                     r.value()->targets);
    }
}

const LoadedModule* module_containing(uintptr_t address) {
    for (const Module& m : modules)
        if (m.used && address >= m.info.code && address < m.info.code + m.info.code_size) return &m.info;
    return nullptr;
}

}  // namespace corral::module
