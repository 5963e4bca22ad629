// The stop window of the last patch write, phase by phase (`bench window`).
//
// The corral marks gather, release and serialize; the strategies mark what
// they do while the other CPUs are parked (scan, write), and int3 marks its
// sync rounds.  Only one corral or text_poke_bp runs at a time (the corral
// lock, the poke mutex), so one record serves; a bench reads it right after
// the write it asked for.  A mark costs one RDTSC.
#pragma once
#include <stdint.h>

namespace corral {

constexpr int MAX_PHASES = 8;

struct PhaseTimes {
    int count;
    const char* name[MAX_PHASES];
    uint64_t cycles[MAX_PHASES];   // a phase marked twice adds up (a deferred corral-scan retry)
    uint64_t cycles_of(const char* phase) const;
    uint64_t total() const;
};

void phase_clock_start();                // forgets the last record; its first phase starts now
void phase_clock_mark(const char* phase);   // the time since the last mark belongs to `phase`
PhaseTimes phase_clock_read();

}  // namespace corral
