#include "patching/transaction.h"

#include "kernel/heap.h"
#include "arch/x86/sections.h"
#include "patching/corral.h"
#include "patching/scan.h"
#include "patching/text_writer.h"
#include "kernel/panic.h"
#include "patching/demo_targets.h"
#include "kernel/lib/hash.h"
#include "kernel/lib/string.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/symbols.h"
#include "patching/torn.h"
#include "patching/layout.h"
#include "patching/strategy.h"
#include "kernel/lib/format.h"
#include "kernel/console/console.h"

extern "C" const corral::HotpatchSite __hotpatch_sites_start[], __hotpatch_sites_end[];

namespace corral {
namespace {

Mutex transactions("transactions");   // patching sleeps (corral-scan backs off), so a mutex
PatchRecord* records = nullptr;
PatchSet* sets = nullptr;
uint64_t sequence = 0;

uint32_t edits_checksum(const Patch& p, bool old_bytes) {
    uint32_t h = 0;
    for (int i = 0; i < p.edit_count; i++)
        h ^= fnv1a(old_bytes ? p.edits[i].old_bytes : p.edits[i].new_bytes, p.edits[i].length) + uint32_t(i);
    return h;
}

// The padding before the entry is watched too (the hotpatch jmp lives there).
uintptr_t watch_start(const PatchRecord* r) { return r->target - 16; }

PatchRecord* applied_on(uintptr_t target, const PatchRecord* except) {
    PatchRecord* top = nullptr;
    for (PatchRecord* r = records; r; r = r->next)
        if (r != except && r->target == target && r->state == PatchState::Applied &&
            (!top || r->applied_seq > top->applied_seq))
            top = r;
    return top;
}

// The text must still hold exactly what we wrote; otherwise someone else
// changed it and restoring our old bytes would destroy their change.
Result<void> verify_unchanged(const PatchRecord& r) {
    const Patch& p = r.applied;
    if (edits_checksum(p, true) != r.old_checksum)
        return make_error("%s: the saved old bytes are corrupt; refusing to revert", r.name);
    for (int i = 0; i < p.edit_count; i++) {
        const Edit& e = p.edits[i];
        for (int b = 0; b < e.length; b++) {
            uint8_t now = reinterpret_cast<const uint8_t*>(e.address)[b];
            if (now != e.new_bytes[b])
                return make_error("%s: text at %#zx changed underneath (wrote %02x, now %02x); refusing to revert",
                                  r.name, e.address + b, e.new_bytes[b], now);
        }
    }
    return Ok{};
}

Result<void> check_can_apply(PatchRecord* r, const Strategy* s) {
    if (r->state == PatchState::Applied) return make_error("%s is already applied", r->name);
    PatchRecord* below = applied_on(r->target, r);
    if (below && below->applied.strategy != s)
        return make_error("%s: %s already has %s (%s); stack with %s too, or revert %s first", r->name,
                          r->target_name, below->name, below->applied.strategy->name(),
                          below->applied.strategy->name(), below->name);
    return Ok{};
}

void mark_applied(PatchRecord* r) {
    r->stacked_on = applied_on(r->target, r);
    r->state = PatchState::Applied;
    r->applied_seq = ++sequence;
    r->old_checksum = edits_checksum(r->applied, true);
    r->new_checksum = edits_checksum(r->applied, false);
}

constexpr int MAX_BATCH = 64;

Result<void> check_batch_size(int count) {
    if (count < 1 || count > MAX_BATCH) return make_error("a batch holds 1..%d patches, not %d", MAX_BATCH, count);
    return Ok{};
}

// One strategy writes a whole batch.
Result<void> check_one_strategy(const Patch* first, const Strategy* s) {
    if (first->strategy != s) return make_error("a batch must use one strategy");
    return Ok{};
}

// Plans every patch (nothing is written if any plan fails), then writes
// them all with one call of the strategy: one corral, or one set of int3
// sync rounds, for the whole batch.
Result<void> apply_patches(PatchRecord* const* list, int count, const Strategy* strategy, const PatchHooks* hooks) {
    TRY_VOID(check_batch_size(count));
    MutexGuard g(transactions);
    Patch* batch[MAX_BATCH];
    for (int i = 0; i < count; i++) {
        PatchRecord* r = list[i];
        const Strategy* s = strategy ? strategy : r->default_strategy;
        if (i > 0) TRY_VOID(check_one_strategy(batch[0], s));
        TRY_VOID(check_can_apply(r, s));
        Patch p{};
        str_copy(p.name, r->target_name, sizeof p.name);
        p.target = r->target;
        p.target_size = r->target_size;
        p.replacement = r->replacement;
        p.strategy = s;
        if (const PatchRecord* below = applied_on(r->target, r)) {
            p.superseded = below->replacement;
            p.superseded_size = below->applied.replacement_size ? below->applied.replacement_size
                                                                : symbol_size_at(below->replacement);
        }
        TRY_VOID(s->prepare(p));
        r->applied = p;
        batch[i] = &r->applied;
    }
    // Watch the bytes before they change: a thread caught by an unsafe
    // strategy may fault before write() even returns -- or after a revert
    // has put them back (it was running a stale copy), so they stay watched.
    for (int i = 0; i < count; i++) watch_range(watch_start(list[i]), list[i]->target_size + 16);
    Result<void> written = batch[0]->strategy->write(batch, count, Direction::Apply, hooks);
    if (written.is_error()) return written;
    for (int i = 0; i < count; i++) mark_applied(list[i]);
    if (hooks && hooks->on_written) hooks->on_written(hooks->ctx);
    return Ok{};
}

// Checks every patch (nothing is written if any check fails), then writes
// their old bytes back with one call of the strategy: one corral, or one
// set of int3 sync rounds, for the whole batch.  Each patch must be the top
// of its target's stack, and a batch holds each target once.
Result<void> revert_patches(PatchRecord* const* list, int count, const PatchHooks* hooks) {
    TRY_VOID(check_batch_size(count));
    MutexGuard g(transactions);
    Patch* batch[MAX_BATCH];
    for (int i = 0; i < count; i++) {
        PatchRecord* r = list[i];
        if (r->state != PatchState::Applied) return make_error("%s is not applied", r->name);
        for (int j = 0; j < i; j++)
            if (list[j]->target == r->target)
                return make_error("%s and %s are both on %s: a batch reverts one patch per function", list[j]->name,
                                  r->name, r->target_name);
        PatchRecord* top = applied_on(r->target, nullptr);
        if (top != r)
            return make_error("%s is stacked under %s on %s; revert %s first", r->name, top->name, r->target_name,
                              top->name);
        if (i > 0) TRY_VOID(check_one_strategy(batch[0], r->applied.strategy));
        if (!r->applied.strategy->checks_own_bytes()) TRY_VOID(verify_unchanged(*r));
        batch[i] = &r->applied;
    }
    TRY_VOID(batch[0]->strategy->write(batch, count, Direction::Revert, hooks));
    if (hooks && hooks->on_written) hooks->on_written(hooks->ctx);
    for (int i = 0; i < count; i++) {
        PatchRecord* r = list[i];
        r->state = PatchState::Reverted;
        r->stacked_on = nullptr;
    }
    return Ok{};
}

}  // namespace

const char* patch_state_name(PatchState s) {
    switch (s) {
        case PatchState::Defined: return "defined";
        case PatchState::Applied: return "applied";
        case PatchState::Reverted: return "reverted";
    }
    return "?";
}

Result<PatchRecord*> patch_define(const char* name, const char* target_symbol, uintptr_t replacement,
                                  const char* default_strategy) {
    return patch_define_at(name, TRY(symbol_by_name(target_symbol)), replacement, default_strategy);
}

Result<PatchRecord*> patch_define_at(const char* name, const Symbol& target, uintptr_t replacement,
                                     const char* default_strategy) {
    const Strategy* s = find_strategy(default_strategy);
    if (!s) return make_error("unknown strategy '%s' (one of: %s)", default_strategy, strategy_names());
    MutexGuard g(transactions);
    if (patch_find(name)) return make_error("a patch named '%s' exists already", name);
    auto* r = new PatchRecord();
    str_copy(r->name, name, sizeof r->name);
    str_copy(r->target_name, target.name, sizeof r->target_name);
    r->target = target.address;
    r->target_size = target.size;
    r->replacement = replacement;
    r->default_strategy = s;
    r->state = PatchState::Defined;
    r->next = records;
    records = r;
    return r;
}

PatchRecord* patch_find(const char* name) {
    for (PatchRecord* r = records; r; r = r->next)
        if (str_eq(r->name, name)) return r;
    return nullptr;
}

PatchRecord* patch_applied_on(uintptr_t target) {
    MutexGuard g(transactions);
    return applied_on(target, nullptr);
}

void patch_for_each(void (*fn)(PatchRecord* p, void* ctx), void* ctx) {
    MutexGuard g(transactions);
    for (PatchRecord* r = records; r; r = r->next) fn(r, ctx);
}

Result<void> patch_apply_batch(PatchRecord* const* list, int count, const Strategy* strategy) {
    return apply_patches(list, count, strategy, nullptr);
}

Result<void> patch_apply(PatchRecord* r, const Strategy* strategy, const PatchHooks* hooks) {
    return apply_patches(&r, 1, strategy, hooks);
}

Result<PatchSet*> patch_set_define(const char* name, const char* const* member_names, int count) {
    if (count < 2 || count > MAX_SET_MEMBERS)
        return make_error("a multi-function patch has 2..%d functions, not %d", MAX_SET_MEMBERS, count);
    if (patch_find(name) || patch_set_find(name)) return make_error("a patch named '%s' exists already", name);
    auto* s = new PatchSet();
    str_copy(s->name, name, sizeof s->name);
    for (int i = 0; i < count; i++) {
        PatchRecord* m = patch_find(member_names[i]);
        if (!m) {
            delete s;
            return make_error("%s: no patch named '%s' to make a member", name, member_names[i]);
        }
        s->members[s->count++] = m;
    }
    MutexGuard g(transactions);
    s->next = sets;
    sets = s;
    return s;
}

Result<void> patch_undefine(PatchRecord* r) {
    MutexGuard g(transactions);
    if (r->state == PatchState::Applied) return make_error("%s is applied; revert it first", r->name);
    for (PatchSet* s = sets; s; s = s->next)
        for (int i = 0; i < s->count; i++)
            if (s->members[i] == r) return make_error("%s is a member of %s", r->name, s->name);
    for (PatchRecord** p = &records; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            delete r;
            return Ok{};
        }
    return make_error("%s is not a defined patch", r->name);
}

void patch_set_undefine(PatchSet* set) {
    MutexGuard g(transactions);
    for (PatchSet** p = &sets; *p; p = &(*p)->next)
        if (*p == set) {
            *p = set->next;
            delete set;
            return;
        }
}

PatchSet* patch_set_find(const char* name) {
    for (PatchSet* s = sets; s; s = s->next)
        if (str_eq(s->name, name)) return s;
    return nullptr;
}

void patch_set_for_each(void (*fn)(PatchSet* s, void* ctx), void* ctx) {
    for (PatchSet* s = sets; s; s = s->next) fn(s, ctx);
}

bool patch_set_applied(const PatchSet* s) {
    for (int i = 0; i < s->count; i++)
        if (s->members[i]->state != PatchState::Applied) return false;
    return true;
}

Result<void> patch_set_apply(PatchSet* s, const Strategy* strategy, const PatchHooks* hooks) {
    if (!strategy) strategy = s->members[0]->default_strategy;
    return apply_patches(s->members, s->count, strategy, hooks);
}

Result<void> patch_set_revert(PatchSet* s, const PatchHooks* hooks) {
    if (!patch_set_applied(s)) return make_error("%s is not applied", s->name);
    return revert_patches(s->members, s->count, hooks);
}

void transactions_init() {
    struct Builtin { const char* name; const char* target; uintptr_t replacement; const char* strategy; };
    const Builtin builtins[] = {
        {"seed", "seed_example", uintptr_t(&seed_landing), "corral-scan"},
        {"hot", "corral::demo_hot_counter", uintptr_t(&demo_hot_counter_v2), "hotpatch"},
        {"hot-v3", "corral::demo_hot_counter", uintptr_t(&demo_hot_counter_v3), "hotpatch"},
        {"fentry", "corral::demo_fentry_counter", uintptr_t(&demo_fentry_counter_v2), "int3"},
        {"square", "corral::demo_fentry_square", uintptr_t(&demo_fentry_square_v2), "int3"},
        {"napper", "corral::demo_napper", uintptr_t(&demo_napper_v2), "klp"},
        {"contract-hot.outer", "contract_hot_outer", uintptr_t(&contract_hot_outer_v2), "stop-check"},
        {"contract-hot.inner", "contract_hot_inner", uintptr_t(&contract_hot_inner_v2), "stop-check"},
        {"contract-fentry.outer", "contract_fentry_outer", uintptr_t(&contract_fentry_outer_v2), "stop-check"},
        {"contract-fentry.inner", "contract_fentry_inner", uintptr_t(&contract_fentry_inner_v2), "stop-check"},
    };
    for (const Builtin& b : builtins) {
        Result<PatchRecord*> r = patch_define(b.name, b.target, b.replacement, b.strategy);
        if (r.is_error()) panic("built-in patch %s: %s", b.name, r.error());
    }
    // The contract scenario's multi-function patches (outer and inner change together).
    const char* const hot_pair[] = {"contract-hot.outer", "contract-hot.inner"};
    const char* const fentry_pair[] = {"contract-fentry.outer", "contract-fentry.inner"};
    if (patch_set_define("contract-hot", hot_pair, 2).is_error() ||
        patch_set_define("contract-fentry", fentry_pair, 2).is_error())
        panic("built-in multi-function patches could not be defined");
}

Result<void> patch_revert_batch(PatchRecord* const* list, int count) { return revert_patches(list, count, nullptr); }

Result<void> patch_revert(PatchRecord* r, const PatchHooks* hooks) { return revert_patches(&r, 1, hooks); }

namespace {

struct PaddingCleanup {
    uintptr_t start;
    int length;
    uint8_t original[MAX_EDIT_BYTES];
    bool busy;
    ScanHit hit;
};

NOT_PATCHABLE Result<void> clean_padding_parked(void* ctx, const CorralReport&) {
    auto& w = *static_cast<PaddingCleanup*>(ctx);
    // Function mode: a thread whose EIP is the padding's first byte (it took
    // the short jmp and is about to take the long one) counts too.
    w.busy = scan_saved_contexts(w.start, w.start + w.length, ScanMode::Function, &w.hit);
    if (w.busy) return Ok{};
    return text_write(w.start, w.original, size_t(w.length));
}

constexpr int PADDING = JMP_REL32_LENGTH;   // the hotpatch jmp ends at the entry

// The padding before `entry` as the ELF had it, and whether the live bytes
// differ from that (the journal knows the original of every byte written).
bool padding_differs(uintptr_t entry, PaddingCleanup* w) {
    w->start = entry - PADDING;
    w->length = PADDING;
    bool differs = false;
    for (int i = 0; i < PADDING; i++) {
        const uint8_t live = reinterpret_cast<const uint8_t*>(w->start)[i];
        if (!text_journal_original(w->start + uintptr_t(i), &w->original[i])) w->original[i] = live;
        differs |= w->original[i] != live;
    }
    return differs;
}

// Why the padding before `entry` must stay, or nullptr if nothing leads there.
const char* padding_in_use(uintptr_t entry, char* why, size_t size) {
    if (const PatchRecord* top = applied_on(entry, nullptr)) {
        format(why, size, "patch '%s' is applied there", top->name);
        return why;
    }
    const auto* e = reinterpret_cast<const uint8_t*>(entry);
    if (e[0] != 0x8b || e[1] != 0xff) {
        format(why, size, "its entry is %02x %02x, not mov edi,edi (something still leads there)", e[0], e[1]);
        return why;
    }
    return nullptr;
}

}  // namespace

Result<int> patch_cleanup_padding(bool explain) {
    MutexGuard g(transactions);
    int cleaned = 0;
    for (const HotpatchSite* site = __hotpatch_sites_start; site < __hotpatch_sites_end; site++) {
        const uintptr_t entry = uintptr_t(site->entry);
        PaddingCleanup w{};
        if (!padding_differs(entry, &w)) continue;
        char why[96];
        if (padding_in_use(entry, why, sizeof why)) {
            if (explain) kprintf("text cleanup: kept the padding of %s: %s\n", site->name, why);
            continue;
        }
        TRY_VOID(corral_all_cpus(clean_padding_parked, &w));
        if (w.busy)
            return make_error("cleanup: thread %d '%s' is at %#zx in the padding of %s; nothing written, try again",
                              w.hit.thread_id, w.hit.thread_name, w.hit.eip, site->name);
        cleaned++;
    }
    return cleaned;
}

}  // namespace corral
