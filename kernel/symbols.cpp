#include "kernel/symbols.h"

#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

extern "C" const uint8_t __ksyms_start[], __ksyms_end[];

namespace corral {
namespace {

// Layout written by scripts/gen-symbols (all little-endian u32).
constexpr uint32_t KSYMS_MAGIC = 0x4d59534b;   // "KSYM"
struct Header { uint32_t magic, count, strings_offset; };
struct Entry { uint32_t address, size, name_offset, type, linkage_offset; };

const Header* header() {
    if (size_t(__ksyms_end - __ksyms_start) < sizeof(Header)) return nullptr;
    auto* h = reinterpret_cast<const Header*>(__ksyms_start);
    return h->magic == KSYMS_MAGIC ? h : nullptr;
}
const Entry* entries() { return reinterpret_cast<const Entry*>(__ksyms_start + sizeof(Header)); }

Symbol make_symbol(const Entry& e) {
    const char* strings = reinterpret_cast<const char*>(__ksyms_start + header()->strings_offset);
    return Symbol{strings + e.name_offset, e.address, e.size, char(e.type)};
}

bool is_code(uint32_t type) { return type == 'T' || type == 't' || type == 'W' || type == 'w'; }

// True when `query` names `full` exactly or as its trailing `::` components.
bool name_matches(const char* full, const char* query) {
    size_t fl = str_len(full), ql = str_len(query);
    if (ql > fl) return false;
    if (!str_eq(full + (fl - ql), query)) return false;
    return fl == ql || (fl - ql >= 2 && full[fl - ql - 1] == ':' && full[fl - ql - 2] == ':');
}

}  // namespace

size_t symbol_count() { return header() ? header()->count : 0; }
Symbol symbol_at(size_t i) { return make_symbol(entries()[i]); }

bool symbol_for_address(uintptr_t address, SymbolHit* hit) {
    const Header* h = header();
    if (!h || h->count == 0) return false;
    const Entry* e = entries();
    // Entries are sorted by address: find the last one at or below `address`.
    size_t lo = 0, hi = h->count;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (e[mid].address <= address) lo = mid; else hi = mid;
    }
    // Prefer a sized symbol that really contains the address.
    for (size_t i = lo + 1; i-- > 0;) {
        if (e[i].address > address) continue;
        uint32_t end = e[i].address + (e[i].size ? e[i].size : 1);
        if (address < end || (e[i].size == 0 && is_code(e[i].type) && i + 1 < h->count &&
                              address < e[i + 1].address)) {
            *hit = SymbolHit{make_symbol(e[i]), address - e[i].address};
            return true;
        }
        if (e[i].address + 0x10000 < address) break;   // nothing nearby covers it
    }
    return false;
}

bool symbol_by_linkage_name(const char* linkage, Symbol* out) {
    const Header* h = header();
    if (!h) return false;
    const char* strings = reinterpret_cast<const char*>(__ksyms_start + h->strings_offset);
    for (size_t i = 0; i < h->count; i++)
        if (str_eq(strings + entries()[i].linkage_offset, linkage)) {
            *out = make_symbol(entries()[i]);
            return true;
        }
    return false;
}

Result<Symbol> symbol_by_name(const char* name) {
    size_t n = symbol_count();
    for (size_t i = 0; i < n; i++) {
        Symbol s = symbol_at(i);
        if (str_eq(s.name, name)) return s;
    }
    for (size_t i = 0; i < n; i++) {
        Symbol s = symbol_at(i);
        if (name_matches(s.name, name)) return s;
    }
    // An extern "C" function declared in a namespace is named with it by
    // gdb and the docs (corral::kmain) but not in the symbol table (kmain).
    const char* last = nullptr;
    for (const char* p = name; p[0] && p[1]; p++)
        if (p[0] == ':' && p[1] == ':') last = p + 2;
    if (last && *last)
        for (size_t i = 0; i < n; i++) {
            Symbol s = symbol_at(i);
            if (str_eq(s.name, last)) return s;
        }
    return make_error("no symbol named '%s'", name);
}

namespace {
bool (*outside_kernel)(uintptr_t, char*, size_t) = nullptr;
}  // namespace

void symbols_set_outside_kernel(bool (*name)(uintptr_t address, char* buf, size_t size)) { outside_kernel = name; }

void symbolize(uintptr_t address, char* buf, size_t size) {
    SymbolHit hit;
    if (!symbol_for_address(address, &hit)) {
        if (!outside_kernel || !outside_kernel(address, buf, size)) format(buf, size, "%p", (void*)address);
    }
    else if (hit.offset == 0)
        format(buf, size, "%s", hit.symbol.name);
    else
        format(buf, size, "%s+%#zx", hit.symbol.name, hit.offset);
}

void symbolize_return(uintptr_t address, char* buf, size_t size) {
    SymbolHit hit;
    if (address && symbol_for_address(address - 1, &hit))
        format(buf, size, "%s+%#zx", hit.symbol.name, hit.offset + 1);
    else
        symbolize(address, buf, size);
}

}  // namespace corral
