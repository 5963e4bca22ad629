// Hand-written decoder cases: one or more per encoding rule the decoder
// implements (prefixes, ModRM/SIB/displacement in 32- and 16-bit addressing,
// every odd immediate, the 0F / 0F 38 / 0F 3A maps, x87), the seed's
// function byte for byte, and the errors (truncation, > 15 bytes, unknown).
// The lengths were cross-checked against GNU objdump; decode_objdump_test.cpp
// then checks the whole kernel.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "patching/x86_decode.h"

namespace corral {
namespace {

std::vector<uint8_t> hex(const char* text)
{
    std::vector<uint8_t> bytes;
    for (const char* p = text; *p != '\0';) {
        if (*p == ' ') {
            ++p;
            continue;
        }
        char pair[3] = {p[0], p[1], '\0'};
        bytes.push_back(static_cast<uint8_t>(strtoul(pair, nullptr, 16)));
        p += 2;
    }
    return bytes;
}

struct LengthCase {
    const char* bytes;
    int length;
    const char* what;
};

void expect_lengths(const std::vector<LengthCase>& cases)
{
    for (const auto& c : cases) {
        auto bytes = hex(c.bytes);
        bytes.insert(bytes.end(), 16, 0xCC);  // room after it: the length must come from the bytes, not the end
        auto decoded = decode_instruction(bytes.data(), bytes.size());
        ASSERT_TRUE(decoded.is_ok()) << c.what << " [" << c.bytes << "]: " << decoded.error();
        EXPECT_EQ(decoded.value().length, c.length) << c.what << " [" << c.bytes << "]";
        // Exactly the instruction's bytes are enough; one fewer is truncated.
        EXPECT_TRUE(decode_instruction(bytes.data(), size_t(c.length)).is_ok()) << c.what;
        EXPECT_TRUE(decode_instruction(bytes.data(), size_t(c.length - 1)).is_error()) << c.what;
    }
}

Instruction decode_ok(const char* text)
{
    auto bytes = hex(text);
    auto decoded = decode_instruction(bytes.data(), bytes.size());
    EXPECT_TRUE(decoded.is_ok()) << text << ": " << decoded.error();
    return decoded.is_ok() ? decoded.value() : Instruction{};
}

std::string decode_error(const char* text)
{
    auto bytes = hex(text);
    auto decoded = decode_instruction(bytes.data(), bytes.size());
    EXPECT_TRUE(decoded.is_error()) << text << " decoded to length " << int(decoded.value().length);
    return decoded.error();
}

TEST(Decode, SeedFunctionInstructionByInstruction)
{
    auto code = hex("8b ff 53 50 53 51 52 5a 59 5b 58 5b c3");
    const int expected[] = {2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    size_t offset = 0;
    for (int length : expected) {
        auto decoded = decode_instruction(code.data() + offset, code.size() - offset);
        ASSERT_TRUE(decoded.is_ok()) << "at +" << offset << ": " << decoded.error();
        EXPECT_EQ(decoded.value().length, length) << "at +" << offset;
        offset += decoded.value().length;
    }
    EXPECT_EQ(offset, code.size());
}

TEST(Decode, FarJumpAndCall)
{
    expect_lengths({
        {"ea 87 11 00 01 1b 00", 7, "the seed's jmp far sel:abs32"},
        {"66 ea 34 12 08 00", 6, "jmp far ptr16:16"},
        {"9a 00 00 10 00 08 00", 7, "call far ptr16:32"},
        {"66 9a 00 10 08 00", 6, "call far ptr16:16"},
    });
}

TEST(Decode, LegacyPrefixes)
{
    expect_lengths({
        {"66 89 c8", 3, "mov ax, cx"},
        {"66 b8 34 12", 4, "mov ax, imm16"},
        {"b8 78 56 34 12", 5, "mov eax, imm32"},
        {"66 05 34 12", 4, "add ax, imm16"},
        {"66 81 c1 34 12", 5, "add cx, imm16"},
        {"66 68 34 12", 4, "push imm16"},
        {"66 6a 01", 3, "push imm8 (66 does not widen ib)"},
        {"66 c7 00 34 12", 5, "mov word [eax], imm16"},
        {"66 a9 34 12", 4, "test ax, imm16"},
        {"f0 0f b1 0a", 4, "lock cmpxchg [edx], ecx"},
        {"f0 ff 00", 3, "lock inc dword [eax]"},
        {"f3 a5", 2, "rep movsd"},
        {"f2 ae", 2, "repne scasb"},
        {"f3 c3", 2, "repz ret"},
        {"2e 8b 00", 3, "cs"},
        {"36 8b 00", 3, "ss"},
        {"3e 8b 00", 3, "ds"},
        {"26 8b 00", 3, "es"},
        {"64 a1 00 00 00 00", 6, "mov eax, fs:[0]"},
        {"65 8b 0d 14 00 00 00", 7, "mov ecx, gs:[0x14]"},
        {"66 66 2e 0f 1f 84 00 00 00 00 00", 11, "data16 data16 cs nopw"},
    });
    Instruction insn = decode_ok("f0 66 0f b1 0a");
    EXPECT_EQ(insn.prefix_count, 2);
    EXPECT_TRUE(insn.lock_prefix);
    EXPECT_TRUE(insn.operand_size_override);
    EXPECT_EQ(insn.opcode_bytes, 2);
}

TEST(Decode, SixteenBitAddressingWith67)
{
    expect_lengths({
        {"67 8b 07", 3, "mov eax, [bx]"},
        {"67 8b 04", 3, "mov eax, [si] (rm 4 is not a SIB in 16-bit mode)"},
        {"67 8b 06 34 12", 5, "mov eax, [0x1234] (mod 0 rm 6: disp16)"},
        {"67 8b 47 08", 4, "mov eax, [bx+8]"},
        {"67 8b 87 34 12", 5, "mov eax, [bx+0x1234]"},
        {"67 8b 05", 3, "mov eax, [di] (rm 5 is no disp32 in 16-bit mode)"},
        {"67 a1 34 12", 4, "mov eax, moffs16"},
        {"67 c7 06 34 12 78 56 34 12", 9, "mov dword [0x1234], imm32"},
    });
}

TEST(Decode, ModrmSibDisplacement)
{
    expect_lengths({
        {"89 c0", 2, "register form"},
        {"8b 00", 2, "[eax]"},
        {"8b 04 24", 3, "[esp] needs a SIB"},
        {"8b 44 24 04", 4, "[esp+4]"},
        {"8b 84 24 00 01 00 00", 7, "[esp+0x100]"},
        {"8b 05 78 56 34 12", 6, "[disp32] (mod 0 rm 5)"},
        {"8b 04 25 78 56 34 12", 7, "SIB without base: [disp32+index*1]"},
        {"8b 04 85 00 10 10 00", 7, "[eax*4+disp32]"},
        {"8b 44 25 08", 4, "SIB base 5 with mod 1: [ebp+disp8]"},
        {"8b 84 25 00 01 00 00", 7, "SIB base 5 with mod 2: [ebp+disp32]"},
        {"8b 45 fc", 3, "[ebp-4]"},
        {"8b 85 00 ff ff ff", 6, "[ebp-0x100]"},
        {"8d b4 26 00 00 00 00", 7, "lea esi, [esi+eiz*1+0] (GCC padding)"},
        {"8d 74 26 00", 4, "lea esi, [esi+eiz*1+0]"},
        {"a1 78 56 34 12", 5, "mov eax, moffs32"},
        {"a2 78 56 34 12", 5, "mov moffs32, al"},
        {"66 a3 78 56 34 12", 6, "mov moffs32, ax (66 leaves the moffs alone)"},
    });
    Instruction insn = decode_ok("8b 84 24 00 01 00 00");
    EXPECT_TRUE(insn.has_modrm);
    EXPECT_EQ(insn.modrm, 0x84);
    EXPECT_TRUE(insn.has_sib);
    EXPECT_EQ(insn.sib, 0x24);
    EXPECT_EQ(insn.displacement_size, 4);
    EXPECT_EQ(insn.immediate_size, 0);
}

TEST(Decode, Immediates)
{
    expect_lengths({
        {"c2 08 00", 3, "ret imm16"},
        {"66 c2 08 00", 4, "ret imm16 (66 leaves iw alone)"},
        {"ca 04 00", 3, "retf imm16"},
        {"c8 10 00 00", 4, "enter 16, 0"},
        {"66 c8 10 00 01", 5, "enter (66 leaves iw+ib alone)"},
        {"cd 80", 2, "int 0x80"},
        {"6a ff", 2, "push -1"},
        {"68 78 56 34 12", 5, "push imm32"},
        {"69 c0 10 00 00 00", 6, "imul eax, eax, imm32"},
        {"6b c0 10", 3, "imul eax, eax, imm8"},
        {"80 38 01", 3, "cmp byte [eax], 1"},
        {"83 7d 08 00", 4, "cmp dword [ebp+8], 0"},
        {"81 7c 24 04 00 01 00 00", 8, "cmp dword [esp+4], imm32"},
        {"c0 e0 04", 3, "shl al, 4"},
        {"c1 e8 1f", 3, "shr eax, 31"},
        {"d1 e0", 2, "shl eax, 1"},
        {"d3 e0", 2, "shl eax, cl"},
        {"a8 01", 2, "test al, 1"},
        {"a9 00 00 00 80", 5, "test eax, imm32"},
        {"b0 01", 2, "mov al, 1"},
        {"c6 05 78 56 34 12 01", 7, "mov byte [abs], 1"},
        {"c7 05 78 56 34 12 01 00 00 00", 10, "mov dword [abs], 1"},
        {"c7 44 24 04 00 00 00 00", 8, "mov dword [esp+4], 0"},
        {"e4 60", 2, "in al, 0x60"},
        {"e6 80", 2, "out 0x80, al"},
        {"d4 0a", 2, "aam"},
    });
}

TEST(Decode, Group3OnlyTestHasAnImmediate)
{
    expect_lengths({
        {"f6 c1 01", 3, "test cl, 1 (/0)"},
        {"f6 c9 01", 3, "test cl, 1 (/1 alias)"},
        {"f6 d8", 2, "neg al"},
        {"f6 44 24 04 01", 5, "test byte [esp+4], 1"},
        {"f7 c1 ff 00 00 00", 6, "test ecx, imm32"},
        {"66 f7 c1 ff 00", 5, "test cx, imm16"},
        {"f7 d8", 2, "neg eax"},
        {"f7 d0", 2, "not eax"},
        {"f7 f1", 2, "div ecx"},
        {"f7 64 24 04", 4, "mul dword [esp+4]"},
        {"f7 7d 08", 3, "idiv dword [ebp+8]"},
    });
}

TEST(Decode, RelativeBranches)
{
    expect_lengths({
        {"74 fe", 2, "je $"},
        {"eb 05", 2, "jmp short"},
        {"e8 00 00 00 00", 5, "call rel32"},
        {"e9 fb ff ff ff", 5, "jmp rel32"},
        {"66 e8 34 12", 4, "call rel16"},
        {"0f 84 10 00 00 00", 6, "je rel32"},
        {"0f 8f 10 00 00 00", 6, "jg rel32"},
        {"66 0f 84 34 12", 5, "je rel16"},
        {"e2 fe", 2, "loop"},
        {"e0 fe", 2, "loopne"},
        {"e3 00", 2, "jecxz"},
    });
    Instruction jmp = decode_ok("e9 fb ff ff ff");
    EXPECT_TRUE(jmp.is_relative_branch);
    EXPECT_EQ(jmp.branch_displacement, -5);
    EXPECT_EQ(branch_target(0x1000, jmp), 0x1000u);
    Instruction jcc = decode_ok("0f 85 10 00 00 00");
    EXPECT_EQ(jcc.branch_displacement, 0x10);
    EXPECT_EQ(branch_target(0x1000, jcc), 0x1016u);
    Instruction short_back = decode_ok("eb f9");  // the hotpatch layout's jmp -7
    EXPECT_EQ(short_back.branch_displacement, -7);
    EXPECT_EQ(branch_target(0x100010, short_back), 0x10000Bu);
    EXPECT_FALSE(decode_ok("ff e0").is_relative_branch);  // jmp eax: indirect
}

TEST(Decode, OneByteMisc)
{
    expect_lengths({
        {"90", 1, "nop"}, {"cc", 1, "int3"}, {"c3", 1, "ret"}, {"c9", 1, "leave"}, {"f4", 1, "hlt"},
        {"fa", 1, "cli"}, {"fb", 1, "sti"}, {"9c", 1, "pushf"}, {"9d", 1, "popf"}, {"60", 1, "pusha"},
        {"61", 1, "popa"}, {"cf", 1, "iret"}, {"9b", 1, "fwait (its own instruction)"}, {"f1", 1, "int1"},
        {"66 90", 2, "xchg ax, ax"}, {"f3 90", 2, "pause"}, {"06", 1, "push es"}, {"1f", 1, "pop ds"},
        {"8d 44 24 04", 4, "lea eax, [esp+4]"},
        {"ff 15 78 56 34 12", 6, "call [abs]"},
        {"ff e0", 2, "jmp eax"},
        {"ff 24 85 00 10 10 00", 7, "jmp [eax*4+table]"},
        {"ff 74 24 04", 4, "push dword [esp+4]"},
        {"ff 2d 78 56 34 12", 6, "jmp far [abs]"},
        {"8f 00", 2, "pop dword [eax]"},
        {"fe c0", 2, "inc al"},
        {"86 c4", 2, "xchg ah, al"},
        {"8e d8", 2, "mov ds, eax"},
        {"c4 00", 2, "les eax, [eax] (memory form: not VEX)"},
        {"c5 00", 2, "lds eax, [eax]"},
        {"62 00", 2, "bound eax, [eax] (memory form: not EVEX)"},
    });
}

TEST(Decode, MultiByteNops)
{
    expect_lengths({
        {"0f 1f 00", 3, "nopl [eax]"},
        {"0f 1f 40 00", 4, "nopl [eax+0]"},
        {"0f 1f 44 00 00", 5, "the fentry NOP"},
        {"66 0f 1f 44 00 00", 6, "nopw"},
        {"0f 1f 80 00 00 00 00", 7, "nopl [eax+0] disp32"},
        {"0f 1f 84 00 00 00 00 00", 8, "nopl [eax+eax+0] disp32"},
        {"66 0f 1f 84 00 00 00 00 00", 9, "nopw disp32"},
        {"66 2e 0f 1f 84 00 00 00 00 00", 10, "cs nopw"},
        {"0f 18 00", 3, "prefetchnta"},
        {"0f 19 00", 3, "hint nop 0f 19"},
        {"0f 1e c8", 3, "hint nop 0f 1e"},
        {"f3 0f 1e fb", 4, "endbr32"},
        {"0f 0d 08", 3, "prefetchw"},
    });
}

TEST(Decode, TwoByteMap)
{
    expect_lengths({
        {"0f b6 c0", 3, "movzx eax, al"},
        {"0f b7 45 08", 4, "movzx eax, word [ebp+8]"},
        {"0f be 00", 3, "movsx eax, byte [eax]"},
        {"0f bf c1", 3, "movsx eax, cx"},
        {"0f a2", 2, "cpuid"},
        {"0f 31", 2, "rdtsc"},
        {"0f 30", 2, "wrmsr"},
        {"0f 32", 2, "rdmsr"},
        {"0f 0b", 2, "ud2"},
        {"0f 05", 2, "syscall"},
        {"0f 07", 2, "sysret"},
        {"0f 34", 2, "sysenter"},
        {"0f 35", 2, "sysexit"},
        {"0f 06", 2, "clts"},
        {"0f 09", 2, "wbinvd"},
        {"0f 01 15 78 56 34 12", 7, "lgdt [abs]"},
        {"0f 01 1d 78 56 34 12", 7, "lidt [abs]"},
        {"0f 01 38", 3, "invlpg [eax]"},
        {"0f 01 f9", 3, "rdtscp"},
        {"0f 01 d0", 3, "xgetbv"},
        {"0f 00 d8", 3, "ltr ax"},
        {"0f 00 15 78 56 34 12", 7, "lldt [abs]"},
        {"0f 20 c0", 3, "mov eax, cr0"},
        {"0f 22 d8", 3, "mov cr3, eax"},
        {"0f 20 05", 3, "mov ebp, cr0 (mod ignored: no disp32)"},
        {"0f 21 f8", 3, "mov eax, dr7"},
        {"0f 23 c0", 3, "mov dr0, eax"},
        {"0f 44 c1", 3, "cmove eax, ecx"},
        {"0f 4f 45 08", 4, "cmovg eax, [ebp+8]"},
        {"0f 94 c0", 3, "sete al"},
        {"0f 95 44 24 03", 5, "setne [esp+3]"},
        {"0f a3 c8", 3, "bt eax, ecx"},
        {"0f ab 0a", 3, "bts [edx], ecx"},
        {"0f b3 0a", 3, "btr [edx], ecx"},
        {"0f bb 0a", 3, "btc [edx], ecx"},
        {"0f ba e0 03", 4, "bt eax, 3"},
        {"0f ba 6c 24 04 05", 6, "bts dword [esp+4], 5"},
        {"0f a4 c2 04", 4, "shld edx, eax, 4"},
        {"0f a5 c2", 3, "shld edx, eax, cl"},
        {"0f ac d0 04", 4, "shrd eax, edx, 4"},
        {"0f ad d0", 3, "shrd eax, edx, cl"},
        {"0f af c1", 3, "imul eax, ecx"},
        {"0f b0 0a", 3, "cmpxchg [edx], cl"},
        {"0f b1 0a", 3, "cmpxchg [edx], ecx"},
        {"f0 0f c1 02", 4, "lock xadd [edx], eax"},
        {"0f c0 c1", 3, "xadd cl, al"},
        {"0f c7 0e", 3, "cmpxchg8b [esi]"},
        {"f0 0f c7 0f", 4, "lock cmpxchg8b [edi]"},
        {"0f c8", 2, "bswap eax"},
        {"0f cf", 2, "bswap edi"},
        {"0f a0", 2, "push fs"},
        {"0f a9", 2, "pop gs"},
        {"0f ae f0", 3, "mfence"},
        {"0f ae 00", 3, "fxsave [eax]"},
        {"f3 0f b8 c1", 4, "popcnt"},
        {"0f bc c1", 3, "bsf"},
        {"f3 0f bc c1", 4, "tzcnt"},
        {"0f ff 00", 3, "ud0"},
    });
}

TEST(Decode, SseAndThreeByteMaps)
{
    expect_lengths({
        {"0f 10 00", 3, "movups"},
        {"66 0f 6f 44 24 10", 6, "movdqa"},
        {"0f 70 c1 1b", 4, "pshufw (ib)"},
        {"66 0f 73 d8 04", 5, "psrldq (ib)"},
        {"0f c6 c1 00", 4, "shufps (ib)"},
        {"0f c2 c1 00", 4, "cmpps (ib)"},
        {"0f 77", 2, "emms"},
        {"66 0f 38 00 c1", 5, "pshufb"},
        {"0f 38 f0 00", 4, "movbe eax, [eax]"},
        {"f2 0f 38 f1 c1", 5, "crc32"},
        {"66 0f 3a 0f c1 08", 6, "palignr (0F 3A: ib)"},
        {"66 0f 3a 16 c0 01", 6, "pextrd"},
        {"66 0f 3a 0f 44 24 04 08", 8, "palignr with SIB + disp8 + ib"},
    });
}

TEST(Decode, X87Escapes)
{
    expect_lengths({
        {"d9 c9", 2, "fxch"},
        {"dd d8", 2, "fstp st0"},
        {"d9 44 24 04", 4, "fld dword [esp+4]"},
        {"dd 05 78 56 34 12", 6, "fld qword [abs]"},
        {"df e0", 2, "fnstsw ax"},
        {"db e3", 2, "fninit"},
        {"d9 7c 24 06", 4, "fnstcw [esp+6]"},
        {"de c1", 2, "faddp"},
        {"db 2c 24", 3, "fld tword [esp]"},
    });
}

TEST(Decode, MaximumLengthIs15)
{
    std::vector<uint8_t> fifteen(14, 0x66);
    fifteen.push_back(0x90);
    auto decoded = decode_instruction(fifteen.data(), fifteen.size());
    ASSERT_TRUE(decoded.is_ok()) << decoded.error();
    EXPECT_EQ(decoded.value().length, 15);
    EXPECT_EQ(decoded.value().prefix_count, 14);

    EXPECT_NE(decode_error("66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 90").find("longer than 15"),
              std::string::npos);
    // 11 prefixes + a 5-byte instruction: the limit also counts operands.
    EXPECT_NE(decode_error("3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 3e 0f 1f 44 00 00").find("longer than 15"),
              std::string::npos);
}

TEST(Decode, TruncatedInstructions)
{
    for (const char* text : {"", "8b", "8b 44 24", "e8 00 00", "0f", "66", "0f 3a 0f c1", "c8 10 00",
                             "ea 87 11 00 01 1b", "8b 04", "67 8b 06 34", "f6 c1", "a1 00 00 00", "0f 84 00"}) {
        EXPECT_NE(decode_error(text).find("truncated"), std::string::npos) << "[" << text << "]";
    }
}

TEST(Decode, UnknownAndUnsupportedOpcodes)
{
    EXPECT_NE(decode_error("0f 0f c1 b4").find("3DNow"), std::string::npos);
    EXPECT_NE(decode_error("c5 f8 77").find("VEX"), std::string::npos);             // vzeroupper
    EXPECT_NE(decode_error("c4 e2 79 00 c1").find("VEX"), std::string::npos);       // vpshufb
    EXPECT_NE(decode_error("62 f1 7c 48 10 00").find("VEX"), std::string::npos);    // EVEX
    EXPECT_NE(decode_error("8f e8 78 c0 c1 00").find("XOP"), std::string::npos);
    EXPECT_NE(decode_error("fe d0").find("fe /2"), std::string::npos);              // group 4 has only inc/dec
    EXPECT_NE(decode_error("ff f8").find("ff /7"), std::string::npos);
    EXPECT_NE(decode_error("c6 c8 01").find("c6 /1"), std::string::npos);
    EXPECT_NE(decode_error("0f ba c0 01").find("0f ba /0"), std::string::npos);
    for (const char* text : {"d6", "0f 04", "0f 0a", "0f 24 c0", "0f 3a 00 c0 00", "0f 38 50 c0", "0f b8 c1",
                             "66 0f 78 c0 01 02", "0f a6"}) {
        EXPECT_NE(decode_error(text).find("opcode"), std::string::npos) << text;
    }
}

TEST(CheckBoundaries, SeedFunction)
{
    auto seed = hex("8b ff 53 50 53 51 52 5a 59 5b 58 5b c3");
    EXPECT_TRUE(check_boundaries(seed.data(), seed.size(), 0, 2).is_ok());  // the hotpatch 2-byte write
    EXPECT_TRUE(check_boundaries(seed.data(), seed.size(), 0, 7).is_ok());  // the naive 7-byte far jmp
    EXPECT_TRUE(check_boundaries(seed.data(), seed.size(), 0, 13).is_ok());
    EXPECT_TRUE(check_boundaries(seed.data(), seed.size(), 2, 5).is_ok());

    auto starts_inside = check_boundaries(seed.data(), seed.size(), 1, 2);
    ASSERT_TRUE(starts_inside.is_error());
    EXPECT_STREQ(starts_inside.error(), "range start +1 is inside the instruction at +0 (2 bytes)");
    auto ends_inside = check_boundaries(seed.data(), seed.size(), 0, 1);
    ASSERT_TRUE(ends_inside.is_error());
    EXPECT_STREQ(ends_inside.error(), "range end +1 is inside the instruction at +0 (2 bytes)");
}

TEST(CheckBoundaries, SevenBytesOverAGccHotpatchPrologueSplitAnInstruction)
{
    // What GCC's ms_hook_prologue emits: mov edi,edi; push ebp; mov ebp,esp;
    // mov eax,[abs].  The seed's 7-byte far jmp would end inside the last one.
    auto gcc = hex("8b ff 55 8b ec a1 24 20 10 00 5d c3");
    EXPECT_TRUE(check_boundaries(gcc.data(), gcc.size(), 0, 5).is_ok());
    auto result = check_boundaries(gcc.data(), gcc.size(), 0, 7);
    ASSERT_TRUE(result.is_error());
    EXPECT_STREQ(result.error(), "range end +7 is inside the instruction at +5 (5 bytes)");
}

TEST(CheckBoundaries, RangeMustLieInsideTheFunctionAndDecode)
{
    auto seed = hex("8b ff 53 50 53 51 52 5a 59 5b 58 5b c3");
    EXPECT_TRUE(check_boundaries(seed.data(), seed.size(), 10, 10).is_error());
    EXPECT_TRUE(check_boundaries(seed.data(), seed.size(), 0, 0).is_error());
    EXPECT_TRUE(check_boundaries(seed.data(), seed.size(), 13, 1).is_error());

    auto undecodable = hex("8b ff 0f 04 c3");
    auto result = check_boundaries(undecodable.data(), undecodable.size(), 0, 3);
    ASSERT_TRUE(result.is_error());
    EXPECT_NE(strstr(result.error(), "cannot decode at +2"), nullptr) << result.error();
    // Bytes after the range are never decoded, so junk there is fine.
    EXPECT_TRUE(check_boundaries(undecodable.data(), undecodable.size(), 0, 2).is_ok());
}

std::string mnemonic_of(const char* text)
{
    Instruction insn = decode_ok(text);
    char built[12];
    const char* name = instruction_mnemonic(insn, built, sizeof(built));
    return name ? name : "(none)";
}

TEST(FormatInstruction, MnemonicsForTheCommonOnes)
{
    const std::pair<const char*, const char*> cases[] = {
        {"8b ff", "mov"}, {"c7 00 01 00 00 00", "mov"}, {"b8 01 00 00 00", "mov"}, {"0f 22 d8", "mov"},
        {"53", "push"}, {"6a 01", "push"}, {"ff 74 24 04", "push"}, {"5b", "pop"}, {"8f 00", "pop"},
        {"c3", "ret"}, {"c2 04 00", "ret"}, {"cc", "int3"}, {"90", "nop"}, {"0f 1f 44 00 00", "nop"},
        {"8d 44 24 04", "lea"}, {"01 c8", "add"}, {"29 c8", "sub"}, {"39 c8", "cmp"}, {"21 c8", "and"},
        {"09 c8", "or"}, {"31 c0", "xor"}, {"83 e8 01", "sub"}, {"80 38 01", "cmp"}, {"85 c0", "test"},
        {"f6 c1 01", "test"}, {"74 00", "je"}, {"75 00", "jne"}, {"0f 8e 00 00 00 00", "jle"},
        {"e8 00 00 00 00", "call"}, {"ff d0", "call"}, {"eb 00", "jmp"}, {"e9 00 00 00 00", "jmp"},
        {"ff e0", "jmp"}, {"ea 87 11 00 01 1b 00", "jmp far"}, {"0f a2", "cpuid"}, {"0f 94 c0", "sete"},
        {"0f 44 c1", "cmove"}, {"0f b6 c0", "movzx"}, {"0f be c0", "movsx"}, {"0f 0b", "ud2"},
        {"0f 31", "rdtsc"}, {"0f 01 38", "invlpg"}, {"c1 e0 02", "shl"}, {"f4", "hlt"}, {"0f c7 0e", "cmpxchg8b"},
        {"f3 0f 1e fb", "endbr32"}, {"f3 90", "pause"},
    };
    for (const auto& [bytes, name] : cases) EXPECT_EQ(mnemonic_of(bytes), name) << bytes;
    EXPECT_EQ(mnemonic_of("0f 10 00"), "(none)");  // SSE: length known, no name
}

std::string format_line(uintptr_t address, const char* text)
{
    auto bytes = hex(text);
    Instruction insn = decode_ok(text);
    char line[160];
    int length = format_instruction(line, sizeof(line), address, bytes.data(), insn);
    EXPECT_EQ(size_t(length), strlen(line));
    return line;
}

TEST(FormatInstruction, AddressBytesNameAndOpcode)
{
    std::string line = format_line(0x100010, "8b ff");
    EXPECT_EQ(line.rfind("00100010  8b ff ", 0), 0u) << line;
    EXPECT_NE(line.find("mov"), std::string::npos) << line;
    EXPECT_NE(line.find("opcode 8b modrm ff"), std::string::npos) << line;

    line = format_line(0x1000, "e9 fb ff ff ff");
    EXPECT_NE(line.find("jmp"), std::string::npos) << line;
    EXPECT_NE(line.find("0x00001000"), std::string::npos) << line;  // the target, not the displacement

    line = format_line(0x2000, "f0 0f b1 0a");
    EXPECT_NE(line.find("lock cmpxchg"), std::string::npos) << line;
    EXPECT_NE(line.find("opcode 0f b1 modrm 0a"), std::string::npos) << line;

    line = format_line(0x3000, "0f 10 00");
    EXPECT_NE(line.find("?"), std::string::npos) << line;
    EXPECT_NE(line.find("opcode 0f 10"), std::string::npos) << line;
}

TEST(FormatInstruction, SnprintfSemanticsWhenTheBufferIsSmall)
{
    auto bytes = hex("8b ff");
    Instruction insn = decode_ok("8b ff");
    char full[160];
    int full_length = format_instruction(full, sizeof(full), 0x100010, bytes.data(), insn);
    char small[10];
    memset(small, 'x', sizeof(small));
    EXPECT_EQ(format_instruction(small, sizeof(small), 0x100010, bytes.data(), insn), full_length);
    EXPECT_STREQ(small, "00100010 ");
}

}  // namespace
}  // namespace corral
