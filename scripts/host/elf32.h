// A small reader for linked i386 ELF32 files (host only), shared by the
// post-link layout verifier and the decoder's objdump comparison test.
//
// It reads the whole file once and answers the questions those tools ask:
// which sections and symbols exist, and what bytes sit at a virtual address.
// Only linked files (ET_EXEC) have meaningful addresses; relocatable objects
// would need relocations applied first, so the tools link their fixtures.
#pragma once
#include <stdint.h>

#include <string>
#include <string_view>
#include <vector>

#include "kernel/lib/result.h"

namespace corral {

struct ElfSection {
    std::string name;
    uint32_t type = 0;   // SHT_*
    uint32_t flags = 0;  // SHF_*
    uint32_t address = 0;
    uint32_t offset = 0;
    uint32_t size = 0;

    bool is_executable() const;
    bool has_file_bytes() const;  // false for .bss (SHT_NOBITS) and empty sections
    bool contains(uint32_t addr) const { return addr >= address && addr - address < size; }
};

struct ElfSymbol {
    std::string name;
    uint32_t value = 0;
    uint32_t size = 0;
    uint8_t type = 0;  // STT_*
    uint8_t bind = 0;  // STB_*
    uint16_t section_index = 0;

    bool is_function() const;
};

class Elf32Image {
public:
    // Reads `path` and checks it is a little-endian ELF32 file for i386.
    static Result<Elf32Image> load(const std::string& path);

    const std::vector<ElfSection>& sections() const { return sections_; }
    const std::vector<ElfSymbol>& symbols() const { return symbols_; }
    const ElfSection* find_section(std::string_view name) const;
    const ElfSymbol* find_symbol(std::string_view name) const;
    // The allocated section with file bytes that holds `address`, if any.
    const ElfSection* section_containing(uint32_t address) const;

    // Bytes at `address` and how many follow it inside the same section;
    // nullptr (and 0) when no section with file bytes holds the address.
    const uint8_t* bytes_at(uint32_t address, size_t* available) const;
    Result<uint32_t> read_u32(uint32_t address) const;
    Result<std::string> read_string(uint32_t address) const;
    const uint8_t* section_bytes(const ElfSection& section) const { return file_.data() + section.offset; }

private:
    Result<void> parse();
    Result<void> parse_sections(uint32_t table_offset, uint16_t entry_size, uint16_t count, uint16_t names_index);
    Result<void> parse_symbols(const ElfSection& symtab, const ElfSection& strtab);
    std::string string_at(const ElfSection& strtab, uint32_t offset) const;

    std::vector<uint8_t> file_;
    std::vector<ElfSection> sections_;
    std::vector<ElfSymbol> symbols_;
};

}  // namespace corral
