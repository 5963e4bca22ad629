#include "kernel/sync/cross_cpu.h"

#include "arch/x86/cpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"
#include "kernel/cpu.h"
#include "kernel/panic.h"
#include "kernel/sched/thread.h"
#include "kernel/time.h"

namespace corral {
namespace {

constexpr int MAX_SERVERS = 8;
CrossCpuServer servers[MAX_SERVERS];
int server_count = 0;

NOT_PATCHABLE bool any_pending() {
    for (int i = 0; i < server_count; i++)
        if (servers[i].pending()) return true;
    return false;
}

}  // namespace

void cross_cpu_register(const CrossCpuServer& server) {
    if (server_count == MAX_SERVERS) panic("cross_cpu_register: more than %d servers", MAX_SERVERS);
    servers[server_count++] = server;
}

NOT_PATCHABLE void cross_cpu_serve() {
    if (!any_pending()) return;   // the common case: one load per server
    push_cli();                   // a server may park this CPU: no preemption meanwhile
    // Where this thread is, as a trap would have recorded it: our caller's
    // return address and frame pointer.
    arch::TrapFrame here{};
    here.eip = uint32_t(uintptr_t(__builtin_return_address(0)));
    here.ebp = uint32_t(*reinterpret_cast<uintptr_t*>(arch::read_ebp()));
    here.cs = arch::KERNEL_CS;
    here.eflags = arch::read_eflags();
    here.vector = VECTOR_POLL;
    Thread* t = this_cpu_current();
    if (t) {
        here.prev = t->frames;
        t->frames = &here;
    }
    for (int i = 0; i < server_count; i++)
        if (servers[i].pending()) servers[i].serve(&here);
    if (t) t->frames = here.prev;
    pop_cli();
}

NOT_PATCHABLE void cross_cpu_relax() {
    arch::cpu_relax();
    cross_cpu_serve();
}

NOT_PATCHABLE bool cross_cpu_wait_until(bool (*done)(void*), void* ctx, uint64_t timeout_us) {
    const uint64_t end = arch::rdtsc() + timeout_us * tsc_hz() / 1000000;
    while (!done(ctx)) {
        if (arch::rdtsc() >= end) return done(ctx);
        cross_cpu_relax();
    }
    return true;
}

}  // namespace corral
