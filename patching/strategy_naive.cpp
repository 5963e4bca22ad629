// `naive`: the far jmp written with no coordination at all -- the seed's
// first attempt.  Another CPU inside those bytes runs a mix of old and new
// (failure 1).  Kept so the failure can be shown on demand.
#include "patching/farjmp.h"

namespace corral {
namespace {

class NaiveStrategy final : public Strategy {
public:
    const char* name() const override { return "naive"; }
    const char* guarantees() const override { return "nothing: other CPUs may run torn bytes"; }
    Result<void> prepare(Patch& p) const override { return far_jmp_prepare(p); }
    Result<void> write(Patch* const* b, int n, Direction d, const PatchHooks* h) const override {
        return far_jmp_write(b, n, d, h, Coordination::None);
    }
    bool is_safe() const override { return false; }
};

}  // namespace

const NaiveStrategy naive_strategy;
const Strategy* strategy_naive() { return &naive_strategy; }

}  // namespace corral
