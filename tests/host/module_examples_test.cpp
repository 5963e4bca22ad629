// The example patches (patches/*/), compiled by GCC with the kernel's flags
// and packaged by scripts/mkpatch (`make patches`), validated against the
// kernel they were packaged for: build/corral.elf plays the live kernel
// (its symbol table resolves, its bytes are the "live" bytes, its .texthash
// gives the build-id).  Skipped, saying why, until both exist.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "patching/module/module_format.h"
#include "scripts/host/elf32.h"

namespace corral::module {
namespace {

struct ElfKernel {
    const Elf32Image* image;
    uint32_t corrupt_at = 0;   // nonzero: this byte reads back changed, as if patched

    static bool resolve(void* ctx, const char* name, KernelSymbol* out) {
        const ElfSymbol* s = static_cast<ElfKernel*>(ctx)->image->find_symbol(name);
        if (s == nullptr || s->section_index == 0) return false;
        *out = {s->value, s->size};
        return true;
    }
    static bool read_bytes(void* ctx, uint32_t address, uint8_t* out, size_t count) {
        auto* k = static_cast<ElfKernel*>(ctx);
        size_t available = 0;
        const uint8_t* bytes = k->image->bytes_at(address, &available);
        if (bytes == nullptr || available < count) return false;
        for (size_t i = 0; i < count; i++) out[i] = bytes[i] ^ (address + i == k->corrupt_at ? 0xff : 0);
        return true;
    }
};

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class ExampleModules : public ::testing::Test {
protected:
    void SetUp() override {
        struct stat info;
        if (stat(CORRAL_KERNEL_ELF, &info) != 0) GTEST_SKIP() << CORRAL_KERNEL_ELF << " does not exist: run `make` first";
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(CORRAL_PATCHES_DIR, ec))
            if (entry.path().extension() == ".kpatch") files_[entry.path().stem().string()] = read_file(entry.path());
        if (files_.empty()) GTEST_SKIP() << "no " CORRAL_PATCHES_DIR "/*.kpatch: run `make patches` first";
        if (image_.sections().empty()) {   // read once: the kernel ELF is megabytes of debug info
            auto image = Elf32Image::load(CORRAL_KERNEL_ELF);
            ASSERT_TRUE(image.is_ok()) << image.error();
            image_ = image.value();
        }
        const ElfSection* table = image_.find_section(".texthash");
        ASSERT_NE(table, nullptr);
        auto id = build_id_from_texthash(image_.section_bytes(*table), table->size);
        ASSERT_TRUE(id.is_ok()) << id.error();
        kernel_.image = &image_;
        facts_ = {id.value(), &kernel_, ElfKernel::resolve, ElfKernel::read_bytes, ModuleLimits{}};
        skip_if_stale();
    }

    // `make` rebuilds the kernel without repackaging the modules: older
    // .kpatch files than the kernel are stale, not wrong.  A module packaged
    // after the kernel must carry its build-id, or mkpatch is wrong.
    void skip_if_stale() {
        const auto kernel_time = std::filesystem::last_write_time(CORRAL_KERNEL_ELF);
        for (const auto& [name, bytes] : files_) {
            const uint32_t id = bytes.size() < 28 ? 0 : uint32_t(bytes[24] | bytes[25] << 8 | bytes[26] << 16 | bytes[27] << 24);
            if (id == facts_.build_id) continue;
            const auto path = std::filesystem::path(CORRAL_PATCHES_DIR) / (name + ".kpatch");
            if (std::filesystem::last_write_time(path) < kernel_time)
                GTEST_SKIP() << path << " is older than the kernel and was packaged for another build: run `make patches`";
        }
    }

    // Validates the packaged example `name`; "" when accepted.
    std::string validate(const std::string& name) {
        const std::vector<uint8_t>& bytes = files_.at(name);
        Result<void> r = validate_module(bytes.data(), bytes.size(), facts_, layout_);
        return r.is_ok() ? "" : r.error();
    }

    std::map<std::string, std::vector<uint8_t>> files_;
    static inline Elf32Image image_;
    ElfKernel kernel_;
    KernelFacts facts_{};
    static inline ModuleLayout layout_;
};

TEST_F(ExampleModules, EveryPackagedModuleIsAccepted) {
    for (const auto& [name, bytes] : files_) {
        EXPECT_EQ(validate(name), "") << name;
        EXPECT_STREQ(layout_.name, name.c_str());
        EXPECT_GT(layout_.code_size, 0u) << name;
        for (int i = 0; i < layout_.target_count; i++)
            EXPECT_TRUE(layout_.sections[layout_.targets[i].replacement_section].executable()) << name;
    }
}

TEST_F(ExampleModules, TheFourExamplesHaveTheirTargetsAndStrategies) {
    const std::map<std::string, std::vector<std::string>> expected = {
        {"mem_report", {"_ZN6corral12_GLOBAL__N_17cmd_memEiPPc int3"}},
        {"seed_v3", {"seed_example corral-scan"}},
        {"square_pair", {"_ZN6corral18demo_fentry_squareEi int3", "_ZN6corral19demo_fentry_counterEi int3"}},
        {"counted_calls", {"_ZN6corral16demo_hot_counterEi hotpatch"}},
    };
    for (const auto& [name, targets] : expected) {
        ASSERT_TRUE(files_.count(name)) << name << ".kpatch missing from " CORRAL_PATCHES_DIR;
        ASSERT_EQ(validate(name), "");
        std::vector<std::string> seen;
        for (int i = 0; i < layout_.target_count; i++)
            seen.push_back(std::string(layout_.targets[i].target_name) + " " + layout_.targets[i].strategy);
        std::sort(seen.begin(), seen.end());
        EXPECT_EQ(seen, targets) << name;
    }
}

TEST_F(ExampleModules, KernelCallsAreRelocatedToTheKernel) {
    ASSERT_TRUE(files_.count("counted_calls"));
    ASSERT_EQ(validate("counted_calls"), "");
    const ElfSymbol* lock = image_.find_symbol("_ZN6corral8Spinlock4lockEv");
    ASSERT_NE(lock, nullptr);
    bool found = false;
    for (int i = 0; i < layout_.relocation_count; i++) {
        const LoadRelocation& r = layout_.relocations[i];
        found |= r.kind == SymbolKind::Kernel && r.value == lock->value && r.type == 2;
    }
    EXPECT_TRUE(found) << "no R_386_PC32 to Spinlock::lock";
}

TEST_F(ExampleModules, AnAlreadyPatchedTargetIsRefused) {
    ASSERT_TRUE(files_.count("seed_v3"));
    const ElfSymbol* seed = image_.find_symbol("seed_example");
    ASSERT_NE(seed, nullptr);
    kernel_.corrupt_at = seed->value + 2;
    const std::string error = validate("seed_v3");
    EXPECT_EQ(error.rfind("module: target 0: live bytes at ", 0), 0u) << error;
}

}  // namespace
}  // namespace corral::module
