// A small x86-32 instruction-length decoder.
//
// The patcher must never change bytes in a way that leaves a CPU between two
// instructions it did not expect: a patch range has to start and end on
// instruction boundaries of the code it overwrites (docs/design.md §1, failure 1),
// and an fentry site must be exactly one 5-byte NOP (docs/design.md §2).  Both
// checks need instruction lengths, nothing more, so this decoder knows the
// *shape* of an instruction (prefixes, opcode, ModRM/SIB, displacement,
// immediate) and a mnemonic for the common ones, but not its operands.
//
// It covers what GCC and NASM emit for 32-bit protected mode (the one-byte
// map, the 0F map, 0F 38 / 0F 3A, x87 escapes) and refuses anything it does
// not know (VEX/EVEX/XOP, 3DNow!, undefined opcodes) with an error: a wrong
// length would be worse than no answer.
//
// Built for the kernel (freestanding, no globals with constructors) and for
// the host tools and tests.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {

// SDM vol. 2, 2.3.11: an instruction longer than 15 bytes raises #GP/#UD.
constexpr size_t kMaxInstructionLength = 15;

struct Instruction {
    uint8_t length = 0;
    uint8_t prefix_count = 0;
    // Escape bytes included: 1 for the one-byte map, 2 for 0F xx, 3 for
    // 0F 38 xx and 0F 3A xx.
    uint8_t opcode_bytes = 0;
    uint8_t opcode[3] = {};
    bool has_modrm = false;
    uint8_t modrm = 0;
    bool has_sib = false;
    uint8_t sib = 0;
    // Memory displacement, or the moffs of A0-A3 (its size follows 67 too).
    uint8_t displacement_size = 0;
    // All immediate bytes together (enter: 2+1, far pointer: 4+2 or 2+2).
    uint8_t immediate_size = 0;
    bool operand_size_override = false;  // 66
    bool address_size_override = false;  // 67
    uint8_t repeat_prefix = 0;           // 0, 0xF2 or 0xF3 (the last one wins)
    bool lock_prefix = false;
    // jmp/call/jcc/loop rel8/rel16/rel32: the signed displacement, which
    // counts from the end of the instruction.
    bool is_relative_branch = false;
    int32_t branch_displacement = 0;

    // The last opcode byte (the one that selects the instruction in its map).
    uint8_t final_opcode() const { return opcode[opcode_bytes - 1]; }
    // ModRM.reg, the opcode extension of group instructions ("/digit").
    uint8_t modrm_reg() const { return static_cast<uint8_t>((modrm >> 3) & 7); }
};

// Decodes one instruction from at most `available` bytes of `code`.
// Errors: truncated (the instruction needs more bytes than available),
// longer than 15 bytes, or an opcode this decoder does not know.
Result<Instruction> decode_instruction(const uint8_t* code, size_t available);

// Where a relative branch lands, given the address the instruction is at.
// Undefined for non-branches (check insn.is_relative_branch).
uintptr_t branch_target(uintptr_t address, const Instruction& insn);

// Decodes the function linearly from its entry and checks that
// [range_offset, range_offset + range_len) starts and ends on instruction
// boundaries, so overwriting exactly that range cannot leave a CPU in the
// middle of a half-replaced instruction.  Decoding stops at the end of the
// range, so bytes after it (padding, data) do not matter.
Result<void> check_boundaries(const uint8_t* func_entry, size_t func_size, size_t range_offset,
                              size_t range_len);

// The opcode bytes as "0f b6" (escapes included), snprintf semantics.
int format_opcode_bytes(char* buf, size_t size, const Instruction& insn);

// One disassembly-ish line, e.g.
//   "00100010  8b ff                          mov      opcode 8b modrm ff"
//   "0010003c  e8 cf ff ff ff                 call     0x00100010"
// snprintf semantics: returns the length the full line would have had.
int format_instruction(char* buf, size_t size, uintptr_t address, const uint8_t* code,
                       const Instruction& insn);

// The mnemonic for common instructions ("mov", "jne", "push", ...), or
// nullptr when the decoder knows the length but has no name for it.
// `buf` (at least 8 bytes) holds names that are built, like "jne".
const char* instruction_mnemonic(const Instruction& insn, char* buf, size_t size);

}  // namespace corral
