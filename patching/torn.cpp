#include "patching/torn.h"

#include "arch/x86/safe_access.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"
#include "kernel/console/console.h"
#include "kernel/lib/string.h"
#include "kernel/sched/thread.h"
#include "kernel/symbols.h"
#include "kernel/sync/spinlock.h"

namespace corral {
namespace {

constexpr int MAX_WATCHED = 192;   // every patchtorture target, and then some
struct Watched { uintptr_t start, end; };
Watched watched[MAX_WATCHED];
Spinlock watch_lock("torn-watch");
volatile uint32_t faults = 0;
TornFault last;

bool is_watched(uintptr_t eip) {
    for (const Watched& w : watched)
        if (w.end && eip >= w.start && eip < w.end) return true;
    return false;
}

// #UD, #GP, #PF, #DE, #BP, #SS, #NP at a watched address: a thread ran
// bytes that were changed under it.
NOT_PATCHABLE bool torn_fault(arch::TrapFrame* frame) {
    if (!is_watched(frame->eip) && !(frame->vector == arch::VECTOR_BREAKPOINT && is_watched(frame->eip - 1)))
        return false;
    // Inside an interrupt handler there is no thread of its own to kill:
    // this is a real kernel fault, and it panics with the frame.
    if (frame->prev) {
        kprintf("torn: fault at %#x inside an interrupt handler: no thread to kill\n", frame->eip);
        return false;
    }
    Thread* t = current_thread();
    TornFault f{t->id, {}, frame->vector, frame->eip, {}};
    str_copy(f.thread_name, t->name, sizeof f.thread_name);
    for (int i = 0; i < 8; i++)
        if (safe_read_u8(reinterpret_cast<const void*>(frame->eip + i), &f.bytes[i]) != 0) f.bytes[i] = 0;
    char where[64];
    symbolize(frame->eip, where, sizeof where);
    kprintf("torn: thread %d '%s' died at %s (%#x): %s executing %02x %02x %02x %02x %02x %02x %02x %02x -- bytes "
            "that changed under it; thread killed, kernel continues\n",
            f.thread_id, f.thread_name, where, frame->eip, arch::exception_name(frame->vector), f.bytes[0], f.bytes[1],
            f.bytes[2], f.bytes[3], f.bytes[4], f.bytes[5], f.bytes[6], f.bytes[7]);
    last = f;
    __atomic_add_fetch(&faults, 1, __ATOMIC_RELEASE);
    thread_exit(-1);   // never returns: the thread is gone, its joiner sees -1
}

}  // namespace

void torn_init() {
    const int vectors[] = {0, arch::VECTOR_INVALID_OPCODE, 11, 12, arch::VECTOR_GP, arch::VECTOR_PAGE_FAULT};
    for (int v : vectors) arch::register_trap_handler(v, torn_fault);
}

// The #BP handler of the int3 strategy comes first; a stray int3 inside a
// watched range that it does not know ends up here.
bool torn_breakpoint(arch::TrapFrame* frame) { return torn_fault(frame); }

void watch_range(uintptr_t start, size_t length) {
    SpinlockGuard g(watch_lock);
    for (Watched& w : watched)
        if (w.start == start && w.end) { w.end = start + length; return; }
    for (Watched& w : watched)
        if (!w.end) { w = Watched{start, start + length}; return; }
    kprintf("torn: %d ranges watched already; %#zx is not (a torn fault there will panic)\n", MAX_WATCHED, start);
}


uint32_t torn_fault_count() { return __atomic_load_n(&faults, __ATOMIC_ACQUIRE); }
TornFault last_torn_fault() { return last; }

}  // namespace corral
