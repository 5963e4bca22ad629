// The local APIC (Intel SDM vol. 3, chapter 10): per-CPU timer, EOI and
// inter-processor interrupts; and the IOAPIC that routes device IRQs.
#pragma once
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral::arch {

// Vectors above the legacy IRQ range.  Priority class = vector >> 4, so
// IPIs sit above the timer and device interrupts.
//
// Class 15 holds the rendezvous vectors, and only them: the requests a CPU
// parked in a corral still answers (a TLB shootdown sent before the corral
// began, the corral's own call and release, a benchmark's ping).  A parked
// CPU that halts raises its task priority to TPR_RENDEZVOUS_ONLY, so nothing
// of a lower class -- the timer, a device, a reschedule, a klp check -- runs
// kernel code on it until it leaves the park; those wait in its APIC.  The
// rendezvous vectors take their EOI before their handler runs (trap_dispatch):
// a handler that parks would otherwise keep its own class in service and
// block the very IPI that releases it (SDM 10.8.3.1).
constexpr int VECTOR_LAPIC_TIMER = 0x40;
constexpr int VECTOR_IPI_RESCHEDULE = 0xe0;
constexpr int VECTOR_IPI_KLP_CHECK = 0xe1;   // klp: check the running thread now (patching/klp)
constexpr int VECTOR_IPI_TLB_SHOOTDOWN = 0xf1;
constexpr int VECTOR_IPI_CALL = 0xf2;        // run a function on other CPUs (corral, sync rounds)
constexpr int VECTOR_IPI_PING = 0xf3;        // the smallest request, answered at once (benchmarks)
constexpr uint32_t TPR_RENDEZVOUS_ONLY = 0xe0;   // classes 0-14 held back: only vectors 0xf0-0xff get in
constexpr bool is_rendezvous_vector(uint32_t v) { return v >> 4 == 0xf && v != 0xff; }
constexpr int VECTOR_SPURIOUS = 0xff;

Result<void> lapic_init_bsp(uint32_t phys);  // maps the registers, enables the BSP's APIC
void lapic_init_this_cpu();                  // enable + spurious vector (every CPU)
uint32_t lapic_id();
void lapic_eoi();
bool lapic_present();        // false before lapic_init_bsp (a PIC-only boot)
uint32_t lapic_tpr();
void lapic_set_tpr(uint32_t tpr);
uint32_t lapic_ppr();        // processor priority: max(TPR, the class in service)

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
