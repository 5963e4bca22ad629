#include "arch/x86/cpu.h"
#include "arch/x86/interrupts.h"
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

void set_lapic_eoi(void (*eoi)()) { lapic_eoi = eoi; }

void irq_end_of_interrupt(uint32_t vector) {
    if (lapic_eoi) {
        lapic_eoi();
        return;
    }
    if (!pic_active || vector < uint32_t(VECTOR_IRQ_BASE) || vector >= uint32_t(VECTOR_IRQ_BASE + 16)) return;
    if (vector >= uint32_t(VECTOR_IRQ_BASE + 8)) outb(PIC2_CMD, PIC_EOI);
    outb(PIC1_CMD, PIC_EOI);
}

}  // namespace corral::arch
