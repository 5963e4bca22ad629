// verify-layout: the post-link check of Corral's patch-site layouts
// (docs/design.md §2, patching/layout.h).  `make` runs it after every link, so a
// patch target without its layout fails the build instead of failing the
// patcher (or worse, a CPU) at run time.
//
//   verify-layout KERNEL.elf
//
// Hotpatch layout, for every HotpatchSite {name, entry} in .hotpatch_sites:
//   - the entry is 16-byte aligned and starts with `8b ff` (mov edi,edi),
//     the 2 bytes the patcher replaces with `jmp short -7` in one store;
//   - the 5 bytes before it are int3 (0xcc) padding that no symbol owns:
//     the patcher writes its `jmp rel32` there, and nothing may execute
//     them.  A 0x90 nop sled (what -fpatchable-function-entry gives) *is*
//     executed by whoever falls through it, so it is refused with that reason;
//   - the function has a symbol of its own and no GCC clone
//     (.constprop/.isra/.part/.cold): callers of a clone bypass the patch;
//   - the entry is outside [__not_patchable_text_start, _end): the patcher
//     never patches the code that does the patching.
// Fentry layout: every address in __mcount_loc is a function's entry and
// holds exactly one 5-byte instruction, `0f 1f 44 00 00` (the int3 strategy
// rewrites it as one instruction).
//
// Tables are found as sections (.hotpatch_sites, __mcount_loc) in files
// linked without a script, or by their __*_start/__*_end symbols inside
// .rodata in the kernel.  Exit 0 with one summary line, or 1 with one line
// per problem.
#include <cxxabi.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <string>
#include <vector>

#include "patching/x86_decode.h"
#include "scripts/host/elf32.h"

namespace corral {
namespace {

constexpr uint32_t kHotpatchAlignment = 16;
constexpr uint32_t kMinimumPadding = 5;  // a jmp rel32
constexpr uint8_t kHotpatchEntry[2] = {0x8B, 0xFF};
constexpr uint8_t kFentryNop[5] = {0x0F, 0x1F, 0x44, 0x00, 0x00};
constexpr const char* kCloneMarkers[] = {".constprop.", ".isra.", ".part.", ".cold"};

std::string demangle(const std::string& name)
{
    int status = 0;
    char* readable = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
    if (readable == nullptr) return name;
    std::string result(readable);
    free(readable);
    return result;
}

// "demo::reset(int)" -> "demo::reset": what DECLARE_HOTPATCHABLE's #fn names.
std::string without_parameters(const std::string& demangled)
{
    size_t paren = demangled.find('(');
    return paren == std::string::npos ? demangled : demangled.substr(0, paren);
}

// Does `symbol_name` (mangled or not) name the function declared as `declared`?
// A declared name may be unqualified ("reset" for demo::reset).
bool names_declared_function(const std::string& symbol_name, const std::string& declared)
{
    std::string base = without_parameters(demangle(symbol_name));
    if (base == declared || symbol_name == declared) return true;
    std::string qualified_suffix = "::" + declared;
    return base.size() > qualified_suffix.size() &&
           base.compare(base.size() - qualified_suffix.size(), qualified_suffix.size(), qualified_suffix) == 0;
}

std::string hex_bytes(const uint8_t* bytes, size_t count)
{
    std::string text;
    char pair[4];
    for (size_t i = 0; i < count; ++i) {
        snprintf(pair, sizeof(pair), i ? " %02x" : "%02x", bytes[i]);
        text += pair;
    }
    return text;
}

struct Table {
    uint32_t start = 0;
    uint32_t end = 0;
};

class LayoutVerifier {
public:
    explicit LayoutVerifier(const Elf32Image& image);
    size_t check_hotpatch_sites();
    size_t check_fentry_sites();
    const std::vector<std::string>& problems() const { return problems_; }

private:
    void report(const std::string& who, const std::string& what) { problems_.push_back(who + ": " + what); }
    Table find_table(const char* section, const char* start_symbol, const char* end_symbol);
    void check_hotpatch_site(uint32_t site_address);
    void check_own_symbol(const std::string& name, uint32_t entry);
    void check_clones(const std::string& name, uint32_t entry);
    void check_entry_bytes(const std::string& name, uint32_t entry);
    void check_padding(const std::string& name, uint32_t entry);
    void check_patchable_range(const std::string& name, uint32_t entry);
    void check_fentry_site(uint32_t site);
    const ElfSymbol* symbol_owning(uint32_t address) const;
    const ElfSymbol* function_at(uint32_t address) const;
    std::string describe(uint32_t address) const;

