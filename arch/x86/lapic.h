// The local APIC (Intel SDM vol. 3, chapter 10): per-CPU timer, EOI and
// inter-processor interrupts; and the IOAPIC that routes device IRQs.
#pragma once
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral::arch {

// Vectors above the legacy IRQ range.  Priority class = vector >> 4, so
// IPIs sit above the timer and device interrupts.
constexpr int VECTOR_LAPIC_TIMER = 0x40;
constexpr int VECTOR_IPI_RESCHEDULE = 0xf0;
constexpr int VECTOR_IPI_TLB_SHOOTDOWN = 0xf1;
constexpr int VECTOR_IPI_CALL = 0xf2;        // run a function on other CPUs (corral, sync rounds)
constexpr int VECTOR_IPI_PING = 0xf3;        // the smallest request, answered at once (benchmarks)
constexpr int VECTOR_IPI_KLP_CHECK = 0xf4;   // klp: check the running thread now (patching/klp)
constexpr int VECTOR_SPURIOUS = 0xff;

Result<void> lapic_init_bsp(uint32_t phys);  // maps the registers, enables the BSP's APIC
void lapic_init_this_cpu();                  // enable + spurious vector (every CPU)
uint32_t lapic_id();
void lapic_eoi();

// This CPU's interrupt state, for reports about a CPU that does not answer:
// the highest vector in service (its handler has not sent EOI yet) and the
// highest one requested, and the task and processor priorities.  A vector is
// delivered only when its class (vector >> 4) is above PPR's (SDM 10.8.3.1).
struct LapicState {
    int in_service, requested;   // -1: none
    uint32_t tpr, ppr;
    uint32_t top_in_service, top_requested;   // vectors 0xe0-0xff, bit n = vector 0xe0 + n (the IPIs)
};
LapicState lapic_state();

// Timer: calibrate once (against the TSC), then start periodic on each CPU.
void lapic_timer_calibrate(uint32_t (*tsc_us_to_wait)(uint32_t));
void lapic_timer_start(uint32_t hz);
uint32_t lapic_timer_ticks_per_ms();

// IPIs.  Each waits until the APIC accepted the previous one.
void ipi_send(uint32_t apic_id, int vector);
void ipi_send_all_but_self(int vector);
void ipi_send_nmi(uint32_t apic_id);
void ipi_send_nmi_all_but_self();
void ipi_send_init(uint32_t apic_id);
void ipi_send_startup(uint32_t apic_id, uint8_t page);

// IOAPIC: route ISA `irq` (as global system interrupt `gsi`) to `vector` on
// the CPU with `apic_id`.
Result<void> ioapic_init(uint32_t phys, uint32_t gsi_base);
void ioapic_route(uint32_t gsi, int vector, uint32_t apic_id, bool active_low, bool level);
void ioapic_mask(uint32_t gsi);

}  // namespace corral::arch
