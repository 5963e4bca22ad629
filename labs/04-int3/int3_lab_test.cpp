// Lab 04 (int3): the checks the kernel's own ktests do not make.  They run
// in every `make test` too (test=*), so they must pass on the reference.
//
// K sites of their own (lab_int3_site_<i>, and a v2 of each), poked in one
// batch with text_poke_bp itself.  The text writer's observer records every
// write with the number of sync rounds completed when it was made, and the
// batch's on_step hook calls every site between the steps, on the patching
// CPU, where the cc is sure to be met.
#include "arch/x86/sections.h"
#include "kernel/lib/format.h"
#include "kernel/test/ktest.h"
#include "patching/corral.h"
#include "patching/strategy.h"
#include "patching/tests/generous_timeout.h"
#include "patching/text_writer.h"

#define LAB_INT3_SITE(i)                                                                  \
    extern "C" __attribute__((noipa)) int lab_int3_site_##i(int x) { return x * 7 + i; } \
    extern "C" __attribute__((noipa)) int lab_int3_site_##i##_v2(int x) { return x * 7 + i + 1000; }
LAB_INT3_SITE(0)
LAB_INT3_SITE(1)
LAB_INT3_SITE(2)
LAB_INT3_SITE(3)
LAB_INT3_SITE(4)
LAB_INT3_SITE(5)

