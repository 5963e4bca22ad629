#include "kernel/panic.h"

#include <stdarg.h>

#include "arch/x86/cpu.h"
#include "arch/x86/power.h"
#include "arch/x86/safe_access.h"
#include "arch/x86/trap.h"
#include "kernel/config.h"
#include "kernel/console/console.h"
#include "kernel/cpu.h"
#include "kernel/mm/stacks.h"
#include "kernel/symbols.h"

namespace corral {
namespace {

bool exit_on_panic = false;
StoppedCpus (*stop_others)() = nullptr;
StoppedCpus stopped_cpus{0, 0};
volatile int panicking_cpu = -1;

// Only one CPU reports; a second panic (or one inside the report) halts.
void enter_panic() {
    arch::cli();
    int me = cpus[0].self ? cpu_index() : 0;
    int expected = -1;
    if (!__atomic_compare_exchange_n(&panicking_cpu, &expected, me, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        if (expected != me) arch::halt_forever();
        kprintf("PANIC: nested panic on cpu %d, halting\n", me);
        arch::halt_forever();
    }
    console_enter_panic_mode();
    if (stop_others) stopped_cpus = stop_others();
}

[[noreturn]] void finish_panic() {
    kprintf("PANIC: system halted\n");
    if (exit_on_panic) arch::qemu_exit(false);
    arch::halt_forever();
}

void print_frame(const arch::TrapFrame* f) {
    char where[96];
    symbolize(f->eip, where, sizeof where);
    kprintf("  eip %08x (%s)  cs %04x  eflags %08x  vector %u  error %#x\n", f->eip, where, f->cs, f->eflags,
            f->vector, f->error_code);
    kprintf("  eax %08x ebx %08x ecx %08x edx %08x\n", f->eax, f->ebx, f->ecx, f->edx);
    kprintf("  esi %08x edi %08x ebp %08x esp %08x\n", f->esi, f->edi, f->ebp, f->interrupted_esp());
    kprintf("  cr0 %08x cr2 %08x cr3 %08x cr4 %08x\n", arch::read_cr0(), arch::read_cr2(), arch::read_cr3(),
            arch::read_cr4());
    kprintf("  bytes at eip:");
    print_bytes(f->eip, 16);
}

}  // namespace

void panic_set_exit_on_panic(bool exit) { exit_on_panic = exit; }
void panic_set_stop_others(StoppedCpus (*stop)()) { stop_others = stop; }

void print_bytes(uintptr_t address, int count) {
    for (int i = 0; i < count; i++) {
        uint8_t b;
        if (safe_read_u8(reinterpret_cast<const void*>(address + i), &b) == 0) kprintf(" %02x", b);
        else kprintf(" ??");
    }
    kprintf("\n");
}

int backtrace_collect(uintptr_t ebp, uintptr_t* out, int max) {
    int n = 0;
    while (n < max && ebp) {
        uint32_t next_ebp, ret;
        if (ebp & 3 || safe_read_u32(reinterpret_cast<const void*>(ebp), &next_ebp) != 0 ||
            safe_read_u32(reinterpret_cast<const void*>(ebp + 4), &ret) != 0 || ret == 0)
            break;
        out[n++] = ret;
        if (next_ebp <= ebp) break;   // stacks grow down: the chain must go up
        ebp = next_ebp;
    }
    return n;
}

void print_backtrace(uintptr_t eip, uintptr_t ebp, bool eip_is_return_address) {
    char where[96];
    if (eip_is_return_address) symbolize_return(eip, where, sizeof where);
    else symbolize(eip, where, sizeof where);
    kprintf("  backtrace:\n    #0 %08x %s\n", unsigned(eip), where);
    uintptr_t frames[config::BACKTRACE_MAX_FRAMES];
    int n = backtrace_collect(ebp, frames, config::BACKTRACE_MAX_FRAMES);
    for (int i = 0; i < n; i++) {
        symbolize_return(frames[i], where, sizeof where);
        kprintf("    #%d %08x %s\n", i + 1, unsigned(frames[i]), where);
    }
}

// "PANIC: <why>" and the CPU: the first lines of every report.
static void panic_header(const char* fmt, va_list ap) {
    enter_panic();
    kprintf("PANIC: ");
    vkprintf(fmt, ap);
    kprintf("\n  on cpu %d\n", cpus[0].self ? cpu_index() : 0);
    if (stopped_cpus.others)
        kprintf("  other cpus stopped: %d of %d\n", stopped_cpus.stopped, stopped_cpus.others);
}

void panic(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    panic_header(fmt, ap);
    va_end(ap);
    // Start at panic()'s caller: panic's own frame says nothing.
    uintptr_t ebp = arch::read_ebp();
    print_backtrace(uintptr_t(__builtin_return_address(0)), *reinterpret_cast<uintptr_t*>(ebp), true);
    finish_panic();
}

void panic_with_frame(const arch::TrapFrame* frame, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    panic_header(fmt, ap);
    va_end(ap);
    print_frame(frame);
    print_backtrace(frame->eip, frame->ebp);
    finish_panic();
}

}  // namespace corral

// Entered by a task switch through the double-fault gate, on its own stack.
extern "C" void double_fault_saved_state(int cpu, uint32_t* eip, uint32_t* esp, uint32_t* ebp);
extern "C" [[noreturn]] void double_fault_task() {
    using namespace corral;
    uint32_t eip, esp, ebp;
    double_fault_saved_state(cpu_index(), &eip, &esp, &ebp);
    enter_panic();
    char where[96];
    symbolize(eip, where, sizeof where);
    kprintf("PANIC: double fault on cpu %d (kernel stack overflow?)\n  eip %08x (%s) esp %08x ebp %08x\n",
            cpu_index(), eip, where, esp, ebp);
    if (is_stack_guard(esp)) kprintf("  esp is in the guard page below a kernel thread's stack: it overflowed\n");
    print_backtrace(eip, ebp);
    finish_panic();
}
