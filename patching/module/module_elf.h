// The ELF32 half of the module validator (internal to patching/module/).
//
// The payload of a .kpatch file is an i386 relocatable object.  ElfView
// reads its fields straight from the bytes, little-endian, one byte at a
// time: the buffer may be unaligned and the host and the kernel must agree,
// so no struct is ever laid over the file.  Every function here assumes the
// checks before it passed (check_elf_header, then check_sections, then
// check_symbols ...), which is how each offset it reads is known to be in
// bounds.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"
#include "patching/module/module_format.h"

namespace corral::module {

namespace elf {
constexpr uint32_t EHDR_SIZE = 52, SHDR_SIZE = 40, SYM_SIZE = 16, REL_SIZE = 8;
constexpr uint32_t SHT_NULL = 0, SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_RELA = 4, SHT_NOBITS = 8,
                   SHT_REL = 9, SHT_NOTE = 7, SHT_GROUP = 17;
constexpr uint32_t SHF_WRITE = 0x1, SHF_ALLOC = 0x2, SHF_EXECINSTR = 0x4, SHF_TLS = 0x400;
constexpr uint16_t SHN_UNDEF = 0, SHN_ABS = 0xfff1, SHN_COMMON = 0xfff2;
constexpr uint8_t R_386_32 = 1, R_386_PC32 = 2;
constexpr uint32_t GRP_COMDAT = 1;
}  // namespace elf

inline uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
inline uint32_t le32(const uint8_t* p) {
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

struct SectionHeader {
    uint32_t name, type, flags, offset, size, link, info, align, entsize;
    bool has_bytes() const { return type != elf::SHT_NOBITS; }
};

struct SymbolEntry {
    uint32_t name, value, size;
    uint8_t type, bind;
    uint16_t shndx;
};

// A bounded, printable copy of a name from the file, for error messages: a
// hostile name could be long or hold a newline, and errors are one line.
struct Printable {
    char text[52];
};
Printable printable(const char* s);

struct ElfView {
    const uint8_t* data = nullptr;
    uint32_t size = 0;
    uint32_t shoff = 0;
    uint16_t shnum = 0;
    uint16_t shstrndx = 0;
    uint16_t symtab = 0;           // section index of the one SHT_SYMTAB
    uint16_t strtab = 0;           // the symbol table's string table
    uint32_t symbol_count = 0;
    int16_t load_index[MAX_SECTIONS];   // ELF section -> ModuleLayout::sections, or -1

    SectionHeader section(uint32_t index) const;
    const char* section_name(uint32_t index) const;   // after check_sections
    SymbolEntry symbol(uint32_t index) const;         // after check_symbols' table checks
    const char* symbol_name(const SymbolEntry& s) const;
    Printable section_label(uint32_t index) const { return printable(section_name(index)); }
};

Result<void> check_elf_header(ElfView& v, const uint8_t* payload, uint32_t size, const ModuleLimits& limits);
Result<void> check_sections(ElfView& v);
Result<void> check_symbols(ElfView& v);
Result<void> check_groups(const ElfView& v);
// Checks every SHT_REL section and records, in `out`, each relocation of a
// loaded section with its symbol resolved (kernel symbols through `facts`).
Result<void> check_relocations(const ElfView& v, const KernelFacts& facts, ModuleLayout& out);
// The defined payload symbol called `name`: its layout section and offset.
Result<void> find_replacement(const ElfView& v, const char* name, int target, LoadTarget& t);

const char* section_type_name(uint32_t type);
const char* relocation_type_name(uint32_t type);

}  // namespace corral::module
