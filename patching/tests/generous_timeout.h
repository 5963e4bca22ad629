// For ktests about what happens, not about how fast: a host starved by
// other work (make test beside another make test) must not turn a slow vCPU
// into a corral abort.  Tests that want an abort set a short timeout of
// their own.
#pragma once
#include <stdint.h>

#include "patching/corral.h"

namespace corral {

class GenerousCorralTimeout {
public:
    GenerousCorralTimeout() : saved_(corral_timeout_us()) { corral_set_timeout_us(60000000); }
    ~GenerousCorralTimeout() { corral_set_timeout_us(saved_); }
    GenerousCorralTimeout(const GenerousCorralTimeout&) = delete;
    GenerousCorralTimeout& operator=(const GenerousCorralTimeout&) = delete;

private:
    uint64_t saved_;
};

}  // namespace corral
