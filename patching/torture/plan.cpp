#include "patching/torture/plan.h"

namespace corral::torture {

const char* op_kind_name(OpKind k) {
    switch (k) {
        case OpKind::Apply: return "apply";
        case OpKind::Revert: return "revert";
        case OpKind::Stack: return "stack";
        case OpKind::BatchApply: return "batch-apply";
        case OpKind::BatchRevert: return "batch-revert";
    }
    return "?";
}

Rng::Rng(uint64_t seed) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull;   // splitmix64: no seed gives a zero state
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    state_ = (z ^ (z >> 31)) | 1;
}

uint32_t Rng::next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return uint32_t((state_ * 0x2545f4914f6cdd1dull) >> 32);
}

uint32_t Rng::below(uint32_t n) { return uint32_t((uint64_t(next()) * n) >> 32); }

void Plan::init(uint32_t seed, int patcher) {
    *this = Plan{};
    rng_ = Rng(uint64_t(seed) << 8 | uint32_t(patcher));
}

bool Plan::own(int target, int family, int partner) {
    const int size = partner < 0 ? 1 : 2;
    if (owned_ + size > MAX_OWNED) return false;
    slots_[count_++] = Slot{target, partner, family, Applied::None};
    owned_ += size;
    for (int i = 0; i < family_count_; i++)
        if (families_[i] == family) return true;
    if (family_count_ < MAX_FAMILIES) families_[family_count_++] = family;
    return true;
}

// Whether slot `s` can take part in an operation of kind `k`.  (A batch
// takes each target once: a batch revert reverts the top patch of each.)
bool Plan::fits(OpKind k, const Slot& s) const {
    switch (k) {
        case OpKind::Apply:
        case OpKind::BatchApply: return s.applied == Applied::None;
        case OpKind::Revert:
        case OpKind::BatchRevert: return s.applied != Applied::None;
        case OpKind::Stack: return s.applied == Applied::V2 && !(no_stack_ >> s.family & 1);
    }
    return false;
}

void Plan::take(Op& op, Slot& s) {
    op.targets[op.count++] = s.target;
    if (s.partner >= 0) op.targets[op.count++] = s.partner;
    switch (op.kind) {
        case OpKind::Apply:
        case OpKind::BatchApply: s.applied = op.version == 2 ? Applied::V2 : Applied::V3; break;
        case OpKind::Stack: s.applied = Applied::V2V3; break;
        case OpKind::Revert:
        case OpKind::BatchRevert: s.applied = s.applied == Applied::V2V3 ? Applied::V2 : Applied::None; break;
    }
}

// Batches are drawn most often: they flip the most patches per corral
// (or per set of int3 sync rounds), which is what a long run is counted in.
int Plan::draw_kind() {
    constexpr uint32_t weights[OP_KINDS] = {1, 1, 1, 8, 8};   // apply revert stack batch-apply batch-revert
    uint32_t total = 0;
    for (uint32_t w : weights) total += w;
    uint32_t r = rng_.below(total);
    for (int k = 0; k < OP_KINDS; k++) {
        if (r < weights[k]) return k;
        r -= weights[k];
    }
    return 0;
}

void Plan::mix(uint32_t v) {
    digest_ = fnv1a_word(digest_, v);
}

Op Plan::next() {
    Op op{};
    if (count_ == 0) return op;
    // Draw a family and a kind; when nothing fits, try the next kind, then
    // the next family.  Some kind always fits: a target either has a patch
    // (revert) or has none (apply).
    const int f0 = int(rng_.below(uint32_t(family_count_)));
    const int k0 = draw_kind();
    int fitting[MAX_OWNED];
    int n = 0;
    for (int df = 0; df < family_count_ && n == 0; df++) {
        op.family = families_[(f0 + df) % family_count_];
        for (int dk = 0; dk < OP_KINDS && n == 0; dk++) {
            op.kind = OpKind((k0 + dk) % OP_KINDS);
            for (int i = 0; i < count_; i++)
                if (slots_[i].family == op.family && fits(op.kind, slots_[i])) fitting[n++] = i;
        }
    }
    const bool batch = op.kind == OpKind::BatchApply || op.kind == OpKind::BatchRevert;
    // A batch takes from half to all of what fits (at most MAX_BATCH), so
    // the states swing from mostly patched to mostly not and back.
    const int most = n < MAX_BATCH ? n : MAX_BATCH;
    const int want = batch ? most - int(rng_.below(uint32_t(most / 2 + 1))) : 1;
    op.version = op.kind == OpKind::Stack ? 3 : (op.kind == OpKind::Apply || op.kind == OpKind::BatchApply)
                                                    ? 2 + int(rng_.below(2))
                                                    : 0;
    // Pick `want` distinct slots: a partial Fisher-Yates shuffle.  A pair
    // that would not fit in the batch any more ends it.
    for (int i = 0; i < want; i++) {
        const int j = i + int(rng_.below(uint32_t(n - i)));
        const int chosen = fitting[j];
        fitting[j] = fitting[i];
        if (op.count + (slots_[chosen].partner < 0 ? 1 : 2) > MAX_BATCH) break;
        take(op, slots_[chosen]);
    }
    mix(uint32_t(op.kind) | uint32_t(op.family) << 8 | uint32_t(op.version) << 16 | uint32_t(op.count) << 24);
    for (int i = 0; i < op.count; i++) mix(uint32_t(op.targets[i]));
    ops_++;
    return op;
}

Applied Plan::applied_state(int target) const {
    for (int i = 0; i < count_; i++)
        if (slots_[i].target == target || slots_[i].partner == target) return slots_[i].applied;
    return Applied::None;
}

uint32_t plan_digest(uint32_t seed, int patcher, const Ownership& owned, uint64_t ops) {
    Plan p;
    p.init(seed, patcher);
    for (int i = 0; i < owned.count; i++)
        p.own(owned.targets[i], owned.families[i], owned.partners ? owned.partners[i] : -1);
    for (int f = 0; f < MAX_FAMILIES; f++)
        if (owned.no_stack_families >> f & 1) p.forbid_stacking(f);
    for (uint64_t i = 0; i < ops; i++) p.next();
    return p.digest();
}

}  // namespace corral::torture
