// ACPI discovery (see acpi.h), and the helpers it shares with the MP-table
// fallback (declared in topology.h, namespace firmware).
//
// Nothing here trusts a length it has not bounded: every table is read as a
// header first, its length checked against the header size and a 64 KiB
// ceiling, and only then read whole and checksummed.  A corrupt table thus
// gives an error naming the table and its address, never a wild read.
#include "arch/x86/acpi.h"

#include "kernel/config.h"

namespace corral::arch {

static_assert(TOPOLOGY_MAX_CPUS == config::MAX_CPUS, "topology.h and config.h disagree on the CPU limit");

// ---------------------------------------------------------------------------
// Shared with mptable.cpp
// ---------------------------------------------------------------------------
namespace firmware {

bool same_bytes(const uint8_t* p, const char* text, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != uint8_t(text[i])) return false;
    return true;
}

const uint8_t* read_phys(const PhysicalMemory& mem, uint64_t phys, size_t len) {
    constexpr uint64_t k4GiB = 1ull << 32;
    if (len == 0 || phys >= k4GiB || uint64_t(len) > k4GiB - phys) return nullptr;
    return mem.read(mem.ctx, phys, len);
}

uint32_t ebda_base(const PhysicalMemory& mem) {
    const uint8_t* p = read_phys(mem, 0x40E, 2);
    if (!p) return 0;
    // A real-mode segment; the EBDA lives just below the 640 KiB line, so
    // anything inside the BIOS data area or above it is an unset pointer.
    uint32_t base = uint32_t(le16(p)) << 4;
    return base > 0x400 && base < 0xA0000 ? base : 0;
}

Result<uint32_t> scan_for_signature(const PhysicalMemory& mem, const SearchArea* areas, int area_count,
                                    const char* signature, size_t signature_len, Probe probe, const char* not_found) {
    Error first_failure{};
    bool any_failed = false;
    for (int a = 0; a < area_count; a++) {
        for (uint32_t off = 0; off + signature_len <= areas[a].length; off += 16) {
            uint32_t phys = areas[a].start + off;
            const uint8_t* p = read_phys(mem, phys, signature_len);
            if (!p || !same_bytes(p, signature, signature_len)) continue;
            Result<void> verdict = probe(mem, phys);
            if (verdict.is_ok()) return phys;
            if (!any_failed) first_failure = verdict.error_value();
            any_failed = true;
        }
    }
    if (any_failed) return first_failure;
    return make_error("%s", not_found);
}

TopologyBuilder::TopologyBuilder(const char* source, const char* prefix, const char* table, uint32_t table_phys)
    : prefix_(prefix), table_(table), table_phys_(table_phys) {
    topology.source = source;
}

Result<void> TopologyBuilder::add_cpu(uint32_t apic_id, bool boot_cpu) {
    Topology& t = topology;
    // 0xFF is the xAPIC broadcast id; larger ids need x2APIC mode.
    if (apic_id >= 0xFF) {
        t.cpus_x2apic_only++;
        return Ok{};
    }
    uint32_t bit = 1u << (apic_id % 32);
    if (seen_ids_[apic_id / 32] & bit)
        return make_error("%s: %s at 0x%x lists APIC id %u twice", prefix_, table_, table_phys_, apic_id);
    seen_ids_[apic_id / 32] |= bit;

    int slot;
    if (t.cpu_count < TOPOLOGY_MAX_CPUS) {
        slot = t.cpu_count++;
    } else {
        t.cpus_ignored++;
        if (!boot_cpu) return Ok{};
        slot = TOPOLOGY_MAX_CPUS - 1;  // the boot CPU is running this code: it must be listed
    }
    if (boot_cpu) {  // first in the list, keeping the others' order
        for (int i = slot; i > 0; i--) t.apic_ids[i] = t.apic_ids[i - 1];
        slot = 0;
    }
    t.apic_ids[slot] = uint8_t(apic_id);
    return Ok{};
}

void TopologyBuilder::add_ioapic(uint8_t id, uint32_t phys, uint32_t gsi_base) {
    Topology& t = topology;
    if (t.ioapic_count == TOPOLOGY_MAX_IOAPICS) {
        t.ioapics_ignored++;
        return;
    }
    t.ioapics[t.ioapic_count++] = {id, phys, gsi_base};
}

void TopologyBuilder::add_isa_route(uint8_t irq, uint32_t gsi, uint16_t inti_flags) {
    Topology& t = topology;
    if (irq >= 16) return;  // not an ISA IRQ
    // Polarity bits 1:0 and trigger bits 3:2: 00 "conforms to the bus" (ISA:
    // active high, edge), 01 high/edge, 11 low/level (10 is reserved).
    IrqOverride route{irq, gsi, (inti_flags & 3) == 3, ((inti_flags >> 2) & 3) == 3};
    bool identity = gsi == irq && !route.active_low && !route.level_triggered;
    for (int i = 0; i < t.override_count; i++) {
        if (t.overrides[i].bus_irq != irq) continue;
        if (identity)
            t.overrides[i] = t.overrides[--t.override_count];
        else
            t.overrides[i] = route;
        return;
    }
    if (!identity) t.overrides[t.override_count++] = route;  // at most 16: one per ISA IRQ
}

Result<Topology> TopologyBuilder::finish() {
    if (topology.cpu_count == 0) return make_error("%s: %s at 0x%x lists no usable CPU", prefix_, table_, table_phys_);
    if (topology.lapic_phys == 0)
        return make_error("%s: %s at 0x%x gives no local APIC address", prefix_, table_, table_phys_);
    return topology;
}

}  // namespace firmware

