#include "patching/phase_clock.h"

#include "arch/x86/cpu.h"
#include "arch/x86/sections.h"

namespace corral {
namespace {

PhaseTimes record;
uint64_t last_mark;

// Not str_eq: the patcher does not call patchable code while it patches.
NOT_PATCHABLE bool same_name(const char* a, const char* b) {
    if (a == b) return true;
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

}  // namespace

uint64_t PhaseTimes::cycles_of(const char* phase) const {
    for (int i = 0; i < count; i++)
        if (same_name(name[i], phase)) return cycles[i];
    return 0;
}

uint64_t PhaseTimes::total() const {
    uint64_t sum = 0;
    for (int i = 0; i < count; i++) sum += cycles[i];
    return sum;
}

NOT_PATCHABLE void phase_clock_start() {
    record.count = 0;
    last_mark = arch::rdtsc();
}

NOT_PATCHABLE void phase_clock_mark(const char* phase) {
    const uint64_t now = arch::rdtsc();
    const uint64_t spent = now - last_mark;
    last_mark = now;
    for (int i = 0; i < record.count; i++)
        if (same_name(record.name[i], phase)) {
            record.cycles[i] += spent;
            return;
        }
    if (record.count == MAX_PHASES) return;
    record.name[record.count] = phase;
    record.cycles[record.count++] = spent;
}

PhaseTimes phase_clock_read() { return record; }

}  // namespace corral
