// `call`: what a caller pays for patchability, in cycles per call.  Every
// function has the same body; they differ only in their entry: none (plain),
// mov edi,edi after padding (hotpatch), a 5-byte NOP (fentry); then the same
// sites patched, and an int3 site caught halfway through text_poke_bp, when
// every call goes through the #BP handler.  Calls go through a volatile
// function pointer, so each case pays the same indirect call.
#include "kernel/lib/result.h"
#include "patching/bench/bench.h"
#include "kernel/sched/thread.h"
#include "kernel/sched/wait_queue.h"
#include "patching/bench/targets.h"
#include "patching/klp/klp.h"
#include "patching/strategy.h"
#include "patching/transaction.h"

namespace corral::bench {
namespace {

constexpr int DEFAULT_SAMPLES = 1000;
constexpr int CALLS_PER_SAMPLE = 64;
constexpr uint64_t KLP_SETTLE_US = 20000000;

uint64_t time_calls(CallFn fn) {
    CallFn volatile f = fn;
    uint32_t acc = 0;
    const uint64_t start = cycles_now();
    for (int i = 0; i < CALLS_PER_SAMPLE; i++) acc += f(uint32_t(i));
    const uint64_t spent = cycles_now() - start;
    asm volatile("" ::"r"(acc));
    return spent / CALLS_PER_SAMPLE;
}

Result<Stats> call_stats(CallFn fn, int samples) {
    uint64_t* v = new uint64_t[samples];
    if (!v) return make_error("bench: no memory for %d samples", samples);
    for (int i = -warmup(samples); i < samples; i++) {
        const uint64_t c = time_calls(fn);
        if (i >= 0) v[i] = c;
    }
    const Stats s = stats_of(v, samples);
    delete[] v;
    return s;
}

struct Measured {
    Stats plain, two_jumps;
};

void print(const char* kase, const Stats& s, const Measured& m, const char* goal = nullptr, bool met = false) {
    Line l("call", kase);
    l.stats_cycles(s);
    l.add_ratio("ratio_to_plain", s.median, m.plain.median);
    if (goal) l.goal(goal, met);
    l.finish();
}

// The live-#BP case runs from inside text_poke_bp, between its first sync
// and its second: the site starts with cc on every CPU.
struct LiveBp {
    int samples;
    Result<Stats> stats = make_error("bench call: text_poke_bp never reached its first step");
};
void measure_live_bp(void* ctx, int step) {
    auto& live = *static_cast<LiveBp*>(ctx);
    if (step == 1) live.stats = call_stats(bench_call_fentry, live.samples);
}

void nap(void*) { bench_klp_nap(1); }

// klp: during a transition (a thread naps inside the patch's other
// function, so it cannot end) every call goes through the stub and
// klp_choose(); after it, the site is a plain jmp.
Result<void> klp_cases(int samples, const Measured& m) {
    Thread* napper = thread_create("bench-nap", nap, nullptr);
    while (napper->state != ThreadState::Blocked || napper->on_cpu) thread_sleep_ms(2);
    Result<void> r = patch_set_apply(call_klp_pair(), find_strategy("klp"));
    Result<Stats> during = r.is_ok() ? call_stats(bench_call_fentry, samples) : r.error_value();
    const bool still_on = klp::progress().active;
    bench_nap_gate.up();
    thread_join(napper);
    Result<Stats> after = make_error("bench call: the klp transition did not finish");
    if (r.is_ok() && klp::wait_idle(KLP_SETTLE_US)) after = call_stats(bench_call_fentry, samples);
    if (r.is_ok()) TRY_VOID(patch_set_revert(call_klp_pair()));
    klp::wait_idle(KLP_SETTLE_US);
    TRY_VOID(r);
    if (!still_on) return make_error("bench call: the klp transition ended while a thread napped inside it");
    print("fentry-klp-transition", TRY(during), m);
    print("fentry-klp", TRY(after), m);
    return Ok{};
}

}  // namespace

Result<void> bench_call(const Options& o) {
    const int samples = o.pick(DEFAULT_SAMPLES);
    Measured m{TRY(call_stats(bench_call_plain, samples)), TRY(call_stats(bench_call_two_jumps, samples))};
    print("plain", m.plain, m);
    print("plain-2jmp", m.two_jumps, m);
    const Stats hot = TRY(call_stats(bench_call_hot, samples));
    print("hotpatch", hot, m, "hotpatch/plain <= 1.02", hot.median * 100 <= m.plain.median * 102);

    TRY_VOID(patch_apply(call_hot_patch()));
    Result<Stats> patched = call_stats(bench_call_hot, samples);
    TRY_VOID(patch_revert(call_hot_patch()));
    print("hotpatch-patched", TRY(patched), m, "hotpatch-patched <= plain + two jumps",
          patched.value().median * 100 <= m.two_jumps.median * 102);

    print("fentry", TRY(call_stats(bench_call_fentry, samples)), m);
    TRY_VOID(patch_apply(call_fentry_patch()));
    patched = call_stats(bench_call_fentry, samples);
    TRY_VOID(patch_revert(call_fentry_patch()));
    print("fentry-int3", TRY(patched), m);

    // A trap per call: a tenth of the samples says enough.
    LiveBp live{samples / 10 > 0 ? samples / 10 : 1};
    const PatchHooks hooks{&live, nullptr, measure_live_bp, nullptr};
    TRY_VOID(patch_apply(call_fentry_patch(), nullptr, &hooks));
    TRY_VOID(patch_revert(call_fentry_patch()));
    print("fentry-live-bp", TRY(live.stats), m);
    TRY_VOID(klp_cases(samples, m));
    return clean_padding("call");
}

}  // namespace corral::bench
