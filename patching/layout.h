// Patch-site layouts (docs/design.md §2).  Two layouts, both made by GCC:
//
//  * hotpatch layout: HOTPATCHABLE functions get >= 5 bytes of int3 padding
//    before a 16-byte-aligned entry that starts with the 2-byte `mov edi,edi`
//    (8b ff).  DECLARE_HOTPATCHABLE(fn) records fn in .hotpatch_sites so the
//    post-link verifier (scripts/host/verify_layout.cpp) can check the layout
//    and the patcher can find it.  `noipa` keeps GCC from inlining or cloning
//    it, which would let callers bypass the patch.  `no_instrument_function`
//    is there because GCC refuses ms_hook_prologue together with -mfentry.
//
//  * fentry layout: every other function is compiled with -pg -mfentry
//    -mnop-mcount -mrecord-mcount and starts with one 5-byte NOP
//    (0f 1f 44 00 00); __mcount_loc lists every such site.
//
// NOT_PATCHABLE marks code the patcher runs while patching (trap entry, the
// #BP/#DB/IPI handlers, corral, scan, text writer, the switch path): it goes
// to its own text range, gets no fentry NOP, and the planner refuses it.
#pragma once
#include <stdint.h>

#include "arch/x86/sections.h"   // NOT_PATCHABLE

namespace corral {

struct HotpatchSite {
    const char* name;
    const void* entry;
};

// The hotpatch layout's site: the padding's 5 bytes before the entry (a
// jmp rel32 goes there) and the entry's 2 (mov edi,edi, then eb f9).
constexpr int HOTPATCH_PADDING_LENGTH = 5;
constexpr int HOTPATCH_ENTRY_LENGTH = 2;

// The fentry layout's site: one 5-byte NOP at the entry.
constexpr int FENTRY_SITE_LENGTH = 5;
constexpr uint8_t FENTRY_NOP[FENTRY_SITE_LENGTH] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
inline bool is_fentry_nop(const uint8_t* site) {
    for (int i = 0; i < FENTRY_SITE_LENGTH; i++)
        if (site[i] != FENTRY_NOP[i]) return false;
    return true;
}

}  // namespace corral

#define HOTPATCHABLE __attribute__((ms_hook_prologue, noipa, no_instrument_function, aligned(16)))
#define DECLARE_HOTPATCHABLE(fn)                                                         \
    [[gnu::used, gnu::section(".hotpatch_sites")]] static const ::corral::HotpatchSite \
        hotpatch_site_##fn{#fn, (const void*)&fn}
