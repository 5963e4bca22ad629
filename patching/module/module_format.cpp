// The .kpatch header and its targets, and the order of all checks
// (docs/module-format.md).  The ELF half is in module_elf.cpp.
//
// Order matters only for which error a broken file reports first: cheap
// checks of the header come before the CRC over the payload, the targets
// (checked against the live kernel) before the payload's ELF, and the
// replacements last, because they need the checked symbol table.
#include "patching/module/module_format.h"

#include "kernel/lib/format.h"
#include "kernel/lib/hash.h"
#include "kernel/lib/string.h"
#include "patching/module/module_elf.h"

namespace corral::module {
namespace {

// The table-driven CRC-32 of zlib, with the table computed at compile time.
struct Crc32Table {
    uint32_t entry[256];
    constexpr Crc32Table() : entry{} {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            entry[i] = c;
        }
    }
};
constexpr Crc32Table CRC_TABLE;

// The bytes each strategy rewrites (patching/strategy_*.cpp): the far-jmp
// strategies 7 at the entry, int3 the 5-byte fentry NOP, hotpatch the 5
// bytes of padding before the entry and the 2-byte `mov edi,edi`; and
// stop-check one of those three, by the layout it finds.
constexpr size_t ENTRY_BYTES = 5;   // what stop-check looks at to find the layout

struct StrategyBytes {
    const char* name;
    int start;
    uint32_t length;
};
constexpr StrategyBytes STRATEGY_BYTES[] = {
    {"naive", 0, 7}, {"corral", 0, 7}, {"corral-scan", 0, 7}, {"hotpatch", -5, 7}, {"int3", 0, 5}, {"klp", 0, 5}};

struct Header {
    uint32_t header_size, payload_size, payload_crc, build_id, target_count;
};

// A fixed-size name field: NUL-terminated inside the field, not empty, and
// NUL-padded, so two files that mean the same thing have the same bytes.
Result<void> check_name_field(const uint8_t* field, size_t size, const char* what) {
    size_t length = 0;
    while (length < size && field[length] != 0) length++;
    if (length == size) return make_error("module: %s is not NUL-terminated within %zu bytes", what, size);
    if (length == 0) return make_error("module: %s is empty", what);
    for (size_t i = length; i < size; i++)
        if (field[i] != 0) return make_error("module: %s has a non-zero byte after its NUL (at %zu)", what, i);
    return Ok{};
}

Result<void> check_sizes(const uint8_t* b, size_t size, Header& h) {
    h.target_count = le32(b + field::TARGET_COUNT);
    if (h.target_count == 0 || h.target_count > MAX_TARGETS)
        return make_error("module: target count is %u, want 1..%u", h.target_count, MAX_TARGETS);
    const uint32_t expected = HEADER_FIXED_SIZE + h.target_count * TARGET_RECORD_SIZE;
    h.header_size = le32(b + field::HEADER_SIZE);
    if (h.header_size != expected)
        return make_error("module: header size is %u, want %u for %u targets", h.header_size, expected,
                          h.target_count);
    h.payload_size = le32(b + field::PAYLOAD_SIZE);
    if (h.header_size > size || h.payload_size != size - h.header_size)
        return make_error("module: header (%u bytes) and payload (%u bytes) do not add up to the file size (%zu bytes)",
                          h.header_size, h.payload_size, size);
    return Ok{};
}

Result<void> check_header(const uint8_t* b, size_t size, const KernelFacts& facts, Header& h) {
    if (size > facts.limits.max_file_size)
        return make_error("module: file is %zu bytes, the limit is %zu", size, facts.limits.max_file_size);
    if (size < HEADER_FIXED_SIZE) return make_error("module: file is %zu bytes, too short for the 64-byte header", size);
    for (size_t i = 0; i < sizeof MAGIC; i++)
        if (b[i] != MAGIC[i])
            return make_error("module: magic is %02x %02x %02x %02x %02x %02x %02x %02x, want \"CRLPATCH\"", b[0], b[1],
                              b[2], b[3], b[4], b[5], b[6], b[7]);
    const uint32_t version = le32(b + field::VERSION);
    if (version != FORMAT_VERSION)
        return make_error("module: format version is %u, this kernel reads version %u", version, FORMAT_VERSION);
    TRY_VOID(check_sizes(b, size, h));
    h.payload_crc = le32(b + field::PAYLOAD_CRC);
    const uint32_t crc = crc32_ieee(b + h.header_size, h.payload_size);
    if (crc != h.payload_crc)
        return make_error("module: payload CRC32 is 0x%08x, the header says 0x%08x", crc, h.payload_crc);
    h.build_id = le32(b + field::BUILD_ID);
    if (h.build_id != facts.build_id)
        return make_error("module: built for kernel build-id 0x%08x, this kernel is 0x%08x", h.build_id,
                          facts.build_id);
    return check_name_field(b + field::NAME, MODULE_NAME_SIZE, "module name");
}

Result<void> check_target_names(const uint8_t* record, int i, LoadTarget& t) {
    char what[48];
    format(what, sizeof what, "target %d: symbol name", i);
    TRY_VOID(check_name_field(record + field::TARGET_SYMBOL, SYMBOL_NAME_SIZE, what));
    format(what, sizeof what, "target %d: replacement name", i);
    TRY_VOID(check_name_field(record + field::REPLACEMENT, SYMBOL_NAME_SIZE, what));
    format(what, sizeof what, "target %d: strategy name", i);
    TRY_VOID(check_name_field(record + field::STRATEGY, STRATEGY_NAME_SIZE, what));
    t.target_name = reinterpret_cast<const char*>(record + field::TARGET_SYMBOL);
    t.replacement_name = reinterpret_cast<const char*>(record + field::REPLACEMENT);
    t.strategy = reinterpret_cast<const char*>(record + field::STRATEGY);
    return Ok{};
}

// The bytes the strategy will overwrite must still be the ones the packager
// saw in the ELF: otherwise the module was built for other code, or the
// function is patched already and the patch would be stacked blind.
Result<void> check_target(const uint8_t* record, int i, const KernelFacts& facts, LoadTarget& t) {
    TRY_VOID(check_target_names(record, i, t));
    int start = 0;
    uint8_t any_entry[ENTRY_BYTES] = {};   // a known name? (the layout is looked at below)
    if (!strategy_old_bytes(t.strategy, any_entry, &start, &t.old_bytes_length))
        return make_error("module: target %d: strategy %s is not one of naive corral corral-scan hotpatch int3 "
                          "stop-check klp", i, printable(t.strategy).text);
    KernelSymbol k{};
    if (!facts.resolve(facts.ctx, t.target_name, &k))
        return make_error("module: target %d: kernel symbol %s not found", i, printable(t.target_name).text);
    if (!target_old_bytes(t.strategy, facts, k.address, &start, &t.old_bytes_length))
        return make_error("module: target %d: cannot read the entry of %s at %#x", i, printable(t.target_name).text,
                          k.address);
    const uint32_t length = le32(record + field::OLD_LENGTH);
    if (length != t.old_bytes_length)
        return make_error("module: target %d: old-bytes length is %u, strategy %s rewrites %u", i, length, t.strategy,
                          t.old_bytes_length);
    t.target_address = k.address;
    t.target_size = k.size;
    t.old_bytes_address = k.address + uint32_t(start);   // unsigned: wraps, and then cannot be read
    uint8_t live[MAX_OLD_BYTES];
    if (!facts.read_bytes(facts.ctx, t.old_bytes_address, live, length))
        return make_error("module: target %d: cannot read %u live bytes at %#x", i, length, t.old_bytes_address);
    const uint32_t hash = fnv1a(live, length), expected = le32(record + field::OLD_HASH);
    if (hash != expected)
        return make_error("module: target %d: live bytes at %#x hash to 0x%08x, the header says 0x%08x", i,
                          t.old_bytes_address, hash, expected);
    return Ok{};
}

Result<void> check_targets(const uint8_t* b, uint32_t count, const KernelFacts& facts, ModuleLayout& out) {
    for (uint32_t i = 0; i < count; i++) {
        LoadTarget& t = out.targets[i];
        TRY_VOID(check_target(b + HEADER_FIXED_SIZE + i * TARGET_RECORD_SIZE, int(i), facts, t));
        for (uint32_t j = 0; j < i; j++)
            if (str_eq(out.targets[j].target_name, t.target_name))
                return make_error("module: target %u: %s is also target %u", i, printable(t.target_name).text, j);
        out.target_count = int(i + 1);
    }
    return Ok{};
}

// Gives every allocatable section (but the declarations) its place in the
// code or the data area, aligned as it asks.
Result<void> plan_sections(ElfView& v, const ModuleLimits& limits, ModuleLayout& out) {
    uint64_t area[2] = {0, 0};   // code, data
    for (int i = 0; i < MAX_SECTIONS; i++) v.load_index[i] = -1;
    for (uint32_t i = 1; i < v.shnum; i++) {
        const SectionHeader s = v.section(i);
        if (!(s.flags & elf::SHF_ALLOC) || str_eq(v.section_name(i), DECLARATION_SECTION)) continue;
        const uint32_t align = s.align ? s.align : 1;
        uint64_t& used = area[(s.flags & elf::SHF_EXECINSTR) ? 0 : 1];
        const uint64_t at = (used + align - 1) & ~uint64_t(align - 1);
        if (at + s.size + area[0] + area[1] - used > limits.max_image_size)
            return make_error("module: section %s (%u bytes) takes code and data past the image limit of %u bytes",
                              v.section_label(i).text, s.size, limits.max_image_size);
        used = at + s.size;
        out.sections[out.section_count] = {uint16_t(i), v.section_name(i), s.type, s.flags, s.size, align,
                                           uint32_t(at), s.has_bytes() ? v.data + s.offset : nullptr};
        v.load_index[i] = int16_t(out.section_count++);
    }
    out.code_size = uint32_t(area[0]);
    out.data_size = uint32_t(area[1]);
    return Ok{};
}

// The old code (docs/module-format.md §5, a cheap form of Ksplice's run-pre
// matching): a module made from a diff (scripts/mkpatch --diff) records, in
// its section .oldcode, the size and FNV-1a of each target as the base build
// linked it.  The running kernel's function must be that code, byte for
// byte, or the module's new code was compiled against something else.
// (read_bytes gives the bytes as linked, so a function patched at its entry
// by another module still matches.)
Result<void> check_old_code(const ElfView& v, const KernelFacts& facts, const ModuleLayout& out) {
    for (uint32_t i = 1; i < v.shnum; i++) {
        if (!str_eq(v.section_name(i), OLD_CODE_SECTION)) continue;
        const SectionHeader s = v.section(i);
        if (!s.has_bytes() || s.size % OLD_CODE_RECORD_SIZE != 0)
            return make_error("module: section %s has %u bytes, not %u-byte records", OLD_CODE_SECTION, s.size,
                              OLD_CODE_RECORD_SIZE);
        for (uint32_t at = 0; at < s.size; at += OLD_CODE_RECORD_SIZE) {
            const uint8_t* r = v.data + s.offset + at;
            const uint32_t index = le32(r), size = le32(r + 4), expected = le32(r + 8);
            if (index >= uint32_t(out.target_count))
                return make_error("module: %s names target %u, the module has %d", OLD_CODE_SECTION, index,
                                  out.target_count);
            const LoadTarget& t = out.targets[index];
            if (size != t.target_size)
                return make_error("module: target %u: %s is %u bytes in this kernel, the module was made for %u",
                                  index, printable(t.target_name).text, t.target_size, size);
            uint32_t hash = FNV1A_INIT;
            uint8_t chunk[64];
            for (uint32_t done = 0; done < size; done += sizeof chunk) {
                const uint32_t n = size - done < sizeof chunk ? size - done : uint32_t(sizeof chunk);
                if (!facts.read_bytes(facts.ctx, t.target_address + done, chunk, n))
                    return make_error("module: target %u: cannot read %s's %u bytes at %#x", index,
                                      printable(t.target_name).text, size, t.target_address);
                hash = fnv1a(chunk, n, hash);
            }
            if (hash != expected)
                return make_error("module: target %u: %s is not the code the module was made for (its %u bytes "
                                  "hash to 0x%08x, the module says 0x%08x)", index, printable(t.target_name).text,
                                  size, hash, expected);
        }
    }
    return Ok{};
}

}  // namespace