IrqOverride isa_irq_route(const Topology& t, uint8_t irq) {
    for (int i = 0; i < t.override_count; i++)
        if (t.overrides[i].bus_irq == irq) return t.overrides[i];
    return {irq, irq, false, false};  // ISA default: GSI = IRQ, active high, edge
}

// ---------------------------------------------------------------------------
// ACPI
// ---------------------------------------------------------------------------
namespace {

using namespace firmware;

constexpr uint32_t kRsdpV1Length = 20;             // §5.2.5.3: what the first checksum covers
constexpr uint32_t kRsdpV2Length = 36;             // ... and the revision 2 structure
constexpr uint32_t kSdtHeaderLength = 36;          // §5.2.6
constexpr uint32_t kMaxTableLength = 64 * 1024;    // far above any real RSDT/XSDT/MADT
constexpr uint32_t kMadtEntriesOffset = 44;        // §5.2.12: header, local APIC address, flags
constexpr uint8_t kMadtRevisionOnlineCapable = 5;  // ACPI 6.3 added the Online Capable flag

using Addr = unsigned long long;  // for "%llx": uint64_t is `unsigned long` on the 64-bit host

// Signatures go into error texts; a garbage one must not print control bytes.
struct PrintableSignature {
    char text[5];
};
PrintableSignature printable(const uint8_t* sig) {
    PrintableSignature s{};
    for (int i = 0; i < 4; i++) s.text[i] = sig[i] >= 0x20 && sig[i] < 0x7F ? char(sig[i]) : '?';
    return s;
}

Result<void> check_rsdp(const PhysicalMemory& mem, uint32_t phys) {
    const uint8_t* p = read_phys(mem, phys, kRsdpV1Length);
    if (!p) return make_error("acpi: RSDP at 0x%x is not readable", phys);
    if (uint8_t sum = byte_sum(p, kRsdpV1Length))
        return make_error("acpi: RSDP at 0x%x has a bad checksum (sum 0x%x)", phys, sum);
    if (p[15] < 2) return Ok{};  // ACPI 1.0: no length, no extended checksum
    const uint8_t* v2 = read_phys(mem, phys, kRsdpV2Length);
    if (!v2) return make_error("acpi: RSDP at 0x%x is not readable", phys);
    uint32_t length = le32(v2 + 20);
    if (length < kRsdpV2Length || length > 4096)
        return make_error("acpi: RSDP at 0x%x has an impossible length %u", phys, length);
    const uint8_t* all = read_phys(mem, phys, length);
    if (!all) return make_error("acpi: RSDP at 0x%x (%u bytes) is not readable", phys, length);
    if (uint8_t sum = byte_sum(all, length))
        return make_error("acpi: RSDP at 0x%x has a bad extended checksum (sum 0x%x)", phys, sum);
    return Ok{};
}

struct RootTable {
    uint64_t phys;
    bool is_xsdt;
};

// §5.2.5.3: revision 2+ adds a 64-bit XSDT address, preferred over the RSDT
// when this 32-bit kernel can reach it.
Result<RootTable> choose_root_table(const PhysicalMemory& mem, uint32_t rsdp_phys) {
    const uint8_t* rsdp = read_phys(mem, rsdp_phys, kRsdpV1Length);
    if (rsdp && rsdp[15] >= 2) rsdp = read_phys(mem, rsdp_phys, kRsdpV2Length);
    if (!rsdp) return make_error("acpi: RSDP at 0x%x is not readable", rsdp_phys);
    if (rsdp[15] >= 2) {
        uint64_t xsdt = le64(rsdp + 24);
        if (xsdt != 0 && xsdt < (1ull << 32)) return RootTable{xsdt, true};
    }
    uint32_t rsdt = le32(rsdp + 16);
    if (rsdt == 0) return make_error("acpi: RSDP at 0x%x gives no usable RSDT or XSDT address", rsdp_phys);
    return RootTable{rsdt, false};
}

struct Sdt {
    const uint8_t* bytes;
    uint32_t length;
};

// Reads a whole System Description Table (§5.2.6): signature, bounded
// length, then the checksum over all `length` bytes.
Result<Sdt> load_sdt(const PhysicalMemory& mem, uint64_t phys, const char* signature, const char* name) {
    const uint8_t* header = read_phys(mem, phys, kSdtHeaderLength);
    if (!header) return make_error("acpi: %s at 0x%llx is not readable", name, Addr(phys));
    if (!same_bytes(header, signature, 4))
        return make_error("acpi: %s at 0x%llx has signature '%s', not '%s'", name, Addr(phys), printable(header).text,
                          signature);
    uint32_t length = le32(header + 4);
    if (length < kSdtHeaderLength)
        return make_error("acpi: %s at 0x%llx has length %u, shorter than its header", name, Addr(phys), length);
    if (length > kMaxTableLength)
        return make_error("acpi: %s at 0x%llx claims an absurd length %u (limit %u)", name, Addr(phys), length,
                          kMaxTableLength);
    const uint8_t* all = read_phys(mem, phys, length);
    if (!all) return make_error("acpi: %s at 0x%llx is truncated (%u bytes not readable)", name, Addr(phys), length);
    if (uint8_t sum = byte_sum(all, length))
        return make_error("acpi: %s at 0x%llx has a bad checksum (sum 0x%x)", name, Addr(phys), sum);
    return Sdt{all, length};
}

// §5.2.7 / §5.2.8: after the header, an array of 32-bit (RSDT) or 64-bit
// (XSDT) table addresses.  Only the signature of each is read; entries this
// kernel cannot reach (null, above 4 GiB, unmapped) are skipped.
Result<uint64_t> find_madt(const PhysicalMemory& mem, const Sdt& root, const RootTable& where) {
    const uint32_t entry_size = where.is_xsdt ? 8 : 4;
    const uint32_t count = (root.length - kSdtHeaderLength) / entry_size;
    int unreachable = 0;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t* entry = root.bytes + kSdtHeaderLength + i * entry_size;
        uint64_t phys = where.is_xsdt ? le64(entry) : le32(entry);
        const uint8_t* signature = phys ? read_phys(mem, phys, 4) : nullptr;
        if (!signature) {
            unreachable++;
            continue;
        }
        if (same_bytes(signature, "APIC", 4)) return phys;
    }
    return make_error("acpi: no MADT among the %u tables of the %s at 0x%llx (%d unreadable)", count,
                      where.is_xsdt ? "XSDT" : "RSDT", Addr(where.phys), unreachable);
}

