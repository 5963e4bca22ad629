// Time from the TSC, calibrated once against the PIT.  Used for delays the
// hardware asks for (INIT-SIPI-SIPI), timeouts and boot timestamps; never
// for test thresholds (QEMU's time is lumpy).
#pragma once
#include <stdint.h>

namespace corral {

void time_init();                 // measures the TSC rate
uint64_t tsc_hz();
uint64_t now_us();                // since time_init
void udelay(uint32_t us);         // spins with pause
// Waits up to `timeout_us` for `done()` to become true; returns whether it did.
bool wait_until(bool (*done)(void*), void* ctx, uint64_t timeout_us);

}  // namespace corral
