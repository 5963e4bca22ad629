#include "patching/scan.h"

#include "arch/x86/cpu.h"
#include "arch/x86/safe_access.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"
#include "kernel/cpu.h"
#include "kernel/lib/string.h"
#include "kernel/sched/thread.h"
#include "kernel/symbols.h"
#include "kernel/sync/cross_cpu.h"
#include "patching/corral.h"

namespace corral {
namespace {

constexpr int MAX_CHAIN = 64;

struct Search {
    const CodeRange* ranges;
    int count;
    ScanMode mode;
    bool found;
    ScanHit hit;
};

NOT_PATCHABLE bool inside(const Search& s, uintptr_t eip) {
    for (int i = 0; i < s.count; i++) {
        const CodeRange& r = s.ranges[i];
        if (s.mode == ScanMode::Range ? (eip > r.start && eip < r.end) : (eip >= r.start && eip < r.end)) return true;
    }
    return false;
}

NOT_PATCHABLE void record(Search& s, Thread* t, uintptr_t eip, const char* kind) {
    if (s.found || !inside(s, eip)) return;
    s.found = true;
    s.hit.thread_id = t->id;
    str_copy(s.hit.thread_name, t->name, sizeof s.hit.thread_name);
    s.hit.cpu = t->on_cpu ? t->cpu : -1;
    s.hit.eip = eip;
    // A CPU's thread seen in its own trap frame: the corral parked it there
    // (corral's check names it the same way).
    s.hit.kind = t->on_cpu && str_eq(kind, "trap frame") ? "trap frame of a parked cpu" : kind;
}

// Return addresses above a frame pointer.  Reads are fault-tolerant: a
// thread's stack is only trusted as far as it makes sense.
NOT_PATCHABLE void walk_ebp_chain(Search& s, Thread* t, uintptr_t ebp) {
    // lab scan: begin ebp-chain
    for (int depth = 0; depth < MAX_CHAIN && ebp && !(ebp & 3); depth++) {
        uint32_t next, ret;
        if (safe_read_u32(reinterpret_cast<const void*>(ebp), &next) != 0 ||
            safe_read_u32(reinterpret_cast<const void*>(ebp + 4), &ret) != 0)
            return;
        record(s, t, ret, "return address");
        if (next <= ebp) return;
        ebp = next;
    }
    // lab scan: end ebp-chain
}

// A word of a saved context or trap frame.  These live on the thread's
// stack, and the scan trusts no stack: with every CPU parked nothing frees
// one under us, but a broken corral (a negative control) lets threads run,
// exit and have their stacks unmapped while we read.
NOT_PATCHABLE bool load(const uint32_t* p, uint32_t* out) { return safe_read_u32(p, out) == 0; }

// Where, in a thread stopped at `eip`, the return address into its caller
// is when it is not in the EBP chain: in a function's prologue (before
// `push ebp; mov ebp, esp` has made its frame) or its epilogue (after
// `leave`), EBP is still the caller's frame, and the return address is on
// top of the stack -- [esp], or [esp + 4] once ebp is pushed.  Read from
// the instruction at `eip`, as this kernel's code is laid out (frame
// pointers everywhere; the fentry NOP or `mov edi, edi` before the push).
// -1: the frame is made, the chain has it.
NOT_PATCHABLE int frameless_return_slot(uint32_t eip) {
    uint8_t b[5];
    for (int i = 0; i < 5; i++)
        if (safe_read_u8(reinterpret_cast<const void*>(uintptr_t(eip + uint32_t(i))), &b[i]) != 0) return -1;
    const bool fentry_nop = b[0] == 0x0f && b[1] == 0x1f && b[2] == 0x44 && b[3] == 0 && b[4] == 0;
    const bool mov_edi_edi = b[0] == 0x8b && b[1] == 0xff;
    if (b[0] == 0x55 || fentry_nop || mov_edi_edi || b[0] == 0xc3 || b[0] == 0xc2) return 0;   // push ebp; entry; ret
    if (b[0] == 0x89 && b[1] == 0xe5) return 1;                                                 // mov ebp, esp
    // A patched entry (a jmp where the NOP or mov edi,edi was), or the
    // hotpatch padding's jmp just before one.
    SymbolHit hit;
    if ((b[0] == 0xe9 || b[0] == 0xeb) && ((symbol_for_address(eip, &hit) && hit.offset == 0) ||
                                           (symbol_for_address(eip + 5, &hit) && hit.offset == 0)))
        return 0;
    return -1;
}

// Where the thread was when each trap frame was made (an interrupt, an
// exception, a corral's IPI), and the return addresses above each.
//
// The EBP chain alone misses one: interrupted in a function's prologue or
// epilogue (frameless_return_slot), the return address into its caller is
// on top of the stack, not in the chain.  TCG takes interrupts exactly
// there -- at the start of a translation block, and a call ends one.  So a
// thread inside old `outer`, interrupted on the first instruction of a
// function `outer` calls, looked clear of `outer` (patchtorture's contract
// pairs caught klp switching it there).  Only that word is read, and only
// there: a word above the stack pointer elsewhere may be stale (a tick's
// handler leaves return addresses into klp's stubs below a busy thread's
// stack, and the next `sub esp` uncovers them), and once counted, kept a
// thread from switching for good.  The frames a wait loop makes up while it
// serves cross-CPU requests are exact (a return address and a whole frame),
// and have no stack above them of their own.
NOT_PATCHABLE void walk_trap_frames(Search& s, Thread* t) {
    if (corral_bug() == CorralBug::SkipTrapFrames) return;   // the broken scan (a negative control)
    // lab scan: begin trap-frames
    int n = 0;
    for (arch::TrapFrame* f = t->frames; f && n < MAX_CHAIN; n++) {
        uint32_t eip, ebp, prev, vector;
        if (!load(&f->eip, &eip) || !load(&f->ebp, &ebp) || !load(reinterpret_cast<const uint32_t*>(&f->prev), &prev) ||
            !load(&f->vector, &vector))
            return;
        record(s, t, eip, "trap frame");
        const int slot = vector == VECTOR_POLL ? -1 : frameless_return_slot(eip);
        uint32_t ret;
        if (slot >= 0 && load(reinterpret_cast<const uint32_t*>(uintptr_t(f->interrupted_esp())) + slot, &ret))
            record(s, t, ret, "return address (no frame yet)");
        walk_ebp_chain(s, t, ebp);
        f = reinterpret_cast<arch::TrapFrame*>(uintptr_t(prev));
    }
    // lab scan: end trap-frames
}

NOT_PATCHABLE void scan_thread(Thread* t, void* ctx) {
    // lab scan: begin scan-thread
    Search& s = *static_cast<Search*>(ctx);
    if (t == this_cpu_current()) {
        walk_ebp_chain(s, t, arch::read_ebp());
    } else if (t->context && t->state != ThreadState::Dead &&
               (!t->on_cpu || __atomic_load_n(&t->patch_checking, __ATOMIC_ACQUIRE))) {
        // Switched out: its switch context says where it is.  Held by klp's
        // transition thread too (patch_checking): a CPU about to run it sets
        // on_cpu first and then waits at the switch-in hook, and until the
        // flag drops the context is still the one switch_context saved.  (On
        // on_cpu alone, a thread klp had just found switched out could look
        // running a moment later, its context went unread, and klp switched
        // it inside an old function: make stress's smp4-klp contract break.)
        // On a CPU (parked now) its switch context is stale; its trap frames,
        // the corral's own among them, say where it is.
        uint32_t eip, ebp;
        if (load(&t->context->eip, &eip) && load(&t->context->ebp, &ebp)) {
            record(s, t, eip, "switch context");
            walk_ebp_chain(s, t, ebp);
        }
    }
    walk_trap_frames(s, t);
    // lab scan: end scan-thread
}

}  // namespace

NOT_PATCHABLE bool scan_saved_contexts(uintptr_t start, uintptr_t end, ScanMode mode, ScanHit* hit) {
    const CodeRange range{start, end};
    Search s{&range, 1, mode, false, {}};
    for_each_thread(scan_thread, &s);
    if (s.found && hit) *hit = s.hit;
    return s.found;
}

NOT_PATCHABLE bool scan_one_thread(Thread* t, const CodeRange* ranges, int count, ScanHit* hit) {
    Search s{ranges, count, ScanMode::Function, false, {}};
    scan_thread(t, &s);
    if (s.found && hit) *hit = s.hit;
    return s.found;
}

NOT_PATCHABLE bool scan_current_caller(uintptr_t return_address, uintptr_t ebp, const CodeRange* ranges, int count) {
    Thread* t = this_cpu_current();
    Search s{ranges, count, ScanMode::Function, false, {}};
    record(s, t, return_address, "return address");
    walk_ebp_chain(s, t, ebp);
    walk_trap_frames(s, t);
    return s.found;
}

}  // namespace corral