    const Elf32Image& image_;
    std::vector<const ElfSymbol*> code_symbols_;  // symbols in executable sections, by address
    std::vector<std::string> problems_;
};

LayoutVerifier::LayoutVerifier(const Elf32Image& image) : image_(image)
{
    for (const auto& symbol : image.symbols()) {
        if (symbol.type == STT_SECTION || symbol.type == STT_FILE || symbol.section_index == SHN_UNDEF ||
            symbol.section_index >= image.sections().size())
            continue;
        if (image.sections()[symbol.section_index].is_executable()) code_symbols_.push_back(&symbol);
    }
    std::sort(code_symbols_.begin(), code_symbols_.end(),
              [](const ElfSymbol* a, const ElfSymbol* b) { return a->value < b->value; });
}

Table LayoutVerifier::find_table(const char* section_name, const char* start_symbol, const char* end_symbol)
{
    if (const ElfSection* section = image_.find_section(section_name))
        return {section->address, section->address + section->size};
    const ElfSymbol* start = image_.find_symbol(start_symbol);
    const ElfSymbol* end = image_.find_symbol(end_symbol);
    if (start == nullptr && end == nullptr) return {};  // no such table: nothing to check
    if (start == nullptr || end == nullptr || end->value < start->value) {
        report(section_name, std::string("needs both ") + start_symbol + " and " + end_symbol + ", in order");
        return {};
    }
    return {start->value, end->value};
}

// The sized function or object that covers `address`, or a function that
// starts exactly there.  Unsized NOTYPE symbols (linker markers such as
// __text_end, plain assembler labels) do not own bytes.
const ElfSymbol* LayoutVerifier::symbol_owning(uint32_t address) const
{
    for (const auto& symbol : image_.symbols()) {
        bool sized = (symbol.type == STT_FUNC || symbol.type == STT_OBJECT) && symbol.size > 0;
        if (sized && address >= symbol.value && address - symbol.value < symbol.size) return &symbol;
        if (symbol.type == STT_FUNC && symbol.value == address) return &symbol;
    }
    return nullptr;
}

const ElfSymbol* LayoutVerifier::function_at(uint32_t address) const
{
    auto first = std::lower_bound(code_symbols_.begin(), code_symbols_.end(), address,
                                  [](const ElfSymbol* s, uint32_t a) { return s->value < a; });
    for (auto it = first; it != code_symbols_.end() && (*it)->value == address; ++it)
        if ((*it)->type == STT_FUNC) return *it;
    return nullptr;
}

// "counter_add(int)+0x3", or the bare address when no code symbol precedes it.
std::string LayoutVerifier::describe(uint32_t address) const
{
    auto after = std::upper_bound(code_symbols_.begin(), code_symbols_.end(), address,
                                  [](uint32_t a, const ElfSymbol* s) { return a < s->value; });
    char text[32];
    if (after == code_symbols_.begin()) {
        snprintf(text, sizeof(text), "0x%08x", address);
        return text;
    }
    const ElfSymbol* symbol = *(after - 1);
    if (symbol->value == address) return demangle(symbol->name);
    snprintf(text, sizeof(text), "+0x%x", address - symbol->value);
    return demangle(symbol->name) + text;
}

size_t LayoutVerifier::check_hotpatch_sites()
{
    Table table = find_table(".hotpatch_sites", "__hotpatch_sites_start", "__hotpatch_sites_end");
    if ((table.end - table.start) % sizeof(uint32_t[2]) != 0)
        report(".hotpatch_sites", "size is not a multiple of 8 (HotpatchSite is {name, entry})");
    size_t count = 0;
    for (uint32_t site = table.start; site + 8 <= table.end; site += 8, ++count) check_hotpatch_site(site);
    return count;
}

void LayoutVerifier::check_hotpatch_site(uint32_t site_address)
{
    auto name_pointer = image_.read_u32(site_address);
    auto entry = image_.read_u32(site_address + 4);
    if (name_pointer.is_error() || entry.is_error()) {
        report(".hotpatch_sites", name_pointer.is_error() ? name_pointer.error() : entry.error());
        return;
    }
    auto name_text = image_.read_string(name_pointer.value());
    char fallback[48];
    snprintf(fallback, sizeof(fallback), "hotpatch site at 0x%08x", site_address);
    std::string name = name_text.is_ok() ? name_text.value() : fallback;
    if (name_text.is_error()) report(name, std::string("unreadable name: ") + name_text.error());

    check_own_symbol(name, entry.value());
    check_clones(name, entry.value());
    if (entry.value() % kHotpatchAlignment != 0) {
        char text[64];
        snprintf(text, sizeof(text), "entry 0x%08x is not %u-byte aligned", entry.value(), kHotpatchAlignment);
        report(name, text);
    }
    check_entry_bytes(name, entry.value());
    check_padding(name, entry.value());
    check_patchable_range(name, entry.value());
}

void LayoutVerifier::check_own_symbol(const std::string& name, uint32_t entry)
{
    std::string others;
    for (const ElfSymbol* symbol : code_symbols_) {
        if (symbol->value != entry) continue;
        if (names_declared_function(symbol->name, name)) return;
        others += (others.empty() ? "" : ", ") + demangle(symbol->name);
    }
    char text[64];
    snprintf(text, sizeof(text), "has no symbol of its own at its entry 0x%08x", entry);
    report(name, text + (others.empty() ? std::string(" (no code symbol there)") : " (only " + others + ")"));
}

// GCC names a specialised copy `fn.constprop.0`, `fn.isra.0`, a split-off
// piece `fn.part.0` or `fn.cold`; calls to those never reach the patched entry.
void LayoutVerifier::check_clones(const std::string& name, uint32_t entry)
{
    const ElfSymbol* own = nullptr;
    for (const ElfSymbol* symbol : code_symbols_)
        if (symbol->value == entry && names_declared_function(symbol->name, name)) own = symbol;
    for (const ElfSymbol* symbol : code_symbols_) {
        size_t dot = symbol->name.find('.');
        if (dot == std::string::npos || dot == 0) continue;
        bool is_clone = false;
        for (const char* marker : kCloneMarkers) is_clone |= symbol->name.find(marker, dot) == dot;
        std::string base = symbol->name.substr(0, dot);
        if (!is_clone || !(own ? base == own->name : names_declared_function(base, name))) continue;
        report(name, "GCC made a clone " + demangle(symbol->name) +
                         " whose callers bypass the patched entry (HOTPATCHABLE needs noipa)");
    }
}

void LayoutVerifier::check_entry_bytes(const std::string& name, uint32_t entry)
{
    size_t available = 0;
    const uint8_t* code = image_.bytes_at(entry, &available);
    if (available >= 2 && memcmp(code, kHotpatchEntry, 2) == 0) return;
    if (available == 0) {
        report(name, "entry is not in any section with file bytes");
        return;
    }
    report(name, "entry does not start with 8b ff (found " + hex_bytes(code, std::min<size_t>(available, 2)) +
                     "): not compiled with HOTPATCHABLE (ms_hook_prologue)?");
}

// Walks back from the entry over int3 bytes that no symbol owns.
void LayoutVerifier::check_padding(const std::string& name, uint32_t entry)
{
    const ElfSection* section = image_.section_containing(entry);
    if (section == nullptr) return;  // already reported by check_entry_bytes
    uint32_t padding = 0;
    std::string stopped_by;
    while (padding < kMinimumPadding) {
        uint32_t address = entry - padding - 1;
        if (entry - section->address < padding + 1) {
            stopped_by = "the start of section " + section->name;
            break;
        }
        if (const ElfSymbol* owner = symbol_owning(address)) {
            stopped_by = "bytes of " + demangle(owner->name);
            break;
        }
        uint8_t byte = image_.section_bytes(*section)[address - section->address];
        if (byte == 0x90) {
            report(name, "padding before the entry is 0x90 nops, not int3: a nop sled is executed by whatever "
                         "runs into it (GCC's -fpatchable-function-entry makes one), and the hotpatch layout "
                         "needs padding that nothing executes");
            return;
        }
        if (byte != 0xCC) {
            char text[24];
            snprintf(text, sizeof(text), "a %02x byte", byte);
            stopped_by = text;
            break;
        }
        ++padding;
    }
    if (padding >= kMinimumPadding) return;
    char text[96];
    snprintf(text, sizeof(text), "too little padding: %u int3 bytes before the entry, need %u (then ", padding,
             kMinimumPadding);
    report(name, text + stopped_by + ")");
}

void LayoutVerifier::check_patchable_range(const std::string& name, uint32_t entry)
{
    const ElfSymbol* start = image_.find_symbol("__not_patchable_text_start");
    const ElfSymbol* end = image_.find_symbol("__not_patchable_text_end");
    if (start == nullptr || end == nullptr || entry < start->value || entry >= end->value) return;
    char text[160];
    snprintf(text, sizeof(text),
             "entry 0x%08x lies in the not-patchable text [0x%08x, 0x%08x): never patch the code that patches",
             entry, start->value, end->value);
    report(name, text);
}

size_t LayoutVerifier::check_fentry_sites()
{
    Table table = find_table("__mcount_loc", "__mcount_loc_start", "__mcount_loc_end");
    if ((table.end - table.start) % 4 != 0) report("__mcount_loc", "size is not a multiple of 4");
    size_t count = 0;
    for (uint32_t at = table.start; at + 4 <= table.end; at += 4, ++count) {
        auto site = image_.read_u32(at);
        if (site.is_error()) {
            report("__mcount_loc", site.error());
            continue;
        }
        check_fentry_site(site.value());
    }
    return count;
}

void LayoutVerifier::check_fentry_site(uint32_t site)
{
    std::string who = describe(site);
    char where[48];
    snprintf(where, sizeof(where), "fentry site 0x%08x ", site);
    if (function_at(site) == nullptr) report(who, std::string(where) + "is not at a function's entry");
    size_t available = 0;
    const uint8_t* code = image_.bytes_at(site, &available);
    const ElfSection* section = image_.section_containing(site);
    if (code == nullptr || section == nullptr || !section->is_executable()) {
        report(who, std::string(where) + "is not in executable code");
        return;
    }
    auto decoded = decode_instruction(code, available);
    bool exact = decoded.is_ok() && decoded.value().length == sizeof(kFentryNop) &&
                 memcmp(code, kFentryNop, sizeof(kFentryNop)) == 0;
    if (exact) return;
    std::string found = hex_bytes(code, std::min(available, sizeof(kFentryNop)));
    char first[64];
    if (decoded.is_ok())
        snprintf(first, sizeof(first), "its first instruction is %u byte%s", unsigned(decoded.value().length),
                 decoded.value().length == 1 ? "" : "s");
    else
        snprintf(first, sizeof(first), "it does not decode: %.40s", decoded.error());
    report(who, std::string(where) + "is not one 5-byte nop 0f 1f 44 00 00 (found " + found + "; " + first + ")");
}

int run(int argc, char** argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: verify-layout KERNEL.elf\n");
        return 2;
    }
    auto image = Elf32Image::load(argv[1]);
    if (image.is_error()) {
        fprintf(stderr, "verify-layout: %s\n", image.error());
        return 1;
    }
    LayoutVerifier verifier(image.value());
    size_t hotpatch_sites = verifier.check_hotpatch_sites();
    size_t fentry_sites = verifier.check_fentry_sites();
    for (const auto& problem : verifier.problems()) fprintf(stderr, "verify-layout: %s\n", problem.c_str());
    if (!verifier.problems().empty()) return 1;
    printf("verify-layout: %zu hotpatch sites, %zu fentry sites OK\n", hotpatch_sites, fentry_sites);
    return 0;
}

}  // namespace
}  // namespace corral

int main(int argc, char** argv) { return corral::run(argc, argv); }