namespace corral {
namespace {

constexpr int K = 6;
int (*const old_fn[K])(int) = {lab_int3_site_0, lab_int3_site_1, lab_int3_site_2,
                               lab_int3_site_3, lab_int3_site_4, lab_int3_site_5};
int (*const new_fn[K])(int) = {lab_int3_site_0_v2, lab_int3_site_1_v2, lab_int3_site_2_v2,
                               lab_int3_site_3_v2, lab_int3_site_4_v2, lab_int3_site_5_v2};
int old_value(int i) { return 3 * 7 + i; }   // what site i returns for 3, before and after
int new_value(int i) { return 3 * 7 + i + 1000; }

// The batch, planned by the int3 strategy itself.
struct Batch {
    Patch patches[K];
    Patch* list[K];
};

Result<void> plan(Batch& b) {
    const Strategy* int3 = find_strategy("int3");
    for (int i = 0; i < K; i++) {
        Patch& p = b.patches[i];
        p = Patch{};
        format(p.name, sizeof p.name, "lab_int3_site_%d", i);
        p.target = uintptr_t(old_fn[i]);
        p.target_size = symbol_size_at(p.target);
        p.replacement = uintptr_t(new_fn[i]);
        p.strategy = int3;
        TRY_VOID(int3->prepare(p));
        b.list[i] = &p;
    }
    return Ok{};
}

// ---- Every write, and how many sync rounds had completed when it was made.

struct Write {
    uintptr_t address;
    uint8_t length, first;   // first: the byte at `address` once written
    uint32_t syncs;          // sync rounds completed since the batch began
};
constexpr int MAX_WRITES = 4 * K;
Write writes[MAX_WRITES];
volatile int write_count = 0;
volatile bool inside_write = false;
volatile uint64_t syncs_at_start = 0;

NOT_PATCHABLE void note_write(uintptr_t address, size_t length) {
    inside_write = !inside_write;
    if (inside_write) return;   // the call before the write; record the one after it
    const int n = write_count;
    if (n < MAX_WRITES)
        writes[n] = Write{address, uint8_t(length), *reinterpret_cast<const uint8_t*>(address),
                          uint32_t(sync_count() - syncs_at_start)};
    write_count = n + 1;
}

Result<void> poke_recorded(Batch& b, Direction dir) {
    write_count = 0;
    inside_write = false;
    syncs_at_start = sync_count();
    text_write_set_observer(note_write);
    Result<void> r = text_poke_bp(b.list, K, dir, nullptr);
    text_write_set_observer(nullptr);
    return r;
}

// "+0/1=cc after 0 syncs, +1/4 after 1, ...": site i's writes, relative to it.
const char* describe_site(uintptr_t site, char* out, size_t size) {
    size_t at = 0;
    out[0] = 0;
    for (int w = 0; w < write_count && w < MAX_WRITES && at < size; w++) {
        const Write& x = writes[w];
        if (x.address < site || x.address >= site + 5) continue;
        at += size_t(format(out + at, size - at, "%s+%u/%u", at ? ", " : "", unsigned(x.address - site), x.length));
        if (x.address == site && at < size) at += size_t(format(out + at, size - at, "=%02x", x.first));
        if (at < size) at += size_t(format(out + at, size - at, " after %u", x.syncs));
    }
    if (!at) format(out, size, "nothing");
    return out;
}

// Site i's writes must be: the cc (0 syncs), the 4-byte tail (1), the
// final first byte (2); and the batch must end after exactly 3 rounds.
bool site_in_steps(int i, const Batch& b, Direction dir) {
    const uintptr_t site = b.patches[i].target;
    const Edit& e = b.patches[i].edits[0];
    const uint8_t first = dir == Direction::Apply ? e.new_bytes[0] : e.old_bytes[0];
    const Write want[3] = {{site, 1, 0xcc, 0}, {site + 1, 4, 0, 1}, {site, 1, first, 2}};
    int k = 0;
    for (int w = 0; w < write_count && w < MAX_WRITES; w++) {
        const Write& x = writes[w];
        if (x.address < site || x.address >= site + 5) continue;
        if (k == 3 || x.address != want[k].address || x.length != want[k].length || x.syncs != want[k].syncs ||
            (k != 1 && x.first != want[k].first))
            return false;
        k++;
    }
    return k == 3;
}

// After a failed check: the sites as they were, for the tests after this one.
void put_back(Batch& b) {
    Result<void> r = text_poke_bp(b.list, K, Direction::Revert, nullptr);
    (void)r;
}

bool all_return(int (*const fns[K])(int), int (*value)(int), KTestContext& t, const char* when) {
    for (int i = 0; i < K; i++)
        if (fns[i](3) != value(i)) {
            t.fail(__FILE__, __LINE__, "%s: lab_int3_site_%d(3) is %d, want %d", when, i, fns[i](3), value(i));
            return false;
        }
    return true;
}

// ---- K sites share three sync rounds, in both directions.

KTEST(lab_int3, three_sync_rounds_for_k_sites) {
    GenerousCorralTimeout generous;   // about what is written, not how fast: a starved host must not abort
    Batch b;
    KREQUIRE(plan(b).is_ok());
    const char* dirs[2] = {"apply", "revert"};
    for (int d = 0; d < 2; d++) {
        const Direction dir = d == 0 ? Direction::Apply : Direction::Revert;
        const uint64_t before = sync_count();
        Result<void> r = text_poke_bp(b.list, K, dir, nullptr);
        const uint64_t rounds = sync_count() - before;
        if (r.is_error()) return t.fail(__FILE__, __LINE__, "text_poke_bp %s of %d sites: %s", dirs[d], K, r.error());
        if (rounds != 3)
            t.fail(__FILE__, __LINE__, "%s of %d sites took %llu sync rounds; want 3 for the whole batch (not %d)",
                   dirs[d], K, (unsigned long long)rounds, 3 * K);
        if (!all_return(d == 0 ? new_fn : old_fn, d == 0 ? new_value : old_value, t, dirs[d])) {
            if (d == 0) put_back(b);
            return;
        }
    }
}

// ---- Each step is synced before the next: cc, sync, tail, sync, first byte, sync.

KTEST(lab_int3, each_step_synced_before_the_next) {
    GenerousCorralTimeout generous;
    Batch b;
    KREQUIRE(plan(b).is_ok());
    const char* dirs[2] = {"apply", "revert"};
    char seen[96];
    for (int d = 0; d < 2; d++) {
        const Direction dir = d == 0 ? Direction::Apply : Direction::Revert;
        Result<void> r = poke_recorded(b, dir);
        if (r.is_error()) return t.fail(__FILE__, __LINE__, "text_poke_bp %s: %s", dirs[d], r.error());
        for (int i = 0; i < K; i++)
            if (!site_in_steps(i, b, dir)) {
                t.fail(__FILE__, __LINE__, "%s, site %d wrote %s; want +0/1=cc after 0, +1/4 after 1, +0/1 after 2",
                       dirs[d], i, describe_site(b.patches[i].target, seen, sizeof seen));
                break;
            }
    }
}

// ---- A CPU that meets the cc lands where the instruction being written sends it.

struct Met {
    Direction dir;
    int steps_seen;          // bit n: on_step(n) was called
    int wrong_step, wrong_site, got;
};

void call_every_site(void* ctx, int step) {
    auto* m = static_cast<Met*>(ctx);
    m->steps_seen |= 1 << step;
    for (int i = 0; i < K && !m->wrong_step; i++) {
        const int got = old_fn[i](3);   // the site's cc, after steps 1 and 2
        if (got != (m->dir == Direction::Apply ? new_value(i) : old_value(i))) {
            m->wrong_step = step;
            m->wrong_site = i;
            m->got = got;
        }
    }
}

KTEST(lab_int3, cc_sends_a_cpu_to_the_version_being_written) {
    GenerousCorralTimeout generous;
    Batch b;
    KREQUIRE(plan(b).is_ok());
    const char* dirs[2] = {"apply", "revert"};
    for (int d = 0; d < 2; d++) {
        Met m{d == 0 ? Direction::Apply : Direction::Revert, 0, 0, 0, 0};
        PatchHooks hooks{&m, nullptr, call_every_site, nullptr};
        const Int3Redirects before = int3_redirects();
        Result<void> r = text_poke_bp(b.list, K, m.dir, &hooks);
        const Int3Redirects after = int3_redirects();
        if (r.is_error()) return t.fail(__FILE__, __LINE__, "text_poke_bp %s: %s", dirs[d], r.error());
        if (m.steps_seen != (1 << 1 | 1 << 2 | 1 << 3))
            t.fail(__FILE__, __LINE__, "%s: on_step ran after steps %s%s%s%s; want 1, 2 and 3 (sync_step(hooks, n))",
                   dirs[d], m.steps_seen & 2 ? "1 " : "", m.steps_seen & 4 ? "2 " : "", m.steps_seen & 8 ? "3 " : "",
                   m.steps_seen ? "only" : "none");
        else if (m.wrong_step)
            t.fail(__FILE__, __LINE__, "%s: after step %d lab_int3_site_%d(3) returned %d; want %d (%s)", dirs[d],
                   m.wrong_step, m.wrong_site, m.got,
                   m.dir == Direction::Apply ? new_value(m.wrong_site) : old_value(m.wrong_site),
                   m.dir == Direction::Apply ? "the new jmp's target" : "past the NOP");
        else if (after.mid_batch - before.mid_batch < uint32_t(2 * K))
            t.fail(__FILE__, __LINE__, "%s: %u redirects counted mid-batch; the calls after steps 1 and 2 met %d cc",
                   dirs[d], after.mid_batch - before.mid_batch, 2 * K);
        if (d == 0 && (m.wrong_step || r.is_error())) {
            put_back(b);
            return;
        }
    }
}

}  // namespace
}  // namespace corral