struct MadtContext {
    TopologyBuilder& builder;
    bool online_capable_defined;
};

// §5.2.12.2 (Table "Local APIC Flags"): Enabled, or (ACPI 6.3+) Online
// Capable — the firmware may start such a CPU later; both count as usable.
bool cpu_usable(uint32_t flags, bool online_capable_defined) {
    return (flags & 1) || (online_capable_defined && (flags & 2));
}

// The smallest length each structure this file reads may have.
uint8_t madt_min_length(uint8_t type) {
    switch (type) {
        case 0:
            return 8;  // §5.2.12.2 Processor Local APIC
        case 1:
            return 12;  // §5.2.12.3 I/O APIC
        case 2:
            return 10;  // §5.2.12.5 Interrupt Source Override
        case 5:
            return 12;  // §5.2.12.8 Local APIC Address Override
        case 9:
            return 16;  // §5.2.12.12 Processor Local x2APIC
        default:
            return 2;  // not read beyond type and length
    }
}

Result<void> apply_madt_entry(MadtContext& ctx, const uint8_t* e) {
    Topology& t = ctx.builder.topology;
    switch (e[0]) {
        case 0:
            if (!cpu_usable(le32(e + 4), ctx.online_capable_defined)) return Ok{};
            return ctx.builder.add_cpu(e[3], false);
        case 1:
            ctx.builder.add_ioapic(e[2], le32(e + 4), le32(e + 8));
            return Ok{};
        case 2:
            if (e[2] == 0) ctx.builder.add_isa_route(e[3], le32(e + 4), le16(e + 8));  // bus 0 is ISA
            return Ok{};
        case 5: {
            uint64_t lapic = le64(e + 4);
            if (lapic < (1ull << 32)) t.lapic_phys = uint32_t(lapic);
            return Ok{};
        }
        case 9:
            // Firmware should use type 0 below 255, but some list type 9 anyway;
            // add_cpu counts ids >= 255 as unreachable in xAPIC mode.
            if (!cpu_usable(le32(e + 8), ctx.online_capable_defined)) return Ok{};
            return ctx.builder.add_cpu(le32(e + 4), false);
        default:
            return Ok{};  // NMI sources, LINT NMIs, SAPIC/GIC entries: not needed
    }
}

