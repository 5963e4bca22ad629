// Boot, C++ runtime, symbols and traps.
#include "arch/x86/cpu.h"
#include "arch/x86/trap.h"
#include "kernel/cmdline.h"
#include "kernel/irq.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/multiboot.h"
#include "kernel/panic.h"
#include "kernel/symbols.h"
#include "kernel/test/ktest.h"

extern "C" void kmain(uint32_t, uint32_t);

namespace corral {
namespace {

int constructed_value = 0;
struct RunsAtBoot {
    RunsAtBoot() { constructed_value = 0x5eed; }
} runs_at_boot;

KTEST(boot, global_constructors_ran) { KEXPECT_EQ(constructed_value, 0x5eed); }

KTEST(boot, multiboot_memory_map) {
    const BootInfo& info = boot_info();
    KEXPECT(info.region_count > 0);
    // Whatever size the machine has (-m 32 or 2G), the usable total is the
    // sum of the usable regions the firmware reported, and the kernel
    // itself (loaded at 1 MiB) lies in one of them.
    uint64_t usable = 0;
    bool kernel_inside = false;
    for (size_t i = 0; i < info.region_count; i++) {
        const MemoryRegion& r = info.regions[i];
        if (r.type != 1) continue;
        usable += r.length;
        kernel_inside |= r.base <= 0x100000 && r.base + r.length > 0x100000;
    }
    KEXPECT_EQ(info.usable_bytes, usable);
    KEXPECT(kernel_inside);
    KEXPECT(info.cmdline[0] != 0);
}

KTEST(boot, cmdline_parser_in_kernel) {
    Result<BootOptions> o = parse_cmdline("/boot/corral.elf test=heap.* seed=7 exit");
    KREQUIRE(o.is_ok());
    KEXPECT(o.value().has_test && str_eq(o.value().test_glob, "heap.*"));
    KEXPECT(o.value().has_seed && o.value().seed == 7);
    KEXPECT(o.value().exit_when_done);
    KEXPECT(parse_cmdline("corral.elf bogus=1").is_error());
}

int guard_inits = 0;
int make_guarded() { return ++guard_inits; }
int guarded_value() {
    static int value = make_guarded();   // needs __cxa_guard_acquire/release
    return value;
}

KTEST(cxx, function_local_static_initialized_once) {
    int a = guarded_value(), b = guarded_value();
    KEXPECT_EQ(a, 1);
    KEXPECT_EQ(b, 1);
    KEXPECT_EQ(guard_inits, 1);
}

KTEST(console, format_in_kernel_build) {
    char buf[64];
    // 64-bit division goes through libgcc on i386: prove it is linked.
    format(buf, sizeof buf, "%llu|%08x|%-4s|%d", 12345678901234ull, 0xbeefu, "ab", -42);
    KEXPECT(str_eq(buf, "12345678901234|0000beef|ab  |-42"));
}

KTEST(symbols, kmain_by_name_and_address) {
    Result<Symbol> s = symbol_by_name("kmain");
    KREQUIRE(s.is_ok());
    KEXPECT_EQ(s.value().address, uintptr_t(&kmain));
    KEXPECT(s.value().size > 0);
    SymbolHit hit;
    KREQUIRE(symbol_for_address(uintptr_t(&kmain) + 3, &hit));
    KEXPECT(str_eq(hit.symbol.name, "kmain"));
    KEXPECT_EQ(hit.offset, 3u);
    KEXPECT(symbol_by_name("no_such_symbol_anywhere").is_error());
}

KTEST(symbols, qualified_names_resolve) {
    Result<Symbol> s = symbol_by_name("corral::symbol_by_name");
    KREQUIRE(s.is_ok());
    KEXPECT_EQ(s.value().address, uintptr_t(&symbol_by_name));
    KEXPECT(symbol_by_name("symbol_by_name").is_ok());   // last component is enough
}

[[gnu::noinline]] int collect_here(uintptr_t* out, int max) {
    int n = backtrace_collect(arch::read_ebp(), out, max);
    asm volatile("" ::: "memory");   // keep this a real frame
    return n;
}

[[gnu::noinline]] void backtrace_caller(KTestContext& t) {
    uintptr_t frames[8];
    int n = collect_here(frames, 8);
    KREQUIRE(n >= 2);
    SymbolHit hit;
    KREQUIRE(symbol_for_address(frames[0], &hit));
    if (!str_eq(hit.symbol.name, "corral::(anonymous namespace)::backtrace_caller"))
        t.fail(__FILE__, __LINE__, "frame 0 is %s+%#zx, not backtrace_caller", hit.symbol.name, hit.offset);
    asm volatile("" ::: "memory");
}

KTEST(symbols, backtrace_finds_caller) { backtrace_caller(t); }

volatile int breakpoints_seen = 0;
uint32_t breakpoint_eip = 0;
bool on_breakpoint(arch::TrapFrame* frame) {
    breakpoints_seen = breakpoints_seen + 1;
    breakpoint_eip = frame->eip;
    return true;   // int3 is a trap: EIP already points after it
}

KTEST(traps, breakpoint_handler_runs_and_returns) {
    arch::TrapHandler previous = arch::register_trap_handler(arch::VECTOR_BREAKPOINT, on_breakpoint);
    int before = breakpoints_seen;
    arch::breakpoint();
    arch::breakpoint();
    arch::register_trap_handler(arch::VECTOR_BREAKPOINT, previous);
    KEXPECT_EQ(breakpoints_seen - before, 2);
    SymbolHit hit;
    KEXPECT(symbol_for_address(breakpoint_eip, &hit));
}

KTEST(irq, timer_ticks_advance) {
    uint64_t start = timer_ticks();
    for (int i = 0; i < 1000 && timer_ticks() < start + 3; i++) irq_wait_for_interrupt();
    KEXPECT(timer_ticks() >= start + 3);
    KEXPECT(arch::interrupts_enabled());
}

extern "C" const uint32_t __mcount_loc_start[], __mcount_loc_end[];

KTEST(layout, every_fentry_site_is_a_5_byte_nop) {
    static const uint8_t nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
    size_t sites = size_t(__mcount_loc_end - __mcount_loc_start);
    KEXPECT(sites > 50);
    size_t bad = 0;
    for (size_t i = 0; i < sites; i++) {
        auto* p = reinterpret_cast<const uint8_t*>(uintptr_t(__mcount_loc_start[i]));
        for (int j = 0; j < 5; j++)
            if (p[j] != nop5[j]) { bad++; break; }
    }
    KEXPECT_EQ(bad, 0u);
}

}  // namespace
}  // namespace corral
