// The module validator (patching/module/): a hand-made good module and
// what it is laid out as, then one hand-made bad module per check, each
// asserting the exact one-line error.  The bad modules are the tables of
// module_cases.cpp (the header and target checks, then the ELF checks),
// run here by one parameterized test.  A validator that accepted
// everything, or refused for the wrong reason, fails here.
#include <gtest/gtest.h>

#include "kernel/lib/hash.h"
#include "patching/module/module_format.h"
#include "tests/host/module_cases.h"

namespace corral::module::testing {

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

// stop-check rewrites what the layout it finds needs: the fentry NOP, the
// hotpatch padding and mov edi,edi, or the far-jmp 7 bytes.
TEST(ModuleFormat, StopCheckTakesEachTargetsLayout) {
    const Module m = good_module({{"target_fn", "replacement_fn", "stop-check"},
                                  {"hot_fn", "inline_fn", "stop-check"}});
    const ModuleLayout* layout = nullptr;
    ASSERT_EQ(validate(m, {}, &layout), "");
    EXPECT_EQ(layout->targets[0].old_bytes_address, 0x101000u);
    EXPECT_EQ(layout->targets[0].old_bytes_length, 5u);
    EXPECT_EQ(layout->targets[1].old_bytes_address, 0x101080u - 5);
    EXPECT_EQ(layout->targets[1].old_bytes_length, 7u);
    const uint8_t far[5] = {0x55, 0x89, 0xe5, 0x83, 0xec};   // push ebp; mov ebp,esp; sub esp
    int start = 1;
    uint32_t length = 0;
    EXPECT_TRUE(strategy_old_bytes("stop-check", far, &start, &length));
    EXPECT_EQ(start, 0);
    EXPECT_EQ(length, 7u);
    EXPECT_FALSE(strategy_old_bytes("stop-check", nullptr, &start, &length));
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

INSTANTIATE_TEST_SUITE_P(Header, ModuleChecks, ::testing::ValuesIn(HEADER_CASES, HEADER_CASES + HEADER_CASE_COUNT),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Elf, ModuleChecks, ::testing::ValuesIn(ELF_CASES, ELF_CASES + ELF_CASE_COUNT), case_name);

}  // namespace
}  // namespace corral::module::testing
