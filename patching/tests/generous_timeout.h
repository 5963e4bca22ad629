// For ktests about what happens, not about how fast: a host starved by
// other work (make test beside another make test) must not turn a slow vCPU
// into a corral abort.  Tests that want an abort set a short timeout of
// their own (ScopedCorralTimeout).
#pragma once
#include <stdint.h>

#include "patching/corral.h"

namespace corral {

// The corral timeout while alive; the previous one again after.
class ScopedCorralTimeout {
public:
    [[nodiscard]] explicit ScopedCorralTimeout(uint64_t us) : saved_(corral_timeout_us()) { corral_set_timeout_us(us); }
    ~ScopedCorralTimeout() { corral_set_timeout_us(saved_); }
    ScopedCorralTimeout(const ScopedCorralTimeout&) = delete;
    ScopedCorralTimeout& operator=(const ScopedCorralTimeout&) = delete;

private:
    uint64_t saved_;
};

class GenerousCorralTimeout : public ScopedCorralTimeout {
public:
    GenerousCorralTimeout() : ScopedCorralTimeout(60000000) {}
};

}  // namespace corral
