// `nap`: threads that keep calling demo_napper, a function that sleeps
// inside itself, so a klp transition of the built-in patch `napper` has
// threads to wait for -- and `patch status napper` something to show while
// it runs (docs/consistency.md).  Each thread loops until its time is up:
// a call that sleeps `inside_ms` in demo_napper, then 100 ms outside it,
// where the transition thread can switch it.  With `inside_ms` as long as
// the whole run a thread never leaves, and the transition cannot finish
// until the nap ends, `nap stop` wakes the nappers, or it is reverted.
#pragma once
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral::klp {

struct NapCounts {
    int running;          // threads still napping
    int entered;          // calls begun
    uint32_t old_calls;   // calls that returned the old version's signature
    uint32_t new_calls;   // ... the new one's
};

Result<void> nap_start(int threads, uint32_t seconds, uint32_t inside_ms);
// Wakes every napper and ends the nap: each returns from demo_napper and exits.
void nap_stop();
NapCounts nap_counts();
// demo_napper's sleep: `ms`, or until nap_stop.
void nap_sleep(uint32_t ms);

}  // namespace corral::klp
