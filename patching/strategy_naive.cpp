// `naive`: the far jmp written with no coordination at all -- the seed's
// first attempt.  Another CPU inside those bytes runs a mix of old and new
// (failure 1).  Kept so the failure can be shown on demand.
#include "patching/farjmp.h"

namespace corral {

const FarJmpStrategy naive_strategy{"naive", "nothing: other CPUs may run torn bytes", Coordination::None, false};
const Strategy* strategy_naive() { return &naive_strategy; }

}  // namespace corral
