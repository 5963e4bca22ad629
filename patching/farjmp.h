// The seed's canonical patch, shared by `naive`, `corral` and
// `corral-scan`: a 7-byte far jmp (ea <abs32> <sel16>) written over the
// first instructions of the target.  They differ only in how they
// coordinate with the other CPUs before writing.
#pragma once
#include "patching/corral.h"
#include "patching/strategy.h"

namespace corral {

enum class Coordination {
    None,        // naive: just write
    ParkCheck,   // corral: park every CPU, check only where each parked CPU is
    ParkScan,    // corral-scan: park, then scan every saved context
};

constexpr int FAR_JMP_LENGTH = 7;
constexpr int MAX_DEFERRALS = 20;   // then a clean refusal
// patchtorture raises the limit for its run: its stepped preemption points
// keep some worker at +2 of some target a large part of the time (at -smp 8
// a batch of 16 found the way clear in about one corral of four), far
// denser than any real load, and 20 tries in a row then lose now and then.
// A give-up still fails the torture; it just needs to be a real one.
void far_jmp_set_max_deferrals(int max);   // MAX_DEFERRALS again with 0

Result<void> far_jmp_prepare(Patch& p);
uint64_t far_jmp_deferral_count();   // deferrals by corral / corral-scan / stop-check since boot (patchtorture)
uint64_t far_jmp_written_after_deferring_count();   // ... and patches they then wrote on a later try

// A corral whose work may find a thread in the way: the work sets
// `deferred` and `hit` and writes nothing; corral_until_clear() then
// releases every CPU, backs off, and tries again, up to MAX_DEFERRALS
// times (or what far_jmp_set_max_deferrals says), then refuses cleanly naming the thread and where it is.  The
// back-off grows as attempt^2 ms, at most 250 ms (2.5 s in all): a thread
// preempted in the way must get its CPU back to leave, and with 8 vCPUs
// taking turns on one host thread that took longer than the 210 ms a
// linear 1, 2, 3... ms gave (make stress, smp8 corral-scan gave up).
struct Deferral {
    bool deferred;
    ScanHit hit;
};
Result<void> corral_until_clear(Patch* const* batch, int count, const PatchHooks* hooks, CorralWork work, void* ctx,
                                Deferral* d);
Result<void> far_jmp_write(Patch* const* batch, int count, Direction dir, const PatchHooks* hooks,
                           Coordination how);

// Writes one edit's bytes for `dir` (capturing the old bytes on Apply).
Result<void> write_edit(Edit& e, Direction dir);

// The three far-jmp strategies are this class with different coordination.
// (Members are defined out of line in farjmp.cpp: inline ones would land in
// COMDAT sections, and ld rejects __mcount_loc entries that point into
// discarded COMDAT copies.)
class FarJmpStrategy final : public Strategy {
public:
    constexpr FarJmpStrategy(const char* name, const char* guarantees, Coordination how, bool safe)
        : name_(name), guarantees_(guarantees), how_(how), safe_(safe) {}
    const char* name() const override;
    const char* guarantees() const override;
    Result<void> prepare(Patch& p) const override;
    Result<void> write(Patch* const* b, int n, Direction d, const PatchHooks* h) const override;
    bool is_safe() const override;

private:
    const char* name_;
    const char* guarantees_;
    Coordination how_;
    bool safe_;
};

}  // namespace corral
