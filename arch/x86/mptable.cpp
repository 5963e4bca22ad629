// MP table discovery (see mptable.h), and discover_topology(): ACPI first,
// this as the fallback.
//
// Intel MultiProcessor Specification 1.4, chapter 4: a 16-byte floating
// pointer structure (§4.1) points to a configuration table: a 44-byte header
// (§4.2) and `entry count` base entries (§4.3) sorted by type — processors
// (20 bytes), then buses, IOAPICs, IO and local interrupt assignments (8
// bytes each).  The extended table after the base table is not needed here.
#include "arch/x86/mptable.h"

#include "arch/x86/acpi.h"
#include "kernel/lib/string.h"

namespace corral::arch {
namespace {

using namespace firmware;

constexpr uint32_t kFloatingPointerLength = 16;  // §4.1: one 16-byte paragraph
constexpr uint32_t kConfigHeaderLength = 44;     // §4.2, Table 4-2
constexpr uint32_t kAssumedIoApicPins = 24;      // see next_gsi_base below

enum EntryType : uint8_t { kProcessor = 0, kBus = 1, kIoApic = 2, kIoInterrupt = 3, kLocalInterrupt = 4 };

Result<void> check_floating_pointer(const PhysicalMemory& mem, uint32_t phys) {
    const uint8_t* p = read_phys(mem, phys, kFloatingPointerLength);
    if (!p) return make_error("mptable: floating pointer at 0x%x is not readable", phys);
    const uint32_t length = uint32_t(p[8]) * 16;  // in paragraphs; 1 in MPS 1.1 and 1.4
    if (length == 0) return make_error("mptable: floating pointer at 0x%x has length 0", phys);
    const uint8_t* all = read_phys(mem, phys, length);
    if (!all) return make_error("mptable: floating pointer at 0x%x (%u bytes) is not readable", phys, length);
    if (uint8_t sum = byte_sum(all, length))
        return make_error("mptable: floating pointer at 0x%x has a bad checksum (sum 0x%x)", phys, sum);
    return Ok{};
}

// §4 item 2: "the last kilobyte of system base memory", whose size in KiB
// the BIOS keeps in its data area at 0x413 (639 or 640 on a PC).
uint32_t base_memory_last_kib(const PhysicalMemory& mem) {
    const uint8_t* p = read_phys(mem, 0x413, 2);
    uint32_t kib = p ? le16(p) : 0;
    if (kib < 64 || kib > 640) kib = 640;
    return (kib - 1) * 1024;
}

struct ConfigTable {
    const uint8_t* bytes;
    uint32_t length;  // the base table only
    uint32_t phys;
};

// §4.2: signature "PCMP", then the base table length (bounded by its 16-bit
// field) over which the checksum is taken.
Result<ConfigTable> load_config_table(const PhysicalMemory& mem, uint32_t phys) {
    const uint8_t* header = read_phys(mem, phys, kConfigHeaderLength);
    if (!header) return make_error("mptable: configuration table at 0x%x is not readable", phys);
    if (!same_bytes(header, "PCMP", 4))
        return make_error("mptable: configuration table at 0x%x has no PCMP signature", phys);
    const uint32_t length = le16(header + 4);
    if (length < kConfigHeaderLength)
        return make_error("mptable: configuration table at 0x%x has length %u, shorter than its header", phys, length);
    const uint8_t* all = read_phys(mem, phys, length);
    if (!all)
        return make_error("mptable: configuration table at 0x%x is truncated (%u bytes not readable)", phys, length);
    if (uint8_t sum = byte_sum(all, length))
        return make_error("mptable: configuration table at 0x%x has a bad checksum (sum 0x%x)", phys, sum);
    return ConfigTable{all, length, phys};
}

// What the first pass learns for the second: which bus ids are ISA, and
// where each IOAPIC's pins start in GSI space.
struct MpParse {
    TopologyBuilder& builder;
    uint32_t isa_buses[8];  // bitmap of bus ids 0..255
    // MPS has no GSI bases.  With one IOAPIC (the PC norm) its base is 0;
    // further ones are assumed to follow with 24 pins each, the usual count
    // (the kernel can check against each IOAPIC's version register).
    uint32_t next_gsi_base;
};

bool is_isa_bus(const MpParse& s, uint8_t bus) { return s.isa_buses[bus / 32] & (1u << (bus % 32)); }

// Pass 1: buses (§4.3.2) and usable IOAPICs (§4.3.3), which interrupt
// entries refer to.
void collect_bus_or_ioapic(MpParse& s, const uint8_t* e) {
    if (e[0] == kBus && same_bytes(e + 2, "ISA   ", 6)) s.isa_buses[e[1] / 32] |= 1u << (e[1] % 32);
    if (e[0] == kIoApic && (e[3] & 1)) {  // flags bit 0: EN
        s.builder.add_ioapic(e[1], le32(e + 4), s.next_gsi_base);
        s.next_gsi_base += kAssumedIoApicPins;
    }
}

// §4.3.4: an INT-type (vectored) assignment from an ISA bus IRQ to an IOAPIC
// pin.  Destination 0xFF means "all IOAPICs"; the first one stands for them.
void apply_io_interrupt(MpParse& s, const uint8_t* e) {
    if (e[1] != 0 || !is_isa_bus(s, e[4])) return;
    const Topology& t = s.builder.topology;
    for (int i = 0; i < t.ioapic_count; i++) {
        if (t.ioapics[i].id != e[6] && e[6] != 0xFF) continue;
        s.builder.add_isa_route(e[5], t.ioapics[i].gsi_base + e[7], le16(e + 2));
        return;
    }
    // An IOAPIC that is disabled or beyond the limit cannot deliver it: skip.
}

// Pass 2: processors (§4.3.1; flags bit 0 EN, bit 1 BP) and interrupts.
Result<void> apply_cpu_or_interrupt(MpParse& s, const uint8_t* e) {
    if (e[0] == kProcessor && (e[3] & 1)) return s.builder.add_cpu(e[1], (e[3] & 2) != 0);
    if (e[0] == kIoInterrupt) apply_io_interrupt(s, e);
    return Ok{};
}

// Walks the base entries with bounds checks; `pass` picks what to do.
Result<void> walk_entries(const ConfigTable& table, MpParse& s, int pass) {
    const uint32_t count = le16(table.bytes + 34);
    uint32_t off = kConfigHeaderLength;
    for (uint32_t i = 0; i < count; i++) {
        if (off >= table.length)
            return make_error("mptable: configuration table at 0x%x: entry %u of %u starts past its end (%u)",
                              table.phys, i, count, table.length);
        const uint8_t* e = table.bytes + off;
        if (e[0] > kLocalInterrupt)
            return make_error("mptable: configuration table at 0x%x: entry %u has unknown type %u", table.phys, i,
                              e[0]);
        const uint32_t size = e[0] == kProcessor ? 20 : 8;  // §4.3, Table 4-3
        if (off + size > table.length)
            return make_error("mptable: configuration table at 0x%x: entry %u (type %u) runs past its end (%u)",
                              table.phys, i, e[0], table.length);
        if (pass == 1)
            collect_bus_or_ioapic(s, e);
        else
            TRY_VOID(apply_cpu_or_interrupt(s, e));
        off += size;
    }
    return Ok{};
}

}  // namespace

Result<Topology> discover_mptable(const PhysicalMemory& mem) {
    const uint32_t ebda = ebda_base(mem);
    const SearchArea areas[] = {{ebda, ebda ? 1024u : 0u}, {base_memory_last_kib(mem), 1024}, {0xF0000, 0x10000}};
    const uint32_t fp_phys = TRY(scan_for_signature(mem, areas, 3, "_MP_", 4, check_floating_pointer,
                                                    "mptable: no _MP_ floating pointer found"));
    const uint8_t* fp = read_phys(mem, fp_phys, kFloatingPointerLength);
    if (!fp) return make_error("mptable: floating pointer at 0x%x is not readable", fp_phys);
    // Feature byte 1 (§4.1): non-zero selects one of the default
    // configurations of chapter 5, which ancient two-CPU boards use.
    if (fp[11] != 0)
        return make_error("mptable: floating pointer at 0x%x selects default configuration %u (not supported)", fp_phys,
                          fp[11]);
    const uint32_t config_phys = le32(fp + 4);
    if (config_phys == 0) return make_error("mptable: floating pointer at 0x%x has no configuration table", fp_phys);
    const ConfigTable table = TRY(load_config_table(mem, config_phys));

    TopologyBuilder builder("MP table", "mptable", "configuration table", config_phys);
    builder.topology.lapic_phys = le32(table.bytes + 36);
    builder.topology.has_8259 = true;                      // MPS systems are PC/AT compatible (§1.1)
    builder.topology.imcr_present = (fp[12] & 0x80) != 0;  // feature byte 2, IMCRP (§3.6.2.1 PIC mode)
    MpParse parse{builder, {}, 0};
    TRY_VOID(walk_entries(table, parse, 1));
    TRY_VOID(walk_entries(table, parse, 2));
    return builder.finish();
}

Result<Topology> discover_topology(const PhysicalMemory& mem) {
    Result<Topology> acpi = discover_acpi(mem);
    if (acpi.is_ok()) return acpi;
    Result<Topology> mp = discover_mptable(mem);
    // Both texts name their source ("acpi: ...", "mptable: ..."); the
    // 120-byte Error may cut the second, never the first.
    if (mp.is_error()) return make_error("%s; %s", acpi.error(), mp.error());
    Topology t = mp.value();
    str_copy(t.fallback_reason, acpi.error(), sizeof(t.fallback_reason));
    return t;
}

}  // namespace corral::arch
