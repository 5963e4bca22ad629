// ELF32 reader for the host tools (see elf32.h).  Every offset read from the
// file is bounds-checked: the verifier runs on whatever the linker produced,
// and a truncated or foreign file must give a clear error, not a crash.
#include "scripts/host/elf32.h"

#include <elf.h>
#include <string.h>

#include <fstream>
#include <iterator>

namespace corral {

bool ElfSection::is_executable() const { return (flags & SHF_EXECINSTR) != 0; }
bool ElfSection::has_file_bytes() const { return type != SHT_NOBITS && size > 0; }
bool ElfSymbol::is_function() const { return type == STT_FUNC; }

namespace {

// True when [offset, offset + size) lies inside a file of `file_size` bytes.
bool fits(size_t file_size, uint64_t offset, uint64_t size)
{
    return offset <= file_size && size <= file_size - offset;
}

template <typename T>
T read_struct(const std::vector<uint8_t>& file, size_t offset)
{
    T value;
    memcpy(&value, file.data() + offset, sizeof(T));
    return value;
}

}  // namespace

Result<Elf32Image> Elf32Image::load(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error("%s: cannot open", path.c_str());
    Elf32Image image;
    image.file_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    auto parsed = image.parse();
    if (parsed.is_error()) return make_error("%s: %s", path.c_str(), parsed.error());
    return image;
}

Result<void> Elf32Image::parse()
{
    if (!fits(file_.size(), 0, sizeof(Elf32_Ehdr)) || memcmp(file_.data(), ELFMAG, SELFMAG) != 0)
        return make_error("not an ELF file");
    auto header = read_struct<Elf32_Ehdr>(file_, 0);
    if (header.e_ident[EI_CLASS] != ELFCLASS32 || header.e_ident[EI_DATA] != ELFDATA2LSB)
        return make_error("not a little-endian ELF32 file");
    if (header.e_machine != EM_386) return make_error("not an i386 file (e_machine %u)", unsigned(header.e_machine));
    return parse_sections(header.e_shoff, header.e_shentsize, header.e_shnum, header.e_shstrndx);
}

Result<void> Elf32Image::parse_sections(uint32_t table_offset, uint16_t entry_size, uint16_t count,
                                        uint16_t names_index)
{
    if (entry_size < sizeof(Elf32_Shdr) || !fits(file_.size(), table_offset, uint64_t(entry_size) * count))
        return make_error("section header table out of bounds");
    std::vector<Elf32_Shdr> headers;
    for (uint16_t i = 0; i < count; ++i) {
        auto section = read_struct<Elf32_Shdr>(file_, table_offset + size_t(i) * entry_size);
        if (section.sh_type != SHT_NOBITS && !fits(file_.size(), section.sh_offset, section.sh_size))
            return make_error("section %u out of bounds", unsigned(i));
        headers.push_back(section);
    }
    ElfSection names;
    if (names_index < count) names.offset = headers[names_index].sh_offset, names.size = headers[names_index].sh_size;
    for (const auto& header : headers) {
        ElfSection section;
        section.name = string_at(names, header.sh_name);
        section.type = header.sh_type;
        section.flags = header.sh_flags;
        section.address = header.sh_addr;
        section.offset = header.sh_offset;
        section.size = header.sh_size;
        sections_.push_back(section);
    }
    for (size_t i = 0; i < headers.size(); ++i) {
        if (headers[i].sh_type != SHT_SYMTAB) continue;
        if (headers[i].sh_link >= sections_.size()) return make_error("symbol table without a string table");
        TRY_VOID(parse_symbols(sections_[i], sections_[headers[i].sh_link]));
    }
    return Ok{};
}

Result<void> Elf32Image::parse_symbols(const ElfSection& symtab, const ElfSection& strtab)
{
    for (uint32_t at = sizeof(Elf32_Sym); at + sizeof(Elf32_Sym) <= symtab.size; at += sizeof(Elf32_Sym)) {
        auto raw = read_struct<Elf32_Sym>(file_, symtab.offset + at);
        ElfSymbol symbol;
        symbol.name = string_at(strtab, raw.st_name);
        symbol.value = raw.st_value;
        symbol.size = raw.st_size;
        symbol.type = ELF32_ST_TYPE(raw.st_info);
        symbol.bind = ELF32_ST_BIND(raw.st_info);
        symbol.section_index = raw.st_shndx;
        symbols_.push_back(symbol);
    }
    return Ok{};
}

std::string Elf32Image::string_at(const ElfSection& strtab, uint32_t offset) const
{
    if (offset >= strtab.size) return {};
    const char* start = reinterpret_cast<const char*>(file_.data() + strtab.offset + offset);
    return std::string(start, strnlen(start, strtab.size - offset));
}

const ElfSection* Elf32Image::find_section(std::string_view name) const
{
    for (const auto& section : sections_)
        if (section.name == name) return &section;
    return nullptr;
}

const ElfSymbol* Elf32Image::find_symbol(std::string_view name) const
{
    for (const auto& symbol : symbols_)
        if (symbol.name == name) return &symbol;
    return nullptr;
}

const ElfSection* Elf32Image::section_containing(uint32_t address) const
{
    for (const auto& section : sections_)
        if ((section.flags & SHF_ALLOC) && section.has_file_bytes() && section.contains(address)) return &section;
    return nullptr;
}

const uint8_t* Elf32Image::bytes_at(uint32_t address, size_t* available) const
{
    const ElfSection* section = section_containing(address);
    *available = 0;
    if (section == nullptr) return nullptr;
    uint32_t offset_in_section = address - section->address;
    *available = section->size - offset_in_section;
    return file_.data() + section->offset + offset_in_section;
}

Result<uint32_t> Elf32Image::read_u32(uint32_t address) const
{
    size_t available = 0;
    const uint8_t* bytes = bytes_at(address, &available);
    if (available < 4) return make_error("no 4 bytes of file data at 0x%08x", address);
    uint32_t value;
    memcpy(&value, bytes, 4);
    return value;
}

Result<std::string> Elf32Image::read_string(uint32_t address) const
{
    size_t available = 0;
    const char* text = reinterpret_cast<const char*>(bytes_at(address, &available));
    if (text == nullptr) return make_error("no string at 0x%08x", address);
    size_t length = strnlen(text, available);
    if (length == available) return make_error("unterminated string at 0x%08x", address);
    return std::string(text, length);
}

}  // namespace corral
