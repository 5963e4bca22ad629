// What the firmware says about the machine's CPUs and interrupt controllers:
// the shared result of ACPI (acpi.h) and MP-table (mptable.h) discovery.
//
// Discovery is pure logic over a PhysicalMemory reader, so the same code runs
// in the kernel (the reader returns identity-mapped pointers) and in the host
// tests (the reader returns pointers into a fake memory image).  The result is
// a plain value: nothing in it points into firmware tables, so the caller may
// unmap them afterwards.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral::arch {

// Reads physical memory.  Returns a pointer to `len` contiguous readable
// bytes at `phys`, or nullptr when [phys, phys+len) is not readable.
// Discovery never asks for more than 64 KiB at once, nor for anything at or
// above 4 GiB, so a kernel reader may simply return the identity pointer
// as long as the range is mapped.
struct PhysicalMemory {
    const uint8_t* (*read)(void* ctx, uint64_t phys, size_t len);
    void* ctx;
};

constexpr int TOPOLOGY_MAX_CPUS = 16;  // == config::MAX_CPUS (static_assert in acpi.cpp)
constexpr int TOPOLOGY_MAX_IOAPICS = 4;
constexpr int TOPOLOGY_MAX_OVERRIDES = 16;  // one per ISA IRQ at most

// Where an ISA IRQ arrives at the IOAPICs.  Without an override, ISA IRQ n is
// GSI n, active high, edge triggered (ACPI 6.x §5.2.12.5).
struct IrqOverride {
    uint8_t bus_irq;
    uint32_t gsi;
    bool active_low;
    bool level_triggered;
};

struct IoApicInfo {
    uint8_t id;
    uint32_t phys;
    uint32_t gsi_base;  // MP table: assumed 24 pins per IOAPIC (see mptable.cpp)
};

struct Topology {
    const char* source;                   // "ACPI MADT" or "MP table"
    uint32_t lapic_phys;                  // MADT local APIC address (or its 64-bit override, type 5, if below 4 GiB)
    int cpu_count;                        // usable (enabled or online-capable) CPUs, at most TOPOLOGY_MAX_CPUS
    uint8_t apic_ids[TOPOLOGY_MAX_CPUS];  // [0] is the boot CPU as firmware lists it
    int cpus_ignored;                     // usable CPUs beyond the limit (the kernel prints a message)
    int cpus_x2apic_only;                 // usable CPUs with x2APIC ids >= 255, unreachable in xAPIC mode
    int ioapic_count;
    IoApicInfo ioapics[TOPOLOGY_MAX_IOAPICS];
    int ioapics_ignored;  // IOAPICs beyond TOPOLOGY_MAX_IOAPICS
    int override_count;
    IrqOverride overrides[TOPOLOGY_MAX_OVERRIDES];  // ISA IRQ -> GSI, only where not identity
    bool has_8259;                                  // MADT PCAT_COMPAT; always true for MP-table (PC/AT) systems
    bool imcr_present;          // MP table: the IMCR must be switched to leave PIC mode (MPS 1.4 §3.6.2.1)
    char fallback_reason[120];  // when source is the MP table: why ACPI was not used
};

// ACPI first; on any ACPI error, the MP table (its fallback_reason holds the
// ACPI error).  When both fail the error names both reasons.
Result<Topology> discover_topology(const PhysicalMemory& mem);

// ISA IRQ -> GSI + polarity/trigger, honouring overrides (identity when none).
IrqOverride isa_irq_route(const Topology& t, uint8_t irq);

// ---- Shared by acpi.cpp and mptable.cpp (defined in acpi.cpp) ----
namespace firmware {

// Firmware tables are little-endian and often unaligned: read byte by byte.
inline uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
inline uint32_t le32(const uint8_t* p) { return uint32_t(le16(p)) | uint32_t(le16(p + 2)) << 16; }
inline uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32; }

// Both ACPI and MPS checksums: all bytes of the structure sum to 0 mod 256.
inline uint8_t byte_sum(const uint8_t* p, size_t len) {
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++) sum = uint8_t(sum + p[i]);
    return sum;
}

bool same_bytes(const uint8_t* p, const char* text, size_t len);

// mem.read, but refusing ranges that end above 4 GiB (an i386 kernel cannot
// reach them) or are empty.
const uint8_t* read_phys(const PhysicalMemory& mem, uint64_t phys, size_t len);

// The Extended BIOS Data Area's base, from the real-mode segment stored in
// the BIOS data area at 0x40E; 0 when unreadable or implausible.
uint32_t ebda_base(const PhysicalMemory& mem);

struct SearchArea {
    uint32_t start;
    uint32_t length;
};

// Validates a candidate whose signature matched; an error rejects it.
using Probe = Result<void> (*)(const PhysicalMemory& mem, uint32_t phys);

// Looks at every 16-byte boundary of each area, in order, for `signature`
// and returns the first address whose probe succeeds.  When candidates were
// found but all failed, the first one's error is returned (a real table with
// a bad checksum is more useful to report than "not found").
Result<uint32_t> scan_for_signature(const PhysicalMemory& mem, const SearchArea* areas, int area_count,
                                    const char* signature, size_t signature_len, Probe probe, const char* not_found);

// Accumulates a Topology while a table is parsed: duplicate-id detection
// covers every APIC id (even those beyond the limit), errors name the table.
class TopologyBuilder {
public:
    TopologyBuilder(const char* source, const char* prefix, const char* table, uint32_t table_phys);

    // A usable CPU.  The boot CPU goes first, displacing the last one if full.
    Result<void> add_cpu(uint32_t apic_id, bool boot_cpu);
    void add_ioapic(uint8_t id, uint32_t phys, uint32_t gsi_base);
    // An ISA IRQ's route; `inti_flags` are the MPS INTI flags that both MPS
    // 1.4 §4.3.4 and ACPI 6.x §5.2.12.5 (Table 5.26) use.  Identity routes
    // are dropped; a later route for the same IRQ replaces an earlier one.
    void add_isa_route(uint8_t irq, uint32_t gsi, uint16_t inti_flags);
    Result<Topology> finish();

    Topology topology{};

private:
    const char* prefix_;
    const char* table_;
    uint32_t table_phys_;
    uint32_t seen_ids_[8] = {};  // bitmap of xAPIC ids 0..255
};

}  // namespace firmware
}  // namespace corral::arch
