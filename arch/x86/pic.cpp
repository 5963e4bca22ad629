#include "arch/x86/cpu.h"
#include "arch/x86/interrupts.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"

namespace corral::arch {
namespace {
constexpr uint16_t PIC1_CMD = 0x20, PIC1_DATA = 0x21, PIC2_CMD = 0xa0, PIC2_DATA = 0xa1;
constexpr uint8_t PIC_EOI = 0x20;
constexpr uint16_t PIT_CH0 = 0x40, PIT_CMD = 0x43;
constexpr uint32_t PIT_BASE_HZ = 1193182;
uint16_t pic_mask = 0xffff;
bool pic_active = false;
void (*lapic_eoi)() = nullptr;

void write_mask() {
    outb(PIC1_DATA, uint8_t(pic_mask & 0xff));
    outb(PIC2_DATA, uint8_t(pic_mask >> 8));
}
}  // namespace

void pic_init() {
    // ICW1-4: cascade, vector offsets 32 and 40, 8086 mode.
    outb(PIC1_CMD, 0x11); outb(PIC2_CMD, 0x11);
    outb(PIC1_DATA, VECTOR_IRQ_BASE); outb(PIC2_DATA, VECTOR_IRQ_BASE + 8);
    outb(PIC1_DATA, 4); outb(PIC2_DATA, 2);
    outb(PIC1_DATA, 1); outb(PIC2_DATA, 1);
    pic_mask = 0xffff & ~(1u << 2);   // IRQ 2 is the cascade
    write_mask();
    pic_active = true;
}

void pic_unmask(int irq) {
    pic_mask &= uint16_t(~(1u << irq));
    write_mask();
}

void pic_disable() {
    pic_mask = 0xffff;
    write_mask();
    pic_active = false;
}

void pit_init(uint32_t hz) {
    uint32_t divisor = PIT_BASE_HZ / hz;
    outb(PIT_CMD, 0x36);              // channel 0, lobyte/hibyte, mode 3
    outb(PIT_CH0, uint8_t(divisor & 0xff));
    outb(PIT_CH0, uint8_t(divisor >> 8));
}

uint64_t pit_measure_tsc_hz() {
    // PIT channel 2 in mode 0 counts down once; its OUT pin (port 0x61 bit
    // 5) goes high at zero.  The gate (bit 0) starts it; the speaker (bit 1)
    // stays off.  10 ms of PIT time against the TSC gives its rate.
    constexpr uint32_t count = PIT_BASE_HZ / 100;
    outb(0x61, uint8_t((inb(0x61) & ~0x02) | 0x01));
    outb(PIT_CMD, 0xb0);   // channel 2, lobyte/hibyte, mode 0
    outb(0x42, uint8_t(count & 0xff));
    outb(0x42, uint8_t(count >> 8));
    // Restart the count by toggling the gate.
    uint8_t gate = inb(0x61);
    outb(0x61, uint8_t(gate & ~0x01));
    outb(0x61, uint8_t(gate | 0x01));
    uint64_t start = rdtsc();
    for (uint32_t spins = 0; !(inb(0x61) & 0x20) && spins < 100000000; spins++) {}
    uint64_t end = rdtsc();
    return (end - start) * 100;
}

void set_lapic_eoi(void (*eoi)()) { lapic_eoi = eoi; }

NOT_PATCHABLE void irq_end_of_interrupt(uint32_t vector) {
    if (vector == 0xff) return;   // the LAPIC's spurious vector takes no EOI (SDM 10.9)
    if (lapic_eoi) {
        lapic_eoi();
        return;
    }
    if (!pic_active || vector < uint32_t(VECTOR_IRQ_BASE) || vector >= uint32_t(VECTOR_IRQ_BASE + 16)) return;
    if (vector >= uint32_t(VECTOR_IRQ_BASE + 8)) outb(PIC2_CMD, PIC_EOI);
    outb(PIC1_CMD, PIC_EOI);
}

}  // namespace corral::arch
