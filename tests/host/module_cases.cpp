// The hand-made bad modules of the validator's tests (module_cases.h): one
// per check, each an edit of good_module() that changes one thing (and may
// lower the limits) and returns the exact one-line error; an edit that
// returns "" is something the validator must accept.  ModuleChecks
// (module_format_test.cpp) runs them all; write_bad_module_pack()
// (bad_module_pack_writer.cpp) packs the bad ones for the kernel's loader
// ktests.  No gtest here: the pack's generator links this file too.
#include "tests/host/module_cases.h"

#include "kernel/lib/hash.h"

namespace corral::module::testing {
namespace {

size_t record(int field_offset) { return HEADER_FIXED_SIZE + size_t(field_offset); }

enum ShField { SH_NAME = 0, SH_TYPE = 4, SH_FLAGS = 8, SH_OFFSET = 16, SH_SIZE = 20, SH_LINK = 24, SH_INFO = 28,
               SH_ALIGN = 32, SH_ENTSIZE = 36 };
enum SymField { ST_NAME = 0, ST_VALUE = 4, ST_SIZE = 8, ST_INFO = 12, ST_SHNDX = 14 };

uint32_t payload_size(const Module& m) { return uint32_t(m.bytes.size() - m.payload); }
uint32_t table_offset(const Module& m) { return m.get32(m.elf(32)); }
uint32_t sh(const Module& m, int section, int field) { return m.get32(m.section_header(section) + field); }
void set_sh(Module& m, int section, int field, uint32_t value) { m.set32(m.section_header(section) + field, value); }
void set_rel(Module& m, int rel_section, int entry, uint32_t offset, uint32_t symbol, uint32_t type) {
    m.set32(m.relocation(rel_section, entry), offset);
    m.set32(m.relocation(rel_section, entry) + 4, symbol << 8 | type);
}
void unterminate(Module& m, int section) { m.bytes[m.section_data(section) + sh(m, section, SH_SIZE) - 1] = 'x'; }

// Makes the (unloaded) .comment section a .oldcode section holding `words`, appended to the payload
// (the two names have the same length, so the section name table keeps its size).
void old_code(Module& m, std::initializer_list<uint32_t> words) {
    const uint32_t at = payload_size(m);
    resize_payload(m, at + 4 * words.size());
    uint32_t i = 0;
    for (uint32_t w : words) m.set32(m.payload + at + 4 * i++, w);
    m.write(m.section_data(SHSTRTAB) + sh(m, COMMENT, SH_NAME), OLD_CODE_SECTION);
    set_sh(m, COMMENT, SH_FLAGS, 0);
    set_sh(m, COMMENT, SH_ENTSIZE, 0);
    set_sh(m, COMMENT, SH_OFFSET, at);
    set_sh(m, COMMENT, SH_SIZE, 4 * uint32_t(words.size()));
    m.fix_crc();
}

// FNV-1a of the first n bytes of the fake kernel's target_fn.
uint32_t target_fn_hash(size_t n) {
    FakeKernel k;
    return fnv1a(k.memory[0x101000].data(), n);
}

}  // namespace

// The header and target checks.
extern const BadCase HEADER_CASES[] = {
    {"FileOverTheLimit", EDIT { limits.max_file_size = 100;
                                return fmt("module: file is %zu bytes, the limit is 100", m.bytes.size()); }},
    {"FileShorterThanTheHeader", EDIT { m.bytes.resize(63);
                                        return "module: file is 63 bytes, too short for the 64-byte header"; }},
    {"Magic", EDIT { m.bytes[0] = 'X';
                     return "module: magic is 58 52 4c 50 41 54 43 48, want \"CRLPATCH\""; }},
    {"Version", EDIT { m.set32(field::VERSION, 2); return "module: format version is 2, this kernel reads version 1"; }},
    {"NoTargets", EDIT { m.set32(field::TARGET_COUNT, 0); return "module: target count is 0, want 1..8"; }},
    {"NineTargets", EDIT { m.set32(field::TARGET_COUNT, 9); return "module: target count is 9, want 1..8"; }},
    {"HeaderSize", EDIT { m.set32(field::HEADER_SIZE, 200); return "module: header size is 200, want 184 for 1 targets"; }},
    {"PayloadSizeTooLarge", EDIT {
         const uint32_t payload = uint32_t(m.bytes.size() - m.payload) + 1;
         m.set32(field::PAYLOAD_SIZE, payload);
         return fmt("module: header (184 bytes) and payload (%u bytes) do not add up to the file size (%zu bytes)",
                    payload, m.bytes.size()); }},
    {"FileCutShort", EDIT {
         m.bytes.pop_back();
         return fmt("module: header (184 bytes) and payload (%u bytes) do not add up to the file size (%zu bytes)",
                    m.get32(field::PAYLOAD_SIZE), m.bytes.size()); }},
    {"BuildId", EDIT { m.set32(field::BUILD_ID, 0x1234);
                       return "module: built for kernel build-id 0x00001234, this kernel is 0x5eed1d01"; }},
    {"NameNotTerminated", EDIT { m.write(field::NAME, std::string(32, 'a'));
                                 return "module: module name is not NUL-terminated within 32 bytes"; }},
    {"NameEmpty", EDIT { m.bytes[field::NAME] = 0; return "module: module name is empty"; }},
    {"NameNotPadded", EDIT { m.bytes[field::NAME + 5] = 'x';
                             return "module: module name has a non-zero byte after its NUL (at 5)"; }},
    {"TargetNameNotTerminated", EDIT { m.write(record(field::TARGET_SYMBOL), std::string(48, 't'));
                                       return "module: target 0: symbol name is not NUL-terminated within 48 bytes"; }},
    {"ReplacementNameEmpty", EDIT { m.bytes[record(field::REPLACEMENT)] = 0;
                                    return "module: target 0: replacement name is empty"; }},
    {"StrategyNotPadded", EDIT { m.bytes[record(field::STRATEGY) + 10] = 1;
                                 return "module: target 0: strategy name has a non-zero byte after its NUL (at 10)"; }},
    {"UnknownStrategy", EDIT {
         m.write(record(field::STRATEGY), "int4");
         return "module: target 0: strategy int4 is not one of naive corral corral-scan hotpatch int3 stop-check klp";
     }},
    {"OldLengthNotTheStrategys", EDIT { m.set32(record(field::OLD_LENGTH), 7);
                                        return "module: target 0: old-bytes length is 7, strategy int3 rewrites 5"; }},
    {"TargetNotInTheKernel", EDIT { m = good_module({{"missing_fn", "replacement_fn", "int3"}});
                                    return "module: target 0: kernel symbol missing_fn not found"; }},
    {"TargetBytesUnreadable", EDIT { m = good_module({{"unmapped_fn", "replacement_fn", "int3"}});
                                     return "module: target 0: cannot read 5 live bytes at 0x200000"; }},
    {"HotpatchBytesBeforeTheText", EDIT { m = good_module({{"target_fn", "replacement_fn", "hotpatch"}});
                                          return "module: target 0: cannot read 7 live bytes at 0x100ffb"; }},
    {"OldBytesChanged", EDIT {
         m.set32(record(field::OLD_HASH), 0);
         const uint8_t nop[] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
         return fmt("module: target 0: live bytes at 0x101000 hash to 0x%08x, the header says 0x00000000",
                    fnv1a(nop, 5)); }},
    {"StopCheckOldLengthIsTheLayouts", EDIT {   // target_fn has the fentry layout: 5 bytes, not 7
         m = good_module({{"target_fn", "replacement_fn", "stop-check"}});
         m.set32(record(field::OLD_LENGTH), 7);
         return "module: target 0: old-bytes length is 7, strategy stop-check rewrites 5"; }},
    {"StopCheckEntryUnreadable", EDIT { m = good_module({{"unmapped_fn", "replacement_fn", "stop-check"}});
                                        return "module: target 0: cannot read the entry of unmapped_fn at 0x200000"; }},
    {"TargetTwice", EDIT { m = good_module({TargetSpec{}, TargetSpec{}});
                           return "module: target 1: target_fn is also target 0"; }},
    {"ReplacementMissing", EDIT { m = good_module({{"target_fn", "nothing_fn", "int3"}});
                                  return "module: target 0: replacement nothing_fn is not defined in the payload"; }},
    {"ReplacementDefinedTwice", EDIT {
         m.set32(m.symbol(SYM_INLINE), m.get32(m.symbol(SYM_REPLACEMENT)));   // inline_fn renamed replacement_fn
         return "module: target 0: replacement replacement_fn is defined 2 times in the payload"; }},
    {"ReplacementNotCode", EDIT {
         m.set16(m.symbol(SYM_REPLACEMENT) + 14, DATA);
         m.set32(m.symbol(SYM_REPLACEMENT) + 8, 4);
         return "module: target 0: replacement replacement_fn is not code in an executable section"; }},
    {"ReplacementIsAnUndefinedSymbol", EDIT {
         m = good_module({{"target_fn", "kprintf", "int3"}});
         return "module: target 0: replacement kprintf is not defined in the payload"; }},
};
extern const size_t HEADER_CASE_COUNT = sizeof HEADER_CASES / sizeof HEADER_CASES[0];

// The ELF checks, each changing one field of good_module()'s object.
extern const BadCase ELF_CASES[] = {
    {"PayloadShorterThanElfHeader", EDIT { resize_payload(m, 40);
                                           return "module: the payload has 40 bytes, too few for an ELF header (52)"; }},
    {"NotElf", EDIT { m.bytes[m.elf(0)] = 0; return "module: payload starts 00 45 4c 46, not an ELF file (7f 45 4c 46)"; }},
    {"Class64", EDIT { m.bytes[m.elf(4)] = 2; return "module: ELF class is 2, want 1 (32-bit)"; }},
    {"BigEndian", EDIT { m.bytes[m.elf(5)] = 2; return "module: ELF data encoding is 2, want 1 (little-endian)"; }},
    {"IdentVersion", EDIT { m.bytes[m.elf(6)] = 0; return "module: ELF version is 0 (ident) and 1 (header), want 1"; }},
    {"HeaderVersion", EDIT { m.set32(m.elf(20), 2); return "module: ELF version is 1 (ident) and 2 (header), want 1"; }},
    {"Executable", EDIT { m.set16(m.elf(16), 2); return "module: ELF type is 2, want 1 (ET_REL, a relocatable object)"; }},
    {"X86_64", EDIT { m.set16(m.elf(18), 62); return "module: ELF machine is 62, want 3 (EM_386)"; }},
    {"ElfHeaderSize", EDIT { m.set16(m.elf(40), 64); return "module: ELF header size is 64, want 52"; }},
    {"ProgramHeaders", EDIT { m.set16(m.elf(44), 1);
                              return "module: ELF has 1 program headers, a relocatable object has none"; }},
    {"SectionHeaderSize", EDIT { m.set16(m.elf(46), 64); return "module: ELF section header size is 64, want 40"; }},
    {"NoSections", EDIT { m.set16(m.elf(48), 0); return "module: ELF has 0 sections, the limit is 1..128"; }},
    {"SectionsOverTheLimit", EDIT { limits.max_sections = 8; return "module: ELF has 13 sections, the limit is 1..8"; }},
    {"SectionTableOutside", EDIT {
         m.set32(m.elf(32), payload_size(m) - 100);
         return fmt("module: section header table at offset %u (520 bytes) is outside the %u-byte payload",
                    payload_size(m) - 100, payload_size(m)); }},
    {"SectionTableOffsetWraps", EDIT {
         m.set32(m.elf(32), 0xfffffff0);
         return fmt("module: section header table at offset 4294967280 (520 bytes) is outside the %u-byte payload",
                    payload_size(m)); }},
    {"SectionTableOverlapsElfHeader", EDIT { m.set32(m.elf(32), 12);
                                             return "module: section header table at offset 12 overlaps the ELF header"; }},
    {"NoNameTable", EDIT { m.set16(m.elf(50), 0); return "module: section name table index 0 is not a section (1..12)"; }},
    {"NameTablePastTheEnd", EDIT { m.set16(m.elf(50), 13);
                                   return "module: section name table index 13 is not a section (1..12)"; }},
    {"FirstSectionNotNull", EDIT { set_sh(m, 0, SH_TYPE, 1); return "module: section 0 has type 1, want SHT_NULL (0)"; }},
    {"NameTableNotStrtab", EDIT {
         set_sh(m, SHSTRTAB, SH_TYPE, 1);
         return "module: the section name table (section 12) has type SHT_PROGBITS (1), want SHT_STRTAB"; }},
    {"NameTableOutside", EDIT {
         set_sh(m, SHSTRTAB, SH_SIZE, 0x10000);
         return fmt("module: the section name table (section 12) at offset %u (65536 bytes) is outside the %u-byte "
                    "payload", sh(m, SHSTRTAB, SH_OFFSET), payload_size(m)); }},
    {"NameTableNotTerminated", EDIT { unterminate(m, SHSTRTAB);
                                      return "module: the section name table (section 12) does not end with a NUL"; }},
    {"SectionNameOutside", EDIT {
         set_sh(m, DATA, SH_NAME, 5000);
         return fmt("module: section 3 name offset 5000 is outside the section name table (%u bytes)",
                    sh(m, SHSTRTAB, SH_SIZE)); }},
    {"Rela", EDIT { set_sh(m, REL_TEXT, SH_TYPE, 4);
                    return "module: section .rel.text has type SHT_RELA (4), which is not supported"; }},
    {"InitArray", EDIT { set_sh(m, DATA, SH_TYPE, 14);
                         return "module: section .data has type SHT_INIT_ARRAY (14), which is not supported"; }},
    {"UnknownSectionType", EDIT { set_sh(m, DATA, SH_TYPE, 0x6ffffff6);
                                  return "module: section .data has type unknown (1879048182), which is not supported"; }},
    {"SectionOutside", EDIT {
         set_sh(m, DATA, SH_OFFSET, payload_size(m));
         return fmt("module: section .data at offset %u (4 bytes) is outside the %u-byte payload", payload_size(m),
                    payload_size(m)); }},
    {"SectionSizeWraps", EDIT {
         set_sh(m, DATA, SH_SIZE, 0xffffffff);
         return fmt("module: section .data at offset %u (4294967295 bytes) is outside the %u-byte payload",
                    sh(m, DATA, SH_OFFSET), payload_size(m)); }},
    {"SectionOverlapsElfHeader", EDIT { set_sh(m, DATA, SH_OFFSET, 8);
                                        return "module: section .data at offset 8 overlaps the ELF header"; }},
    {"SectionOverlapsSectionTable", EDIT {
         set_sh(m, DATA, SH_OFFSET, table_offset(m) + 40);
         return fmt("module: section .data at offset %u (4 bytes) overlaps the section header table at %u",
                    table_offset(m) + 40, table_offset(m)); }},
    {"BssNeedsNoFileBytes", EDIT { set_sh(m, BSS, SH_OFFSET, 0xfffffff0); return ""; }},
    {"WritableCode", EDIT { set_sh(m, TEXT, SH_FLAGS, 0x7); return "module: section .text is both writable and executable"; }},
    {"ThreadLocal", EDIT { set_sh(m, DATA, SH_FLAGS, 0x403);
                           return "module: section .data holds thread-local data, which the kernel has not"; }},
    {"AllocatedSymbolTable", EDIT { set_sh(m, SYMTAB, SH_FLAGS, 0x2);
                                    return "module: section .symtab is allocatable but has type SHT_SYMTAB (2)"; }},
    {"AlignmentNotPowerOfTwo", EDIT { set_sh(m, DATA, SH_ALIGN, 3);
                                      return "module: section .data alignment 3 is not a power of two up to 4096"; }},
    {"AlignmentTooLarge", EDIT { set_sh(m, DATA, SH_ALIGN, 8192);
                                 return "module: section .data alignment 8192 is not a power of two up to 4096"; }},
    {"NoSymbolTable", EDIT { set_sh(m, SYMTAB, SH_TYPE, 1); return "module: the payload has 0 symbol tables, want exactly 1"; }},
    {"TwoSymbolTables", EDIT { set_sh(m, COMMENT, SH_TYPE, 2);
                               return "module: the payload has 2 symbol tables, want exactly 1"; }},
    {"SymbolEntrySize", EDIT { set_sh(m, SYMTAB, SH_ENTSIZE, 24); return "module: symbol table entry size is 24, want 16"; }},
    {"SymbolTableSize", EDIT { set_sh(m, SYMTAB, SH_SIZE, 17);
                               return "module: symbol table size 17 is not a positive multiple of 16"; }},
    {"SymbolTableLinksNothing", EDIT { set_sh(m, SYMTAB, SH_LINK, 99);
                                       return "module: symbol table links section 99, which is not a section"; }},
    {"SymbolTableLinksData", EDIT {
         set_sh(m, SYMTAB, SH_LINK, DATA);
         return "module: the symbol string table (section 3) has type SHT_PROGBITS (1), want SHT_STRTAB"; }},
    {"StringTableNotTerminated", EDIT { unterminate(m, STRTAB);
                                        return "module: the symbol string table (section 11) does not end with a NUL"; }},
    {"LocalSymbolCount", EDIT { set_sh(m, SYMTAB, SH_INFO, 9); return "module: symbol table says 9 local symbols, it has 8"; }},
    {"SymbolNameOutside", EDIT {
         m.set32(m.symbol(SYM_REPLACEMENT) + ST_NAME, 9999);
         return fmt("module: symbol 4 name offset 9999 is outside the string table (%u bytes)", sh(m, STRTAB, SH_SIZE)); }},
    {"ThreadLocalSymbol", EDIT { m.bytes[m.symbol(SYM_REPLACEMENT) + ST_INFO] = 1 << 4 | 6;
                                 return "module: symbol replacement_fn has type 6, which is not supported"; }},
    {"SymbolBinding", EDIT { m.bytes[m.symbol(SYM_REPLACEMENT) + ST_INFO] = 3 << 4 | 2;
                             return "module: symbol replacement_fn has binding 3, which is not supported"; }},
    {"CommonSymbol", EDIT { m.set16(m.symbol(SYM_KPRINTF) + ST_SHNDX, 0xfff2);
                            return "module: symbol kprintf is a common symbol (compile with -fno-common)"; }},
    {"SymbolInNoSection", EDIT { m.set16(m.symbol(SYM_REPLACEMENT) + ST_SHNDX, 200);
                                 return "module: symbol replacement_fn is in section 200, which is not a section"; }},
    {"SymbolPastItsSection", EDIT {
         m.set32(m.symbol(SYM_REPLACEMENT) + ST_VALUE, 20);
         return "module: symbol replacement_fn (offset 20, 16 bytes) does not fit in section .text (16 bytes)"; }},
    {"SymbolSizeWraps", EDIT {
         m.set32(m.symbol(SYM_REPLACEMENT) + ST_VALUE, 1);
         m.set32(m.symbol(SYM_REPLACEMENT) + ST_SIZE, 0xffffffff);
         return "module: symbol replacement_fn (offset 1, 4294967295 bytes) does not fit in section .text (16 bytes)"; }},
    {"AbsoluteSymbolAccepted", EDIT { m.set16(m.symbol(SYM_BSS) + ST_SHNDX, 0xfff1); return ""; }},
    {"ImageLimit", EDIT { limits.max_image_size = 16;
                          return "module: section .data (4 bytes) takes code and data past the image limit of 16 bytes"; }},
    {"HugeBss", EDIT {
         set_sh(m, BSS, SH_SIZE, 0x7fffffff);
         return "module: section .bss (2147483647 bytes) takes code and data past the image limit of 1048576 bytes"; }},
    {"GroupEntrySize", EDIT { set_sh(m, GROUP, SH_ENTSIZE, 8);
                              return "module: group section .group has 8 bytes of 8-byte entries, want 4-byte entries"; }},
    {"GroupLink", EDIT { set_sh(m, GROUP, SH_LINK, STRTAB);
                         return "module: group section .group links section 11, not the symbol table"; }},
    {"GroupSignature", EDIT { set_sh(m, GROUP, SH_INFO, 99);
                              return "module: group section .group names symbol 99, the table has 1..7"; }},
    {"GroupFlags", EDIT { m.set32(m.section_data(GROUP), 2); return "module: group section .group has flags 0x2"; }},
    {"GroupMemberMissing", EDIT { m.set32(m.section_data(GROUP) + 4, 99);
                                  return "module: group section .group lists section 99, which cannot be a member"; }},
    {"GroupContainsItself", EDIT { m.set32(m.section_data(GROUP) + 4, GROUP);
                                   return "module: group section .group lists section 7, which cannot be a member"; }},
    {"RelocationEntrySize", EDIT {
         set_sh(m, REL_TEXT, SH_ENTSIZE, 12);
         return "module: relocation section .rel.text has 16 bytes of 12-byte entries, want 8-byte entries"; }},
    {"RelocationLink", EDIT { set_sh(m, REL_TEXT, SH_LINK, STRTAB);
                              return "module: relocation section .rel.text links section 11, not the symbol table"; }},
    {"RelocationTargetMissing", EDIT {
         set_sh(m, REL_TEXT, SH_INFO, 99);
         return "module: relocation section .rel.text applies to section 99, which is not a section"; }},
    {"RelocationOfBss", EDIT {
         set_sh(m, REL_TEXT, SH_INFO, BSS);
         return "module: relocation section .rel.text applies to section .bss, which has no bytes to relocate"; }},
    {"RelocationGotpc", EDIT { set_rel(m, REL_TEXT, 0, 6, SYM_KPRINTF, 10);
                               return "module: relocation type R_386_GOTPC (10) in .rel.text is not supported"; }},
    {"RelocationPlt32", EDIT { set_rel(m, REL_TEXT, 0, 6, SYM_KPRINTF, 4);
                               return "module: relocation type R_386_PLT32 (4) in .rel.text is not supported"; }},
    {"RelocationNone", EDIT { set_rel(m, REL_TEXT, 0, 6, SYM_KPRINTF, 0);
                              return "module: relocation type R_386_NONE (0) in .rel.text is not supported"; }},
    {"RelocationUnknownType", EDIT { set_rel(m, REL_TEXT, 0, 6, SYM_KPRINTF, 200);
                                     return "module: relocation type unknown (200) in .rel.text is not supported"; }},
    {"RelocationInUnloadedSectionChecked", EDIT {
         set_rel(m, REL_DECLARATIONS, 0, 4, SYM_TARGET, 10);
         return "module: relocation type R_386_GOTPC (10) in .rel.corral_patch is not supported"; }},
    {"RelocationWithoutRoom", EDIT {
         set_rel(m, REL_TEXT, 1, 13, SYM_BSS, 1);
         return "module: relocation 1 in .rel.text at offset 0xd leaves fewer than 4 bytes in .text (16 bytes)"; }},
    {"RelocationOffsetWraps", EDIT {
         set_rel(m, REL_TEXT, 1, 0xfffffffe, SYM_BSS, 1);
         return "module: relocation 1 in .rel.text at offset 0xfffffffe leaves fewer than 4 bytes in .text (16 bytes)"; }},
    {"RelocationOfTheNullSymbol", EDIT { set_rel(m, REL_TEXT, 0, 6, 0, 2);
                                         return "module: relocation 0 in .rel.text uses symbol 0, the table has 1..7"; }},
    {"RelocationPastTheSymbols", EDIT { set_rel(m, REL_TEXT, 0, 6, 8, 2);
                                        return "module: relocation 0 in .rel.text uses symbol 8, the table has 1..7"; }},
    {"UndefinedSymbolNotInKernel", EDIT {
         m.set32(m.symbol(SYM_KPRINTF) + ST_NAME, m.get32(m.symbol(SYM_UNUSED) + ST_NAME));
         return "module: undefined symbol unused_undefined (used in .rel.text) is not in the kernel"; }},
    {"RelocationToUnloadedSection", EDIT {
         m.set16(m.symbol(SYM_BSS) + ST_SHNDX, DECLARATIONS);
         return "module: relocation in .rel.text uses a symbol of section .corral_patch, which is not loaded"; }},
    {"TooManyRelocations", EDIT { limits.max_relocations = 1; return "module: more than 1 relocations to load"; }},
    {"OldCodeAccepted", EDIT { old_code(m, {0, 32, target_fn_hash(32)}); return ""; }},
    {"OldCodeDiffers", EDIT {
         old_code(m, {0, 32, 0xdeadbeef});
         return fmt("module: target 0: target_fn is not the code the module was made for (its 32 bytes hash to "
                    "0x%08x, the module says 0xdeadbeef)", target_fn_hash(32)); }},
    {"OldCodeSize", EDIT { old_code(m, {0, 40, target_fn_hash(40)});
                           return "module: target 0: target_fn is 32 bytes in this kernel, the module was made for 40"; }},
    {"OldCodeTarget", EDIT { old_code(m, {1, 32, target_fn_hash(32)});
                             return "module: .oldcode names target 1, the module has 1"; }},
    {"OldCodeRecordSize", EDIT { old_code(m, {0, 32});
                                 return "module: section .oldcode has 8 bytes, not 12-byte records"; }},
};
extern const size_t ELF_CASE_COUNT = sizeof ELF_CASES / sizeof ELF_CASES[0];

}  // namespace corral::module::testing
