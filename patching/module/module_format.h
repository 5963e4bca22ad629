// The .kpatch file format and its validator (docs/module-format.md).
//
// A patch module is replacement code compiled from C++ (patches/<name>/)
// that a loader puts into the running kernel.  Before the loader allocates
// or writes anything, validate_module() checks every byte of the file it
// depends on: the header, the targets against the live kernel, and the ELF
// relocatable object inside.  What it returns (ModuleLayout) is everything
// a loader needs, already checked, so the loader itself has no decisions
// left that a hostile or truncated file could influence.
//
// Freestanding on purpose: no allocation, nothing but kernel/lib, so the
// kernel and the host tests (and the fuzzer) run the very same code.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral::module {

// ---- The file header (all fields little-endian) ----
constexpr uint8_t MAGIC[8] = {'C', 'R', 'L', 'P', 'A', 'T', 'C', 'H'};
constexpr uint32_t FORMAT_VERSION = 1;
constexpr uint32_t HEADER_FIXED_SIZE = 64;      // up to and including the target count
constexpr uint32_t TARGET_RECORD_SIZE = 120;
constexpr uint32_t MAX_TARGETS = 8;
constexpr size_t MODULE_NAME_SIZE = 32;
constexpr size_t SYMBOL_NAME_SIZE = 48;
constexpr size_t STRATEGY_NAME_SIZE = 16;
constexpr size_t MAX_OLD_BYTES = 8;

// Byte offsets of the header fields and of one target record's fields.
namespace field {
constexpr size_t VERSION = 8, HEADER_SIZE = 12, PAYLOAD_SIZE = 16, PAYLOAD_CRC = 20, BUILD_ID = 24,
                 NAME = 28, TARGET_COUNT = 60;
constexpr size_t TARGET_SYMBOL = 0, REPLACEMENT = 48, STRATEGY = 96, OLD_LENGTH = 112, OLD_HASH = 116;
}  // namespace field

// ---- Capacities of ModuleLayout; KernelFacts::limits may only lower them ----
constexpr int MAX_SECTIONS = 128;        // ELF sections in the payload (debug ones included)
constexpr int MAX_RELOCATIONS = 1024;    // relocations the loader applies
constexpr uint32_t MAX_SECTION_ALIGN = 4096;

// The section the patch source's CORRAL_PATCH records go to (patches/patch.h):
// read by scripts/mkpatch, never loaded.
constexpr const char* DECLARATION_SECTION = ".corral_patch";
// Optional, not loaded: per target {index, size, FNV-1a of the whole function as
// the module's base build linked it} (u32 each), checked against the live kernel
// (scripts/mkpatch --diff writes it; docs/module-format.md §5).
constexpr const char* OLD_CODE_SECTION = ".oldcode";
constexpr uint32_t OLD_CODE_RECORD_SIZE = 12;

struct ModuleLimits {
    size_t max_file_size = 256 * 1024;
    int max_sections = MAX_SECTIONS;
    int max_relocations = MAX_RELOCATIONS;
    uint32_t max_image_size = 1024 * 1024;   // code + data once loaded, .bss included
};

struct KernelSymbol {
    uint32_t address;
    uint32_t size;
};

// What the validator needs to know about the kernel it would load into.
struct KernelFacts {
    uint32_t build_id;   // build_id_from_texthash() of the running kernel
    void* ctx;
    // A symbol by its linkage name (as in the ELF symbol table).
    bool (*resolve)(void* ctx, const char* name, KernelSymbol* out);
    // The kernel's bytes at an address, as linked (the kernel reads bytes a
    // patch changed from the text writer's journal); false if unreadable.
    bool (*read_bytes)(void* ctx, uint32_t address, uint8_t* out, size_t count);
    ModuleLimits limits;
};

// ---- What validate_module() returns ----

