// `stop-check`: the kpatch / Ksplice consistency model on top of the corral.
//
// A patch that changes several functions whose contract changes together
// must switch them all at once, and only when no thread is in the middle of
// any of them: a thread inside old `outer` that has not yet called `inner`
// would otherwise call new `inner` with an old-style argument.  So: park
// every CPU; scan every thread's saved EIP, every return address on its
// frame-pointer chain and every trap frame (function mode) for any old
// function of the patch; if one is found, release everyone, back off and
// retry (bounded, then a clean refusal naming the thread); else write every
// function's redirect in this one corral.  On revert, the "old" functions
// are the replacements.
//
// The redirect each function gets is whatever its layout allows: the
// hotpatch pair (padding jmp + eb f9), the fentry site's 5-byte jmp, or the
// seed's 7-byte far jmp.  With every CPU parked and no thread inside,
// any of them is safe to write in pieces.
#include "arch/x86/sections.h"
#include "kernel/symbols.h"
#include "patching/corral.h"
#include "patching/farjmp.h"
#include "patching/layout.h"
#include "patching/phase_clock.h"
#include "patching/scan.h"
#include "patching/strategy.h"
#include "patching/text_writer.h"

namespace corral {

const Strategy* strategy_hotpatch();
const Strategy* strategy_int3();

namespace {


struct StopCheckWork {
    Patch* const* batch;
    int count;
    Direction dir;
    Deferral deferral;
};

// The code a thread could still be running when the patch switches: the
// old function (its padding too, for a hotpatch jmp taken half-way) and,
// when the patch is stacked on another, that one's replacement -- what
// runs at the target now (patchtorture's contract pairs caught a thread
// inside v2 of `outer` meeting v3 of `inner` when this was missing); or,
// on revert, the replacement.  Returns how many ranges.
NOT_PATCHABLE int old_code(const Patch& p, Direction dir, CodeRange out[2]) {
    if (dir == Direction::Revert && p.replacement_size) {
        out[0] = CodeRange{p.replacement, p.replacement + p.replacement_size};
        return 1;
    }
    const bool hotpatch = p.edit_count == 2 && p.edits[1].atomic16;
    out[0] = CodeRange{p.target - (hotpatch ? HOTPATCH_PADDING_LENGTH : 0),
                       p.target + (p.target_size ? p.target_size : MAX_EDIT_BYTES)};
    if (dir == Direction::Revert || !p.superseded_size) return 1;
    out[1] = CodeRange{p.superseded, p.superseded + p.superseded_size};
    return 2;
}

NOT_PATCHABLE Result<void> stop_check_work(void* ctx, const CorralReport&) {
    auto& w = *static_cast<StopCheckWork*>(ctx);
    Deferral& d = w.deferral;
    const bool check = corral_bug() != CorralBug::StopCheckNoScan;   // a negative control skips it
    for (int i = 0; i < w.count && !d.deferred && check; i++) {
        CodeRange ranges[2];
        const int n = old_code(*w.batch[i], w.dir, ranges);
        for (int k = 0; k < n && !d.deferred; k++)
            d.deferred = scan_saved_contexts(ranges[k].start, ranges[k].end, ScanMode::Function, &d.hit);
        // The entry itself, on revert: a thread switched out right at it
        // would run the old bytes' tail.
        if (!d.deferred && w.dir == Direction::Revert)
            d.deferred = scan_saved_contexts(w.batch[i]->target, w.batch[i]->target + MAX_EDIT_BYTES,
                                             ScanMode::Function, &d.hit);
    }
    phase_clock_mark("scan");
    if (d.deferred) return Ok{};
    for (int i = 0; i < w.count; i++) {
        Patch& p = *w.batch[i];
        for (int k = 0; k < p.edit_count; k++)
            TRY_VOID(write_edit(p.edits[w.dir == Direction::Apply ? k : p.edit_count - 1 - k], w.dir));
    }
    phase_clock_mark("write");
    return Ok{};
}

class StopCheckStrategy final : public Strategy {
public:
    const char* name() const override { return "stop-check"; }
    const char* guarantees() const override {
        return "every function of the patch switches at once, and only when no thread is inside any of them";
    }
    Result<void> prepare(Patch& p) const override {
        const auto* entry = reinterpret_cast<const uint8_t*>(p.target);
        Result<void> planned = make_error("no plan");
        if (is_kernel_text(p.target, 2) && ((entry[0] == 0x8b && entry[1] == 0xff) || (entry[0] == 0xeb && entry[1] == 0xf9)))
            planned = strategy_hotpatch()->prepare(p);
        else if (is_kernel_text(p.target, 5) && (entry[0] == 0x0f || entry[0] == 0xe9) && strategy_int3()->prepare(p).is_ok())
            planned = Ok{};
        else
            planned = far_jmp_prepare(p);
        TRY_VOID(planned);
        p.replacement_size = symbol_size_at(p.replacement);
        return Ok{};
    }
    Result<void> write(Patch* const* b, int n, Direction d, const PatchHooks* h) const override {
        StopCheckWork w{b, n, d, {}};
        return corral_until_clear(b, n, h, stop_check_work, &w, &w.deferral);
    }
    bool is_safe() const override { return true; }
    bool consistent_across_functions() const override;
};
// Out of line, as Strategy's own (farjmp.h says why).
bool StopCheckStrategy::consistent_across_functions() const { return true; }

}  // namespace

const StopCheckStrategy stop_check_strategy;
const Strategy* strategy_stop_check() { return &stop_check_strategy; }

}  // namespace corral