// §5.2.12: the fixed fields, then variable-length structures, each starting
// with (type, length).  The boot CPU is by convention the first one listed
// (§5.2.12.1), so add order is kept.
Result<Topology> parse_madt(const Sdt& madt, uint64_t phys) {
    const uint32_t where = uint32_t(phys);
    if (madt.length < kMadtEntriesOffset)
        return make_error("acpi: MADT at 0x%x has length %u, too short for its fixed fields", where, madt.length);
    TopologyBuilder builder("ACPI MADT", "acpi", "MADT", where);
    builder.topology.lapic_phys = le32(madt.bytes + 36);
    builder.topology.has_8259 = le32(madt.bytes + 40) & 1;  // PCAT_COMPAT
    MadtContext ctx{builder, madt.bytes[8] >= kMadtRevisionOnlineCapable};
    for (uint32_t off = kMadtEntriesOffset; off < madt.length;) {
        const uint8_t* e = madt.bytes + off;
        uint32_t left = madt.length - off;
        if (left < 2 || e[1] > left)
            return make_error("acpi: MADT at 0x%x: entry at offset %u (type %u, length %u) runs past its end (%u)",
                              where, off, e[0], left < 2 ? 0 : e[1], madt.length);
        if (e[1] < madt_min_length(e[0]))
            return make_error("acpi: MADT at 0x%x: entry at offset %u (type %u) has length %u, needs %u", where, off,
                              e[0], e[1], madt_min_length(e[0]));
        TRY_VOID(apply_madt_entry(ctx, e));
        off += e[1];
    }
    return builder.finish();
}

}  // namespace

Result<Topology> discover_acpi(const PhysicalMemory& mem) {
    // §5.2.5.1: the RSDP is in the first KiB of the EBDA or in the BIOS
    // read-only area 0xE0000-0xFFFFF, always on a 16-byte boundary.
    const uint32_t ebda = ebda_base(mem);
    const SearchArea areas[] = {{ebda, ebda ? 1024u : 0u}, {0xE0000, 0x20000}};
    const uint32_t rsdp_phys = TRY(scan_for_signature(mem, areas, 2, "RSD PTR ", 8, check_rsdp,
                                                      "acpi: no RSDP in the EBDA or at 0xe0000-0xfffff"));
    const RootTable root = TRY(choose_root_table(mem, rsdp_phys));
    const char* root_name = root.is_xsdt ? "XSDT" : "RSDT";
    const Sdt root_table = TRY(load_sdt(mem, root.phys, root_name, root_name));
    const uint64_t madt_phys = TRY(find_madt(mem, root_table, root));
    const Sdt madt = TRY(load_sdt(mem, madt_phys, "APIC", "MADT"));
    return parse_madt(madt, madt_phys);
}

}  // namespace corral::arch