// One allocatable section of the payload, in ELF order.  Executable
// sections go to the code area, the rest (rodata, data, bss) to the data
// area, each at image_offset within its area.
struct LoadSection {
    uint16_t elf_index;
    const char* name;        // inside the payload, NUL-terminated (checked)
    uint32_t type;           // SHT_PROGBITS or SHT_NOBITS
    uint32_t flags;          // SHF_ALLOC, SHF_WRITE, SHF_EXECINSTR, ...
    uint32_t size;
    uint32_t alignment;      // a power of two, 1..MAX_SECTION_ALIGN
    uint32_t image_offset;   // in the code area if executable, else in the data area
    const uint8_t* bytes;    // inside the caller's buffer; nullptr for SHT_NOBITS
    bool executable() const { return (flags & 0x4) != 0; }
};

enum class SymbolKind : uint8_t { Kernel, Module, Absolute };

// One relocation to apply.  The payload uses SHT_REL, so the addend is the
// 32-bit word already stored at `offset` in the section's bytes.
struct LoadRelocation {
    uint16_t section;          // index into ModuleLayout::sections: the bytes to patch
    uint8_t type;              // R_386_32 (1) or R_386_PC32 (2)
    SymbolKind kind;
    uint16_t symbol_section;   // kind Module: index into ModuleLayout::sections
    uint32_t offset;           // in `section`; 4 bytes fit (checked)
    uint32_t value;            // Kernel: address; Module: offset in symbol_section; Absolute: value
};

struct LoadTarget {
    const char* target_name;        // inside the header, NUL-terminated
    const char* replacement_name;   // inside the header
    const char* strategy;           // inside the header; one of the five names
    uint32_t target_address;
    uint32_t target_size;
    uint32_t old_bytes_address;     // hotpatch: target - 5
    uint32_t old_bytes_length;
    uint16_t replacement_section;   // index into ModuleLayout::sections (executable)
    uint32_t replacement_offset;    // in that section
};

struct ModuleLayout {
    char name[MODULE_NAME_SIZE];
    uint32_t build_id;
    const uint8_t* payload;
    uint32_t payload_size;
    int target_count;
    LoadTarget targets[MAX_TARGETS];
    int section_count;
    LoadSection sections[MAX_SECTIONS];
    uint32_t code_size;   // the code area, sections aligned as they ask
    uint32_t data_size;
    int relocation_count;
    LoadRelocation relocations[MAX_RELOCATIONS];
};

// Checks the whole file against `facts` and fills `out` (on error, `out`
// holds nothing useful).  The error is one line starting "module: " that
// names the check and the offending value.  `out` is an out-parameter, not
// part of a Result, because it is about 20 KiB: more than a kernel
// thread's stack should carry, so the loader keeps one outside the stack.
Result<void> validate_module(const uint8_t* bytes, size_t size, const KernelFacts& facts, ModuleLayout& out);

// CRC-32 as zlib/PNG/Ethernet compute it (reflected polynomial 0xedb88320).
uint32_t crc32_ieee(const uint8_t* bytes, size_t count);

// The kernel's build-id: FNV-1a of the first 24 bytes of its .texthash
// table (magic, .text start, .text size, chunk size, chunk count, hash of
// the whole .text), as scripts/gen-texthash wrote them after the link.
constexpr size_t TEXTHASH_HEADER_SIZE = 24;
Result<uint32_t> build_id_from_texthash(const uint8_t* table, size_t size);

// Where the bytes a strategy rewrites start, relative to the function
// entry, and how many there are; false for an unknown strategy name.
// stop-check rewrites whatever layout the function has (strategy_stop_check.cpp):
// its answer depends on `entry`, the function's first 5 bytes (null: false).
bool strategy_old_bytes(const char* strategy, const uint8_t* entry, int* start_offset, uint32_t* length);
// The same for a function of the kernel `facts` describes, at `address`.
bool target_old_bytes(const char* strategy, const KernelFacts& facts, uint32_t address, int* start_offset,
                      uint32_t* length);

}  // namespace corral::module
