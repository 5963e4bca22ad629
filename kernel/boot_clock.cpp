#include "kernel/boot_clock.h"

#include "arch/x86/cpu.h"
#include "kernel/lib/string.h"

namespace corral {
namespace {

BootMark marks[MAX_BOOT_MARKS];
volatile int taken = 0;     // slots claimed
volatile int written = 0;   // slots complete (APs mark at once)

}  // namespace

void boot_mark(const char* what) {
    const uint64_t tsc = arch::rdtsc();
    const int i = __atomic_fetch_add(&taken, 1, __ATOMIC_ACQ_REL);
    if (i >= MAX_BOOT_MARKS) return;
    str_copy(marks[i].what, what, sizeof marks[i].what);
    marks[i].tsc = tsc;
    __atomic_add_fetch(&written, 1, __ATOMIC_ACQ_REL);
}

int boot_marks(BootMark* out, int max) {
    const int n = __atomic_load_n(&written, __ATOMIC_ACQUIRE);
    int count = 0;
    for (int i = 0; i < n && i < MAX_BOOT_MARKS && count < max; i++) out[count++] = marks[i];
    return count;
}

}  // namespace corral
