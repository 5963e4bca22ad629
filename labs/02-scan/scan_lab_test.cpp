// Lab 02 (scan): the checks the kernel's own ktests do not make.  They run
// in every `make test` too (test=*), so they must pass on the reference.
//
// Each one hands the scan a made-up thread (a "ghost": never run, never
// queued) whose saved state is built here, word by word, so that the one
// place the EIP is saved is known: the oldest of three nested trap frames,
// an EBP chain above one of them, a switch context, the stale context of a
// thread that is on a CPU.  The range is demo_fentry_square's body.
#include "arch/x86/trap.h"
#include "kernel/lib/string.h"
#include "kernel/sched/thread.h"
#include "kernel/test/ktest.h"
#include "patching/demo_targets.h"
#include "patching/scan.h"
#include "patching/strategy.h"

namespace corral {
namespace {

// Where the ghost is when it is nowhere in the range: bytes that are no
// function's entry, so no frameless return slot is read under them.
const uint8_t nowhere[8] = {0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90};
uint32_t elsewhere() { return uint32_t(uintptr_t(nowhere)); }

struct Range {
    CodeRange code;
    uint32_t inside;   // an address in its body
};

bool range_of_outer(Range* r) {
    const uintptr_t outer = uintptr_t(&demo_fentry_square);
    const size_t size = symbol_size_at(outer);
    if (size <= 8) return false;
    r->code = CodeRange{outer, outer + size};
    r->inside = uint32_t(outer + 8);
    return true;
}

// Two frames of an EBP chain, going up the stack: the first return address
// is elsewhere, the second is `ret`; then the chain ends.
struct Chain {
    uint32_t words[4];
    uint32_t at(uint32_t ret) {
        words[0] = uint32_t(uintptr_t(&words[2]));   // the caller's frame, higher up
        words[1] = elsewhere();
        words[2] = 0;                                 // the outermost frame
        words[3] = ret;
        return uint32_t(uintptr_t(&words[0]));
    }
};

void make_ghost(Thread& ghost, ThreadState state, bool on_cpu) {
    str_copy(ghost.name, "ghost", sizeof ghost.name);
    ghost.state = state;
    ghost.on_cpu = on_cpu;
    ghost.cpu = on_cpu ? 1 : 0;
}

// Scans the ghost; a failure says what was expected and what the scan said.
void expect_scan(KTestContext& t, int line, Thread& ghost, const Range& r, bool want, const char* kind,
                 const char* what) {
    ScanHit hit{};
    const bool found = scan_one_thread(&ghost, &r.code, 1, &hit);
    if (found != want)
        t.fail(__FILE__, line, "%s: the scan %s", what,
               found ? "found it, and it is nowhere in the range" : "did not find it");
    else if (found && kind && !str_eq(hit.kind, kind))
        t.fail(__FILE__, line, "%s: found, but as a '%s' (want '%s')", what, hit.kind, kind);
}

// Three trap frames, newest first, as a thread has them when an interrupt
// arrived inside an exception handler that had interrupted it (the
// `interrupted` scenario has two: the corral's IPI on top of the #DB).
// Where the thread was is in the oldest, or in the EBP chain above an
// older one: the scan must follow every `prev`, and each frame's chain.
KTEST(lab_scan, nested_interrupts_are_walked_to_the_oldest_frame) {
    Range r;
    KREQUIRE(range_of_outer(&r));
    arch::TrapFrame frames[3] = {};
    frames[0].prev = &frames[1];
    frames[1].prev = &frames[2];
    frames[2].prev = nullptr;
    const uint32_t vectors[3] = {0x20, 0x01, 0x20};   // a tick, on a #DB, on a tick
    for (int i = 0; i < 3; i++) {
        frames[i].vector = vectors[i];
        frames[i].eip = elsewhere();
        frames[i].ebp = 0;
    }
    Thread ghost{};
    make_ghost(ghost, ThreadState::Ready, false);
    ghost.frames = &frames[0];
    expect_scan(t, __LINE__, ghost, r, false, nullptr, "three trap frames, none in the range");
    frames[2].eip = r.inside;
    expect_scan(t, __LINE__, ghost, r, true, "trap frame", "the EIP in the oldest of three trap frames");
    frames[2].eip = elsewhere();
    frames[1].eip = r.inside;
    expect_scan(t, __LINE__, ghost, r, true, "trap frame", "the EIP in the middle one of three trap frames");
    frames[1].eip = elsewhere();
    Chain chain;
    frames[1].ebp = chain.at(r.inside);
    expect_scan(t, __LINE__, ghost, r, true, "return address",
                "a return address two frames up the EBP chain above the middle trap frame");
    frames[1].ebp = 0;
    frames[2].ebp = chain.at(r.inside);
    expect_scan(t, __LINE__, ghost, r, true, "return address",
                "a return address two frames up the EBP chain above the oldest trap frame");
}

// A switched-out thread's switch context: its EIP (where switch_context
// resumes it) and the EBP chain from its saved ebp.
KTEST(lab_scan, switched_out_threads_are_read_from_their_switch_context) {
    Range r;
    KREQUIRE(range_of_outer(&r));
    Context ctx{};
    ctx.eip = r.inside;
    Thread ghost{};
    make_ghost(ghost, ThreadState::Sleeping, false);
    ghost.context = &ctx;
    expect_scan(t, __LINE__, ghost, r, true, "switch context", "a sleeping thread whose switch context's EIP is in the range");
    ctx.eip = elsewhere();
    Chain chain;
    ctx.ebp = chain.at(r.inside);
    expect_scan(t, __LINE__, ghost, r, true, "return address",
                "a sleeping thread with a return address two frames up the chain from its switch context's ebp");
    ctx.ebp = 0;
    expect_scan(t, __LINE__, ghost, r, false, nullptr, "a sleeping thread whose context is nowhere in the range");
}

// A thread on a CPU (parked in the corral) left its switch context the
// last time it was switched out: it says nothing of where the thread is
// now, and a scan that reads it defers for a thread that may be far away.
// Its trap frames say where it is.  Unless klp's transition thread holds
// it (patch_checking): then a CPU that picked it to run has set on_cpu and
// waits, and it has not run since that context was saved.
KTEST(lab_scan, running_threads_are_read_from_their_trap_frames_not_their_stale_context) {
    Range r;
    KREQUIRE(range_of_outer(&r));
    Context stale{};
    stale.eip = r.inside;
    Thread ghost{};
    make_ghost(ghost, ThreadState::Running, true);
    ghost.context = &stale;
    expect_scan(t, __LINE__, ghost, r, false, nullptr,
                "a thread on a CPU whose stale switch context is in the range, with no trap frame there");
    arch::TrapFrame frame{};
    frame.vector = 0xf0;   // the corral's IPI, say
    frame.eip = r.inside;
    frame.ebp = 0;
    stale.eip = elsewhere();
    ghost.frames = &frame;
    expect_scan(t, __LINE__, ghost, r, true, "trap frame of a parked cpu",
                "a thread on a CPU whose trap frame's EIP is in the range");
    ghost.frames = nullptr;
    stale.eip = r.inside;
    ghost.patch_checking = 1;
    expect_scan(t, __LINE__, ghost, r, true, "switch context",
                "on_cpu set but held by klp (patch_checking), its switch context in the range");
}

}  // namespace
}  // namespace corral
