// The scan: every saved execution context of every thread, checked against
// the bytes about to change.  Runs inside the corral (every other CPU is
// parked, so no thread moves while it looks).
//
// Where a thread's EIP can be saved (docs/design.md §2):
//   * its switch context (switched out), and the EBP chain of return
//     addresses above it;
//   * every trap frame on its stack, newest first (the IPI frame of a parked
//     CPU, an interrupt that arrived inside an exception handler, ...), and
//     the EBP chain above each;
//   * for the thread running the scan: its live EBP chain.
#pragma once
#include <stdint.h>

namespace corral {

enum class ScanMode {
    Range,      // a saved EIP or return address strictly inside (start, end): the overwritten bytes
    Function,   // any saved EIP or return address in [start, end): the whole old function
};

struct ScanHit {
    int thread_id;
    char thread_name[24];
    int cpu;                 // where it runs, or -1 when switched out
    uintptr_t eip;
    const char* kind;        // "trap frame", "trap frame of a parked cpu", "switch context", "return address"
};

// True (and fills `hit`) when some thread has a saved EIP in the range.
bool scan_saved_contexts(uintptr_t start, uintptr_t end, ScanMode mode, ScanHit* hit);

// One thread, several ranges, function mode: is any of its saved EIPs or
// return addresses in [start, end) of one of them?  The thread must not
// move meanwhile: it is the caller (its live chain is walked), or it is
// switched out and kept from running (patching/klp), or everyone is parked.
struct CodeRange {
    uintptr_t start, end;
};
struct Thread;
bool scan_one_thread(Thread* t, const CodeRange* ranges, int count, ScanHit* hit);
// The calling thread as its caller left it, at a function's entry (klp's
// redirect): that return address, the EBP chain from that frame pointer,
// and its trap frames.  The thread must not be switched out meanwhile.
bool scan_current_caller(uintptr_t return_address, uintptr_t ebp, const CodeRange* ranges, int count);

}  // namespace corral
