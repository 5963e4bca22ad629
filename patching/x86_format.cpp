// Names and one-line listings of decoded instructions (see x86_decode.h):
// what a person reading a patch site, a panic or the `peek` shell command
// wants to see next to the raw bytes.  Lengths live in x86_decode.cpp; this
// file only names what the decoder found.
#include "kernel/lib/format.h"
#include "patching/x86_decode.h"

namespace corral {

namespace {

constexpr const char* kConditionNames[16] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                             "s", "ns", "p", "np", "l", "ge", "le", "g"};
constexpr const char* kAluNames[8] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
constexpr const char* kShiftNames[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
constexpr const char* kGroup3Names[8] = {"test", "test", "not", "neg", "mul", "imul", "div", "idiv"};
constexpr const char* kGroup5Names[8] = {"inc", "dec", "call", "call far", "jmp", "jmp far", "push", nullptr};
constexpr const char* kBitTestNames[4] = {"bt", "bts", "btr", "btc"};

const char* with_condition(const char* stem, uint8_t opcode, char* buf, size_t size)
{
    format(buf, size, "%s%s", stem, kConditionNames[opcode & 15]);
    return buf;
}

// Opcodes named by their position in a row: 00-3F ALU, 40-5F inc/dec/push/pop.
const char* one_byte_row_mnemonic(uint8_t op)
{
    if (op < 0x40 && (op & 7) < 6) return kAluNames[op >> 3];
    if (op < 0x40) return (op & 1) ? "pop" : "push";  // 06/07 0E 16/17 1E/1F (27 2F 37 3F: bcd)
    if (op < 0x48) return "inc";
    if (op < 0x50) return "dec";
    if (op < 0x58) return "push";
    if (op < 0x60) return "pop";
    if (op >= 0xB0 && op <= 0xBF) return "mov";
    if (op >= 0xD8 && op <= 0xDF) return "x87";
    return nullptr;
}

const char* one_byte_mnemonic(const Instruction& insn, char* buf, size_t size)
{
    uint8_t op = insn.opcode[0];
    uint8_t reg = insn.modrm_reg();
    if (op >= 0x27 && op <= 0x3F && (op & 7) == 7) return nullptr;  // daa das aaa aas
    if (const char* name = one_byte_row_mnemonic(op)) return name;
    if (op >= 0x70 && op <= 0x7F) return with_condition("j", op, buf, size);
    if (op >= 0x80 && op <= 0x83) return kAluNames[reg];
    switch (op) {
    case 0x60: return "pusha";
    case 0x61: return "popa";
    case 0x68: case 0x6A: return "push";
    case 0x69: case 0x6B: return "imul";
    case 0x84: case 0x85: case 0xA8: case 0xA9: return "test";
    case 0x86: case 0x87: return "xchg";
    case 0x88: case 0x89: case 0x8A: case 0x8B: case 0x8C: case 0x8E:
    case 0xA0: case 0xA1: case 0xA2: case 0xA3: case 0xC6: case 0xC7: return "mov";
    case 0x8D: return "lea";
    case 0x8F: return "pop";
    case 0x90: return insn.repeat_prefix == 0xF3 ? "pause" : "nop";
    case 0x98: return "cwde";
    case 0x99: return "cdq";
    case 0x9A: return "call far";
    case 0x9C: return "pushf";
    case 0x9D: return "popf";
    case 0xA4: case 0xA5: return "movs";
    case 0xA6: case 0xA7: return "cmps";
    case 0xAA: case 0xAB: return "stos";
    case 0xAC: case 0xAD: return "lods";
    case 0xAE: case 0xAF: return "scas";
    case 0xC0: case 0xC1: case 0xD0: case 0xD1: case 0xD2: case 0xD3: return kShiftNames[reg];
    case 0xC2: case 0xC3: return "ret";
    case 0xC8: return "enter";
    case 0xC9: return "leave";
    case 0xCA: case 0xCB: return "ret far";
    case 0xCC: return "int3";
    case 0xCD: return "int";
    case 0xCF: return "iret";
    case 0xE0: return "loopne";
    case 0xE1: return "loope";
    case 0xE2: return "loop";
    case 0xE3: return "jecxz";
    case 0xE4: case 0xE5: case 0xEC: case 0xED: return "in";
    case 0xE6: case 0xE7: case 0xEE: case 0xEF: return "out";
    case 0xE8: return "call";
    case 0xE9: case 0xEB: return "jmp";
    case 0xEA: return "jmp far";
    case 0xF4: return "hlt";
    case 0xF6: case 0xF7: return kGroup3Names[reg];
    case 0xFA: return "cli";
    case 0xFB: return "sti";
    case 0xFC: return "cld";
    case 0xFD: return "std";
    case 0xFE: return reg == 0 ? "inc" : "dec";
    case 0xFF: return kGroup5Names[reg];
    default: return nullptr;
    }
}

// 0F 00 / 0F 01 system groups: the memory forms that kernels use.
const char* system_group_mnemonic(const Instruction& insn)
{
    constexpr const char* kGroup6[8] = {"sldt", "str", "lldt", "ltr", "verr", "verw", nullptr, nullptr};
    constexpr const char* kGroup7[8] = {"sgdt", "sidt", "lgdt", "lidt", "smsw", nullptr, "lmsw", "invlpg"};
    if (insn.opcode[1] == 0x00) return kGroup6[insn.modrm_reg()];
    if ((insn.modrm >> 6) == 3) return nullptr;  // monitor, xgetbv, rdtscp, ...
    return kGroup7[insn.modrm_reg()];
}

const char* two_byte_mnemonic(const Instruction& insn, char* buf, size_t size)
{
    uint8_t op = insn.opcode[1];
    if (op >= 0x40 && op <= 0x4F) return with_condition("cmov", op, buf, size);
    if (op >= 0x80 && op <= 0x8F) return with_condition("j", op, buf, size);
    if (op >= 0x90 && op <= 0x9F) return with_condition("set", op, buf, size);
    if (op >= 0xC8 && op <= 0xCF) return "bswap";
    if (op >= 0x20 && op <= 0x23) return "mov";
    switch (op) {
    case 0x00: case 0x01: return system_group_mnemonic(insn);
    case 0x05: return "syscall";
    case 0x06: return "clts";
    case 0x07: return "sysret";
    case 0x09: return "wbinvd";
    case 0x0B: return "ud2";
    case 0x18: return "prefetch";
    case 0x1E: return insn.repeat_prefix == 0xF3 && insn.modrm == 0xFB ? "endbr32" : "nop";
    case 0x19: case 0x1A: case 0x1B: case 0x1C: case 0x1D: case 0x1F: return "nop";
    case 0x30: return "wrmsr";
    case 0x31: return "rdtsc";
    case 0x32: return "rdmsr";
    case 0x34: return "sysenter";
    case 0x35: return "sysexit";
    case 0xA0: case 0xA8: return "push";
    case 0xA1: case 0xA9: return "pop";
    case 0xA2: return "cpuid";
    case 0xA3: return "bt";
    case 0xAB: return "bts";
    case 0xB3: return "btr";
    case 0xBB: return "btc";
    case 0xBA: return kBitTestNames[insn.modrm_reg() & 3];
    case 0xA4: case 0xA5: return "shld";
    case 0xAC: case 0xAD: return "shrd";
    case 0xAF: return "imul";
    case 0xB0: case 0xB1: return "cmpxchg";
    case 0xB6: case 0xB7: return "movzx";
    case 0xBE: case 0xBF: return "movsx";
    case 0xBC: return insn.repeat_prefix == 0xF3 ? "tzcnt" : "bsf";
    case 0xBD: return insn.repeat_prefix == 0xF3 ? "lzcnt" : "bsr";
    case 0xC0: case 0xC1: return "xadd";
    case 0xC7: return insn.modrm_reg() == 1 ? "cmpxchg8b" : nullptr;
    default: return nullptr;
    }
}

// Bytes as "8b ff 53", padded so the mnemonics of consecutive lines line up.
void format_bytes(char* text, size_t size, const uint8_t* code, uint8_t length)
{
    constexpr size_t kColumnWidth = 30;  // room for 10 bytes
    size_t used = 0;
    for (uint8_t i = 0; i < length && used + 4 <= size; ++i)
        used += static_cast<size_t>(format(text + used, size - used, i ? " %02x" : "%02x", code[i]));
    while (used < kColumnWidth && used + 1 < size) text[used++] = ' ';
    text[used] = '\0';
}

}  // namespace

const char* instruction_mnemonic(const Instruction& insn, char* buf, size_t size)
{
    if (insn.opcode_bytes == 1) return one_byte_mnemonic(insn, buf, size);
    if (insn.opcode_bytes == 2) return two_byte_mnemonic(insn, buf, size);
    return nullptr;
}

int format_instruction(char* buf, size_t size, uintptr_t address, const uint8_t* code,
                       const Instruction& insn)
{
    char bytes[3 * kMaxInstructionLength + 1];
    format_bytes(bytes, sizeof(bytes), code, insn.length);
    char built_name[12];
    const char* name = instruction_mnemonic(insn, built_name, sizeof(built_name));
    const char* lock = insn.lock_prefix ? "lock " : "";
    auto address32 = static_cast<unsigned>(address);
    if (insn.is_relative_branch) {
        auto target = static_cast<unsigned>(branch_target(address, insn));
        return format(buf, size, "%08x  %s  %s%-8s 0x%08x", address32, bytes, lock, name ? name : "?", target);
    }
    char opcode[12];
    format_opcode_bytes(opcode, sizeof(opcode), insn);
    if (insn.has_modrm)
        return format(buf, size, "%08x  %s  %s%-8s opcode %s modrm %02x", address32, bytes, lock, name ? name : "?",
                      opcode, insn.modrm);
    return format(buf, size, "%08x  %s  %s%-8s opcode %s", address32, bytes, lock, name ? name : "?", opcode);
}

}  // namespace corral
