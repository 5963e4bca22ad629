// Intel MultiProcessor Specification 1.4 discovery (§4), the fallback for
// machines (or firmware bugs) without a usable ACPI MADT: the MP floating
// pointer structure (§4.1) -> the MP configuration table (§4.2, §4.3).
// Pure logic over a PhysicalMemory reader; see topology.h for the result.
#pragma once
#include <stdint.h>

#include "arch/x86/topology.h"
#include "kernel/lib/result.h"

namespace corral::arch {

// Searches for "_MP_" in the first KiB of the EBDA, the last KiB of base
// memory (0x9FC00 on a 640 KiB machine) and 0xF0000-0xFFFFF (§4 "MP
// Floating Pointer Structure"), verifies the floating pointer and the base
// configuration table checksums, and reads processor, bus, IOAPIC and ISA
// interrupt entries.  Error texts start "mptable: ".
Result<Topology> discover_mptable(const PhysicalMemory& mem);

}  // namespace corral::arch
