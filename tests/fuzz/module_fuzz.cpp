// libFuzzer target for the module validator (patching/module/), built with
// clang++ -fsanitize=fuzzer,address,undefined by `make fuzz` (mk/module.mk).
//
// Every input is validated twice against a made-up kernel:
//  1. as it is, which mostly exercises the header checks: a mutated
//     payload almost never keeps its CRC, build-id and old-bytes hashes;
//  2. with those three fixed up, so that mutations reach the ELF checks,
//     the symbol and relocation walks and the layout.
// When the validator accepts, the layout it returns is checked against the
// promises a loader relies on (every byte it points at is inside the input,
// every relocation has 4 bytes of room, ...); a broken promise traps, and
// ASan/UBSan report any out-of-bounds read or overflow on the way.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vector>

#include "kernel/lib/hash.h"
#include "patching/module/module_format.h"

namespace {

using namespace corral::module;

constexpr uint32_t FUZZ_BUILD_ID = 0xf022f022;
constexpr uint32_t TEXT_START = 0x100000, TEXT_END = 0x200000;

uint32_t load32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
void store32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = uint8_t(v >> (8 * i));
}

// Every name resolves to an address made from its hash, except one in
// sixteen, so that "not in the kernel" is reached too.
bool resolve(void*, const char* name, KernelSymbol* out) {
    const uint32_t h = corral::fnv1a(reinterpret_cast<const uint8_t*>(name), strlen(name));
    if (h % 16 == 0) return false;
    *out = {TEXT_START + 16 + (h & 0xffff0), 64};
    return true;
}

// The kernel's text is a fixed pattern; outside it nothing can be read.
bool read_bytes(void*, uint32_t address, uint8_t* out, size_t count) {
    if (address < TEXT_START || address >= TEXT_END || count > TEXT_END - address) return false;
    for (size_t i = 0; i < count; i++) out[i] = uint8_t((address + i) * 37 + 11);
    return true;
}

// The old-bytes hash the fake kernel gives a target record, if it gives one.
bool fake_old_hash(const uint8_t* record, uint32_t* hash) {
    if (memchr(record + field::TARGET_SYMBOL, 0, SYMBOL_NAME_SIZE) == nullptr ||
        memchr(record + field::STRATEGY, 0, STRATEGY_NAME_SIZE) == nullptr)
        return false;
    int start = 0;
    uint32_t length = 0;
    KernelSymbol k{};
    uint8_t bytes[MAX_OLD_BYTES];
    const KernelFacts facts{0, nullptr, resolve, read_bytes, ModuleLimits{}};
    if (!resolve(nullptr, reinterpret_cast<const char*>(record + field::TARGET_SYMBOL), &k) ||
        !target_old_bytes(reinterpret_cast<const char*>(record + field::STRATEGY), facts, k.address, &start, &length) ||
        !read_bytes(nullptr, k.address + uint32_t(start), bytes, length))
        return false;
    *hash = corral::fnv1a(bytes, length);
    return true;
}

// Makes the CRC, the build-id and each target's old-bytes hash what the
// fake kernel expects, wherever the header has room for them.
void fix_up(std::vector<uint8_t>& b) {
    if (b.size() < HEADER_FIXED_SIZE) return;
    store32(&b[field::BUILD_ID], FUZZ_BUILD_ID);
    const uint32_t header_size = load32(&b[field::HEADER_SIZE]);
    if (header_size <= b.size()) store32(&b[field::PAYLOAD_CRC], crc32_ieee(b.data() + header_size, b.size() - header_size));
    const uint32_t count = load32(&b[field::TARGET_COUNT]);
    for (uint32_t i = 0; i < count && i < MAX_TARGETS; i++) {
        const size_t at = HEADER_FIXED_SIZE + i * TARGET_RECORD_SIZE;
        uint32_t hash = 0;
        if (at + TARGET_RECORD_SIZE <= b.size() && fake_old_hash(&b[at], &hash)) store32(&b[at + field::OLD_HASH], hash);
    }
}

void require(bool promise) {
    if (!promise) __builtin_trap();
}

bool inside(const uint8_t* p, size_t n, const uint8_t* begin, size_t size) {
    return p >= begin && p <= begin + size && n <= size_t(begin + size - p);
}

// What a loader will trust without checking again.
void check_layout(const ModuleLayout& l, const uint8_t* data, size_t size) {
    require(l.section_count >= 0 && l.section_count <= MAX_SECTIONS);
    require(inside(l.payload, l.payload_size, data, size));
    for (int i = 0; i < l.section_count; i++) {
        const LoadSection& s = l.sections[i];
        require(s.alignment >= 1 && s.alignment <= MAX_SECTION_ALIGN && (s.alignment & (s.alignment - 1)) == 0);
        require(s.image_offset % s.alignment == 0);
        require(uint64_t(s.image_offset) + s.size <= (s.executable() ? l.code_size : l.data_size));
        require(s.name != nullptr && inside(reinterpret_cast<const uint8_t*>(s.name), strlen(s.name) + 1, data, size));
        if (s.bytes != nullptr) require(inside(s.bytes, s.size, l.payload, l.payload_size));
    }
    require(l.relocation_count >= 0 && l.relocation_count <= MAX_RELOCATIONS);
    for (int i = 0; i < l.relocation_count; i++) {
        const LoadRelocation& r = l.relocations[i];
        require(r.section < l.section_count && l.sections[r.section].bytes != nullptr);
        require(r.offset <= l.sections[r.section].size && l.sections[r.section].size - r.offset >= 4);
        volatile uint32_t addend = load32(l.sections[r.section].bytes + r.offset);   // ASan: the addend is readable
        (void)addend;
        if (r.kind == SymbolKind::Module) require(r.symbol_section < l.section_count);
    }
    require(l.target_count >= 1 && l.target_count <= int(MAX_TARGETS));
    for (int i = 0; i < l.target_count; i++) {
        const LoadTarget& t = l.targets[i];
        require(t.replacement_section < l.section_count && l.sections[t.replacement_section].executable());
        require(t.replacement_offset < l.sections[t.replacement_section].size);
    }
}

ModuleLayout layout;   // static: it is large

void validate(const uint8_t* data, size_t size) {
    const KernelFacts facts{FUZZ_BUILD_ID, nullptr, resolve, read_bytes, ModuleLimits{}};
    if (validate_module(data, size, facts, layout).is_ok()) check_layout(layout, data, size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    validate(data, size);
    std::vector<uint8_t> fixed(data, data + size);
    fix_up(fixed);
    validate(fixed.data(), fixed.size());
    return 0;
}
