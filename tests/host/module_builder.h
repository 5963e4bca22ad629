// Hand-made .kpatch files for the validator's tests and the fuzzer's seeds.
//
// good_module() writes a small module the validator must accept: a .text
// with one replacement function, the two relocation types GCC emits for the
// kernel's flags, .data, .bss, a COMDAT group, the .corral_patch
// declarations (not loaded) and an undefined symbol no relocation uses (GCC
// leaves such symbols, e.g. __divdi3).  Each bad-module test then changes
// one thing in the bytes; Module knows where every header, symbol and
// relocation is, and fix_crc() keeps the payload CRC right so that the
// check under test is the one that fires.  FakeKernel answers the
// validator's questions about a kernel with a few functions.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "patching/module/module_format.h"

namespace corral::module::testing {

// ELF section indices of good_module()'s payload.
enum Section {
    TEXT = 1, REL_TEXT, DATA, BSS, DECLARATIONS, REL_DECLARATIONS, GROUP, TEXT_INLINE, COMMENT, SYMTAB, STRTAB,
    SHSTRTAB, SECTION_COUNT
};
// Its symbols (locals first, as ELF wants).
enum Symbol { SYM_TEXT = 1, SYM_BSS, SYM_INLINE, SYM_REPLACEMENT, SYM_KPRINTF, SYM_TARGET, SYM_UNUSED, SYMBOL_COUNT };

struct TargetSpec {
    std::string target = "target_fn";
    std::string replacement = "replacement_fn";
    std::string strategy = "int3";
};

struct Module {
    std::vector<uint8_t> bytes;
    size_t payload = 0;   // where the ELF object starts in `bytes`

    // Offsets in `bytes`.
    size_t elf(size_t field) const { return payload + field; }
    size_t section_header(int index) const;
    size_t section_data(int index) const;
    size_t symbol(int index) const;
    size_t relocation(int rel_section, int entry) const;
    size_t target_record(int index) const { return HEADER_FIXED_SIZE + size_t(index) * TARGET_RECORD_SIZE; }

    uint32_t get32(size_t at) const;
    void set32(size_t at, uint32_t value);
    void set16(size_t at, uint16_t value);
    void write(size_t at, const std::string& text);   // the characters only, no NUL
    void fix_crc();
};

Module good_module(const std::vector<TargetSpec>& targets = {TargetSpec{}});

// A kernel with target_fn (fentry layout), hot_fn (hotpatch layout),
// kprintf and a second fentry function, other_fn.
class FakeKernel {
public:
    FakeKernel();
    KernelFacts facts();
    static constexpr uint32_t BUILD_ID = 0x5eed1d01;

    std::map<std::string, KernelSymbol> symbols;
    std::map<uint32_t, std::vector<uint8_t>> memory;   // start address -> bytes

private:
    static bool resolve(void* ctx, const char* name, KernelSymbol* out);
    static bool read_bytes(void* ctx, uint32_t address, uint8_t* out, size_t count);
};

// FNV-1a of the bytes `strategy` rewrites at `symbol` in the fake kernel.
uint32_t old_bytes_hash(FakeKernel& kernel, const std::string& symbol, const std::string& strategy);

// One hand-made bad module: `edit` breaks one thing in a good_module()
// (and may lower the limits), and returns the exact error line the
// validator must give for it.
struct BadCase {
    const char* name;
    std::string (*edit)(Module& m, ModuleLimits& limits);
};
inline void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }   // gtest names the case
#define EDIT [] ([[maybe_unused]] Module & m, [[maybe_unused]] ModuleLimits & limits) -> std::string

std::string fmt(const char* format, ...) __attribute__((format(printf, 1, 2)));
// Makes the payload `size` bytes (cut or zero-extended), header included.
void resize_payload(Module& m, size_t size);

// Validates `m` against a FakeKernel with `limits`: "" when it is
// accepted, else the error line.  `layout`, if given, is pointed at the
// result (static, it is large), which points into m's bytes.
std::string validate(const Module& m, const ModuleLimits& limits = {}, const ModuleLayout** layout = nullptr);

}  // namespace corral::module::testing
