// `corral`: park every other CPU by IPI, check that none of them was
// executing inside the bytes, write, release -- the seed's second attempt.
// It forgets threads that are not running: one preempted (or interrupted)
// inside the bytes resumes in the middle of the new jmp (failure 2).
#include "patching/farjmp.h"

namespace corral {
namespace {

class CorralStrategy final : public Strategy {
public:
    const char* name() const override { return "corral"; }
    const char* guarantees() const override {
        return "no running CPU inside the bytes; saved contexts are NOT checked";
    }
    Result<void> prepare(Patch& p) const override { return far_jmp_prepare(p); }
    Result<void> write(Patch* const* b, int n, Direction d, const PatchHooks* h) const override {
        return far_jmp_write(b, n, d, h, Coordination::ParkCheck);
    }
    bool is_safe() const override { return false; }
};

}  // namespace

const CorralStrategy corral_strategy;
const Strategy* strategy_corral() { return &corral_strategy; }

}  // namespace corral
