// ACPI discovery of CPUs and interrupt controllers: RSDP (ACPI 6.x §5.2.5)
// -> RSDT (§5.2.7) or XSDT (§5.2.8) -> MADT (§5.2.12).  Pure logic over a
// PhysicalMemory reader; see topology.h for the result.
#pragma once
#include <stdint.h>

#include "arch/x86/topology.h"
#include "kernel/lib/result.h"

namespace corral::arch {

// Searches the first KiB of the EBDA, then 0xE0000-0xFFFFF on 16-byte
// boundaries, for "RSD PTR " (§5.2.5.1), and parses the MADT it leads to.
// Every checksum on the way is verified; every error text starts "acpi: "
// and names the table and its address.
Result<Topology> discover_acpi(const PhysicalMemory& mem);

}  // namespace corral::arch
