// `corral-scan`: park every CPU, then scan every saved context of every
// thread (switch contexts, trap frames, return addresses).  Any EIP inside
// the bytes defers the patch (release, back off, retry); after MAX_DEFERRALS
// it refuses cleanly instead of waiting forever for a hot function.
#include "patching/farjmp.h"

namespace corral {
namespace {

class CorralScanStrategy final : public Strategy {
public:
    const char* name() const override { return "corral-scan"; }
    const char* guarantees() const override {
        return "no thread, running or saved, inside the bytes; may defer, then refuse";
    }
    Result<void> prepare(Patch& p) const override { return far_jmp_prepare(p); }
    Result<void> write(Patch* const* b, int n, Direction d, const PatchHooks* h) const override {
        return far_jmp_write(b, n, d, h, Coordination::ParkScan);
    }
    bool is_safe() const override { return true; }
};

}  // namespace

const CorralScanStrategy corral_scan_strategy;
const Strategy* strategy_corral_scan() { return &corral_scan_strategy; }

}  // namespace corral
