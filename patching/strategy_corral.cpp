// `corral`: park every other CPU by IPI, check that none of them was
// executing inside the bytes, write, release -- the seed's second attempt.
// It forgets threads that are not running: one preempted (or interrupted)
// inside the bytes resumes in the middle of the new jmp (failure 2).
#include "patching/farjmp.h"

namespace corral {

const FarJmpStrategy corral_strategy{"corral", "no running CPU inside the bytes; saved contexts are NOT checked", Coordination::ParkCheck, false};
const Strategy* strategy_corral() { return &corral_strategy; }

}  // namespace corral
