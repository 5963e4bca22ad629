#include "arch/x86/safe_access.h"

#include "arch/x86/sections.h"
#include "arch/x86/trap.h"

extern "C" const uint32_t exception_fixups_start[], exception_fixups_end[];

namespace corral::arch {

NOT_PATCHABLE bool apply_exception_fixup(TrapFrame* frame) {
    for (const uint32_t* f = exception_fixups_start; f < exception_fixups_end; f += 2) {
        if (frame->eip == f[0]) {
            frame->eip = f[1];
            return true;
        }
    }
    return false;
}

}  // namespace corral::arch
