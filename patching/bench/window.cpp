// `window`: how long one patch keeps the other CPUs stopped (or, for int3,
// how long its three sync rounds take), phase by phase, with 16, 64 and 256
// sleeping threads for the scan to walk.  `batch`: K patches in one
// transaction against K transactions of one.
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "patching/bench/bench.h"
#include "patching/bench/targets.h"
#include "patching/corral.h"
#include "patching/klp/klp.h"
#include "patching/phase_clock.h"
#include "patching/strategy.h"
#include "patching/transaction.h"

namespace corral::bench {
namespace {

constexpr int DEFAULT_WINDOW_SAMPLES = 100;   // each an apply and a revert
constexpr int DEFAULT_BATCH_SAMPLES = 10;
constexpr int THREAD_COUNTS[] = {16, 64, 256};
constexpr int BATCH_SIZES[] = {1, 4, 16, 64};
constexpr uint64_t KLP_SETTLE_US = 20000000;

struct Case {
    const char* strategy;
    PatchRecord* (*patch)();
    const char* const* phases;
};
const char* const corral_phases[] = {"gather", "scan", "write", "release", "serialize", nullptr};
const char* const int3_phases[] = {"write", "sync1", "sync2", "sync3", nullptr};
PatchRecord* hot0() { return hot_patch(0); }
PatchRecord* fentry0() { return fentry_patch(0); }
PatchRecord* hot1() { return hot_patch(1); }
PatchRecord* fentry1() { return fentry_patch(1); }
const Case cases[] = {
    {"corral", far_patch, corral_phases},
    {"corral-scan", far_patch, corral_phases},
    {"hotpatch", hot0, corral_phases},
    {"int3", fentry0, int3_phases},
    {"stop-check", hot1, corral_phases},
    {"klp", fentry1, int3_phases},   // the redirect to the stubs; the transition stops nobody
};

// klp returns before its transition ends, and the transition thread's own
// text_poke_bp writes a new phase record: read the redirect's, and let the
// transition finish before the next write.
PhaseTimes written(const Case& c) {
    if (!str_eq(c.strategy, "klp")) return phase_clock_read();
    const PhaseTimes t = klp::redirect_phases();
    klp::wait_idle(KLP_SETTLE_US);
    return t;
}

Result<void> no_work(void*, const CorralReport&) { return Ok{}; }

// Every phase's samples, the total's, and a bare corral's next to them.
struct WindowSamples {
    int n = 0, capacity;
    uint64_t* total;
    uint64_t* corral;
    uint64_t* phase[MAX_PHASES];
    explicit WindowSamples(int cap) : capacity(cap), total(new uint64_t[cap]), corral(new uint64_t[cap]) {
        for (auto& p : phase) p = new uint64_t[cap];
    }
    ~WindowSamples() {
        delete[] total;
        delete[] corral;
        for (auto& p : phase) delete[] p;
    }
    WindowSamples(const WindowSamples&) = delete;
    WindowSamples& operator=(const WindowSamples&) = delete;
    void add(const Case& c, const PhaseTimes& t, uint64_t bare_corral) {
        total[n] = t.total();
        corral[n] = bare_corral;
        for (int i = 0; c.phases[i]; i++) phase[i][n] = t.cycles_of(c.phases[i]);
        n++;
    }
};

uint64_t bare_corral() {
    const uint64_t start = cycles_now();
    if (corral_all_cpus(no_work, nullptr).is_error()) return 0;
    return cycles_now() - start;
}

Result<void> window_case(const Case& c, int threads, int samples) {
    const Strategy* s = find_strategy(c.strategy);
    WindowSamples w(2 * samples);
    for (int i = 0; i < samples; i++) {
        TRY_VOID(patch_apply(c.patch(), s));
        const PhaseTimes applied = written(c);   // before the bare corral starts a new record
        w.add(c, applied, bare_corral());
        TRY_VOID(patch_revert(c.patch()));
        const PhaseTimes reverted = written(c);
        w.add(c, reverted, bare_corral());
    }
    const Stats total = stats_of(w.total, w.n);
    const Stats corral = stats_of(w.corral, w.n);
    char phases[256] = "{";
    size_t len = 1;
    uint64_t scan_median = 0;
    for (int i = 0; c.phases[i]; i++) {
        const uint64_t median = stats_of(w.phase[i], w.n).median;
        if (str_eq(c.phases[i], "scan")) scan_median = median;
        char us[24];
        format_fixed3(us, sizeof us, cycles_to_ns(median));
        len += size_t(format(phases + len, sizeof phases - len, "%s\"%s\":%s", i ? "," : "", c.phases[i], us));
    }
    format(phases + len, sizeof phases - len, "}");
    Line l("window", c.strategy);
    l.stats_us(total);
    l.add_int("threads", threads);
    l.add_raw("phases", phases);
    l.add_us("corral_median", corral.median);
    if (str_eq(c.strategy, "hotpatch") && threads == 16)
        l.goal("hotpatch window <= 1.5 x corral", total.median * 2 <= corral.median * 3);
    if (str_eq(c.strategy, "corral-scan") && threads == 256)
        l.goal("scan of 256 sleeping threads <= 1 corral", scan_median <= corral.median);
    l.finish();
    return Ok{};
}

}  // namespace

Result<void> bench_window(const Options& o) {
    const int samples = o.pick(DEFAULT_WINDOW_SAMPLES);
    int running = 0;
    for (int threads : THREAD_COUNTS) {
        TRY_VOID(sleepers_start(threads - running));   // the sleepers add up: 16, then 48 more, ...
        running = threads;
        for (const Case& c : cases) {
            Result<void> r = window_case(c, threads, samples);
            if (r.is_error()) {
                sleepers_stop();
                return r;
            }
        }
    }
    sleepers_stop();
    return clean_padding("window");
}

namespace {

struct BatchCase {
    const char* strategy;
    PatchRecord* (*patch)(int i);
};

Result<void> batch_case(const BatchCase& c, int k, bool one, int samples) {
    PatchRecord* list[TARGETS_PER_LAYOUT];
    for (int i = 0; i < k; i++) list[i] = c.patch(i);
    uint64_t* v = new uint64_t[samples];
    // The most corrals and sync rounds one sample took, and whether every
    // sample took the same: the goals hold for every apply, not the last.
    uint64_t corrals = 0, syncs = 0;
    bool same_each_time = true;
    Result<void> r = Ok{};
    for (int s = 0; s < samples && r.is_ok(); s++) {
        const uint64_t corrals0 = corral_count(), syncs0 = sync_count();
        const uint64_t start = cycles_now();
        if (one) r = patch_apply_batch(list, k, find_strategy(c.strategy));
        else
            for (int i = 0; i < k && r.is_ok(); i++) r = patch_apply(list[i]);
        v[s] = (cycles_now() - start) / uint64_t(k);
        const uint64_t sample_corrals = corral_count() - corrals0, sample_syncs = sync_count() - syncs0;
        if (s > 0 && (sample_corrals != corrals || sample_syncs != syncs)) same_each_time = false;
        corrals = sample_corrals > corrals ? sample_corrals : corrals;
        syncs = sample_syncs > syncs ? sample_syncs : syncs;
        if (r.is_ok()) r = patch_revert_batch(list, k);
    }
    if (r.is_error()) {
        delete[] v;
        return r;
    }
    const Stats st = stats_of(v, samples);
    delete[] v;
    Line l("batch", c.strategy);
    l.stats_us(st);
    l.add_int("k", k);
    l.add_str("mode", one ? "one" : "separate");
    l.add_int("corrals", int64_t(corrals));
    l.add_int("syncs", int64_t(syncs));
    l.add_us("per_patch", st.median);
    if (one && str_eq(c.strategy, "hotpatch")) l.goal("one corral whatever K", same_each_time && corrals == 1);
    if (one && str_eq(c.strategy, "int3")) l.goal("three sync rounds whatever K", same_each_time && syncs == 3);
    l.finish();
    return Ok{};
}

}  // namespace

Result<void> bench_batch(const Options& o) {
    const int samples = o.pick(DEFAULT_BATCH_SAMPLES);
    const BatchCase cases[] = {{"hotpatch", hot_patch}, {"int3", fentry_patch}};
    for (const BatchCase& c : cases)
        for (int k : BATCH_SIZES)
            for (int one = 1; one >= 0; one--) TRY_VOID(batch_case(c, k, one, samples));
    return clean_padding("batch");
}

}  // namespace corral::bench
