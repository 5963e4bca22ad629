#include "patching/torture/targets.h"

#include "kernel/cpu.h"
#include "kernel/lib/format.h"
#include "kernel/sched/thread.h"
#include "kernel/sync/spinlock.h"
#include "patching/farjmp.h"
#include "patching/layout.h"

namespace corral::torture {

extern "C" uint32_t torture_body(CallCtx* c, uint32_t sig);

namespace {

// Keeps the call to torture_body a real call (not a tail jump), so a thread
// inside a body has the target's own frame, and return address, on its
// stack, as a thread inside any real function would.
inline uint32_t keep(uint32_t v) {
    asm volatile("" : "+r"(v));
    return v;
}

Spinlock section_lock("torture");
volatile uint64_t section_count = 0;
volatile uint32_t write_generation[TARGETS];
constexpr uint32_t OUTER_SLEEP_EVERY = 256;   // of a context's calls of sleeping targets

}  // namespace

#define TORTURE_EACH(X)                                                                                     \
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) \
        X(19) X(20) X(21) X(22) X(23) X(24) X(25) X(26) X(27) X(28) X(29) X(30) X(31) X(32) X(33) X(34)     \
            X(35) X(36) X(37) X(38) X(39) X(40) X(41) X(42) X(43) X(44) X(45) X(46) X(47)

// The far family is in far_targets.asm.
#define DECLARE_FAR(i) extern "C" uint32_t torture_far_##i(CallCtx*);
TORTURE_EACH(DECLARE_FAR)

#define DEFINE_HOT(i)                                                                                          \
    extern "C" HOTPATCHABLE uint32_t torture_hot_##i(CallCtx* c) {                                           \
        return keep(torture_body(c, signature(HOT * PER_FAMILY + i, 1)));                                    \
    }                                                                                                          \
    extern "C" __attribute__((noipa)) uint32_t torture_hot_##i##_v2(CallCtx* c) {                            \
        return keep(torture_body(c, signature(HOT * PER_FAMILY + i, 2)));                                    \
    }                                                                                                          \
    extern "C" __attribute__((noipa)) uint32_t torture_hot_##i##_v3(CallCtx* c) {                            \
        return keep(torture_body(c, signature(HOT * PER_FAMILY + i, 3)));                                    \
    }                                                                                                          \
    DECLARE_HOTPATCHABLE(torture_hot_##i);
TORTURE_EACH(DEFINE_HOT)

#define DEFINE_FENTRY(i)                                                                                       \
    extern "C" __attribute__((noipa)) uint32_t torture_fentry_##i(CallCtx* c) {                              \
        return keep(torture_body(c, signature(FENTRY * PER_FAMILY + i, 1)));                                 \
    }                                                                                                          \
    extern "C" __attribute__((noipa)) uint32_t torture_fentry_##i##_v2(CallCtx* c) {                         \
        return keep(torture_body(c, signature(FENTRY * PER_FAMILY + i, 2)));                                 \
    }                                                                                                          \
    extern "C" __attribute__((noipa)) uint32_t torture_fentry_##i##_v3(CallCtx* c) {                         \
        return keep(torture_body(c, signature(FENTRY * PER_FAMILY + i, 3)));                                 \
    }
TORTURE_EACH(DEFINE_FENTRY)

