// The trap frame built by arch/x86/isr.asm for every exception, IRQ and IPI,
// and the table through which the rest of the kernel registers handlers.
#pragma once
#include <stdint.h>

namespace corral::arch {

struct TrapFrame {
    // Pushed by isr_common, lowest address first.
    TrapFrame* prev;      // older trap frame of the same thread (the frame chain)
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
    uint32_t vector, error_code;
    // Pushed by the CPU.  Kernel-to-kernel traps push no ESP/SS.
    uint32_t eip, cs, eflags;

    // The interrupted code's stack pointer: just above the CPU-pushed words.
    uint32_t interrupted_esp() const { return uint32_t(uintptr_t(&eflags)) + 4; }
};
static_assert(sizeof(TrapFrame) == 4 * 18, "TrapFrame must match isr.asm");

constexpr int VECTOR_DIVIDE = 0, VECTOR_DEBUG = 1, VECTOR_NMI = 2, VECTOR_BREAKPOINT = 3;
constexpr int VECTOR_INVALID_OPCODE = 6, VECTOR_DOUBLE_FAULT = 8, VECTOR_GP = 13, VECTOR_PAGE_FAULT = 14;
constexpr int VECTOR_IRQ_BASE = 32;        // legacy PIC IRQs 0-15 are remapped here
constexpr int VECTOR_COUNT = 256;

// A handler returns true when it dealt with the trap; false sends an
// exception on to the panic path.
using TrapHandler = bool (*)(TrapFrame* frame);

void idt_init();              // builds the IDT (once, on the BSP)
void idt_load(int cpu);       // this CPU's copy of the IDT, then lidt
// Returns the handler it replaces (so a test can put it back).
TrapHandler register_trap_handler(int vector, TrapHandler handler);

// Called by the trap dispatcher around every handler so the scheduler can
// keep each thread's frame chain (docs/design.md §2).  Set by kernel/.
struct TrapHooks {
    TrapFrame** (*current_frame_chain)();   // &current thread's newest frame
    void (*after_irq)(TrapFrame* frame);    // e.g. preemption on the way out
};
void set_trap_hooks(const TrapHooks& hooks);

// "invalid opcode", "timer", "reschedule IPI", ...: a vector's name.
const char* exception_name(uint32_t vector);

}  // namespace corral::arch
