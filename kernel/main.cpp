// kmain: the boot story, one init call per line, in the order they must run.
#include "arch/x86/cpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/power.h"
#include "arch/x86/trap.h"
#include "kernel/boot_clock.h"
#include "kernel/cmdline.h"
#include "kernel/config.h"
#include "kernel/console/console.h"
#include "kernel/cpu.h"
#include "kernel/irq.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/memory.h"
#include "kernel/multiboot.h"
#include "kernel/panic.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/shell.h"
#include "kernel/smp.h"
#include "kernel/symbols.h"
#include "kernel/test/ktest.h"
#include "kernel/time.h"
#include "patching/patching.h"

extern "C" void run_global_constructors();

namespace corral {
namespace {

// Recurses until the boot stack's guard page stops it (selftest=overflow).
// (Bounded only by a limit no stack reaches, to keep GCC's infinite
// recursion warning quiet.)
[[gnu::noinline]] int overflow_stack(int depth) {
    volatile char frame[512];
    frame[0] = char(depth);
    if (depth > 1000000) return 0;
    return overflow_stack(depth + 1) + frame[0];   // not a tail call
}

// Negative controls for the test driver (selftest=fail|panic|triple|hang|overflow|corral-panic);
// `fail` adds a deliberately failing ktest to the run instead.  The
// patching engine's own (a panic with every other CPU parked in a corral)
// is its shell command, like the rest of its work.
void run_selftest(const char* which) {
    if (str_eq(which, "panic")) panic("selftest: deliberate panic");
    if (str_eq(which, "triple")) {
        kprintf("selftest: triple fault now\n");
        arch::triple_fault();
    }
    if (str_eq(which, "overflow")) {
        // In a kernel thread: its stack has a guard page below it, as the
        // boot stack does.
        kprintf("selftest: overflowing a kernel thread's stack\n");
        thread_join(thread_create("overflow", [](void*) { overflow_stack(0); }, nullptr));
    }
    if (str_eq(which, "corral-panic")) shell_execute("corral panic");
    if (str_eq(which, "hang")) {
        kprintf("selftest: hanging on purpose\n");
        arch::halt_forever();
    }
}

// What the command line asked for (docs/design.md §3); runs after init.  The
// patching engine's work (demo=, stress=) goes through its shell commands,
// so kernel/ needs no knowledge of patching/.
// patch=a,b:klp -- each applied as the shell's `patch apply` would.
bool apply_boot_patches(const char* list) {
    bool ok = true;
    char item[64];
    for (const char* p = list; *p;) {
        size_t n = 0;
        while (p[n] && p[n] != ',') n++;
        if (n == 0 || n >= sizeof item) {
            kprintf("cmdline: patch=%s: an empty or overlong name\n", list);
            return false;
        }
        for (size_t i = 0; i < n; i++) item[i] = p[i] == ':' ? ' ' : p[i];
        item[n] = '\0';
        char line[96];
        format(line, sizeof line, "patch apply %s", item);
        ok = shell_execute(line) == 0 && ok;
        p += n + (p[n] == ',');
    }
    return ok;
}

[[noreturn]] void run_requested_work(const BootOptions& options) {
    boot_mark("shell");   // everything is up: the shell, or the work asked for, starts now
    if (options.has_park) {   // before anything forms a corral (the choices were checked by parse_cmdline)
        char line[32];
        format(line, sizeof line, "corral park %s", options.park);
        shell_execute(line);
    }
    bool patches_ok = !options.has_patch || apply_boot_patches(options.patch);
    if (options.has_selftest) run_selftest(options.selftest);
    bool ok = patches_ok;
    const bool deliberate_failure = options.has_selftest && str_eq(options.selftest, "fail");
    if (options.has_test || deliberate_failure) {
        KTestSummary s = run_ktests(options.has_test ? options.test_glob : "", deliberate_failure);
        ok = ok && s.failed == 0 && s.passed > 0;   // a boot patch that failed still fails the boot
        if (s.passed + s.failed + s.skipped == 0)
            kprintf("cmdline: test=%s: no ktest matches it (a glob over suite.name, e.g. heap.*)\n", options.test_glob);
        else if (s.failed == 0 && s.passed == 0)
            kprintf("cmdline: test=%s: every matching ktest was skipped, so nothing passed\n", options.test_glob);
    }
    if (options.has_demo) {
        char line[64];
        format(line, sizeof line, "demo %s%s%s", options.demo, options.has_strategy ? " " : "",
               options.has_strategy ? options.strategy : "");
        ok = shell_execute(line) == 0 && ok;
    }
    if (options.has_stress) {
        char line[192], flips[24] = "";
        if (options.has_flips) format(flips, sizeof flips, " flips=%u", options.flips);
        format(line, sizeof line, "stress %u %s seed=%u%s%s%s%s%s%s", options.stress_seconds,
               options.has_strategy ? options.strategy : "all", options.has_seed ? options.seed : 1u, flips,
               options.has_inject ? " inject=" : "", options.has_inject ? options.inject : "",
               options.has_broken ? " broken=" : "", options.has_broken ? options.broken : "",
               options.has_contract ? " contract=strict" : "");
        ok = shell_execute(line) == 0 && ok;
    }
    if (options.has_seed && !options.has_stress)
        kprintf("seed=%u: only stress= uses a seed; ignored\n", options.seed);
    if (options.has_flips && !options.has_stress)
        kprintf("flips=%u: only stress= counts flips; ignored\n", options.flips);
    if (options.has_inject && !options.has_stress)
        kprintf("inject=%s: only stress= injects faults; ignored\n", options.inject);
    if (options.has_broken && !options.has_stress)
        kprintf("broken=%s: only stress= uses a broken corral; ignored\n", options.broken);
    if (options.has_contract && !options.has_stress)
        kprintf("contract=%s: only stress= checks contract pairs; ignored\n", options.contract);
    if (options.has_strategy && !options.has_demo && !options.has_stress)
        kprintf("strategy=%s: only demo= and stress= use a strategy; ignored\n", options.strategy);
    if (options.has_bench) {
        char line[64], samples[24] = "";
        if (options.has_bench_samples) format(samples, sizeof samples, " samples=%u", options.samples);
        format(line, sizeof line, "bench %s%s", options.bench, samples);
        ok = shell_execute(line) == 0 && ok;
    }
    if (options.has_bench_samples && !options.has_bench)
        kprintf("samples=%u: only bench= takes samples; ignored\n", options.samples);
    if (options.exit_when_done) arch::qemu_exit(ok);
    shell_run();
}

// A bad command line is reported on one line; with `exit` among the words
// the run ends as a failure so a test never waits for its timeout.
[[noreturn]] void bad_cmdline(const char* raw, const char* why) {
    kprintf("%s\n", why);
    if (glob_match("* exit*", raw)) arch::qemu_exit(false);
    shell_run();
}

}  // namespace

extern "C" [[noreturn]] void kmain(uint32_t magic, uint32_t multiboot_info) {
    cpus[0].self = &cpus[0];                          // per-CPU data for the boot CPU, reached
    cpus[0].online = true;
    arch::gdt_init_cpu(0, &cpus[0]);                  // through GS (locks need it); TSSes loaded
    console_init();                                   // COM1, so everything after can report
    kprintf("Corral " CORRAL_VERSION " booting\n");
    boot_mark("banner");
    run_global_constructors();                        // C++ globals may now use this_cpu()
    arch::idt_init();                                 // exceptions and IRQs into trap_dispatch
    arch::idt_load(0);

    static BootInfo info;
    Result<void> mb = multiboot_parse(magic, multiboot_info, &info);
    if (mb.is_error()) panic("%s", mb.error());
    kprintf("boot: loaded by %s, cmdline '%s'\n", info.loader, info.cmdline);
    Result<BootOptions> options = parse_cmdline(info.cmdline);
    panic_set_exit_on_panic(options.is_ok() && options.value().exit_when_done);

    smp_discover();                                   // firmware tables, while physical = virtual
    Result<void> mem = memory_init(info);             // frames, paging (W^X text), heap
    if (mem.is_error()) panic("%s", mem.error());
    boot_mark("paging");
    arch::gdt_update_double_fault_cr3(0, arch::read_cr3());
    kprintf("symbols: %zu in the kernel's table\n", symbol_count());

    time_init();                                      // TSC rate, for delays and timeouts
    irq_init();                                       // PIC + PIT tick
    console_input_init();                             // UART receive interrupt
    sched_init_bsp();                                 // this flow becomes thread "main"
    reaper_start();                                   // frees detached threads when they exit
    arch::sti();
    smp_init();                                       // LAPIC/IOAPIC, then every AP
    kprintf("smp: %d CPUs online (%llu ms after boot)\n", cpu_count(), (unsigned long long)(now_us() / 1000));
    patching_init();                                  // the patching engine (patching/)

    if (options.is_error()) bad_cmdline(info.cmdline, options.error());
    run_requested_work(options.value());
}

}  // namespace corral
