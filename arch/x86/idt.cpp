// The IDT and the C++ side of every trap: the frame chain, handler lookup by
// vector, and the panic path for exceptions nobody claimed.
#include "arch/x86/gdt.h"
#include "arch/x86/interrupts.h"
#include "arch/x86/safe_access.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"

#include "arch/x86/lapic.h"
#include "kernel/config.h"
#include "kernel/panic.h"

extern "C" uint32_t isr_stub_table[256];

namespace corral::arch {
namespace {

struct [[gnu::packed]] IdtEntry {
    uint16_t offset_low, selector;
    uint8_t zero, type_attr;
    uint16_t offset_high;
};

// One IDT per CPU: they differ only in the double-fault task gate, which
// must name that CPU's own double-fault TSS (a TSS cannot be entered twice).
IdtEntry idt[config::MAX_CPUS][VECTOR_COUNT] __attribute__((aligned(8)));
IdtEntry idt_template[VECTOR_COUNT];
TrapHandler handlers[VECTOR_COUNT];
TrapHooks hooks;

const char* const exception_names[32] = {
    "divide error", "debug", "NMI", "breakpoint", "overflow", "bound range", "invalid opcode",
    "device not available", "double fault", "coprocessor overrun", "invalid TSS", "segment not present",
    "stack fault", "general protection", "page fault", "reserved", "x87 error", "alignment check",
    "machine check", "SIMD error", "virtualization", "control protection", "reserved", "reserved",
    "reserved", "reserved", "reserved", "reserved", "hypervisor injection", "VMM communication",
    "security", "reserved"};

}  // namespace

const char* exception_name(uint32_t vector) {
    if (vector < 32) return exception_names[vector];
    switch (vector) {
        case VECTOR_IRQ_BASE + 0: return "PIT timer";
        case VECTOR_IRQ_BASE + 4: return "serial";
        case VECTOR_LAPIC_TIMER: return "timer";
        case VECTOR_IPI_RESCHEDULE: return "reschedule IPI";
        case VECTOR_IPI_TLB_SHOOTDOWN: return "TLB shootdown IPI";
        case VECTOR_IPI_CALL: return "corral/sync IPI";
        case VECTOR_IPI_PING: return "ping IPI";
        case VECTOR_SPURIOUS: return "spurious";
        case 0xffffffffu: return "poll";   // kernel/sync/cross_cpu.h: a wait loop answering other CPUs
    }
    if (vector >= uint32_t(VECTOR_IRQ_BASE) && vector < uint32_t(VECTOR_IRQ_BASE) + 16) return "device IRQ";
    return vector < VECTOR_COUNT ? "interrupt" : "?";
}

void idt_init() {
    for (int v = 0; v < VECTOR_COUNT; v++) {
        uint32_t off = isr_stub_table[v];
        // 0x8e: present, ring 0, 32-bit interrupt gate (IF cleared on entry).
        idt_template[v] = IdtEntry{uint16_t(off & 0xffff), KERNEL_CS, 0, 0x8e, uint16_t(off >> 16)};
    }
}

void idt_load(int cpu) {
    for (int v = 0; v < VECTOR_COUNT; v++) idt[cpu][v] = idt_template[v];
    // Double fault goes through a task gate (0x85) to a TSS with its own
    // stack, so a kernel stack overflow can still be reported.
    idt[cpu][VECTOR_DOUBLE_FAULT] = IdtEntry{0, double_fault_tss_selector(cpu), 0, 0x85, 0};
    struct [[gnu::packed]] { uint16_t limit; uint32_t base; } idtr{sizeof(idt[cpu]) - 1,
                                                                   uint32_t(uintptr_t(idt[cpu]))};
    asm volatile("lidt %0" ::"m"(idtr));
}

TrapHandler register_trap_handler(int vector, TrapHandler handler) {
    if (vector < 0 || vector >= VECTOR_COUNT) panic("register_trap_handler: bad vector %d", vector);
    TrapHandler previous = handlers[vector];
    handlers[vector] = handler;
    return previous;
}

void set_trap_hooks(const TrapHooks& h) { hooks = h; }

}  // namespace corral::arch

using namespace corral::arch;

// Called from isr_common with interrupts off.  Links the frame into the
// current thread's chain first, so that anything looking at saved contexts
// while this handler runs (the patcher's scan) sees this frame too.
extern "C" NOT_PATCHABLE void trap_dispatch(TrapFrame* frame) {
    TrapFrame** chain = hooks.current_frame_chain ? hooks.current_frame_chain() : nullptr;
    if (chain) {
        frame->prev = *chain;
        *chain = frame;
    }
    const uint32_t v = frame->vector;
    bool handled = false;
    // A rendezvous IPI is acknowledged first: its handler may park this CPU
    // and wait, interrupts on, for the next one (lapic.h).
    const bool eoi_first = is_rendezvous_vector(v);
    if (eoi_first) irq_end_of_interrupt(v);
    if (handlers[v]) handled = handlers[v](frame);
    if (v >= uint32_t(VECTOR_IRQ_BASE)) {
        if (!eoi_first) irq_end_of_interrupt(v);
        handled = true;
    } else if (!handled && !apply_exception_fixup(frame)) {
        corral::panic_with_frame(frame, "unhandled %s (vector %u, error %#x)", exception_name(v), v,
                                 frame->error_code);
    }
    // Preemption happens here, with the frame still linked: a thread switched
    // out now keeps its interrupted EIP visible to the patcher's scan.
    if (v >= uint32_t(VECTOR_IRQ_BASE) && hooks.after_irq) hooks.after_irq(frame);
    if (chain) *chain = frame->prev;
}
