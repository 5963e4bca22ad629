// x86-32 instruction-length decoder (see x86_decode.h).
//
// Opcode tables follow the Intel SDM vol. 2, appendix A (opcode maps).  Each
// opcode gets an operand "shape" that says which bytes follow it; the few
// opcodes whose shape depends on a prefix or on ModRM are `special` and
// handled one by one in decode_special().
#include "patching/x86_decode.h"

#include "kernel/lib/format.h"

namespace corral {
namespace {

enum class Shape : uint8_t {
    invalid = 0,  // undefined, or an encoding we refuse (VEX, 3DNow!, ...)
    none,         // opcode only
    modrm,        // ModRM (+ SIB + displacement)
    modrm_ib,     // ModRM + imm8
    modrm_iz,     // ModRM + imm16/32 (16 with 66)
    ib,           // imm8
    iw,           // imm16, whatever the operand size (ret iw)
    iz,           // imm16/32
    rel8,         // 8-bit branch displacement
    relz,         // 16/32-bit branch displacement
    prefix,       // a legacy prefix
    escape,       // 0F
    special,      // depends on a prefix or on ModRM.reg
    modrm_reg,    // mov cr/dr: ModRM is always a register form (SDM: "mod is ignored")
};

using ShapeTable = Shape[256];

struct OpcodeMap {
    ShapeTable shape;
};

constexpr void set_range(OpcodeMap& map, int first, int last, Shape shape)
{
    for (int op = first; op <= last; ++op) map.shape[op] = shape;
}

// 00-3F: eight ALU groups (add or adc sbb and sub xor cmp), each
// "r/m,r  r,r/m  al,ib  eAX,iz" plus two one-byte ops per row half.
constexpr void set_alu_rows(OpcodeMap& map)
{
    for (int base = 0x00; base < 0x40; base += 8) {
        set_range(map, base, base + 3, Shape::modrm);
        map.shape[base + 4] = Shape::ib;
        map.shape[base + 5] = Shape::iz;
        map.shape[base + 6] = Shape::none;  // push seg / daa / aaa (or a prefix, below)
        map.shape[base + 7] = Shape::none;
    }
    for (int segment_override = 0x26; segment_override <= 0x3E; segment_override += 8)
        map.shape[segment_override] = Shape::prefix;  // es cs ss ds
    map.shape[0x0F] = Shape::escape;
}

constexpr OpcodeMap build_one_byte_map()
{
    OpcodeMap map{};
    set_alu_rows(map);
    set_range(map, 0x40, 0x61, Shape::none);  // inc/dec/push/pop reg, pusha/popa
    map.shape[0x62] = Shape::special;         // bound, or EVEX
    map.shape[0x63] = Shape::modrm;           // arpl
    set_range(map, 0x64, 0x67, Shape::prefix);
    map.shape[0x68] = Shape::iz;
    map.shape[0x69] = Shape::modrm_iz;
    map.shape[0x6A] = Shape::ib;
    map.shape[0x6B] = Shape::modrm_ib;
    set_range(map, 0x6C, 0x6F, Shape::none);  // ins/outs
    set_range(map, 0x70, 0x7F, Shape::rel8);  // jcc
    map.shape[0x80] = Shape::modrm_ib;
    map.shape[0x81] = Shape::modrm_iz;
    map.shape[0x82] = Shape::modrm_ib;        // alias of 80, valid outside 64-bit mode
    map.shape[0x83] = Shape::modrm_ib;
    set_range(map, 0x84, 0x8E, Shape::modrm);
    map.shape[0x8F] = Shape::special;         // pop r/m, or XOP
    set_range(map, 0x90, 0x99, Shape::none);
    map.shape[0x9A] = Shape::special;         // call far ptr16:32
    set_range(map, 0x9B, 0x9F, Shape::none);
    set_range(map, 0xA0, 0xA3, Shape::special);  // mov moffs
    set_range(map, 0xA4, 0xA7, Shape::none);
    map.shape[0xA8] = Shape::ib;
    map.shape[0xA9] = Shape::iz;
    set_range(map, 0xAA, 0xAF, Shape::none);
    set_range(map, 0xB0, 0xB7, Shape::ib);
    set_range(map, 0xB8, 0xBF, Shape::iz);
    map.shape[0xC0] = Shape::modrm_ib;
    map.shape[0xC1] = Shape::modrm_ib;
    map.shape[0xC2] = Shape::iw;
    map.shape[0xC3] = Shape::none;
    map.shape[0xC4] = Shape::special;  // les, or VEX
    map.shape[0xC5] = Shape::special;  // lds, or VEX
    map.shape[0xC6] = Shape::special;  // mov r/m8, ib (/0) or xabort
    map.shape[0xC7] = Shape::special;  // mov r/m, iz (/0) or xbegin
    map.shape[0xC8] = Shape::special;  // enter iw, ib
    map.shape[0xC9] = Shape::none;
    map.shape[0xCA] = Shape::iw;
    set_range(map, 0xCB, 0xCC, Shape::none);
    map.shape[0xCD] = Shape::ib;
    set_range(map, 0xCE, 0xCF, Shape::none);
    set_range(map, 0xD0, 0xD3, Shape::modrm);
    map.shape[0xD4] = Shape::ib;  // aam
    map.shape[0xD5] = Shape::ib;  // aad
    map.shape[0xD7] = Shape::none;
    set_range(map, 0xD8, 0xDF, Shape::modrm);  // x87 escapes
    set_range(map, 0xE0, 0xE3, Shape::rel8);   // loopne loope loop jecxz
    set_range(map, 0xE4, 0xE7, Shape::ib);     // in/out imm8
    map.shape[0xE8] = Shape::relz;
    map.shape[0xE9] = Shape::relz;
    map.shape[0xEA] = Shape::special;  // jmp far ptr16:32
    map.shape[0xEB] = Shape::rel8;
    set_range(map, 0xEC, 0xEF, Shape::none);
    map.shape[0xF0] = Shape::prefix;
    map.shape[0xF1] = Shape::none;  // int1
    map.shape[0xF2] = Shape::prefix;
    map.shape[0xF3] = Shape::prefix;
    set_range(map, 0xF4, 0xF5, Shape::none);
    map.shape[0xF6] = Shape::special;  // group 3: test has an immediate, the rest not
    map.shape[0xF7] = Shape::special;
    set_range(map, 0xF8, 0xFD, Shape::none);
    map.shape[0xFE] = Shape::special;  // group 4: only /0 /1
    map.shape[0xFF] = Shape::special;  // group 5: /7 undefined
    return map;
}

// The two-byte map (0F xx).  SSE/MMX opcodes are ModRM forms; the kernel
// is built without SSE, but libgcc or hand-written code may still hold some.
constexpr OpcodeMap build_two_byte_map()
{
    OpcodeMap map{};
    map.shape[0x00] = Shape::special;  // group 6: /6 /7 undefined
    set_range(map, 0x01, 0x03, Shape::modrm);  // group 7, lar, lsl
    map.shape[0x05] = Shape::none;  // syscall
    set_range(map, 0x06, 0x09, Shape::none);   // clts sysret invd wbinvd
    map.shape[0x0B] = Shape::none;  // ud2
    map.shape[0x0D] = Shape::modrm;  // prefetch group
    map.shape[0x0E] = Shape::none;  // femms
    set_range(map, 0x10, 0x1F, Shape::modrm);  // SSE moves, prefetch/hint NOPs, endbr32, nopl
    set_range(map, 0x20, 0x23, Shape::modrm_reg);  // mov cr/dr
    set_range(map, 0x28, 0x2F, Shape::modrm);
    set_range(map, 0x30, 0x35, Shape::none);  // wrmsr rdtsc rdmsr rdpmc sysenter sysexit
    map.shape[0x37] = Shape::none;  // getsec
    map.shape[0x38] = Shape::escape;
    map.shape[0x3A] = Shape::escape;
    set_range(map, 0x40, 0x4F, Shape::modrm);  // cmovcc
    set_range(map, 0x50, 0x6F, Shape::modrm);
    set_range(map, 0x70, 0x73, Shape::modrm_ib);  // pshufw, shift groups 12-14
    set_range(map, 0x74, 0x76, Shape::modrm);
    map.shape[0x77] = Shape::none;  // emms
    map.shape[0x78] = Shape::special;  // vmread (no prefix) or SSE4a extrq/insertq
    map.shape[0x79] = Shape::special;
    set_range(map, 0x7C, 0x7F, Shape::modrm);
    set_range(map, 0x80, 0x8F, Shape::relz);   // jcc rel32
    set_range(map, 0x90, 0x9F, Shape::modrm);  // setcc
    set_range(map, 0xA0, 0xA2, Shape::none);   // push/pop fs, cpuid
    map.shape[0xA3] = Shape::modrm;            // bt
    map.shape[0xA4] = Shape::modrm_ib;         // shld ib
    map.shape[0xA5] = Shape::modrm;            // shld cl
    set_range(map, 0xA8, 0xAA, Shape::none);   // push/pop gs, rsm
    map.shape[0xAB] = Shape::modrm;            // bts
    map.shape[0xAC] = Shape::modrm_ib;         // shrd ib
    set_range(map, 0xAD, 0xB7, Shape::modrm);  // shrd cl, group 15, imul, cmpxchg, lss btr lfs lgs movzx
    map.shape[0xB8] = Shape::special;          // popcnt (F3) / jmpe
    map.shape[0xB9] = Shape::modrm;            // ud1
    map.shape[0xBA] = Shape::special;          // group 8: bt* ib, only /4-/7
    set_range(map, 0xBB, 0xC1, Shape::modrm);  // btc bsf bsr movsx xadd
    map.shape[0xC2] = Shape::modrm_ib;         // cmpps
    map.shape[0xC3] = Shape::modrm;            // movnti
    set_range(map, 0xC4, 0xC6, Shape::modrm_ib);  // pinsrw pextrw shufps
    map.shape[0xC7] = Shape::modrm;            // group 9: cmpxchg8b, rdrand, ...
    set_range(map, 0xC8, 0xCF, Shape::none);   // bswap
    set_range(map, 0xD0, 0xFF, Shape::modrm);  // MMX/SSE, ud0 (FF)
    return map;
}

// 0F 38 xx: all defined ones (SSSE3, SSE4, AES, SHA, movbe, crc32, ...)
// take a ModRM and no immediate outside VEX.
constexpr OpcodeMap build_0f38_map()
{
    OpcodeMap map{};
    set_range(map, 0x00, 0x0B, Shape::modrm);
    map.shape[0x10] = Shape::modrm;
    set_range(map, 0x14, 0x15, Shape::modrm);
    map.shape[0x17] = Shape::modrm;
    set_range(map, 0x1C, 0x1E, Shape::modrm);
    set_range(map, 0x20, 0x25, Shape::modrm);
    set_range(map, 0x28, 0x2B, Shape::modrm);
    set_range(map, 0x30, 0x35, Shape::modrm);
    set_range(map, 0x37, 0x41, Shape::modrm);
    set_range(map, 0x80, 0x82, Shape::modrm);  // invept invvpid invpcid
    set_range(map, 0xC8, 0xCD, Shape::modrm);  // sha
    set_range(map, 0xCF, 0xCF, Shape::modrm);  // gf2p8mulb
    set_range(map, 0xDB, 0xDF, Shape::modrm);  // aes
    set_range(map, 0xF0, 0xF1, Shape::modrm);  // movbe / crc32
    set_range(map, 0xF5, 0xF6, Shape::modrm);  // wrussd, adcx/adox/wrssd
    set_range(map, 0xF8, 0xF9, Shape::modrm);  // movdir64b/enqcmd, movdiri
    return map;
}

// 0F 3A xx: every defined one has ModRM and an imm8.
constexpr OpcodeMap build_0f3a_map()
{
    OpcodeMap map{};
    set_range(map, 0x08, 0x0F, Shape::modrm_ib);
    set_range(map, 0x14, 0x17, Shape::modrm_ib);
    set_range(map, 0x20, 0x22, Shape::modrm_ib);
    set_range(map, 0x40, 0x42, Shape::modrm_ib);
    map.shape[0x44] = Shape::modrm_ib;
    set_range(map, 0x60, 0x63, Shape::modrm_ib);
    map.shape[0xCC] = Shape::modrm_ib;
    set_range(map, 0xCE, 0xCF, Shape::modrm_ib);
    map.shape[0xDF] = Shape::modrm_ib;
    return map;
}

constexpr OpcodeMap kOneByteMap = build_one_byte_map();
constexpr OpcodeMap kTwoByteMap = build_two_byte_map();
constexpr OpcodeMap k0F38Map = build_0f38_map();
constexpr OpcodeMap k0F3AMap = build_0f3a_map();

// Reads bytes of one instruction, refusing to run past the caller's buffer
// or past the architectural 15-byte limit.
class ByteReader {
public:
    ByteReader(const uint8_t* code, size_t available) : code_(code), available_(available) {}

