// `hotpatch`: the seed's Windows layout.  A `jmp rel32` (e9) is written
// into the padding before the function, where nobody executes, and then
// the 2-byte `mov edi,edi` (8b ff) at the entry becomes `jmp short -7`
// (eb f9) with ONE aligned 16-bit store, under the corral.  Old and new
// instruction boundaries match, so a CPU executes either the mov or the
// short jmp, never a mix: a thread parked anywhere in the function is safe.
#include "patching/corral.h"
#include "patching/farjmp.h"
#include "patching/layout.h"
#include "patching/phase_clock.h"

namespace corral {
namespace {


struct HotpatchWork {
    Patch* const* batch;
    int count;
    Direction dir;
};

Result<void> hotpatch_work(void* ctx, const CorralReport&) {
    auto& w = *static_cast<HotpatchWork*>(ctx);
    for (int i = 0; i < w.count; i++) {
        Patch& p = *w.batch[i];
        // lab hotpatch: begin hotpatch-write
        // Apply: padding first, then the entry.  Revert: only the entry
        // goes back to mov edi,edi.  The jmp in the padding stays: a thread
        // that already took the short jmp may be parked (or preempted) right
        // at it, and must still find a whole jmp there, never int3 padding.
        // Once the entry is restored nothing new can reach it.  When this
        // patch was stacked on another, the old padding is that patch's jmp,
        // which is just as whole, so it is put back.
        if (w.dir == Direction::Apply) {
            TRY_VOID(write_edit(p.edits[0], w.dir));
            TRY_VOID(write_edit(p.edits[1], w.dir));
        } else {
            TRY_VOID(write_edit(p.edits[1], w.dir));
            if (p.edits[0].old_bytes[0] == 0xe9) TRY_VOID(write_edit(p.edits[0], w.dir));
        }
        // lab hotpatch: end hotpatch-write
    }
    phase_clock_mark("write");
    return Ok{};
}

bool is_padding(const uint8_t* p) {
    for (int i = 0; i < HOTPATCH_PADDING_LENGTH; i++)
        if (p[i] != 0xcc) return false;
    return true;
}

class HotpatchStrategy final : public Strategy {
public:
    const char* name() const override { return "hotpatch"; }
    const char* guarantees() const override {
        return "boundaries match: every CPU runs either mov edi,edi or the short jmp";
    }
    Result<void> prepare(Patch& p) const override {
        TRY_VOID(check_patchable(p, 2));
        auto* entry = reinterpret_cast<const uint8_t*>(p.target);
        // The untouched layout (or one whose padding keeps the inert jmp of
        // a reverted patch), or one an earlier hotpatch changed.
        bool fresh = entry[0] == 0x8b && entry[1] == 0xff && (is_padding(entry - HOTPATCH_PADDING_LENGTH) || entry[-HOTPATCH_PADDING_LENGTH] == 0xe9);
        bool stacked = entry[0] == 0xeb && entry[1] == 0xf9 && entry[-HOTPATCH_PADDING_LENGTH] == 0xe9;
        if (!fresh && !stacked)
            return make_error("%s has no hotpatch layout (entry %02x %02x, want 8b ff after 5 bytes of cc)", p.name,
                              entry[0], entry[1]);
        // lab hotpatch: begin hotpatch-plan
        if (p.target & 1) return make_error("%s: entry %#zx is not 2-byte aligned", p.name, p.target);
        static_assert(HOTPATCH_PADDING_LENGTH == JMP_REL32_LENGTH, "the padding holds exactly the jmp; it ends at the entry");
        p.edits[0] = jmp_rel32_edit(p.target - HOTPATCH_PADDING_LENGTH, p.replacement);
        p.edits[1] = Edit{p.target, 2, true, {}, {0xeb, 0xf9}};
        p.edit_count = 2;
        return Ok{};
        // lab hotpatch: end hotpatch-plan
    }
    Result<void> write(Patch* const* b, int n, Direction d, const PatchHooks*) const override {
        HotpatchWork w{b, n, d};
        return corral_all_cpus(hotpatch_work, &w);
    }
    bool is_safe() const override { return true; }
};

}  // namespace

const HotpatchStrategy hotpatch_strategy;
const Strategy* strategy_hotpatch() { return &hotpatch_strategy; }

}  // namespace corral