namespace {

#define FN_FAR(i) torture_far_##i,
#define FN_HOT(i) torture_hot_##i,
#define FN_FENTRY(i) torture_fentry_##i,
#define V2_HOT(i) uintptr_t(&torture_hot_##i##_v2),
#define V3_HOT(i) uintptr_t(&torture_hot_##i##_v3),
#define V2_FENTRY(i) uintptr_t(&torture_fentry_##i##_v2),
#define V3_FENTRY(i) uintptr_t(&torture_fentry_##i##_v3),
constexpr TargetFn far_fns[PER_FAMILY] = {TORTURE_EACH(FN_FAR)};
constexpr TargetFn hot_fns[PER_FAMILY] = {TORTURE_EACH(FN_HOT)};
constexpr TargetFn fentry_fns[PER_FAMILY] = {TORTURE_EACH(FN_FENTRY)};
const uintptr_t hot_v2[PER_FAMILY] = {TORTURE_EACH(V2_HOT)};
const uintptr_t hot_v3[PER_FAMILY] = {TORTURE_EACH(V3_HOT)};
const uintptr_t fentry_v2[PER_FAMILY] = {TORTURE_EACH(V2_FENTRY)};
const uintptr_t fentry_v3[PER_FAMILY] = {TORTURE_EACH(V3_FENTRY)};

// far_targets.asm's landing layout: target i lands at 0x00RR_L1L0 with
// RR = 0x3f - i / 16, L1 = fe + (i / 8) % 2, L0 = 0x10 + 12 * (i % 8)
// (+6 for v3).
uintptr_t far_landing(int i, int version) {
    const uint32_t region = 0x3f - uint32_t(i / 16);
    const uint32_t l1 = 0xfe + uint32_t(i / 8) % 2;
    const uint32_t l0 = 0x10 + 12 * uint32_t(i % 8) + (version == 3 ? 6 : 0);
    return region << 16 | l1 << 8 | l0;
}

Target table[TARGETS];

}  // namespace

const char* family_name(int family) {
    switch (family) {
        case FAR: return "far";
        case HOT: return "hot";
        case FENTRY: return "fentry";
    }
    return "?";
}

Behavior behavior_of(int target) {
    switch (target % PER_FAMILY) {
        case 0: return Behavior::Timer;
        case 1: return Behavior::Sleeps;
        case 2: return Behavior::Recursive;
        case 3: return Behavior::Spinlock;
        case 4:
        case 5: return Behavior::Mutual;
        case 6:
        case 8: return Behavior::Outer;
        case 7:
        case 9: return Behavior::Inner;
        default: return Behavior::Plain;
    }
}

int contract_inner(int target) { return behavior_of(target) == Behavior::Outer ? target + 1 : -1; }

void targets_init() {
    for (int i = 0; i < PER_FAMILY; i++) {
        table[FAR * PER_FAMILY + i] = Target{{}, FAR, far_fns[i], far_landing(i, 2), far_landing(i, 3)};
        table[HOT * PER_FAMILY + i] = Target{{}, HOT, hot_fns[i], hot_v2[i], hot_v3[i]};
        table[FENTRY * PER_FAMILY + i] = Target{{}, FENTRY, fentry_fns[i], fentry_v2[i], fentry_v3[i]};
        for (int f = 0; f < FAMILIES; f++) {
            Target& t = table[f * PER_FAMILY + i];
            format(t.symbol, sizeof t.symbol, "torture_%s_%d", family_name(f), i);
        }
    }
}

const Target& target(int id) { return table[id]; }

NOT_PATCHABLE void note_text_write(uintptr_t address, size_t len) {
    for (int id = 0; id < TARGETS; id++) {
        const uintptr_t entry = uintptr_t(table[id].fn);
        const int family = id / PER_FAMILY;
        const uintptr_t start = family == HOT ? entry - HOTPATCH_PADDING_LENGTH : entry;
        const uintptr_t end = entry + (family == FAR ? FAR_JMP_LENGTH : family == HOT ? HOTPATCH_ENTRY_LENGTH : FENTRY_SITE_LENGTH);
        if (address < end && address + len > start) __atomic_add_fetch(&write_generation[id], 1, __ATOMIC_SEQ_CST);
    }
}

uint64_t spinlock_section_count() { return section_count; }

