// Builds the hand-made modules of module_builder.h.  The payload is laid
// out the way GCC lays out an object: ELF header, section contents in
// section order (each aligned as it asks), then the section header table.
#include "tests/host/module_builder.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kernel/lib/hash.h"

namespace corral::module::testing {
namespace {

struct RawSection {
    std::string name;
    uint32_t type = 0, flags = 0, link = 0, info = 0, align = 1, entsize = 0;
    std::vector<uint8_t> bytes;
    uint32_t nobits_size = 0;
};

void put32(std::vector<uint8_t>& v, uint32_t x) {
    for (int i = 0; i < 4; i++) v.push_back(uint8_t(x >> (8 * i)));
}
void put16(std::vector<uint8_t>& v, uint16_t x) {
    v.push_back(uint8_t(x));
    v.push_back(uint8_t(x >> 8));
}
void put_field(std::vector<uint8_t>& v, const std::string& text, size_t size) {
    for (size_t i = 0; i < size; i++) v.push_back(i < text.size() ? uint8_t(text[i]) : 0);
}

struct SymbolDef {
    const char* name;
    uint32_t value, size;
    uint8_t type, bind;
    uint16_t shndx;
};

// Index = enum Symbol.  STT_SECTION = 3, STT_FUNC = 2; STB_GLOBAL = 1, STB_WEAK = 2.
const SymbolDef SYMBOLS[] = {
    {"", 0, 0, 0, 0, 0},
    {"", 0, 0, 3, 0, TEXT},
    {"", 0, 0, 3, 0, BSS},
    {"inline_fn", 0, 4, 2, 2, TEXT_INLINE},
    {"replacement_fn", 0, 16, 2, 1, TEXT},
    {"kprintf", 0, 0, 0, 1, 0},
    {"target_fn", 0, 0, 0, 1, 0},
    {"unused_undefined", 0, 0, 0, 1, 0},
};
constexpr uint32_t FIRST_GLOBAL = SYM_INLINE;

void symbol_tables(RawSection& symtab, RawSection& strtab) {
    strtab.bytes.push_back(0);
    for (const SymbolDef& s : SYMBOLS) {
        uint32_t name = 0;
        if (*s.name) {
            name = uint32_t(strtab.bytes.size());
            strtab.bytes.insert(strtab.bytes.end(), s.name, s.name + strlen(s.name) + 1);
        }
        put32(symtab.bytes, name);
        put32(symtab.bytes, s.value);
        put32(symtab.bytes, s.size);
        symtab.bytes.push_back(uint8_t(s.bind << 4 | s.type));
        symtab.bytes.push_back(0);
        put16(symtab.bytes, s.shndx);
    }
}

void relocations(RawSection& rel, std::initializer_list<std::initializer_list<uint32_t>> entries) {
    for (auto e : entries) {
        auto it = e.begin();
        put32(rel.bytes, it[0]);
        put32(rel.bytes, it[2] << 8 | it[1]);   // {offset, type, symbol}
    }
}

std::vector<RawSection> payload_sections() {
    std::vector<RawSection> s(SECTION_COUNT);
    // fentry NOP; call kprintf (PC32, addend -4); mov eax,[.bss] (R_386_32); ret
    s[TEXT] = {".text", 1, 0x6, 0, 0, 16, 0,
               {0x0f, 0x1f, 0x44, 0x00, 0x00, 0xe8, 0xfc, 0xff, 0xff, 0xff, 0xa1, 0, 0, 0, 0, 0xc3}};
    s[REL_TEXT] = {".rel.text", 9, 0x40, SYMTAB, TEXT, 4, 8, {}};
    relocations(s[REL_TEXT], {{6, 2, SYM_KPRINTF}, {11, 1, SYM_BSS}});
    s[DATA] = {".data", 1, 0x3, 0, 0, 4, 0, {1, 0, 0, 0}};
    s[BSS] = {".bss", 8, 0x3, 0, 0, 8, 0, {}, 8};
    s[DECLARATIONS] = {".corral_patch", 1, 0x2, 0, 0, 4, 0, {}};
    put32(s[DECLARATIONS].bytes, 0x31445043);
    put_field(s[DECLARATIONS].bytes, "", 56);
    put_field(s[DECLARATIONS].bytes, "int3", 20);
    s[REL_DECLARATIONS] = {".rel.corral_patch", 9, 0x40, SYMTAB, DECLARATIONS, 4, 8, {}};
    relocations(s[REL_DECLARATIONS], {{4, 1, SYM_TARGET}, {8, 1, SYM_REPLACEMENT}});
    s[GROUP] = {".group", 17, 0, SYMTAB, SYM_INLINE, 4, 4, {}};
    put32(s[GROUP].bytes, 1);   // GRP_COMDAT
    put32(s[GROUP].bytes, TEXT_INLINE);
    s[TEXT_INLINE] = {".text.inline_fn", 1, 0x206, 0, 0, 16, 0, {0xc3, 0x90, 0x90, 0x90}};
    s[COMMENT] = {".comment", 1, 0x30, 0, 0, 1, 1, {'G', 'C', 'C', 0}};
    s[SYMTAB] = {".symtab", 2, 0, STRTAB, FIRST_GLOBAL, 4, 16, {}};
    s[STRTAB] = {".strtab", 3, 0, 0, 0, 1, 0, {}};
    symbol_tables(s[SYMTAB], s[STRTAB]);
    s[SHSTRTAB] = {".shstrtab", 3, 0, 0, 0, 1, 0, {}};
    return s;
}

std::vector<uint8_t> elf_object() {
    std::vector<RawSection> sections = payload_sections();
    std::vector<uint32_t> names(sections.size(), 0);
    RawSection& shstrtab = sections[SHSTRTAB];
    shstrtab.bytes.push_back(0);
    for (size_t i = 1; i < sections.size(); i++) {
        names[i] = uint32_t(shstrtab.bytes.size());
        shstrtab.bytes.insert(shstrtab.bytes.end(), sections[i].name.begin(), sections[i].name.end());
        shstrtab.bytes.push_back(0);
    }
    std::vector<uint8_t> out(52, 0), table;
    std::vector<uint32_t> offsets(sections.size(), 0);
    for (size_t i = 1; i < sections.size(); i++) {
        while (out.size() % sections[i].align) out.push_back(0);
        offsets[i] = uint32_t(out.size());
        out.insert(out.end(), sections[i].bytes.begin(), sections[i].bytes.end());
    }
    while (out.size() % 4) out.push_back(0);
    const uint32_t shoff = uint32_t(out.size());
    for (size_t i = 0; i < sections.size(); i++) {
        const RawSection& s = sections[i];
        for (uint32_t x : {names[i], s.type, s.flags, 0u, offsets[i],
                           s.type == 8 ? s.nobits_size : uint32_t(s.bytes.size()), s.link, s.info, s.align, s.entsize})
            put32(out, x);
    }
    const uint8_t ident[16] = {0x7f, 'E', 'L', 'F', 1, 1, 1};
    memcpy(out.data(), ident, sizeof ident);
    std::vector<uint8_t> header;
    for (uint16_t x : {uint16_t(1), uint16_t(3)}) put16(header, x);                       // ET_REL, EM_386
    for (uint32_t x : {1u, 0u, 0u, shoff, 0u}) put32(header, x);                           // version entry phoff shoff flags
    for (uint16_t x : {uint16_t(52), uint16_t(0), uint16_t(0), uint16_t(40), uint16_t(SECTION_COUNT), uint16_t(SHSTRTAB)})
        put16(header, x);
    memcpy(out.data() + 16, header.data(), header.size());
    return out;
}

uint32_t read32(const std::vector<uint8_t>& v, size_t at) {
    return uint32_t(v[at]) | uint32_t(v[at + 1]) << 8 | uint32_t(v[at + 2]) << 16 | uint32_t(v[at + 3]) << 24;
}

}  // namespace

size_t Module::section_header(int index) const { return elf(read32(bytes, elf(32)) + size_t(index) * 40); }
size_t Module::section_data(int index) const { return elf(get32(section_header(index) + 16)); }
size_t Module::symbol(int index) const { return section_data(SYMTAB) + size_t(index) * 16; }
size_t Module::relocation(int rel_section, int entry) const { return section_data(rel_section) + size_t(entry) * 8; }
uint32_t Module::get32(size_t at) const { return read32(bytes, at); }
void Module::set32(size_t at, uint32_t value) {
    for (int i = 0; i < 4; i++) bytes.at(at + i) = uint8_t(value >> (8 * i));
}
void Module::set16(size_t at, uint16_t value) {
    bytes.at(at) = uint8_t(value);
    bytes.at(at + 1) = uint8_t(value >> 8);
}
void Module::write(size_t at, const std::string& text) {
    for (size_t i = 0; i < text.size(); i++) bytes.at(at + i) = uint8_t(text[i]);
}
void Module::fix_crc() {
    if (bytes.size() < payload) return;   // cut into the header: nothing to checksum
    set32(field::PAYLOAD_CRC, crc32_ieee(bytes.data() + payload, bytes.size() - payload));
}

Module good_module(const std::vector<TargetSpec>& targets) {
    FakeKernel kernel;
    const std::vector<uint8_t> object = elf_object();
    Module m;
    m.payload = HEADER_FIXED_SIZE + targets.size() * TARGET_RECORD_SIZE;
    std::vector<uint8_t>& b = m.bytes;
    b.insert(b.end(), MAGIC, MAGIC + sizeof MAGIC);
    for (uint32_t x : {FORMAT_VERSION, uint32_t(m.payload), uint32_t(object.size()), 0u, FakeKernel::BUILD_ID}) put32(b, x);
    put_field(b, "good", MODULE_NAME_SIZE);
    put32(b, uint32_t(targets.size()));
    for (const TargetSpec& t : targets) {
        int start = 0;
        uint32_t length = 7;
        KernelSymbol s{};
        const KernelFacts f = kernel.facts();
        if (f.resolve(&kernel, t.target.c_str(), &s))
            (void)target_old_bytes(t.strategy.c_str(), f, s.address, &start, &length);
        put_field(b, t.target, SYMBOL_NAME_SIZE);
        put_field(b, t.replacement, SYMBOL_NAME_SIZE);
        put_field(b, t.strategy, STRATEGY_NAME_SIZE);
        put32(b, length);
        put32(b, old_bytes_hash(kernel, t.target, t.strategy));
    }
    b.insert(b.end(), object.begin(), object.end());
    m.fix_crc();
    return m;
}

FakeKernel::FakeKernel() {
    symbols = {{"target_fn", {0x101000, 32}}, {"other_fn", {0x101040, 32}}, {"hot_fn", {0x101080, 16}},
               {"kprintf", {0x102000, 64}}, {"unmapped_fn", {0x200000, 16}}};
    std::vector<uint8_t> text(0x100, 0xcc);   // int3 filler, like the hotpatch padding
    const uint8_t fentry[] = {0x0f, 0x1f, 0x44, 0x00, 0x00, 0x55, 0x89, 0xe5};
    memcpy(&text[0x00], fentry, sizeof fentry);
    memcpy(&text[0x40], fentry, sizeof fentry);
    const uint8_t hot[] = {0x8b, 0xff, 0x55, 0x89, 0xe5};
    memcpy(&text[0x80], hot, sizeof hot);
    memory[0x101000] = text;
}

bool FakeKernel::resolve(void* ctx, const char* name, KernelSymbol* out) {
    auto* k = static_cast<FakeKernel*>(ctx);
    auto it = k->symbols.find(name);
    if (it == k->symbols.end()) return false;
    *out = it->second;
    return true;
}

bool FakeKernel::read_bytes(void* ctx, uint32_t address, uint8_t* out, size_t count) {
    auto* k = static_cast<FakeKernel*>(ctx);
    for (const auto& [start, bytes] : k->memory) {
        if (address < start || address - start > bytes.size() || count > bytes.size() - (address - start)) continue;
        memcpy(out, bytes.data() + (address - start), count);
        return true;
    }
    return false;
}

KernelFacts FakeKernel::facts() { return KernelFacts{BUILD_ID, this, resolve, read_bytes, ModuleLimits{}}; }

uint32_t old_bytes_hash(FakeKernel& kernel, const std::string& symbol, const std::string& strategy) {
    int start = 0;
    uint32_t length = 0;
    KernelSymbol s{};
    uint8_t bytes[MAX_OLD_BYTES];
    KernelFacts f = kernel.facts();
    if (!f.resolve(&kernel, symbol.c_str(), &s) || !target_old_bytes(strategy.c_str(), f, s.address, &start, &length) ||
        !f.read_bytes(&kernel, s.address + uint32_t(start), bytes, length))
        return 0;
    return fnv1a(bytes, length);
}

std::string fmt(const char* format, ...) {
    char text[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(text, sizeof text, format, ap);
    va_end(ap);
    return text;
}

void resize_payload(Module& m, size_t size) {
    m.bytes.resize(m.payload + size);
    m.set32(field::PAYLOAD_SIZE, uint32_t(size));
}

std::string validate(const Module& m, const ModuleLimits& limits, const ModuleLayout** layout) {
    static ModuleLayout result;
    FakeKernel kernel;
    KernelFacts facts = kernel.facts();
    facts.limits = limits;
    Result<void> r = validate_module(m.bytes.data(), m.bytes.size(), facts, result);
    if (layout) *layout = &result;
    return r.is_ok() ? "" : r.error();
}

}  // namespace corral::module::testing
