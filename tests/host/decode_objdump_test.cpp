// The decoder against GNU objdump, on the real kernel: for every instruction
// objdump shows in every executable section of build/corral.elf, the decoder
// (reading the same bytes straight from the ELF file) must find the same
// length.  Hand-written cases (decode_test.cpp) cover what we thought of;
// this covers what GCC, NASM and libgcc actually emitted.
#include <ctype.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "patching/x86_decode.h"
#include "scripts/host/elf32.h"

namespace corral {
namespace {

// One instruction line of `objdump -d --insn-width=16`:
//   "  100010:\t8b ff                  \tmov    %edi,%edi"
struct ObjdumpInstruction {
    uint32_t address = 0;
    std::vector<uint8_t> bytes;
    std::string text;
};

bool parse_instruction_line(const std::string& line, ObjdumpInstruction& out)
{
    size_t colon = line.find(":\t");
    if (colon == std::string::npos) return false;
    size_t first = line.find_first_not_of(' ');
    if (first >= colon) return false;
    char* end = nullptr;
    out.address = static_cast<uint32_t>(strtoul(line.c_str() + first, &end, 16));
    if (end != line.c_str() + colon) return false;  // not "<hex>:", e.g. a symbol line
    size_t bytes_start = colon + 2;
    size_t bytes_end = line.find('\t', bytes_start);
    size_t bytes_length = bytes_end == std::string::npos ? std::string::npos : bytes_end - bytes_start;
    std::string bytes = line.substr(bytes_start, bytes_length);
    out.bytes.clear();
    for (size_t at = 0; at + 1 < bytes.size() && isxdigit(bytes[at]) && isxdigit(bytes[at + 1]); at += 3)
        out.bytes.push_back(static_cast<uint8_t>(strtoul(bytes.substr(at, 2).c_str(), nullptr, 16)));
    out.text = bytes_end == std::string::npos ? "" : line.substr(bytes_end + 1);
    return !out.bytes.empty();
}

struct Comparison {
    size_t compared = 0;
    size_t skipped_bad = 0;  // objdump's "(bad)": padding or data, not code
    size_t fwait_pairs = 0;  // see compare_one
    std::vector<std::string> mismatches;
};

void compare_one(const Elf32Image& image, const ObjdumpInstruction& expected, const std::string& symbol,
                 Comparison& result)
{
    size_t available = 0;
    const uint8_t* code = image.bytes_at(expected.address, &available);
    char where[160];
    snprintf(where, sizeof(where), "0x%08x <%s> (objdump: %zu bytes, %s)", expected.address, symbol.c_str(),
             expected.bytes.size(), expected.text.c_str());
    if (code == nullptr || available < expected.bytes.size() ||
        !std::equal(expected.bytes.begin(), expected.bytes.end(), code)) {
        result.mismatches.push_back(std::string(where) + ": ELF bytes differ from objdump's");
        return;
    }
    result.compared++;
    auto decoded = decode_instruction(code, available);
    if (decoded.is_error()) {
        result.mismatches.push_back(std::string(where) + ": decoder error: " + decoded.error());
        return;
    }
    size_t length = decoded.value().length;
    // objdump shows `fwait; fnstcw m` (9b d9 /7) as one "fstcw", but they
    // are two instructions (SDM: FSTCW "issues two instructions"); a CPU can
    // stop between them, so the decoder must say 1 here, then the rest.
    if (code[0] == 0x9B && length == 1 && expected.bytes.size() > 1) {
        auto rest = decode_instruction(code + 1, available - 1);
        if (rest.is_ok()) length += rest.value().length;
        result.fwait_pairs++;
    }
    if (length != expected.bytes.size()) {
        char line[200];
        format_instruction(line, sizeof(line), expected.address, code, decoded.value());
        result.mismatches.push_back(std::string(where) + ": decoder says " + line);
    }
}

Comparison compare_with_objdump(const Elf32Image& image, const std::string& path)
{
    Comparison result;
    std::string command = "objdump -d -w --insn-width=16 '" + path + "' 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) {
        result.mismatches.push_back("cannot run: " + command);
        return result;
    }
    std::string symbol = "?";
    char buffer[4096];
    while (fgets(buffer, sizeof(buffer), pipe) != nullptr) {
        std::string line(buffer);
        if (!line.empty() && line.back() == '\n') line.pop_back();
        size_t angle = line.find(" <");
        if (angle != std::string::npos && line.size() > 2 && line.compare(line.size() - 2, 2, ">:") == 0) {
            symbol = line.substr(angle + 2, line.size() - angle - 4);
            continue;
        }
        ObjdumpInstruction instruction;
        if (!parse_instruction_line(line, instruction)) continue;
        // Not instructions, by objdump's own account: "(bad)" and ".byte"
        // (patchtorture's trap sleds are made of them on purpose), and data
        // dumps (no mnemonic) after a symbol objdump takes for data.
        if (instruction.text.find("(bad)") != std::string::npos || instruction.text.rfind(".byte", 0) == 0 ||
            instruction.text.empty()) {
            result.skipped_bad++;
            continue;
        }
        compare_one(image, instruction, symbol, result);
    }
    if (pclose(pipe) != 0) result.mismatches.push_back("objdump failed: " + command);
    return result;
}

TEST(DecodeObjdump, EveryKernelInstructionHasObjdumpsLength)
{
    const std::string path = CORRAL_KERNEL_ELF;
    struct stat info;
    if (stat(path.c_str(), &info) != 0) GTEST_SKIP() << path << " does not exist: run `make` at the repo root first";
    auto image = Elf32Image::load(path);
    ASSERT_TRUE(image.is_ok()) << image.error();

    Comparison result = compare_with_objdump(image.value(), path);
    printf("decode-objdump: compared %zu instructions of %s (%zu fwait pairs), skipped %zu (bad), %zu mismatches\n",
           result.compared, path.c_str(), result.fwait_pairs, result.skipped_bad, result.mismatches.size());
    for (size_t i = 0; i < result.mismatches.size() && i < 40; ++i) ADD_FAILURE() << result.mismatches[i];
    EXPECT_TRUE(result.mismatches.empty()) << result.mismatches.size() << " mismatches";
    // A kernel has thousands of instructions; far fewer means the parsing
    // above silently lost most of them and the test proves nothing.
    EXPECT_GE(result.compared, 2000u);
}

}  // namespace
}  // namespace corral
