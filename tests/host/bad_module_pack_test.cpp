// The bad-module pack (patching/module/bad_module_pack.h) as
// write_bad_module_pack() makes it, read back by a reader of its own that
// knows only the documented format: every field 4-aligned, padding zero,
// nothing left over; the fake kernel's symbols and memory; one case per bad
// module of module_cases.cpp, in order; and each case's file refused with
// its error line by a kernel made of the pack's own symbols and memory --
// what the kernel-side ktest will rely on.
#include <gtest/gtest.h>

#include <string.h>

#include "patching/module/bad_module_pack.h"
#include "tests/host/module_cases.h"

namespace corral::module::testing {
namespace {

// Reads the pack front to back; a field off its 4-byte alignment, padding
// that is not zero, or a read past the end is a failure of the test.
class PackReader {
public:
    explicit PackReader(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}

    bool at_end() const { return at_ == bytes_.size(); }

    std::string raw(size_t count, const char* what) {
        if (!take(count, what)) return "";
        return std::string(bytes_.begin() + (at_ - count), bytes_.begin() + at_);
    }

    uint32_t u32(const char* what) {
        if (!take(4, what)) return 0;
        const uint8_t* p = &bytes_[at_ - 4];
        return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    }
    // A NAME_SIZE field: the text before the first NUL, zeros after it.
    std::string name(const char* what) {
        if (!take(pack::NAME_SIZE, what)) return "";
        const char* p = reinterpret_cast<const char*>(&bytes_[at_ - pack::NAME_SIZE]);
        const size_t length = strnlen(p, pack::NAME_SIZE);
        EXPECT_LT(length, pack::NAME_SIZE) << what << " is not NUL-terminated";
        for (size_t i = length; i < pack::NAME_SIZE; i++)
            EXPECT_EQ(p[i], 0) << what << ": byte " << i << " after the NUL";
        return std::string(p, length);
    }
    // A u32 length, the bytes, zeros to a multiple of 4.
    std::vector<uint8_t> bytes(const char* what) {
        const uint32_t length = u32(what);
        if (!take(pack::padded(length), what)) return {};
        const size_t start = at_ - pack::padded(length);
        for (size_t i = start + length; i < at_; i++) EXPECT_EQ(bytes_[i], 0) << what << ": padding byte " << i;
        return std::vector<uint8_t>(bytes_.begin() + start, bytes_.begin() + start + length);
    }
    std::string text(const char* what) {
        const std::vector<uint8_t> b = bytes(what);
        return std::string(b.begin(), b.end());
    }

private:
    bool take(size_t count, const char* what) {
        EXPECT_EQ(at_ % 4, 0u) << what << " at " << at_ << " is not 4-aligned";
        if (count > bytes_.size() - at_) {
            ADD_FAILURE() << what << " at " << at_ << " (" << count << " bytes) runs past the pack's end";
            at_ = bytes_.size();
            return false;
        }
        at_ += count;
        return true;
    }

    const std::vector<uint8_t>& bytes_;
    size_t at_ = 0;
};

struct Expected {
    std::string name, error;
};

// The cases the pack must hold: those of the tables with an error, in order.
std::vector<Expected> bad_cases() {
    std::vector<Expected> out;
    using Table = std::pair<const BadCase*, size_t>;
    for (auto [table, count] : {Table{HEADER_CASES, HEADER_CASE_COUNT}, Table{ELF_CASES, ELF_CASE_COUNT}}) {
        for (size_t i = 0; i < count; i++) {
            Module m = good_module();
            ModuleLimits limits;
            const std::string error = table[i].edit(m, limits);
            if (!error.empty()) out.push_back({table[i].name, error});
        }
    }
    return out;
}

TEST(BadModulePack, ReadsBackAsDocumented) {
    size_t written_count = 0;
    const std::vector<uint8_t> pack = write_bad_module_pack(&written_count);
    PackReader r(pack);
    ASSERT_EQ(r.raw(sizeof pack::MAGIC, "magic"), std::string(pack::MAGIC, sizeof pack::MAGIC));
    ASSERT_EQ(r.u32("version"), pack::PACK_VERSION);

    // The kernel the cases were made for, as the pack tells it.
    FakeKernel kernel;
    const FakeKernel original;
    const uint32_t build_id = r.u32("build_id");
    EXPECT_EQ(build_id, FakeKernel::BUILD_ID);
    kernel.symbols.clear();
    const uint32_t symbol_count = r.u32("symbol_count");
    for (uint32_t i = 0; i < symbol_count && !r.at_end(); i++) {
        const std::string name = r.name("symbol name");
        const uint32_t address = r.u32("symbol address");
        kernel.symbols[name] = KernelSymbol{address, r.u32("symbol size")};
    }
    kernel.memory.clear();
    const uint32_t region_count = r.u32("region_count");
    for (uint32_t i = 0; i < region_count && !r.at_end(); i++) {
        const uint32_t address = r.u32("region address");
        kernel.memory[address] = r.bytes("region bytes");
    }
    ASSERT_EQ(kernel.symbols.size(), original.symbols.size());
    for (const auto& [name, symbol] : original.symbols) {
        ASSERT_EQ(kernel.symbols.count(name), 1u) << name;
        EXPECT_EQ(kernel.symbols[name].address, symbol.address) << name;
        EXPECT_EQ(kernel.symbols[name].size, symbol.size) << name;
    }
    EXPECT_EQ(kernel.memory, original.memory);

    const std::vector<Expected> expected = bad_cases();
    const uint32_t case_count = r.u32("case_count");
    ASSERT_EQ(case_count, expected.size());
    EXPECT_EQ(written_count, expected.size());
    EXPECT_LT(expected.size(), HEADER_CASE_COUNT + ELF_CASE_COUNT);   // the accepted ones are not in it
    for (uint32_t i = 0; i < case_count && !r.at_end(); i++) {
        const std::string name = r.name("case name");
        EXPECT_EQ(name, expected[i].name) << "case " << i;
        ModuleLimits limits;
        limits.max_file_size = r.u32("max_file_size");
        limits.max_sections = int(r.u32("max_sections"));
        limits.max_relocations = int(r.u32("max_relocations"));
        limits.max_image_size = r.u32("max_image_size");
        const std::string error = r.text("error line");
        EXPECT_EQ(error, expected[i].error) << name;
        EXPECT_EQ(error.find('\n'), std::string::npos) << name;
        const std::vector<uint8_t> file = r.bytes("module file");

        // The pack's limits too: the cases that lower one are accepted without it.
        KernelFacts facts = kernel.facts();
        facts.build_id = build_id;
        facts.limits = limits;
        static ModuleLayout layout;   // large
        const Result<void> result = validate_module(file.data(), file.size(), facts, layout);
        ASSERT_TRUE(result.is_error()) << name << " is accepted";
        EXPECT_EQ(std::string(result.error()), error) << name;
    }
    EXPECT_TRUE(r.at_end()) << "bytes after the last case";
}

}  // namespace
}  // namespace corral::module::testing
