// write_bad_module_pack() (module_cases.h): the pack of
// patching/module/bad_module_pack.h, for bad_module_pack.cpp to write to a
// file at build time and for bad_module_pack_test.cpp to read back.
#include <stdexcept>
#include <string>

#include "patching/module/bad_module_pack.h"
#include "tests/host/module_cases.h"

namespace corral::module::testing {
namespace {

class PackWriter {
public:
    std::vector<uint8_t> out;

    void u32(uint32_t x) {
        for (int i = 0; i < 4; i++) out.push_back(uint8_t(x >> (8 * i)));
    }
    // A name, NUL-padded to NAME_SIZE (at least one NUL).
    void name(const std::string& text, const char* what) {
        if (text.size() >= pack::NAME_SIZE)
            throw std::runtime_error(std::string("bad_module_pack: ") + what + " " + text + " is longer than " +
                                     std::to_string(pack::NAME_SIZE - 1) + " characters");
        out.insert(out.end(), text.begin(), text.end());
        out.resize(out.size() + pack::NAME_SIZE - text.size(), 0);
    }
    // A length, the bytes, then zeros to a multiple of 4.
    void bytes(const uint8_t* data, size_t length) {
        u32(uint32_t(length));
        out.insert(out.end(), data, data + length);
        out.resize(out.size() + pack::padded(uint32_t(length)) - length, 0);
    }
    void bytes(const std::string& text) { bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size()); }
};

void write_case(PackWriter& w, const BadCase& c, size_t* count) {
    Module m = good_module();
    ModuleLimits limits;
    const std::string expected = c.edit(m, limits);   // as ModuleChecks makes it
    m.fix_crc();
    if (expected.empty()) return;   // a module the validator must accept
    const std::string got = validate(m, limits);
    if (got != expected)
        throw std::runtime_error(std::string("bad_module_pack: case ") + c.name + ": the validator says \"" + got +
                                 "\", the case expects \"" + expected + "\"");
    if (expected.find('\n') != std::string::npos)
        throw std::runtime_error(std::string("bad_module_pack: case ") + c.name + ": its error is not one line");
    w.name(c.name, "case");
    for (uint64_t limit : {uint64_t(limits.max_file_size), uint64_t(limits.max_sections),
                           uint64_t(limits.max_relocations), uint64_t(limits.max_image_size)}) {
        if (limit > UINT32_MAX)
            throw std::runtime_error(std::string("bad_module_pack: case ") + c.name + ": a limit does not fit a u32");
        w.u32(uint32_t(limit));
    }
    w.bytes(expected);
    w.bytes(m.bytes.data(), m.bytes.size());
    ++*count;
}

}  // namespace

std::vector<uint8_t> write_bad_module_pack(size_t* case_count) {
    PackWriter w;
    w.out.assign(pack::MAGIC, pack::MAGIC + sizeof pack::MAGIC);
    w.u32(pack::PACK_VERSION);
    w.u32(FakeKernel::BUILD_ID);
    const FakeKernel kernel;
    w.u32(uint32_t(kernel.symbols.size()));
    for (const auto& [name, symbol] : kernel.symbols) {
        w.name(name, "symbol");
        w.u32(symbol.address);
        w.u32(symbol.size);
    }
    w.u32(uint32_t(kernel.memory.size()));
    for (const auto& [address, bytes] : kernel.memory) {
        w.u32(address);
        w.bytes(bytes.data(), bytes.size());
    }
    const size_t count_at = w.out.size();
    w.u32(0);   // the case count, once known
    size_t count = 0;
    for (size_t i = 0; i < HEADER_CASE_COUNT; i++) write_case(w, HEADER_CASES[i], &count);
    for (size_t i = 0; i < ELF_CASE_COUNT; i++) write_case(w, ELF_CASES[i], &count);
    for (int i = 0; i < 4; i++) w.out[count_at + i] = uint8_t(count >> (8 * i));
    if (case_count) *case_count = count;
    return w.out;
}

}  // namespace corral::module::testing
