#include "patching/bench/targets.h"

#include "kernel/lib/format.h"
#include "kernel/sched/wait_queue.h"
#include "patching/layout.h"
#include "patching/transaction.h"

namespace corral::bench {
namespace {

inline uint32_t keep(uint32_t v) {   // the body is not folded away or merged with its twin
    asm volatile("" : "+r"(v));
    return v;
}

}  // namespace

#define BENCH_EACH_8(X, b) X(b##0) X(b##1) X(b##2) X(b##3) X(b##4) X(b##5) X(b##6) X(b##7)
#define BENCH_EACH(X) \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) BENCH_EACH_8(X, 1) BENCH_EACH_8(X, 2) BENCH_EACH_8(X, 3) BENCH_EACH_8(X, 4) \
        BENCH_EACH_8(X, 5) BENCH_EACH_8(X, 6) BENCH_EACH_8(X, 7)
// (1..7 followed by a digit: 10..17, 20..27, ..., 70..77 -- 64 names, not 0..63.)

#define DEFINE_TARGETS(i)                                                                                         \
    extern "C" HOTPATCHABLE uint32_t bench_hot_##i(uint32_t x) { return keep(x + i); }                         \
    extern "C" __attribute__((noipa)) uint32_t bench_hot_##i##_v2(uint32_t x) { return keep(x + i + 1000); }  \
    DECLARE_HOTPATCHABLE(bench_hot_##i);                                                                        \
    extern "C" __attribute__((noipa)) uint32_t bench_fentry_##i(uint32_t x) { return keep(x + i); }            \
    extern "C" __attribute__((noipa)) uint32_t bench_fentry_##i##_v2(uint32_t x) { return keep(x + i + 1000); }
BENCH_EACH(DEFINE_TARGETS)

extern "C" __attribute__((noipa)) uint32_t bench_far_target(uint32_t x) { return keep(x + 7); }
extern "C" __attribute__((noipa)) uint32_t bench_far_target_v2(uint32_t x) { return keep(x + 1007); }

// Sleeps inside itself until woken: with it in a klp patch, the patch's
// transition stays under way for as long as the benchmark needs.
Semaphore bench_nap_gate(0);
extern "C" __attribute__((noipa)) uint32_t bench_klp_nap(uint32_t x) {
    bench_nap_gate.down();
    return keep(x + 1);
}
extern "C" __attribute__((noipa)) uint32_t bench_klp_nap_v2(uint32_t x) { return keep(x + 2); }

extern "C" __attribute__((noipa, no_instrument_function)) uint32_t bench_call_plain(uint32_t x) { return keep(x * 3 + 1); }
extern "C" HOTPATCHABLE uint32_t bench_call_hot(uint32_t x) { return keep(x * 3 + 1); }
DECLARE_HOTPATCHABLE(bench_call_hot);
extern "C" __attribute__((noipa)) uint32_t bench_call_fentry(uint32_t x) { return keep(x * 3 + 1); }
extern "C" __attribute__((noipa, no_instrument_function)) uint32_t bench_call_replacement(uint32_t x) {
    return keep(x * 3 + 1);
}
// A short jmp and a near one, as a patched hotpatch site has, then the plain body.
asm(".text\n"
    ".globl bench_call_two_jumps\n"
    ".type bench_call_two_jumps, @function\n"
    "bench_call_two_jumps:\n"
    "    jmp 1f\n"
    "1:  jmp bench_call_plain\n"
    ".size bench_call_two_jumps, . - bench_call_two_jumps\n");

namespace {

#define NAME_OF(i) #i,
const char* const suffixes[TARGETS_PER_LAYOUT] = {BENCH_EACH(NAME_OF)};
#define HOT_V2(i) uintptr_t(&bench_hot_##i##_v2),
#define FENTRY_V2(i) uintptr_t(&bench_fentry_##i##_v2),
const uintptr_t hot_v2[TARGETS_PER_LAYOUT] = {BENCH_EACH(HOT_V2)};
const uintptr_t fentry_v2[TARGETS_PER_LAYOUT] = {BENCH_EACH(FENTRY_V2)};

PatchRecord* hot[TARGETS_PER_LAYOUT];
PatchRecord* fentry[TARGETS_PER_LAYOUT];
PatchRecord* far = nullptr;
PatchRecord* call_hot = nullptr;
PatchRecord* call_fentry = nullptr;
PatchSet* call_klp = nullptr;

Result<PatchRecord*> define(const char* prefix, const char* suffix, uintptr_t replacement, const char* strategy) {
    char name[32];
    format(name, sizeof name, "%s_%s", prefix, suffix);
    return patch_define(name, name, replacement, strategy);
}

}  // namespace

Result<void> targets_init() {
    for (int i = 0; i < TARGETS_PER_LAYOUT; i++) {
        hot[i] = TRY(define("bench_hot", suffixes[i], hot_v2[i], "hotpatch"));
        fentry[i] = TRY(define("bench_fentry", suffixes[i], fentry_v2[i], "int3"));
    }
    // The far jmp covers the NOP, push ebp and half of mov ebp,esp: nobody
    // calls this function while the benchmark has it patched.
    far = TRY(patch_define("bench_far", "bench_far_target", uintptr_t(&bench_far_target_v2), "corral-scan"));
    call_hot = TRY(patch_define("bench_call_hot", "bench_call_hot", uintptr_t(&bench_call_replacement), "hotpatch"));
    call_fentry = TRY(patch_define("bench_call_fentry", "bench_call_fentry", uintptr_t(&bench_call_replacement), "int3"));
    TRY(patch_define("bench_call_klp", "bench_call_fentry", uintptr_t(&bench_call_replacement), "klp"));
    TRY(patch_define("bench_klp_nap", "bench_klp_nap", uintptr_t(&bench_klp_nap_v2), "klp"));
    const char* const pair[] = {"bench_call_klp", "bench_klp_nap"};
    call_klp = TRY(patch_set_define("bench_call_klp_pair", pair, 2));
    return Ok{};
}

PatchRecord* hot_patch(int i) { return hot[i]; }
PatchRecord* fentry_patch(int i) { return fentry[i]; }
PatchRecord* far_patch() { return far; }
PatchRecord* call_hot_patch() { return call_hot; }
PatchRecord* call_fentry_patch() { return call_fentry; }
PatchSet* call_klp_pair() { return call_klp; }

}  // namespace corral::bench
