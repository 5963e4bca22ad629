// The patching strategies (docs/design.md §1), one file each, one interface.
//
// A Patch redirects one function (`target`) to another (`replacement`).
// prepare() plans the bytes (the edits) and checks the target's layout;
// apply()/revert() write them with the strategy's protocol.  The
// transaction layer (transaction.h) owns state, stacking and checksums.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"
#include "patching/scan.h"

namespace corral {

constexpr int MAX_EDIT_BYTES = 8;

// One contiguous run of bytes to change.
struct Edit {
    uintptr_t address;
    uint8_t length;
    bool atomic16;                       // one aligned 16-bit store (hotpatch entry)
    uint8_t old_bytes[MAX_EDIT_BYTES];   // captured when applied
    uint8_t new_bytes[MAX_EDIT_BYTES];
};

class Strategy;

// A 5-byte `jmp rel32` written at `at` that lands on `to` (e9, then the
// displacement from the end of the jmp).  Old bytes are captured at write time.
constexpr int JMP_REL32_LENGTH = 5;
Edit jmp_rel32_edit(uintptr_t at, uintptr_t to);

struct Patch {
    char name[32];
    uintptr_t target;
    size_t target_size;                  // the old function's length (for function-mode scans)
    uintptr_t replacement;
    size_t replacement_size;             // when known (stop-check scans it on revert)
    // What a thread runs at the target now, if not the original: the
    // replacement of the patch this one is stacked on (0: none).  stop-check
    // scans it too on apply.
    uintptr_t superseded;
    size_t superseded_size;
    const Strategy* strategy;
    Edit edits[2];                       // written in order on apply, reverse order on revert
    int edit_count;
    // Bookkeeping of the last apply/revert, for reports.
    int deferrals;
    ScanHit last_deferral;
};

// Hooks a scenario uses to act between the steps of a strategy (release a
// held thread once the strategy deferred, or between text_poke_bp steps).
struct PatchHooks {
    void* ctx;
    void (*on_deferred)(void* ctx, const Patch& patch, const ScanHit& where, int attempt);
    void (*on_step)(void* ctx, int step);   // int3: after step 1, 2, 3
    void (*on_written)(void* ctx);          // the new bytes are in place (called by the transaction layer)
};

enum class Direction { Apply, Revert };

class Strategy {
public:
    virtual const char* name() const = 0;
    virtual const char* guarantees() const = 0;
    // Plans p.edits (new bytes) for p.target -> p.replacement; checks layout.
    virtual Result<void> prepare(Patch& p) const = 0;
    // Writes (Apply: new bytes; Revert: old bytes) of every patch in batch.
    virtual Result<void> write(Patch* const* batch, int count, Direction dir, const PatchHooks* hooks) const = 0;
    // Whether a thread could be caught halfway (the seed's failures) -- for demos.
    virtual bool is_safe() const = 0;
    // The strategy, not the transaction layer, checks the site's bytes on
    // revert: they are not the planned new bytes while a transition is on
    // (klp's sites point at its redirect until every thread has switched).
    // (Out of line, in strategy.cpp: an inline one lands in a COMDAT section, see farjmp.h.)
    virtual bool checks_own_bytes() const;
    // Whether a multi-function patch switches consistently: no thread ever
    // runs an old function of the patch and a new one in one call chain
    // (stop-check, klp; docs/consistency.md).
    virtual bool consistent_across_functions() const;

protected:
    ~Strategy() = default;
};

const Strategy* find_strategy(const char* name);
const char* strategy_names();   // "naive corral corral-scan hotpatch int3"

// Linux's text_poke_bp on 5-byte sites (strategy_int3.cpp): cc, sync, the
// tail, sync, the first byte, sync.  Apply writes each edit's new bytes
// (capturing the old), Revert the old ones.
Result<void> text_poke_bp(Patch* const* batch, int count, Direction dir, const PatchHooks* hooks);
// CPUs its #BP handler sent on from a poked site's cc, since boot: in all,
// and while a text_poke_bp was under way (patchtorture's int3 race proof).
struct Int3Redirects {
    uint32_t total, mid_batch;
};
Int3Redirects int3_redirects();

// The size of the function that starts at `address` (0: none starts there).
size_t symbol_size_at(uintptr_t address);

// Shared checks for planners: the target must be kernel text, and not code
// the patcher runs while patching.
Result<void> check_patchable(const Patch& p, size_t length);

}  // namespace corral
