// patchtorture's targets: 144 patchable functions in three families of 48,
// one per patch layout, each with two replacement versions.
//
//   far     far_targets.asm: seed_example-shaped, for naive / corral /
//           corral-scan; every torn state faults (see the .asm)
//   hot     the hotpatch layout (HOTPATCHABLE), for hotpatch
//   fentry  the fentry layout (5-byte NOP), for int3
//
// Every version of every target returns its own signature, and counts the
// call in the caller's CallCtx; the caller checks the signature and counts
// what it saw.  So each call is seen to run exactly one version, and the
// counts are conserved: calls made == calls counted == calls seen, per
// target and version.  Within each family, target 0 is also called from
// the timer interrupt, 1 sleeps inside itself, 2 recurses, 3 takes a
// spinlock, 4 and 5 call each other, and 6 and 8 are contract pairs with 7
// and 9; the rest are plain.
//
// A contract pair is an `outer` that calls its `inner`, always patched
// together (one multi-function patch: the plan never moves one without the
// other) and to the same version: version k of outer expects version k of
// inner, as in the `contract` scenario.  The caller's context counts the
// outer calls whose inner ran another version.  A strategy that switches a
// patch's functions consistently (stop-check, klp) must have none; hotpatch
// and int3 switch each function at its entry, and have some.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace corral::torture {

enum Family : int { FAR = 0, HOT = 1, FENTRY = 2 };
constexpr int FAMILIES = 3;
constexpr int PER_FAMILY = 48;
constexpr int TARGETS = FAMILIES * PER_FAMILY;
constexpr int VERSIONS = 4;                   // indices 1..3 used
const char* family_name(int family);

enum class Behavior : uint8_t { Plain, Timer, Sleeps, Recursive, Spinlock, Mutual, Outer, Inner };
Behavior behavior_of(int target);
// An outer's inner (target + 1); -1 for a target that is no outer.
int contract_inner(int target);

// 3f <id> <version> 5a: far_targets.asm builds the same bytes.
constexpr uint32_t signature(int target, int version) {
    return 0x5a00003fu | uint32_t(version) << 16 | uint32_t(target) << 8;
}

// One caller's counts (a worker, a churn thread, a CPU's timer interrupt).
// Only its owner writes it, so no atomics on the hot path.
struct CallCtx {
    uint32_t made[TARGETS];
    uint32_t counted[TARGETS][VERSIONS];   // by the version that ran
    uint32_t seen[TARGETS][VERSIONS];      // by the signature the caller got back
    uint32_t bad;                          // calls that returned no version's signature
    uint32_t bad_signature;
    int bad_target;
    uint32_t torn_bodies;                  // bodies entered with a signature no version has
    uint32_t torn_signature;
    uint32_t contract_calls[FAMILIES];     // outer calls, by the outer's family
    uint32_t contract_breaks[FAMILIES];    // ... whose inner ran another version than the outer
    // The races themselves (see note_text_write), by the target's family:
    uint32_t write_straddles[FAMILIES];    // calls in flight while their own target's bytes were written
    uint32_t contract_straddles[FAMILIES]; // outer calls whose inner's bytes were written after the outer began
    uint32_t switched_calls[FAMILIES];     // calls that ran v2 or v3 (through a patch's redirect)
    int break_outer, break_outer_version, break_inner_version;   // the last break
    bool break_in_irq;                      // ... was called from the timer interrupt
    const char* break_switched_how;         // ... and how the thread it ran on was last switched (klp)
    uintptr_t break_switched_at;
    int depth;                             // of recursive and mutual calls
    bool in_irq;                           // never sleep
    uint32_t sleeps;
};

using TargetFn = uint32_t (*)(CallCtx*);

struct Target {
    char symbol[24];
    int family;
    TargetFn fn;
    uintptr_t v2, v3;      // what a patch redirects to (far family: the landings)
};

const Target& target(int id);
void targets_init();

// Calls target `id` through its (patched or not) entry and checks what
// came back: the version that answered, or 0 for no version's signature.
int call_target(CallCtx* c, int id);
// The same with the trap flag set for the call: the CPU single-steps into
// the target, and the torture's step hook (torture.cpp) preempts the thread
// after the target's first instruction -- a preemption point at exactly the
// boundary a torn write is dangerous at, which QEMU's TCG (it takes
// interrupts only between translation blocks) would almost never give.
void call_target_stepped(CallCtx* c, int id);
// Whether `eip` is the entry of a target.
bool is_target_entry(uintptr_t eip);
// A text write (text_writer.h's observer): called right before and right
// after the bytes change, it bumps the write generation of every target
// whose patch bytes [address, address+len) touches (a far target's 7, a
// hot target's padding and entry, a fentry target's 5), so a generation
// is odd while a write is under way.  A call that reads another generation
// after it returns than before, or an odd one, was inside its target while
// the target was written: the very window every strategy must make safe.
void note_text_write(uintptr_t address, size_t len);
// Calls made inside the spinlock target's critical section (all CPUs).
uint64_t spinlock_section_count();

}  // namespace corral::torture