    Result<void> need(size_t count) const
    {
        if (position_ + count > kMaxInstructionLength)
            return make_error("instruction longer than %u bytes", unsigned(kMaxInstructionLength));
        if (position_ + count > available_)
            return make_error("truncated instruction: needs at least %u bytes, only %u available",
                              unsigned(position_ + count), unsigned(available_));
        return Ok{};
    }
    Result<uint8_t> next()
    {
        TRY_VOID(need(1));
        return code_[position_++];
    }
    Result<uint8_t> peek() const
    {
        TRY_VOID(need(1));
        return code_[position_];
    }
    // Reads a little-endian signed value of 1, 2 or 4 bytes.
    Result<int32_t> next_signed(size_t count)
    {
        TRY_VOID(need(count));
        uint32_t value = 0;
        for (size_t i = 0; i < count; ++i) value |= uint32_t(code_[position_ + i]) << (8 * i);
        position_ += count;
        if (count == 1) return int32_t(int8_t(value));
        if (count == 2) return int32_t(int16_t(value));
        return int32_t(value);
    }
    Result<void> skip(size_t count)
    {
        TRY_VOID(need(count));
        position_ += count;
        return Ok{};
    }
    size_t position() const { return position_; }

private:
    const uint8_t* code_;
    size_t available_;
    size_t position_ = 0;
};

Error unknown_opcode(const Instruction& insn, const char* why)
{
    char opcode[12];
    format_opcode_bytes(opcode, sizeof(opcode), insn);
    return make_error("%s opcode %s", why, opcode);
}

Result<void> read_prefixes(ByteReader& reader, Instruction& insn)
{
    for (;;) {
        uint8_t byte = TRY(reader.peek());
        if (kOneByteMap.shape[byte] != Shape::prefix) return Ok{};
        if (byte == 0x66) insn.operand_size_override = true;
        if (byte == 0x67) insn.address_size_override = true;
        if (byte == 0xF2 || byte == 0xF3) insn.repeat_prefix = byte;
        if (byte == 0xF0) insn.lock_prefix = true;
        insn.prefix_count++;
        TRY_VOID(reader.skip(1));
    }
}

// Reads the opcode bytes, following the 0F / 0F 38 / 0F 3A escapes, and
// returns the shape of the instruction they select.
Result<Shape> read_opcode(ByteReader& reader, Instruction& insn)
{
    const OpcodeMap* map = &kOneByteMap;
    for (;;) {
        uint8_t byte = TRY(reader.next());
        insn.opcode[insn.opcode_bytes++] = byte;
        Shape shape = map->shape[byte];
        if (shape != Shape::escape) return shape;
        if (map == &kOneByteMap) {
            map = &kTwoByteMap;
        } else {
            map = byte == 0x38 ? &k0F38Map : &k0F3AMap;
        }
    }
}

// ModRM, then SIB and displacement as the addressing mode asks
// (SDM vol. 2, tables 2-1 and 2-2 for 16-bit, 2-2 and 2-3 for 32-bit).
Result<void> read_modrm(ByteReader& reader, Instruction& insn, bool register_form_only)
{
    insn.has_modrm = true;
    insn.modrm = TRY(reader.next());
    uint8_t mod = insn.modrm >> 6;
    uint8_t rm = insn.modrm & 7;
    if (mod == 3 || register_form_only) return Ok{};
    if (insn.address_size_override) {
        if (mod == 0 && rm == 6) insn.displacement_size = 2;
        if (mod == 1) insn.displacement_size = 1;
        if (mod == 2) insn.displacement_size = 2;
        return reader.skip(insn.displacement_size);
    }
    bool no_base = mod == 0 && rm == 5;
    if (rm == 4) {
        insn.has_sib = true;
        insn.sib = TRY(reader.next());
        no_base = mod == 0 && (insn.sib & 7) == 5;
    }
    if (no_base || mod == 2) insn.displacement_size = 4;
    if (mod == 1) insn.displacement_size = 1;
    return reader.skip(insn.displacement_size);
}

uint8_t z_size(const Instruction& insn) { return insn.operand_size_override ? 2 : 4; }

Result<void> read_immediate(ByteReader& reader, Instruction& insn, uint8_t size)
{
    insn.immediate_size = static_cast<uint8_t>(insn.immediate_size + size);
    return reader.skip(size);
}

Result<void> read_branch(ByteReader& reader, Instruction& insn, uint8_t size)
{
    insn.is_relative_branch = true;
    insn.branch_displacement = TRY(reader.next_signed(size));
    insn.immediate_size = size;
    return Ok{};
}

// Opcodes whose ModRM.reg selects between defined and undefined forms.
Result<void> check_group_member(const Instruction& insn, uint8_t valid_reg_mask)
{
    if ((valid_reg_mask >> insn.modrm_reg()) & 1) return Ok{};
    char opcode[12];
    format_opcode_bytes(opcode, sizeof(opcode), insn);
    return make_error("undefined opcode %s /%u", opcode, unsigned(insn.modrm_reg()));
}

// In 32-bit mode C4/C5 (les/lds), 62 (bound) and 8F (pop) double as the
// VEX/EVEX/XOP escapes; the ModRM byte that follows tells which: a register
// form for VEX/EVEX (les/lds/bound need memory), a non-zero reg field for
// XOP (pop r/m is 8F /0).
Result<void> read_maybe_vex(ByteReader& reader, Instruction& insn)
{
    uint8_t next = TRY(reader.peek());
    uint8_t op = insn.opcode[0];
    bool register_form = (next >> 6) == 3;
    if (op == 0x8F ? ((next >> 3) & 7) != 0 : register_form)
        return unknown_opcode(insn, "unsupported VEX/EVEX/XOP prefix,");
    return read_modrm(reader, insn, false);
}

Result<void> decode_special_one_byte(ByteReader& reader, Instruction& insn)
{
    uint8_t op = insn.opcode[0];
    switch (op) {
    case 0x62: case 0x8F: case 0xC4: case 0xC5:
        return read_maybe_vex(reader, insn);
    case 0x9A: case 0xEA:  // ptr16:32 (ptr16:16 with 66): offset, then selector
        return read_immediate(reader, insn, static_cast<uint8_t>(z_size(insn) + 2));
    case 0xA0: case 0xA1: case 0xA2: case 0xA3:  // moffs follows the address size
        insn.displacement_size = insn.address_size_override ? 2 : 4;
        return reader.skip(insn.displacement_size);
    case 0xC6: case 0xC7: {
        TRY_VOID(read_modrm(reader, insn, false));
        if (insn.modrm == 0xF8 && op == 0xC7) return read_branch(reader, insn, z_size(insn));  // xbegin
        if (insn.modrm != 0xF8) TRY_VOID(check_group_member(insn, 0x01));                   // xabort is C6 F8
        return read_immediate(reader, insn, op == 0xC6 ? 1 : z_size(insn));
    }
    case 0xC8:  // enter iw, ib
        return read_immediate(reader, insn, 3);
    case 0xF6: case 0xF7:
        TRY_VOID(read_modrm(reader, insn, false));
        if (insn.modrm_reg() >= 2) return Ok{};  // not/neg/mul/imul/div/idiv
        return read_immediate(reader, insn, op == 0xF6 ? 1 : z_size(insn));
    case 0xFE:
        TRY_VOID(read_modrm(reader, insn, false));
        return check_group_member(insn, 0x03);
    default:  // 0xFF
        TRY_VOID(read_modrm(reader, insn, false));
        return check_group_member(insn, 0x7F);
    }
}

Result<void> decode_special_two_byte(ByteReader& reader, Instruction& insn)
{
    uint8_t op = insn.opcode[1];
    switch (op) {
    case 0x00:
        TRY_VOID(read_modrm(reader, insn, false));
        return check_group_member(insn, 0x3F);
    case 0x78: case 0x79:  // with 66/F2 these are AMD SSE4a extrq/insertq, not supported
        if (insn.operand_size_override || insn.repeat_prefix != 0)
            return unknown_opcode(insn, "unsupported (SSE4a)");
        return read_modrm(reader, insn, false);
    case 0xB8:  // popcnt needs F3; without it this is Itanium's jmpe
        if (insn.repeat_prefix != 0xF3) return unknown_opcode(insn, "unsupported");
        return read_modrm(reader, insn, false);
    default:  // 0xBA: bt/bts/btr/btc r/m, imm8
        TRY_VOID(read_modrm(reader, insn, false));
        TRY_VOID(check_group_member(insn, 0xF0));
        return read_immediate(reader, insn, 1);
    }
}

Result<void> read_operands(ByteReader& reader, Instruction& insn, Shape shape)
{
    switch (shape) {
    case Shape::none: return Ok{};
    case Shape::modrm: return read_modrm(reader, insn, false);
    case Shape::modrm_reg: return read_modrm(reader, insn, true);
    case Shape::modrm_ib:
        TRY_VOID(read_modrm(reader, insn, false));
        return read_immediate(reader, insn, 1);
    case Shape::modrm_iz:
        TRY_VOID(read_modrm(reader, insn, false));
        return read_immediate(reader, insn, z_size(insn));
    case Shape::ib: return read_immediate(reader, insn, 1);
    case Shape::iw: return read_immediate(reader, insn, 2);
    case Shape::iz: return read_immediate(reader, insn, z_size(insn));
    case Shape::rel8: return read_branch(reader, insn, 1);
    case Shape::relz: return read_branch(reader, insn, z_size(insn));
    case Shape::special:
        if (insn.opcode_bytes == 1) return decode_special_one_byte(reader, insn);
        return decode_special_two_byte(reader, insn);
    default:
        if (insn.opcode_bytes == 2 && insn.opcode[1] == 0x0F)
            return unknown_opcode(insn, "unsupported 3DNow!");
        return unknown_opcode(insn, "invalid or unsupported");
    }
}

}  // namespace

Result<Instruction> decode_instruction(const uint8_t* code, size_t available)
{
    ByteReader reader(code, available);
    Instruction insn;
    TRY_VOID(read_prefixes(reader, insn));
    Shape shape = TRY(read_opcode(reader, insn));
    TRY_VOID(read_operands(reader, insn, shape));
    insn.length = static_cast<uint8_t>(reader.position());
    return insn;
}

int format_opcode_bytes(char* buf, size_t size, const Instruction& insn)
{
    int used = 0;
    for (uint8_t i = 0; i < insn.opcode_bytes; ++i) {
        size_t offset = static_cast<size_t>(used) < size ? static_cast<size_t>(used) : size;
        used += format(buf + offset, size - offset, i ? " %02x" : "%02x", insn.opcode[i]);
    }
    return used;
}

uintptr_t branch_target(uintptr_t address, const Instruction& insn)
{
    // Unsigned wrap-around is the CPU's behaviour too (EIP is 32 bits).
    return address + insn.length + static_cast<uintptr_t>(static_cast<intptr_t>(insn.branch_displacement));
}

Result<void> check_boundaries(const uint8_t* func_entry, size_t func_size, size_t range_offset,
                              size_t range_len)
{
    size_t range_end = range_offset + range_len;
    if (range_len == 0 || range_end > func_size || range_end < range_offset)
        return make_error("range +%zu..+%zu is empty or outside the function (%zu bytes)", range_offset,
                          range_end, func_size);
    size_t offset = 0;
    while (offset < range_end) {
        auto decoded = decode_instruction(func_entry + offset, func_size - offset);
        if (decoded.is_error()) return make_error("cannot decode at +%zu: %s", offset, decoded.error());
        size_t next = offset + decoded.value().length;
        if (offset < range_offset && range_offset < next)
            return make_error("range start +%zu is inside the instruction at +%zu (%zu bytes)", range_offset,
                              offset, next - offset);
        if (offset < range_end && range_end < next)
            return make_error("range end +%zu is inside the instruction at +%zu (%zu bytes)", range_end, offset,
                              next - offset);
        offset = next;
    }
    return Ok{};
}

}  // namespace corral
