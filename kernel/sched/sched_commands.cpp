// Shell commands that show the scheduler's state.
#include "arch/x86/trap.h"
#include "kernel/console/console.h"
#include "arch/x86/cpu.h"
#include "kernel/cpu.h"
#include "kernel/lib/string.h"
#include "kernel/time.h"
#include "kernel/lib/format.h"
#include "kernel/sched/thread.h"
#include "kernel/shell.h"
#include "kernel/symbols.h"

namespace corral {
namespace {

void print_thread(Thread* t, void*) {
    char where[80] = "-";
    bool running = t->state == ThreadState::Running && t->on_cpu;
    if (!running && t->context) symbolize(t->context->eip, where, sizeof where);
    else if (running) format(where, sizeof where, "(running)");
    // CPUs as ranges ("0-3,5"), so 16 of them fit and no number is cut.
    char seen[48];
    int n = 0;
    for (int c = 0; c < cpu_count(); c++) {
        if (!(t->cpus_seen & (1u << c))) continue;
        int last = c;
        while (last + 1 < cpu_count() && (t->cpus_seen & (1u << (last + 1)))) last++;
        n += format(seen + n, sizeof seen - size_t(n), last > c ? "%s%d-%d" : "%s%d", n ? "," : "", c, last);
        c = last;
    }
    if (n == 0) format(seen, sizeof seen, "-");
    int frames = 0;
    for (arch::TrapFrame* f = t->frames; f && frames < 64; f = f->prev) frames++;
    kprintf("%4d %-14s %-8s %3d  %-9s %-36s %d\n", t->id, t->name, thread_state_name(t->state), t->cpu, seen,
            where, frames);
    for (arch::TrapFrame* f = t->frames; f && frames-- > 0; f = f->prev) {
        symbolize(f->eip, where, sizeof where);
        kprintf("       trap frame: vector %u (%s) at %s\n", f->vector, arch::exception_name(f->vector), where);
    }
}

int cmd_threads(int argc, char**) {
    if (argc != 1) return shell_error("usage: threads");
    kprintf("  id name           state    cpu  ran-on    saved eip                            frames\n");
    for_each_thread(print_thread, nullptr);
    return 0;
}
SHELL_COMMAND("threads", "threads", "every thread: state, CPU, CPUs it ran on, saved EIP, trap frames", cmd_threads);

// `load`: background work to watch in `cpus` and `threads` -- unpinned
// threads that compute and sleep in turns, so the balancer moves them.
struct LoadSpec { uint64_t until_us; };

void load_worker(void* arg) {
    const uint64_t until = static_cast<LoadSpec*>(arg)->until_us;
    while (now_us() < until) {
        const uint64_t burst = now_us() + 20000;
        while (now_us() < burst) arch::cpu_relax();
        thread_sleep_ms(10);
    }
}

int cmd_load(int argc, char** argv) {
    if (argc != 3) return shell_error("usage: load <threads 1..64> <seconds 1..600>");
    Result<uint32_t> n = parse_u32(argv[1]), secs = parse_u32(argv[2]);
    if (n.is_error() || n.value() < 1 || n.value() > 64) return shell_error("load: threads must be 1..64");
    if (secs.is_error() || secs.value() < 1 || secs.value() > 600) return shell_error("load: seconds must be 1..600");
    static LoadSpec spec;
    spec.until_us = now_us() + uint64_t(secs.value()) * 1000000;
    for (uint32_t i = 0; i < n.value(); i++) {
        char name[16];
        format(name, sizeof name, "load%u", i);
        thread_detach(thread_create(name, load_worker, &spec));
    }
    kprintf("started %u threads for %u s: watch them move with 'threads' and 'cpus'\n", n.value(), secs.value());
    return 0;
}
SHELL_COMMAND("load", "load <threads> <seconds>", "start busy threads (detached) to watch the scheduler balance them",
              cmd_load);

}  // namespace
}  // namespace corral
