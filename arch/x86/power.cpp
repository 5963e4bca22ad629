#include "arch/x86/power.h"

#include "arch/x86/cpu.h"

namespace corral::arch {

void qemu_debug_exit(uint32_t code) { outl(0xf4, code); }

void reboot() {
    // Pulse the CPU reset line through the 8042 keyboard controller.
    for (int i = 0; i < 100000 && (inb(0x64) & 0x02); i++) cpu_relax();
    outb(0x64, 0xfe);
    triple_fault();
}

void triple_fault() {
    struct [[gnu::packed]] { uint16_t limit; uint32_t base; } empty{0, 0};
    asm volatile("lidt %0; int3" ::"m"(empty));
    halt_forever();
}

}  // namespace corral::arch
