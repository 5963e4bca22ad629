// Transactions over patches: named patches with state, apply/revert,
// stacking (a later patch on the same function replaces the earlier one;
// reverting it brings the earlier one back), batches of patches written in
// one corral or one set of int3 sync rounds, and checksums so a revert
// refuses when the text changed underneath.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"
#include "patching/strategy.h"

namespace corral {

enum class PatchState { Defined, Applied, Reverted };
const char* patch_state_name(PatchState s);

struct PatchRecord {
    char name[32];
    uintptr_t target;
    size_t target_size;
    char target_name[48];
    uintptr_t replacement;
    const Strategy* default_strategy;
    PatchState state;
    Patch applied;              // strategy, edits and old bytes of the current application
    uint32_t old_checksum;      // of the saved old bytes
    uint32_t new_checksum;      // of what was written
    PatchRecord* stacked_on;    // the patch this one replaced on the same target
    uint64_t applied_seq;       // order of application (for stacking)
    PatchRecord* next;
};

// Defines a patch of function `target_symbol` by `replacement`.
Result<PatchRecord*> patch_define(const char* name, const char* target_symbol, uintptr_t replacement,
                                  const char* default_strategy);
// The same for a function already looked up (a patch module's target).
struct Symbol;
Result<PatchRecord*> patch_define_at(const char* name, const Symbol& target, uintptr_t replacement,
                                     const char* default_strategy);
// Forgets a patch that is not applied and belongs to no set (unloading a module).
Result<void> patch_undefine(PatchRecord* r);
PatchRecord* patch_find(const char* name);
// The patch on top of `target` (the newest applied there), or null.
PatchRecord* patch_applied_on(uintptr_t target);
void patch_for_each(void (*fn)(PatchRecord* p, void* ctx), void* ctx);

// `strategy` null: the patch's default.
Result<void> patch_apply(PatchRecord* p, const Strategy* strategy = nullptr, const PatchHooks* hooks = nullptr);
Result<void> patch_revert(PatchRecord* p, const PatchHooks* hooks = nullptr);
// All `count` patches with one strategy in one write (one corral, or one set
// of int3 sync rounds); a batch revert takes each function once.
Result<void> patch_apply_batch(PatchRecord* const* list, int count, const Strategy* strategy);
Result<void> patch_revert_batch(PatchRecord* const* list, int count);

// A multi-function patch: its members (ordinary patches, one function
// each) are applied and reverted together, always as one batch -- one
// corral, or one set of int3 sync rounds.  Whether the functions switch
// *consistently* depends on the strategy: stop-check switches them all at
// once and only when no thread is inside any of them; hotpatch and int3
// switch each at its entry, so a thread inside old `outer` can still call
// new `inner` (docs/consistency.md).
constexpr int MAX_SET_MEMBERS = 8;
struct PatchSet {
    char name[32];
    PatchRecord* members[MAX_SET_MEMBERS];
    int count;
    PatchSet* next;
};
Result<PatchSet*> patch_set_define(const char* name, const char* const* member_names, int count);
PatchSet* patch_set_find(const char* name);
void patch_set_undefine(PatchSet* set);   // the set only; its members stay defined
void patch_set_for_each(void (*fn)(PatchSet* s, void* ctx), void* ctx);
// Applied when every member is; a set is applied and reverted only whole.
bool patch_set_applied(const PatchSet* s);
Result<void> patch_set_apply(PatchSet* s, const Strategy* strategy = nullptr, const PatchHooks* hooks = nullptr);
Result<void> patch_set_revert(PatchSet* s, const PatchHooks* hooks = nullptr);

// Puts back the int3 padding before every hotpatch-layout function whose
// entry is its own `mov edi, edi` again: a hotpatch revert leaves its jmp in
// the padding on purpose, because a thread may have taken the short jmp and
// not yet the long one.  Which strategy wrote the entry since does not
// matter; the text and the writer's journal say what is left.  Inside a
// corral, the scan first checks that no saved context is in the padding;
// if one is, nothing is written and the error names the thread.  Returns
// how many functions were cleaned; with `explain`, prints a line for each
// padding it leaves and why.
Result<int> patch_cleanup_padding(bool explain = false);

void transactions_init();   // the built-in demo patches

}  // namespace corral
