// `corral-scan`: park every CPU, then scan every saved context of every
// thread (switch contexts, trap frames, return addresses).  Any EIP inside
// the bytes defers the patch (release, back off, retry); after MAX_DEFERRALS
// it refuses cleanly instead of waiting forever for a hot function.
#include "patching/farjmp.h"

namespace corral {

const FarJmpStrategy corral_scan_strategy{"corral-scan", "no thread, running or saved, inside the bytes; may defer, then refuse",
    Coordination::ParkScan, true};
const Strategy* strategy_corral_scan() { return &corral_scan_strategy; }

}  // namespace corral
