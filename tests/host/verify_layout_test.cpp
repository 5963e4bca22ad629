// verify-layout on crafted fixtures, built at test time with the same tools
// and flags as the kernel (g++ -m32 ... -pg -mfentry, nasm -f elf32,
// ld -m elf_i386): one fixture that must pass, and one per kind of problem
// the verifier exists to catch, each asserting the exit code and the exact
// message.  A verifier that passed everything would fail here.
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct CommandResult {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

CommandResult run_command(const std::string& command)
{
    CommandResult result;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return result;
    char buffer[4096];
    size_t got;
    while ((got = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, got);
    int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

// The kernel's code generation flags (Makefile), minus -g and -Werror.
const std::string kKernelCxx =
    "g++ -m32 -std=c++20 -ffreestanding -fno-exceptions -fno-rtti -fno-pic -fno-pie -fno-omit-frame-pointer "
    "-mno-sse -mno-mmx -mno-80387 -fno-stack-protector -fno-asynchronous-unwind-tables "
    "-pg -mfentry -mnop-mcount -mrecord-mcount -O2 -I" CORRAL_SOURCE_ROOT;

enum class Link {
    plain,          // no script: tables stay sections (.hotpatch_sites, __mcount_loc)
    kernel_script,  // linker.ld: tables are __*_start/__*_end symbols inside .rodata
};

class VerifyLayout : public ::testing::Test {
protected:
    void SetUp() override
    {
        const char* tmp = getenv("TMPDIR");
        std::string pattern = std::string(tmp ? tmp : "/tmp") + "/verify-layout-test.XXXXXX";
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text)
    {
        std::string path = dir_ + "/" + name;
        std::ofstream(path) << text;
        return path;
    }

    std::string link(const std::string& object, const std::string& elf, Link mode)
    {
        std::string script = mode == Link::plain ? "-e 0 -Ttext=0x100000" : "-T " CORRAL_SOURCE_ROOT "/linker.ld";
        auto linked = run_command("ld -m elf_i386 -nostdlib " + script + " -o " + elf + " " + object);
        EXPECT_EQ(linked.exit_code, 0) << linked.output;
        return elf;
    }

    std::string build_cpp(const std::string& name, const std::string& source, Link mode = Link::plain)
    {
        std::string cpp = write(name + ".cpp", source);
        auto compiled = run_command(kKernelCxx + " -c " + cpp + " -o " + dir_ + "/" + name + ".o");
        EXPECT_EQ(compiled.exit_code, 0) << compiled.output;
        return link(dir_ + "/" + name + ".o", dir_ + "/" + name + ".elf", mode);
    }

    std::string build_nasm(const std::string& name, const std::string& source)
    {
        std::string asm_path = write(name + ".asm", "bits 32\n" + source);
        auto assembled = run_command("nasm -f elf32 " + asm_path + " -o " + dir_ + "/" + name + ".o");
        EXPECT_EQ(assembled.exit_code, 0) << assembled.output;
        return link(dir_ + "/" + name + ".o", dir_ + "/" + name + ".elf", Link::plain);
    }

    static CommandResult verify(const std::string& elf) { return run_command(VERIFY_LAYOUT_PATH " " + elf); }

    std::string dir_;
};

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE((haystack).find(needle), std::string::npos) << "expected \"" << (needle) << "\" in:\n" << (haystack)

// Two hotpatchable functions (one in a namespace) and three fentry ones.
const char* const kGoodSource = R"(
#include "patching/layout.h"
int counter_value;
HOTPATCHABLE int counter_add(int amount) { counter_value += amount; return counter_value; }
DECLARE_HOTPATCHABLE(counter_add);
namespace demo {
HOTPATCHABLE void reset() { counter_value = 0; }
DECLARE_HOTPATCHABLE(reset);
}  // namespace demo
int twice(int amount) { return counter_add(amount) + counter_add(amount); }
void reset_all() { demo::reset(); }
extern "C" void _start() { reset_all(); twice(1); }
)";

TEST_F(VerifyLayout, GoodFixtureWithTablesAsSections)
{
    auto result = verify(build_cpp("good", kGoodSource));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(result.output, "verify-layout: 2 hotpatch sites, 3 fentry sites OK\n");
}

TEST_F(VerifyLayout, GoodFixtureLinkedWithTheKernelScript)
{
    auto result = verify(build_cpp("good", kGoodSource, Link::kernel_script));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(result.output, "verify-layout: 2 hotpatch sites, 3 fentry sites OK\n");
}

TEST_F(VerifyLayout, TooLittlePadding)
{
    auto result = verify(build_nasm("short_padding", R"(
section .rodata
name: db "counter_add", 0
section .hotpatch_sites progbits alloc noexec nowrite align=4
    dd name, counter_add
section .text
align 16
global before:function (before.end - before)
before:                 ; 13 bytes of code, 3 int3, then the 16-aligned entry
    mov eax, 1
    mov eax, 2
    nop
    nop
    ret
.end:
    times 3 db 0xcc
global counter_add:function
counter_add:
    db 0x8b, 0xff
    ret
)"));
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(result.output,
              "verify-layout: counter_add: too little padding: 3 int3 bytes before the entry, need 5 "
              "(then bytes of before)\n");
}

TEST_F(VerifyLayout, NopSledPaddingFromPatchableFunctionEntry)
{
    // What -fpatchable-function-entry=7,5 makes: 5 nops before the entry
    // (executed by anything that runs into them) and 2 more at it.
    auto result = verify(build_cpp("nop_sled", R"(
#include "patching/layout.h"
__attribute__((patchable_function_entry(7, 5), noipa, no_instrument_function, aligned(16)))
int nop_padded(int amount) { return amount + 1; }
DECLARE_HOTPATCHABLE(nop_padded);
)"));
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_CONTAINS(result.output, "verify-layout: nop_padded: padding before the entry is 0x90 nops, not int3: "
                                   "a nop sled is executed");
    EXPECT_CONTAINS(result.output, "nop_padded: entry does not start with 8b ff (found 90 90)");
}

TEST_F(VerifyLayout, EntryWithoutMsHookPrologue)
{
    auto result = verify(build_cpp("no_hook", R"(
#include "patching/layout.h"
__attribute__((noipa, aligned(16))) int not_hooked(int amount) { return amount * 3; }
DECLARE_HOTPATCHABLE(not_hooked);
)"));
    EXPECT_EQ(result.exit_code, 1);
    // -mfentry put its 5-byte NOP where mov edi,edi should be.
    EXPECT_CONTAINS(result.output, "verify-layout: not_hooked: entry does not start with 8b ff (found 0f 1f)");
}

TEST_F(VerifyLayout, FentrySiteThatIsNotOneFiveByteNop)
{
    auto result = verify(build_nasm("bad_fentry", R"(
section __mcount_loc progbits alloc noexec nowrite align=4
    dd good_site, _ZN4demo9sled_siteEv, short_nop_site, good_site + 5
section .text
global good_site:function
good_site:
    db 0x0f, 0x1f, 0x44, 0x00, 0x00
    ret
global _ZN4demo9sled_siteEv:function
_ZN4demo9sled_siteEv:   ; demo::sled_site(): five 1-byte nops
    times 5 db 0x90
    ret
global short_nop_site:function
short_nop_site:         ; a 4-byte nop and a 1-byte nop
    db 0x0f, 0x1f, 0x40, 0x00, 0x90
    ret
)"));
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_CONTAINS(result.output, "verify-layout: demo::sled_site(): fentry site 0x00100006 is not one 5-byte nop "
                                   "0f 1f 44 00 00 (found 90 90 90 90 90; its first instruction is 1 byte)\n");
    EXPECT_CONTAINS(result.output, "verify-layout: short_nop_site: fentry site 0x0010000c is not one 5-byte nop "
                                   "0f 1f 44 00 00 (found 0f 1f 40 00 90; its first instruction is 4 bytes)\n");
    EXPECT_CONTAINS(result.output,
                    "verify-layout: good_site+0x5: fentry site 0x00100005 is not at a function's entry\n");
    EXPECT_EQ(result.output.find("good_site: "), std::string::npos) << result.output;
}

TEST_F(VerifyLayout, CloneOfADeclaredFunction)
{
    auto result = verify(build_nasm("clone", R"(
section .rodata
name: db "counter_add", 0
section .hotpatch_sites progbits alloc noexec nowrite align=4
    dd name, _Z11counter_addi
section .text
align 16
    times 16 db 0xcc
global _Z11counter_addi:function
_Z11counter_addi:       ; counter_add(int), with a good layout
    db 0x8b, 0xff
    ret
align 16
global _Z11counter_addi.constprop.0:function
_Z11counter_addi.constprop.0:
    ret
)"));
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(result.output, "verify-layout: counter_add: GCC made a clone counter_add(int) [clone .constprop.0] "
                             "whose callers bypass the patched entry (HOTPATCHABLE needs noipa)\n");
}

TEST_F(VerifyLayout, DeclaredFunctionWithoutASymbolOfItsOwn)
{
    auto result = verify(build_nasm("no_symbol", R"(
section .rodata
name: db "orphan", 0
section .hotpatch_sites progbits alloc noexec nowrite align=4
    dd name, blob + 16
section .text
align 16
blob:                   ; a good layout, but no symbol names the entry
    times 16 db 0xcc
    db 0x8b, 0xff
    ret
)"));
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(result.output, "verify-layout: orphan: has no symbol of its own at its entry 0x00100010 "
                             "(no code symbol there)\n");
}

TEST_F(VerifyLayout, HotpatchSiteInsideTheNotPatchableText)
{
    auto result = verify(build_cpp("not_patchable", R"(
#include "patching/layout.h"
HOTPATCHABLE NOT_PATCHABLE int in_trap_path(int vector) { return vector + 1; }
DECLARE_HOTPATCHABLE(in_trap_path);
extern "C" void _start() { in_trap_path(3); }
)", Link::kernel_script));
    EXPECT_EQ(result.exit_code, 1);
    // The range's bounds come from linker.ld and the code size; the message names them.
    EXPECT_CONTAINS(result.output, "verify-layout: in_trap_path: entry 0x");
    EXPECT_CONTAINS(result.output, " lies in the not-patchable text [0x");
    EXPECT_CONTAINS(result.output, "): never patch the code that patches\n");
}

TEST_F(VerifyLayout, UsageAndUnreadableFiles)
{
    auto no_argument = run_command(VERIFY_LAYOUT_PATH);
    EXPECT_EQ(no_argument.exit_code, 2);
    EXPECT_CONTAINS(no_argument.output, "usage: verify-layout KERNEL.elf");

    auto missing = verify(dir_ + "/missing.elf");
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_CONTAINS(missing.output, "missing.elf: cannot open");

    auto not_elf = verify(write("text.elf", "not an ELF file at all"));
    EXPECT_EQ(not_elf.exit_code, 1);
    EXPECT_CONTAINS(not_elf.output, "not an ELF file");
}

// The kernel itself: what `make` checks after every link.
TEST_F(VerifyLayout, RealKernelPasses)
{
    struct stat info;
    if (stat(CORRAL_KERNEL_ELF, &info) != 0) GTEST_SKIP() << CORRAL_KERNEL_ELF << " does not exist: run `make` first";
    auto result = verify(CORRAL_KERNEL_ELF);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_CONTAINS(result.output, " fentry sites OK\n");
}

}  // namespace