namespace {

// Sets TF with popf right before the call: the first trap comes after the
// call, at the target's entry (SDM vol. 3, 17.3.1.4: TF set by popf takes
// effect after the next instruction).
uint32_t stepped(TargetFn fn, CallCtx* c) {
    uint32_t r;
    asm volatile(
        "pushl %[c]\n\t"
        "pushfl\n\t"
        "orl $0x100, (%%esp)\n\t"
        "popfl\n\t"
        "call *%[fn]\n\t"
        "addl $4, %%esp"
        : "=a"(r)
        : [fn] "r"(fn), [c] "r"(c)
        : "ecx", "edx", "memory", "cc");
    return r;
}

int check_result(CallCtx* c, int id, uint32_t r) {
    const int version = int(r >> 16 & 0xff);
    if (version < 1 || version > 3 || r != signature(id, version)) {
        c->bad++;
        c->bad_signature = r;
        c->bad_target = id;
        return 0;
    }
    c->seen[id][version]++;
    return version;
}

uint32_t generation(int id) { return __atomic_load_n(&write_generation[id], __ATOMIC_SEQ_CST); }

int counted_call(CallCtx* c, int id, bool step) {
    c->made[id]++;
    const uint32_t before = generation(id);
    const uint32_t r = step ? stepped(table[id].fn, c) : table[id].fn(c);
    const int family = id / PER_FAMILY;
    if (generation(id) != before || before & 1) c->write_straddles[family]++;
    const int version = check_result(c, id, r);
    if (version > 1) c->switched_calls[family]++;
    return version;
}

}  // namespace

bool is_target_entry(uintptr_t eip) {
    for (const Target& t : table)
        if (uintptr_t(t.fn) == eip) return true;
    return false;
}

void call_target_stepped(CallCtx* c, int id) { counted_call(c, id, true); }

int call_target(CallCtx* c, int id) { return counted_call(c, id, false); }

// Every version of every target ends up here with its signature.
extern "C" uint32_t torture_body(CallCtx* c, uint32_t sig) {
    const int id = int(sig >> 8 & 0xff), version = int(sig >> 16 & 0xff);
    if (id >= TARGETS || version < 1 || version > 3 || sig != signature(id, version)) {
        // Only a torn mov eax, imm32 gets here (far_targets.asm).
        c->torn_bodies++;
        c->torn_signature = sig;
        return 0;
    }
    c->counted[id][version]++;
    const int family_base = id - id % PER_FAMILY;
    switch (behavior_of(id)) {
        case Behavior::Sleeps:
            if (!c->in_irq && ++c->sleeps % 64 == 0) thread_sleep_ms(1);
            break;
        case Behavior::Recursive:
            if (c->depth < 3) {
                c->depth++;
                call_target(c, id);
                c->depth--;
            }
            break;
        case Behavior::Spinlock: {
            SpinlockGuard g(section_lock);
            section_count = section_count + 1;
            break;
        }
        case Behavior::Mutual:
            if (c->depth < 2) {
                c->depth++;
                call_target(c, family_base + (id % PER_FAMILY == 4 ? 5 : 4));
                c->depth--;
            }
            break;
        case Behavior::Outer: {
            // Now and then the outer sleeps before it calls its inner: the
            // window a consistency model must close (a patch of the pair
            // switching while an old outer is on the stack), held open.
            const int inner = contract_inner(id);
            const int family = id / PER_FAMILY;
            const uint32_t began = generation(inner);
            if (!c->in_irq && ++c->sleeps % OUTER_SLEEP_EVERY == 0) thread_sleep_ms(1);
            if (generation(inner) != began) c->contract_straddles[family]++;
            const int inner_version = call_target(c, inner);
            c->contract_calls[family]++;
            if (inner_version && inner_version != version) {
                c->contract_breaks[family]++;
                c->break_outer = id;
                c->break_outer_version = version;
                c->break_inner_version = inner_version;
                c->break_in_irq = c->in_irq;
                Thread* t = this_cpu_current();
                c->break_switched_how = t ? t->patch_switched_how : nullptr;
                c->break_switched_at = t ? t->patch_switched_at : 0;
            }
            break;
        }
        case Behavior::Plain:
        case Behavior::Inner:
        case Behavior::Timer: break;
    }
    return sig;
}

}  // namespace corral::torture