uint32_t crc32_ieee(const uint8_t* bytes, size_t count) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < count; i++) c = CRC_TABLE.entry[(c ^ bytes[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

Result<uint32_t> build_id_from_texthash(const uint8_t* table, size_t size) {
    if (size < TEXTHASH_HEADER_SIZE || table[0] != 'T' || table[1] != 'X' || table[2] != 'T' || table[3] != 'H')
        return make_error("module: no .texthash table (want magic TXTH and %zu bytes)", TEXTHASH_HEADER_SIZE);
    return fnv1a(table, TEXTHASH_HEADER_SIZE);
}

bool strategy_old_bytes(const char* strategy, const uint8_t* entry, int* start_offset, uint32_t* length) {
    if (str_eq(strategy, "stop-check")) {
        if (!entry) return false;
        const bool hot = entry[0] == 0x8b && entry[1] == 0xff;
        const bool fentry = entry[0] == 0x0f && entry[1] == 0x1f && entry[2] == 0x44 && entry[3] == 0 && entry[4] == 0;
        return strategy_old_bytes(hot ? "hotpatch" : fentry ? "int3" : "corral-scan", entry, start_offset, length);
    }
    for (const StrategyBytes& s : STRATEGY_BYTES) {
        if (!str_eq(s.name, strategy)) continue;
        *start_offset = s.start;
        *length = s.length;
        return true;
    }
    return false;
}

bool target_old_bytes(const char* strategy, const KernelFacts& facts, uint32_t address, int* start_offset,
                      uint32_t* length) {
    if (!str_eq(strategy, "stop-check")) return strategy_old_bytes(strategy, nullptr, start_offset, length);
    uint8_t entry[ENTRY_BYTES];
    const bool readable = facts.read_bytes(facts.ctx, address, entry, sizeof entry);
    return strategy_old_bytes(strategy, readable ? entry : nullptr, start_offset, length);
}

Result<void> validate_module(const uint8_t* bytes, size_t size, const KernelFacts& facts, ModuleLayout& out) {
    out.target_count = out.section_count = out.relocation_count = 0;
    Header h{};
    TRY_VOID(check_header(bytes, size, facts, h));
    str_copy(out.name, reinterpret_cast<const char*>(bytes + field::NAME), sizeof out.name);
    out.build_id = h.build_id;
    TRY_VOID(check_targets(bytes, h.target_count, facts, out));
    out.payload = bytes + h.header_size;
    out.payload_size = h.payload_size;
    ElfView v;
    TRY_VOID(check_elf_header(v, out.payload, h.payload_size, facts.limits));
    TRY_VOID(check_sections(v));
    TRY_VOID(plan_sections(v, facts.limits, out));
    TRY_VOID(check_symbols(v));
    TRY_VOID(check_groups(v));
    TRY_VOID(check_relocations(v, facts, out));
    for (int i = 0; i < out.target_count; i++)
        TRY_VOID(find_replacement(v, out.targets[i].replacement_name, i, out.targets[i]));
    TRY_VOID(check_old_code(v, facts, out));
    return Ok{};
}

}  // namespace corral::module
