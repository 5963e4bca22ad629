// `int3`: Linux's text_poke_bp on the 5-byte NOP every function starts with
// (the fentry layout).  No CPU is stopped:
//   1. write cc (int3) over the first byte; sync every CPU
//   2. write the 4 tail bytes;               sync
//   3. write the new first byte;             sync
// A CPU that reaches the site meanwhile traps on the cc, and the #BP handler
// below sends it where the finished instruction would have: the new jmp's
// target (or, when reverting to the NOP, just past it).  A sync is an IPI
// whose handler serializes (SDM 8.1.3).  Many sites share the 3 rounds.
#include "arch/x86/cpu.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/sync/spinlock.h"
#include "patching/corral.h"
#include "patching/farjmp.h"
#include "patching/layout.h"
#include "patching/phase_clock.h"
#include "patching/text_writer.h"

extern "C" const uint32_t __mcount_loc_start[], __mcount_loc_end[];

namespace corral {
bool torn_breakpoint(arch::TrapFrame* frame);
namespace {

constexpr int SITE_LENGTH = FENTRY_SITE_LENGTH;
constexpr int MAX_POKE_SITES = 192;   // every patchtorture target, and then some

// Every site ever poked keeps its entry, holding where the instruction
// being written (or last written) sends a CPU.  Linux drops its entries
// after the last sync; on hardware no CPU can run the old cc after that
// sync, but QEMU's TCG was seen running a stale translation of the cc
// later still.  A permanent entry makes any cc at a site, current or
// stale, mean exactly what the site's bytes mean.
struct PokeSite {
    volatile uintptr_t address;     // 0: free slot
    volatile uintptr_t resume_at;   // where the instruction being written sends a CPU
};

PokeSite sites[MAX_POKE_SITES];

PokeSite* site_slot(uintptr_t address) {
    for (PokeSite& s : sites)
        if (s.address == address) return &s;
    for (PokeSite& s : sites)
        if (!s.address) return &s;
    return nullptr;
}
Mutex poke_mutex("text_poke_bp");

// The hazard text_poke_bp exists for: a CPU that executed a poked site's
// cc -- with a batch under way (the window of the three sync rounds), or
// later (a stale translation under TCG, see PokeSite).  patchtorture
// requires the first to be above zero.
volatile bool poking = false;
volatile uint32_t redirects = 0, redirects_mid_batch = 0;

// Where the 5-byte instruction `bytes` at `address` sends a CPU.
uintptr_t resume_address(uintptr_t address, const uint8_t* bytes) {
    if (bytes[0] == 0xe9) {
        int32_t rel = int32_t(uint32_t(bytes[1]) | uint32_t(bytes[2]) << 8 | uint32_t(bytes[3]) << 16 |
                              uint32_t(bytes[4]) << 24);
        return address + SITE_LENGTH + uint32_t(rel);
    }
    return address + SITE_LENGTH;   // the NOP
}

NOT_PATCHABLE bool int3_handler(arch::TrapFrame* frame) {
    // lab int3: begin bp-redirect
    const uintptr_t at = frame->eip - 1;   // int3 is a trap: EIP is past the cc
    for (int i = 0; i < MAX_POKE_SITES; i++) {
        if (sites[i].address == at) {
            frame->eip = uint32_t(sites[i].resume_at);
            __atomic_add_fetch(&redirects, 1, __ATOMIC_RELAXED);
            if (poking) __atomic_add_fetch(&redirects_mid_batch, 1, __ATOMIC_RELAXED);
            return true;
        }
    }
    return torn_breakpoint(frame);   // a stray int3 in patched bytes, or not ours
    // lab int3: end bp-redirect
}

bool is_fentry_site(uintptr_t address) {
    for (const uint32_t* p = __mcount_loc_start; p < __mcount_loc_end; p++)
        if (*p == address) return true;
    return false;
}

Result<void> sync_step(const PatchHooks* hooks, int step) {
    static const char* const names[] = {"", "sync1", "sync2", "sync3"};
    phase_clock_mark("write");
    Result<void> r = sync_all_cpus();
    phase_clock_mark(names[step]);
    if (hooks && hooks->on_step) hooks->on_step(hooks->ctx, step);
    return r;
}

// Writes byte ranges [from, to) of every site's `bytes` (final or original).
Result<void> write_sites(Patch* const* batch, int count, bool final, Direction dir, int from, int to) {
    for (int i = 0; i < count; i++) {
        Edit& e = batch[i]->edits[0];
        const bool want_new = (dir == Direction::Apply) == final;
        TRY_VOID(text_write(e.address + from, (want_new ? e.new_bytes : e.old_bytes) + from, size_t(to - from)));
    }
    return Ok{};
}

// A CPU did not answer a sync: put every site back as it was (the cc stays
// until the last byte, so any CPU arriving meanwhile is still redirected,
// now to the old instruction) and report -- nothing half-done is left.
Result<void> roll_back(Patch* const* batch, int count, Direction dir, const Error& why) {
    static constexpr uint8_t INT3 = 0xcc;
    for (int i = 0; i < count; i++) {
        Edit& e = batch[i]->edits[0];
        const uint8_t* original = dir == Direction::Apply ? e.old_bytes : e.new_bytes;
        site_slot(e.address)->resume_at = resume_address(e.address, original);
        TRY_VOID(text_write(e.address, &INT3, 1));
    }
    TRY_VOID(write_sites(batch, count, false, dir, 1, SITE_LENGTH));
    TRY_VOID(write_sites(batch, count, false, dir, 0, 1));
    return make_error("int3: %s; rolled back", why.text);
}

Result<void> poke_batch(Patch* const* batch, int count, Direction dir, const PatchHooks* hooks) {
    if (count > MAX_POKE_SITES) return make_error("int3: %d sites in one batch (max %d)", count, MAX_POKE_SITES);
    // One text_poke_bp at a time, and interrupts off: no preemption
    // mid-protocol.  Not a spinlock: a CPU holding one is never parked, and
    // between its sync rounds this one waits for the corral lock -- held,
    // maybe, by another CPU's corral that is waiting for this CPU to park.
    MutexGuard serial(poke_mutex);
    InterruptGuard no_preemption;
    phase_clock_start();
    static constexpr uint8_t INT3 = 0xcc;
    for (int i = 0; i < count; i++)
        if (!site_slot(batch[i]->edits[0].address))
            return make_error("int3: more than %d distinct sites poked; nothing written", MAX_POKE_SITES);
    // lab int3: begin poke-batch
    for (int i = 0; i < count; i++) {
        Edit& e = batch[i]->edits[0];
        if (dir == Direction::Apply)
            for (int b = 0; b < SITE_LENGTH; b++) e.old_bytes[b] = reinterpret_cast<const uint8_t*>(e.address)[b];
        const uint8_t* final_bytes = dir == Direction::Apply ? e.new_bytes : e.old_bytes;
        PokeSite* slot = site_slot(e.address);
        slot->resume_at = resume_address(e.address, final_bytes);   // before the address: never a stale target
        slot->address = e.address;
        TRY_VOID(text_write(e.address, &INT3, 1));
    }
    poking = true;
    Result<void> synced = sync_step(hooks, 1);                                  // step 1: cc everywhere
    if (synced.is_ok()) synced = write_sites(batch, count, true, dir, 1, SITE_LENGTH);
    if (synced.is_ok()) synced = sync_step(hooks, 2);                           // step 2: the tails
    if (synced.is_ok()) synced = write_sites(batch, count, true, dir, 0, 1);
    if (synced.is_ok()) synced = sync_step(hooks, 3);                           // step 3: the first bytes
    Result<void> done = synced.is_error() ? roll_back(batch, count, dir, synced.error_value()) : Result<void>(Ok{});
    poking = false;
    return done;
    // lab int3: end poke-batch
}

class Int3Strategy final : public Strategy {
public:
    const char* name() const override { return "int3"; }
    const char* guarantees() const override {
        return "no CPU stopped: the #BP handler finishes the jmp for anyone arriving mid-write";
    }
    Result<void> prepare(Patch& p) const override {
        TRY_VOID(check_patchable(p, SITE_LENGTH));
        auto* entry = reinterpret_cast<const uint8_t*>(p.target);
        if (!is_fentry_site(p.target) || (!is_fentry_nop(entry) && entry[0] != 0xe9))
            return make_error("%s has no fentry site (want the 5-byte NOP 0f 1f 44 00 00 listed in __mcount_loc)",
                              p.name);
        p.edits[0] = jmp_rel32_edit(p.target, p.replacement);
        p.edit_count = 1;
        return Ok{};
    }
    Result<void> write(Patch* const* b, int n, Direction d, const PatchHooks* h) const override {
        return poke_batch(b, n, d, h);
    }
    bool is_safe() const override { return true; }
};

}  // namespace

void int3_strategy_init() { arch::register_trap_handler(arch::VECTOR_BREAKPOINT, int3_handler); }

Result<void> text_poke_bp(Patch* const* batch, int count, Direction dir, const PatchHooks* hooks) {
    return poke_batch(batch, count, dir, hooks);
}

Int3Redirects int3_redirects() { return Int3Redirects{redirects, redirects_mid_batch}; }

const Int3Strategy int3_strategy;
const Strategy* strategy_int3() { return &int3_strategy; }

}  // namespace corral
