// ELF checks of a module's payload (see module_elf.h for the order they
// run in, and docs/module-format.md for why each one exists).
//
// Arithmetic on offsets read from the file is done so that it cannot wrap:
// `offset + size <= limit` is always written `offset <= limit && size <=
// limit - offset`.
#include "patching/module/module_elf.h"

#include "kernel/lib/string.h"

namespace corral::module {

using namespace elf;

Printable printable(const char* s) {
    Printable p{};
    constexpr size_t keep = sizeof p.text - 4;   // room for "..." and the NUL
    size_t i = 0;
    for (; s[i] != '\0' && i < keep; i++) p.text[i] = (s[i] < 0x20 || s[i] > 0x7e) ? '?' : s[i];
    if (s[i] != '\0') str_copy(p.text + i, "...", 4);
    return p;
}

SectionHeader ElfView::section(uint32_t index) const {
    const uint8_t* h = data + shoff + index * SHDR_SIZE;
    return {le32(h), le32(h + 4), le32(h + 8), le32(h + 16), le32(h + 20),
            le32(h + 24), le32(h + 28), le32(h + 32), le32(h + 36)};
}

const char* ElfView::section_name(uint32_t index) const {
    return reinterpret_cast<const char*>(data + section(shstrndx).offset + section(index).name);
}

SymbolEntry ElfView::symbol(uint32_t index) const {
    const uint8_t* e = data + section(symtab).offset + index * SYM_SIZE;
    return {le32(e), le32(e + 4), le32(e + 8), uint8_t(e[12] & 0xf), uint8_t(e[12] >> 4), le16(e + 14)};
}

const char* ElfView::symbol_name(const SymbolEntry& s) const {
    return reinterpret_cast<const char*>(data + section(strtab).offset + s.name);
}

const char* section_type_name(uint32_t type) {
    static const char* const names[] = {"SHT_NULL",    "SHT_PROGBITS", "SHT_SYMTAB",     "SHT_STRTAB",
                                        "SHT_RELA",    "SHT_HASH",     "SHT_DYNAMIC",    "SHT_NOTE",
                                        "SHT_NOBITS",  "SHT_REL",      "SHT_SHLIB",      "SHT_DYNSYM",
                                        "unknown", "unknown",      "SHT_INIT_ARRAY", "SHT_FINI_ARRAY",
                                        "SHT_PREINIT_ARRAY", "SHT_GROUP", "SHT_SYMTAB_SHNDX"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

const char* relocation_type_name(uint32_t type) {
    static const char* const names[] = {
        "R_386_NONE",      "R_386_32",        "R_386_PC32",       "R_386_GOT32",     "R_386_PLT32",
        "R_386_COPY",      "R_386_GLOB_DAT",  "R_386_JMP_SLOT",   "R_386_RELATIVE",  "R_386_GOTOFF",
        "R_386_GOTPC",     "R_386_32PLT",     "unknown", "unknown",         "R_386_TLS_TPOFF",
        "R_386_TLS_IE",    "R_386_TLS_GOTIE", "R_386_TLS_LE",     "R_386_TLS_GD",    "R_386_TLS_LDM",
        "R_386_16",        "R_386_PC16",      "R_386_8",          "R_386_PC8",       "R_386_TLS_GD_32",
        "R_386_TLS_GD_PUSH", "R_386_TLS_GD_CALL", "R_386_TLS_GD_POP", "R_386_TLS_LDM_32", "R_386_TLS_LDM_PUSH",
        "R_386_TLS_LDM_CALL", "R_386_TLS_LDM_POP", "R_386_TLS_LDO_32", "R_386_TLS_IE_32", "R_386_TLS_LE_32",
        "R_386_TLS_DTPMOD32", "R_386_TLS_DTPOFF32", "R_386_TLS_TPOFF32", "R_386_SIZE32", "R_386_TLS_GOTDESC",
        "R_386_TLS_DESC_CALL", "R_386_TLS_DESC", "R_386_IRELATIVE", "R_386_GOT32X"};
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

Result<void> check_elf_header(ElfView& v, const uint8_t* p, uint32_t size, const ModuleLimits& limits) {
    if (size < EHDR_SIZE) return make_error("module: the payload has %u bytes, too few for an ELF header (52)", size);
    if (p[0] != 0x7f || p[1] != 'E' || p[2] != 'L' || p[3] != 'F')
        return make_error("module: payload starts %02x %02x %02x %02x, not an ELF file (7f 45 4c 46)", p[0], p[1],
                          p[2], p[3]);
    if (p[4] != 1) return make_error("module: ELF class is %u, want 1 (32-bit)", p[4]);
    if (p[5] != 1) return make_error("module: ELF data encoding is %u, want 1 (little-endian)", p[5]);
    if (p[6] != 1 || le32(p + 20) != 1)
        return make_error("module: ELF version is %u (ident) and %u (header), want 1", p[6], le32(p + 20));
    if (le16(p + 16) != 1)
        return make_error("module: ELF type is %u, want 1 (ET_REL, a relocatable object)", le16(p + 16));
    if (le16(p + 18) != 3) return make_error("module: ELF machine is %u, want 3 (EM_386)", le16(p + 18));
    if (le16(p + 40) != EHDR_SIZE) return make_error("module: ELF header size is %u, want 52", le16(p + 40));
    if (le16(p + 44) != 0)
        return make_error("module: ELF has %u program headers, a relocatable object has none", le16(p + 44));
    if (le16(p + 46) != SHDR_SIZE) return make_error("module: ELF section header size is %u, want 40", le16(p + 46));
    const int limit = limits.max_sections < MAX_SECTIONS ? limits.max_sections : MAX_SECTIONS;
    v.data = p;
    v.size = size;
    v.shnum = le16(p + 48);
    v.shoff = le32(p + 32);
    v.shstrndx = le16(p + 50);
    if (v.shnum == 0 || v.shnum > limit)
        return make_error("module: ELF has %u sections, the limit is 1..%d", v.shnum, limit);
    const uint32_t table = v.shnum * SHDR_SIZE;
    if (v.shoff > size || table > size - v.shoff)
        return make_error("module: section header table at offset %u (%u bytes) is outside the %u-byte payload",
                          v.shoff, table, size);
    if (v.shoff < EHDR_SIZE)
        return make_error("module: section header table at offset %u overlaps the ELF header", v.shoff);
    if (v.shstrndx == 0 || v.shstrndx >= v.shnum)
        return make_error("module: section name table index %u is not a section (1..%u)", v.shstrndx, v.shnum - 1u);
    return Ok{};
}

namespace {

// A string table is usable once it is in bounds and its last byte is NUL:
// then every name that starts inside it ends inside it.
Result<void> check_string_table(const ElfView& v, uint32_t index, const char* what) {
    const SectionHeader s = v.section(index);
    if (s.type != SHT_STRTAB)
        return make_error("module: %s (section %u) has type %s (%u), want SHT_STRTAB", what, index,
                          section_type_name(s.type), s.type);
    if (s.offset > v.size || s.size > v.size - s.offset)
        return make_error("module: %s (section %u) at offset %u (%u bytes) is outside the %u-byte payload", what,
                          index, s.offset, s.size, v.size);
    if (s.size == 0 || v.data[s.offset + s.size - 1] != '\0')
        return make_error("module: %s (section %u) does not end with a NUL", what, index);
    return Ok{};
}

bool supported_section_type(uint32_t type) {
    return type == SHT_PROGBITS || type == SHT_NOBITS || type == SHT_SYMTAB || type == SHT_STRTAB ||
           type == SHT_REL || type == SHT_GROUP || type == SHT_NOTE;
}

bool overlaps(uint32_t a, uint32_t a_size, uint32_t b, uint32_t b_size) {
    return a_size > 0 && b_size > 0 && a < b + b_size && b < a + a_size;   // all in bounds: no wrap
}

Result<void> check_section_placement(const ElfView& v, uint32_t i, const SectionHeader& s) {
    const Printable name = v.section_label(i);
    if (s.has_bytes() && (s.offset > v.size || s.size > v.size - s.offset))
        return make_error("module: section %s at offset %u (%u bytes) is outside the %u-byte payload", name.text,
                          s.offset, s.size, v.size);
    if (!s.has_bytes()) return Ok{};
    if (overlaps(s.offset, s.size, 0, EHDR_SIZE))
        return make_error("module: section %s at offset %u overlaps the ELF header", name.text, s.offset);
    if (overlaps(s.offset, s.size, v.shoff, v.shnum * SHDR_SIZE))
        return make_error("module: section %s at offset %u (%u bytes) overlaps the section header table at %u", name.text,
                          s.offset, s.size, v.shoff);
    return Ok{};
}

Result<void> check_section(const ElfView& v, uint32_t i, const SectionHeader& s) {
    const uint32_t names = v.section(v.shstrndx).size;
    if (s.name >= names)
        return make_error("module: section %u name offset %u is outside the section name table (%u bytes)", i, s.name,
                          names);
    const Printable name = v.section_label(i);
    if (!supported_section_type(s.type))
        return make_error("module: section %s has type %s (%u), which is not supported", name.text,
                          section_type_name(s.type), s.type);
    TRY_VOID(check_section_placement(v, i, s));
    if ((s.flags & SHF_WRITE) && (s.flags & SHF_EXECINSTR))
        return make_error("module: section %s is both writable and executable", name.text);
    if (s.flags & SHF_TLS) return make_error("module: section %s holds thread-local data, which the kernel has not", name.text);
    if ((s.flags & SHF_ALLOC) && s.type != SHT_PROGBITS && s.type != SHT_NOBITS)
        return make_error("module: section %s is allocatable but has type %s (%u)", name.text,
                          section_type_name(s.type), s.type);
    if (s.align > MAX_SECTION_ALIGN || (s.align & (s.align - 1)) != 0)
        return make_error("module: section %s alignment %u is not a power of two up to %u", name.text, s.align,
                          MAX_SECTION_ALIGN);
    return Ok{};
}

}  // namespace

Result<void> check_sections(ElfView& v) {
    const SectionHeader first = v.section(0);
    if (first.type != SHT_NULL) return make_error("module: section 0 has type %u, want SHT_NULL (0)", first.type);
    TRY_VOID(check_string_table(v, v.shstrndx, "the section name table"));
    int symbol_tables = 0;
    for (uint32_t i = 1; i < v.shnum; i++) {
        const SectionHeader s = v.section(i);
        TRY_VOID(check_section(v, i, s));
        if (s.type == SHT_SYMTAB) symbol_tables++, v.symtab = uint16_t(i);
    }
    if (symbol_tables != 1) return make_error("module: the payload has %d symbol tables, want exactly 1", symbol_tables);
    return Ok{};
}

namespace {

Result<void> check_symbol(const ElfView& v, uint32_t i) {
    const SymbolEntry e = v.symbol(i);
    const uint32_t names = v.section(v.strtab).size;
    if (e.name >= names)
        return make_error("module: symbol %u name offset %u is outside the string table (%u bytes)", i, e.name, names);
    const Printable name = printable(v.symbol_name(e));
    if (e.type > 4)   // STT_NOTYPE OBJECT FUNC SECTION FILE; not COMMON, TLS, GNU_IFUNC
        return make_error("module: symbol %s has type %u, which is not supported", name.text, e.type);
    if (e.bind > 2 && e.bind != 10)   // STB_LOCAL GLOBAL WEAK, and GNU_UNIQUE (a global to us)
        return make_error("module: symbol %s has binding %u, which is not supported", name.text, e.bind);
    if (e.shndx == SHN_UNDEF || e.shndx == SHN_ABS) return Ok{};
    if (e.shndx == SHN_COMMON)
        return make_error("module: symbol %s is a common symbol (compile with -fno-common)", name.text);
    if (e.shndx >= v.shnum)
        return make_error("module: symbol %s is in section %u, which is not a section", name.text, e.shndx);
    const SectionHeader s = v.section(e.shndx);
    if (e.value > s.size || e.size > s.size - e.value)
        return make_error("module: symbol %s (offset %u, %u bytes) does not fit in section %s (%u bytes)", name.text,
                          e.value, e.size, v.section_label(e.shndx).text, s.size);
    return Ok{};
}

}  // namespace

Result<void> check_symbols(ElfView& v) {
    const SectionHeader s = v.section(v.symtab);
    if (s.entsize != SYM_SIZE) return make_error("module: symbol table entry size is %u, want 16", s.entsize);
    if (s.size == 0 || s.size % SYM_SIZE != 0)
        return make_error("module: symbol table size %u is not a positive multiple of 16", s.size);
    if (s.link == 0 || s.link >= v.shnum)
        return make_error("module: symbol table links section %u, which is not a section", s.link);
    TRY_VOID(check_string_table(v, s.link, "the symbol string table"));
    v.strtab = uint16_t(s.link);
    v.symbol_count = s.size / SYM_SIZE;
    if (s.info > v.symbol_count)
        return make_error("module: symbol table says %u local symbols, it has %u", s.info, v.symbol_count);
    for (uint32_t i = 1; i < v.symbol_count; i++) TRY_VOID(check_symbol(v, i));
    return Ok{};
}

// COMDAT groups (a class's vtable, an inline function kept out of line)
// are loaded like any other section: the module keeps its own copy.  Only
// the group's own table has to be sane.
Result<void> check_groups(const ElfView& v) {
    for (uint32_t g = 1; g < v.shnum; g++) {
        const SectionHeader s = v.section(g);
        if (s.type != SHT_GROUP) continue;
        const Printable name = v.section_label(g);
        if (s.entsize != 4 || s.size < 4 || s.size % 4 != 0)
            return make_error("module: group section %s has %u bytes of %u-byte entries, want 4-byte entries",
                              name.text, s.size, s.entsize);
        if (s.link != v.symtab)
            return make_error("module: group section %s links section %u, not the symbol table", name.text, s.link);
        if (s.info == 0 || s.info >= v.symbol_count)
            return make_error("module: group section %s names symbol %u, the table has 1..%u", name.text, s.info,
                              v.symbol_count - 1);
        const uint32_t flags = le32(v.data + s.offset);
        if (flags & ~GRP_COMDAT) return make_error("module: group section %s has flags %#x", name.text, flags);
        for (uint32_t at = 4; at < s.size; at += 4) {
            const uint32_t member = le32(v.data + s.offset + at);
            if (member == 0 || member >= v.shnum || member == g)
                return make_error("module: group section %s lists section %u, which cannot be a member", name.text,
                                  member);
        }
    }
    return Ok{};
}

namespace {

Result<void> record_relocation(const ElfView& v, uint32_t rel_section, uint32_t patched, uint32_t offset,
                               uint8_t type, uint32_t symbol, const KernelFacts& facts, ModuleLayout& out) {
    const SymbolEntry e = v.symbol(symbol);
    LoadRelocation r{uint16_t(v.load_index[patched]), type, SymbolKind::Absolute, 0, offset, e.value};
    if (e.shndx == SHN_UNDEF) {
        KernelSymbol k{};
        if (!facts.resolve(facts.ctx, v.symbol_name(e), &k))
            return make_error("module: undefined symbol %s (used in %s) is not in the kernel",
                              printable(v.symbol_name(e)).text, v.section_label(rel_section).text);
        r.kind = SymbolKind::Kernel;
        r.value = k.address;
    } else if (e.shndx != SHN_ABS) {
        if (v.load_index[e.shndx] < 0)
            return make_error("module: relocation in %s uses a symbol of section %s, which is not loaded",
                              v.section_label(rel_section).text, v.section_label(e.shndx).text);
        r.kind = SymbolKind::Module;
        r.symbol_section = uint16_t(v.load_index[e.shndx]);
    }
    const int limit = facts.limits.max_relocations < MAX_RELOCATIONS ? facts.limits.max_relocations : MAX_RELOCATIONS;
    if (out.relocation_count >= limit) return make_error("module: more than %d relocations to load", limit);
    out.relocations[out.relocation_count++] = r;
    return Ok{};
}

Result<void> check_relocation_section(const ElfView& v, uint32_t i, const KernelFacts& facts, ModuleLayout& out) {
    const SectionHeader s = v.section(i);
    const Printable name = v.section_label(i);
    if (s.entsize != REL_SIZE || s.size % REL_SIZE != 0)
        return make_error("module: relocation section %s has %u bytes of %u-byte entries, want 8-byte entries",
                          name.text, s.size, s.entsize);
    if (s.link != v.symtab)
        return make_error("module: relocation section %s links section %u, not the symbol table", name.text, s.link);
    if (s.info == 0 || s.info >= v.shnum)
        return make_error("module: relocation section %s applies to section %u, which is not a section", name.text,
                          s.info);
    const SectionHeader target = v.section(s.info);
    if (target.type != SHT_PROGBITS)
        return make_error("module: relocation section %s applies to section %s, which has no bytes to relocate",
                          name.text, v.section_label(s.info).text);
    for (uint32_t k = 0; k < s.size / REL_SIZE; k++) {
        const uint8_t* entry = v.data + s.offset + k * REL_SIZE;
        const uint32_t offset = le32(entry), info = le32(entry + 4);
        const uint8_t type = uint8_t(info & 0xff);
        const uint32_t symbol = info >> 8;
        if (type != R_386_32 && type != R_386_PC32)
            return make_error("module: relocation type %s (%u) in %s is not supported", relocation_type_name(type),
                              type, name.text);
        if (offset > target.size || target.size - offset < 4)
            return make_error("module: relocation %u in %s at offset %#x leaves fewer than 4 bytes in %s (%u bytes)", k,
                              name.text, offset, v.section_label(s.info).text, target.size);
        if (symbol == 0 || symbol >= v.symbol_count)
            return make_error("module: relocation %u in %s uses symbol %u, the table has 1..%u", k, name.text, symbol,
                              v.symbol_count - 1);
        if (v.load_index[s.info] >= 0)
            TRY_VOID(record_relocation(v, i, s.info, offset, type, symbol, facts, out));
    }
    return Ok{};
}

}  // namespace

Result<void> check_relocations(const ElfView& v, const KernelFacts& facts, ModuleLayout& out) {
    out.relocation_count = 0;
    for (uint32_t i = 1; i < v.shnum; i++)
        if (v.section(i).type == SHT_REL) TRY_VOID(check_relocation_section(v, i, facts, out));
    return Ok{};
}

Result<void> find_replacement(const ElfView& v, const char* name, int target, LoadTarget& t) {
    int found = 0;
    SymbolEntry hit{};
    for (uint32_t i = 1; i < v.symbol_count; i++) {
        const SymbolEntry e = v.symbol(i);
        if (e.shndx != SHN_UNDEF && str_eq(v.symbol_name(e), name)) found++, hit = e;
    }
    const Printable label = printable(name);
    if (found == 0) return make_error("module: target %d: replacement %s is not defined in the payload", target, label.text);
    if (found > 1)
        return make_error("module: target %d: replacement %s is defined %d times in the payload", target, label.text,
                          found);
    const bool in_code = hit.shndx < v.shnum && v.load_index[hit.shndx] >= 0 &&
                         (v.section(hit.shndx).flags & SHF_EXECINSTR) && hit.value < v.section(hit.shndx).size;
    if (!in_code)
        return make_error("module: target %d: replacement %s is not code in an executable section", target, label.text);
    t.replacement_section = uint16_t(v.load_index[hit.shndx]);
    t.replacement_offset = hit.value;
    return Ok{};
}

}  // namespace corral::module
