// Shell commands that show the scheduler's state.
#include "arch/x86/trap.h"
#include "kernel/console/console.h"
#include "kernel/cpu.h"
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
    char seen[20];
    int n = 0;
    for (int c = 0; c < cpu_count() && n < int(sizeof seen) - 1; c++)
        if (t->cpus_seen & (1u << c)) n += format(seen + n, sizeof seen - n, n ? ",%d" : "%d", c);
    if (n == 0) format(seen, sizeof seen, "-");
    int frames = 0;
    for (arch::TrapFrame* f = t->frames; f && frames < 64; f = f->prev) frames++;
    kprintf("%4d %-14s %-8s %3d  %-9s %-36s %d\n", t->id, t->name, thread_state_name(t->state), t->cpu, seen,
            where, frames);
    for (arch::TrapFrame* f = t->frames; f && frames-- > 0; f = f->prev) {
        symbolize(f->eip, where, sizeof where);
        kprintf("       trap frame: vector %u at %s\n", f->vector, where);
    }
}

int cmd_threads(int argc, char**) {
    if (argc != 1) return shell_error("usage: threads");
    kprintf("  id name           state    cpu  ran-on    saved eip                            frames\n");
    for_each_thread(print_thread, nullptr);
    return 0;
}
SHELL_COMMAND("threads", "threads", "every thread: state, CPU, CPUs it ran on, saved EIP, trap frames", cmd_threads);

}  // namespace
}  // namespace corral
