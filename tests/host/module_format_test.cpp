// The module validator (patching/module/): a hand-made good module and
// what it is laid out as, then one hand-made bad module per check, each
// asserting the exact one-line error.  The header and target checks are
// here; the ELF checks are the table in module_elf_test.cpp, run by the
// same parameterized test.  A validator that accepted everything, or
// refused for the wrong reason, fails here.
#include <gtest/gtest.h>

#include "kernel/lib/hash.h"
#include "patching/module/module_format.h"
#include "tests/host/module_builder.h"

namespace corral::module::testing {

extern const BadCase ELF_CASES[];
extern const size_t ELF_CASE_COUNT;

namespace {

TEST(ModuleFormat, GoodModuleIsAcceptedAndLaidOut) {
    const Module m = good_module();
    const ModuleLayout* layout = nullptr;
    ASSERT_EQ(validate(m, {}, &layout), "");
    EXPECT_STREQ(layout->name, "good");
    EXPECT_EQ(layout->build_id, FakeKernel::BUILD_ID);
    ASSERT_EQ(layout->target_count, 1);
    const LoadTarget& t = layout->targets[0];
    EXPECT_STREQ(t.target_name, "target_fn");
    EXPECT_STREQ(t.strategy, "int3");
    EXPECT_EQ(t.target_address, 0x101000u);
    EXPECT_EQ(t.old_bytes_address, 0x101000u);
    EXPECT_EQ(t.old_bytes_length, 5u);
    EXPECT_EQ(t.replacement_section, 0);
    EXPECT_EQ(t.replacement_offset, 0u);
    // .corral_patch is not loaded; .text and the COMDAT .text.inline_fn are code, .data and .bss data.
    ASSERT_EQ(layout->section_count, 4);
    const char* names[] = {".text", ".data", ".bss", ".text.inline_fn"};
    const uint32_t offsets[] = {0, 0, 8, 16};
    for (int i = 0; i < 4; i++) {
        EXPECT_STREQ(layout->sections[i].name, names[i]);
        EXPECT_EQ(layout->sections[i].image_offset, offsets[i]) << names[i];
    }
    EXPECT_EQ(layout->sections[0].bytes, m.bytes.data() + m.section_data(TEXT));
    EXPECT_EQ(layout->sections[2].bytes, nullptr);
    EXPECT_EQ(layout->code_size, 20u);
    EXPECT_EQ(layout->data_size, 16u);
}

TEST(ModuleFormat, RelocationsOfLoadedSectionsAreResolved) {
    const Module m = good_module();
    const ModuleLayout* layout = nullptr;
    ASSERT_EQ(validate(m, {}, &layout), "");
    // Only .rel.text's two: .rel.corral_patch applies to a section that is not loaded.
    ASSERT_EQ(layout->relocation_count, 2);
    const LoadRelocation& call = layout->relocations[0];
    EXPECT_EQ(call.type, 2);
    EXPECT_EQ(call.kind, SymbolKind::Kernel);
    EXPECT_EQ(call.offset, 6u);
    EXPECT_EQ(call.value, 0x102000u);   // kprintf
    const LoadRelocation& load = layout->relocations[1];
    EXPECT_EQ(load.type, 1);
    EXPECT_EQ(load.kind, SymbolKind::Module);
    EXPECT_EQ(load.symbol_section, 2);   // .bss
    EXPECT_EQ(load.offset, 11u);
}

TEST(ModuleFormat, SeveralTargetsWithEachLayout) {
    const Module m = good_module({{"target_fn", "replacement_fn", "int3"},
                                  {"other_fn", "replacement_fn", "corral-scan"},
                                  {"hot_fn", "inline_fn", "hotpatch"}});
    const ModuleLayout* layout = nullptr;
    ASSERT_EQ(validate(m, {}, &layout), "");
    ASSERT_EQ(layout->target_count, 3);
    EXPECT_EQ(layout->targets[1].old_bytes_length, 7u);
    EXPECT_EQ(layout->targets[2].old_bytes_address, 0x101080u - 5);   // the padding before the entry
    EXPECT_EQ(layout->targets[2].replacement_section, 3);
}

TEST(ModuleFormat, PayloadCrcIsChecked) {
    Module m = good_module();
    const uint32_t stated = m.get32(field::PAYLOAD_CRC);
    m.bytes.back() ^= 1;   // the last byte of .shstrtab's section header
    Module unfixed = m;
    m.fix_crc();
    EXPECT_EQ(validate(unfixed), fmt("module: payload CRC32 is 0x%08x, the header says 0x%08x",
                                     m.get32(field::PAYLOAD_CRC), stated));
}

TEST(ModuleFormat, CrcAndBuildIdMatchTheirDefinitions) {
    const uint8_t check[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    EXPECT_EQ(crc32_ieee(check, sizeof check), 0xcbf43926u);   // the standard CRC-32 check value
    uint8_t table[TEXTHASH_HEADER_SIZE] = {'T', 'X', 'T', 'H', 0, 0, 0x10, 0};
    ASSERT_TRUE(build_id_from_texthash(table, sizeof table).is_ok());
    EXPECT_EQ(build_id_from_texthash(table, sizeof table).value(), fnv1a(table, sizeof table));
    EXPECT_STREQ(build_id_from_texthash(table, 20).error(), "module: no .texthash table (want magic TXTH and 24 bytes)");
    table[0] = 'X';
    EXPECT_TRUE(build_id_from_texthash(table, sizeof table).is_error());
}

size_t record(int field_offset) { return HEADER_FIXED_SIZE + size_t(field_offset); }

const BadCase HEADER_CASES[] = {
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
         return "module: target 0: strategy int4 is not one of naive corral corral-scan hotpatch int3 klp"; }},
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

class ModuleChecks : public ::testing::TestWithParam<BadCase> {};

TEST_P(ModuleChecks, RefusedWithItsOneLineError) {
    Module m = good_module();
    ModuleLimits limits;
    const std::string expected = GetParam().edit(m, limits);
    m.fix_crc();
    EXPECT_EQ(validate(m, limits), expected);
    EXPECT_EQ(expected.find('\n'), std::string::npos);
}

std::string case_name(const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Header, ModuleChecks, ::testing::ValuesIn(HEADER_CASES), case_name);
INSTANTIATE_TEST_SUITE_P(Elf, ModuleChecks, ::testing::ValuesIn(ELF_CASES, ELF_CASES + ELF_CASE_COUNT), case_name);

}  // namespace
}  // namespace corral::module::testing
