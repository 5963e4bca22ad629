#include "arch/x86/lapic.h"

#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/sections.h"

namespace corral::arch {
namespace {

// Register offsets (SDM vol. 3, table 10-1).
constexpr uint32_t REG_ID = 0x20, REG_TPR = 0x80, REG_PPR = 0xa0, REG_EOI = 0xb0, REG_SVR = 0xf0, REG_ESR = 0x280;
constexpr uint32_t REG_ISR = 0x100, REG_IRR = 0x200;
constexpr uint32_t REG_ICR_LOW = 0x300, REG_ICR_HIGH = 0x310, REG_LVT_TIMER = 0x320;
constexpr uint32_t REG_LVT_LINT0 = 0x350, REG_LVT_LINT1 = 0x360, REG_LVT_ERROR = 0x370;
constexpr uint32_t REG_TIMER_INITIAL = 0x380, REG_TIMER_CURRENT = 0x390, REG_TIMER_DIVIDE = 0x3e0;
constexpr uint32_t SVR_ENABLE = 1u << 8, LVT_MASKED = 1u << 16, TIMER_PERIODIC = 1u << 17;
constexpr uint32_t ICR_DELIVERY_PENDING = 1u << 12, ICR_LEVEL_ASSERT = 1u << 14;
constexpr uint32_t ICR_FIXED = 0 << 8, ICR_NMI = 4 << 8, ICR_INIT = 5 << 8, ICR_STARTUP = 6 << 8;
constexpr uint32_t ICR_ALL_BUT_SELF = 3u << 18;
constexpr uint32_t IA32_APIC_BASE_MSR = 0x1b, APIC_BASE_ENABLE = 1u << 11;

volatile uint32_t* lapic = nullptr;
volatile uint32_t* ioapic = nullptr;
uint32_t ioapic_gsi_base = 0;
uint32_t timer_ticks_per_ms = 0;

NOT_PATCHABLE uint32_t read(uint32_t reg) { return lapic[reg / 4]; }
NOT_PATCHABLE void write(uint32_t reg, uint32_t v) { lapic[reg / 4] = v; }

NOT_PATCHABLE void wait_for_delivery() {
    for (uint32_t spins = 0; (read(REG_ICR_LOW) & ICR_DELIVERY_PENDING) && spins < 10000000; spins++) cpu_relax();
}

// The ICR is two registers and one per CPU: an interrupt handler that sends
// an IPI between our two writes would leave its destination in ICR_HIGH, and
// our vector would go to its CPU.  So the pair is written with interrupts
// off (an NMI handler never sends).
NOT_PATCHABLE void send_icr(uint32_t apic_id, uint32_t low) {
    const bool was_on = interrupts_enabled();
    cli();
    wait_for_delivery();
    write(REG_ICR_HIGH, apic_id << 24);
    write(REG_ICR_LOW, low);   // writing the low word sends it
    wait_for_delivery();
    if (was_on) sti();
}

// The highest vector set in a 256-bit APIC register array (ISR, IRR), or -1.
NOT_PATCHABLE int highest_vector(uint32_t base) {
    for (int word = 7; word >= 0; word--)
        if (uint32_t bits = read(base + uint32_t(word) * 0x10)) return word * 32 + 31 - __builtin_clz(bits);
    return -1;
}

uint32_t ioapic_read(uint32_t reg) {
    ioapic[0] = reg;
    return ioapic[4];
}
void ioapic_write(uint32_t reg, uint32_t v) {
    ioapic[0] = reg;
    ioapic[4] = v;
}

}  // namespace

Result<void> lapic_init_bsp(uint32_t phys) {
    if (!(cpuid(1).edx & (1u << 9))) return make_error("lapic: this CPU has no local APIC (CPUID.1:EDX.APIC)");
    TRY_VOID(map_mmio(phys, PAGE_SIZE));
    lapic = reinterpret_cast<volatile uint32_t*>(uintptr_t(phys));
    wrmsr(IA32_APIC_BASE_MSR, (rdmsr(IA32_APIC_BASE_MSR) & ~0xfffull) | phys | APIC_BASE_ENABLE);
    lapic_init_this_cpu();
    return Ok{};
}

void lapic_init_this_cpu() {
    write(REG_SVR, SVR_ENABLE | VECTOR_SPURIOUS);
    write(REG_LVT_LINT0, LVT_MASKED);
    write(REG_LVT_LINT1, LVT_MASKED);
    write(REG_LVT_ERROR, LVT_MASKED);
    write(REG_ESR, 0);
    write(REG_TPR, 0);   // accept every interrupt class
    lapic_eoi();
}

uint32_t lapic_id() { return read(REG_ID) >> 24; }

NOT_PATCHABLE LapicState lapic_state() {
    if (!lapic) return LapicState{-1, -1, 0, 0, 0, 0};
    return LapicState{highest_vector(REG_ISR), highest_vector(REG_IRR), read(REG_TPR) & 0xff, read(REG_PPR) & 0xff,
                      read(REG_ISR + 0x70), read(REG_IRR + 0x70)};
}
NOT_PATCHABLE void lapic_eoi() { write(REG_EOI, 0); }
NOT_PATCHABLE bool lapic_present() { return lapic != nullptr; }
NOT_PATCHABLE uint32_t lapic_tpr() { return read(REG_TPR) & 0xff; }
NOT_PATCHABLE void lapic_set_tpr(uint32_t tpr) { write(REG_TPR, tpr & 0xff); }
NOT_PATCHABLE uint32_t lapic_ppr() { return read(REG_PPR) & 0xff; }

void lapic_timer_calibrate(uint32_t (*wait_us)(uint32_t)) {
    // Count down from the maximum for a measured 10 ms (divide by 16), three
    // times, keeping the lowest rate: a host that deschedules the vCPU
    // between the end of the wait and the read can only make one too high.
    write(REG_TIMER_DIVIDE, 0x3);
    write(REG_LVT_TIMER, LVT_MASKED);
    uint32_t best = 0;
    for (int i = 0; i < 3; i++) {
        write(REG_TIMER_INITIAL, 0xffffffffu);
        const uint32_t waited_us = wait_us(10000);
        const uint32_t elapsed = 0xffffffffu - read(REG_TIMER_CURRENT);
        const uint32_t rate = uint32_t(uint64_t(elapsed) * 1000 / (waited_us ? waited_us : 1));
        if (rate && (best == 0 || rate < best)) best = rate;
    }
    write(REG_TIMER_INITIAL, 0);
    timer_ticks_per_ms = best ? best : 1;
}

void lapic_timer_start(uint32_t hz) {
    write(REG_TIMER_DIVIDE, 0x3);
    write(REG_LVT_TIMER, TIMER_PERIODIC | VECTOR_LAPIC_TIMER);
    write(REG_TIMER_INITIAL, timer_ticks_per_ms * 1000 / hz);
}

uint32_t lapic_timer_ticks_per_ms() { return timer_ticks_per_ms; }

NOT_PATCHABLE void ipi_send(uint32_t apic_id, int vector) { send_icr(apic_id, ICR_FIXED | uint32_t(vector)); }
NOT_PATCHABLE void ipi_send_all_but_self(int vector) { send_icr(0, ICR_ALL_BUT_SELF | ICR_FIXED | uint32_t(vector)); }
void ipi_send_nmi(uint32_t apic_id) { send_icr(apic_id, ICR_NMI); }
void ipi_send_nmi_all_but_self() { send_icr(0, ICR_ALL_BUT_SELF | ICR_NMI); }
void ipi_send_init(uint32_t apic_id) { send_icr(apic_id, ICR_INIT | ICR_LEVEL_ASSERT); }
void ipi_send_startup(uint32_t apic_id, uint8_t page) { send_icr(apic_id, ICR_STARTUP | page); }

Result<void> ioapic_init(uint32_t phys, uint32_t gsi_base) {
    TRY_VOID(map_mmio(phys, PAGE_SIZE));
    ioapic = reinterpret_cast<volatile uint32_t*>(uintptr_t(phys));
    ioapic_gsi_base = gsi_base;
    uint32_t entries = ((ioapic_read(1) >> 16) & 0xff) + 1;
    for (uint32_t i = 0; i < entries; i++) ioapic_mask(gsi_base + i);
    return Ok{};
}

void ioapic_route(uint32_t gsi, int vector, uint32_t apic_id, bool active_low, bool level) {
    uint32_t pin = gsi - ioapic_gsi_base;
    uint32_t low = uint32_t(vector) | (active_low ? 1u << 13 : 0) | (level ? 1u << 15 : 0);
    ioapic_write(0x10 + 2 * pin + 1, apic_id << 24);
    ioapic_write(0x10 + 2 * pin, low);
}

void ioapic_mask(uint32_t gsi) {
    uint32_t pin = gsi - ioapic_gsi_base;
    ioapic_write(0x10 + 2 * pin, LVT_MASKED);
}

}  // namespace corral::arch
