// patchtorture's patch plan: the sequence of operations a patcher thread
// performs, drawn from a seeded PRNG over the targets that patcher owns.
//
// The plan is pure logic (no kernel calls; the host tests run it too).  It
// tracks what each owned target has applied, as if every operation it hands
// out succeeds; the torture fails the run on the first operation that does
// not.  So the sequence depends only on the seed and the patcher's number,
// never on timing: the same seed gives the same sequence, and its digest
// says so.  Patchers own disjoint targets, which keeps two patchers from
// changing each other's state (they still race in the kernel: both ask for
// corrals and sync rounds at once).  A target owned with a partner (a
// contract pair, targets.h) is one unit: every operation that takes one
// takes both, to the same version, so they form a multi-function patch.
#pragma once
#include <stdint.h>

#include "kernel/lib/hash.h"

namespace corral::torture {

constexpr int MAX_BATCH = 16;      // patches in one batch operation
constexpr int MAX_OWNED = 96;      // targets one patcher owns
constexpr int MAX_FAMILIES = 3;

enum class OpKind : uint8_t { Apply, Revert, Stack, BatchApply, BatchRevert };
constexpr int OP_KINDS = 5;
const char* op_kind_name(OpKind k);

// What a target has applied, bottom first.  v2 and v3 are its two
// replacement versions (v1 is the original).
enum class Applied : uint8_t { None, V2, V3, V2V3 };

struct Op {
    OpKind kind;
    int family;                  // all targets of one op are of one family (one strategy)
    int count;                   // 1, or up to MAX_BATCH for a batch
    int targets[MAX_BATCH];      // target ids
    int version;                 // Apply/BatchApply/Stack: the version applied (2 or 3); reverts: 0
};

// xorshift64* seeded through splitmix64: small, fast, and the same on every
// machine.
class Rng {
public:
    explicit Rng(uint64_t seed = 1);
    uint32_t next();
    uint32_t below(uint32_t n);   // 0..n-1 (n >= 1)

private:
    uint64_t state_;
};

class Plan {
public:
    void init(uint32_t seed, int patcher);
    // One owned target, its family and its partner (-1: none), which no
    // other slot may own; false when MAX_OWNED targets are owned already.
    bool own(int target, int family, int partner = -1);
    int owned() const { return owned_; }
    // No Stack operation for this family (klp patches only a plain NOP).
    void forbid_stacking(int family) { no_stack_ |= 1u << family; }

    // The next operation (never fails while at least one target is owned),
    // and the states updated as if it succeeded.
    Op next();

    uint64_t ops() const { return ops_; }
    uint32_t digest() const { return digest_; }   // FNV-1a over every op handed out
    Applied applied_state(int target) const;   // None for a target not owned

private:
    struct Slot {
        int target;
        int partner;   // -1: none
        int family;
        Applied applied;
    };
    bool fits(OpKind k, const Slot& s) const;
    void take(Op& op, Slot& s);
    void mix(uint32_t v);
    int draw_kind();

    Rng rng_;
    Slot slots_[MAX_OWNED] = {};
    int count_ = 0;    // slots
    int owned_ = 0;    // targets
    int families_[MAX_FAMILIES] = {};
    int family_count_ = 0;
    uint32_t no_stack_ = 0;      // bit per family
    uint64_t ops_ = 0;
    uint32_t digest_ = FNV1A_INIT;
};

// The digest of the first `ops` operations of a fresh plan with this seed,
// patcher and ownership (what the torture prints before it starts).
struct Ownership {
    const int* targets;
    const int* families;
    int count;
    uint32_t no_stack_families = 0;   // bit per family, as forbid_stacking
    const int* partners = nullptr;    // per target, -1 for none; null: no pairs
};
uint32_t plan_digest(uint32_t seed, int patcher, const Ownership& owned, uint64_t ops);

}  // namespace corral::torture
