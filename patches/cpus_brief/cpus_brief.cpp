// Patch module: `cpus` in one line (docs/first-patch-module.md walks
// through writing it).
//
// The kernel's `cpus` (kernel/smp.cpp) prints a table, a row per CPU.  The
// replacement says the same in one line: how many CPUs, and what each one
// is running.  cmd_cpus has internal linkage, so the patch names it by the
// symbol name `sym` shows; its entry is the fentry NOP: strategy int3.
#include "kernel/console/console.h"
#include "kernel/cpu.h"
#include "kernel/sched/thread.h"
#include "kernel/shell.h"
#include "patches/patch.h"

int cpus_brief(int argc, char**) {
    using namespace corral;
    if (argc != 1) return shell_error("usage: cpus");
    kprintf("%d cpu(s):", cpu_count());
    for (int i = 0; i < cpu_count(); i++) kprintf(" %d=%s", i, cpus[i].current ? cpus[i].current->name : "-");
    kprintf(" (cpus: patched by module cpus_brief)\n");
    return 0;
}

CORRAL_PATCH_NAMED("corral::(anonymous namespace)::cmd_cpus", cpus_brief, "int3");
