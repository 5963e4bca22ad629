#include "patching/farjmp.h"

#include "arch/x86/cpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/sections.h"
#include "arch/x86/trap.h"
#include "kernel/cpu.h"
#include "kernel/lib/string.h"
#include "kernel/sched/thread.h"
#include "kernel/symbols.h"
#include "patching/corral.h"
#include "patching/phase_clock.h"
#include "patching/text_writer.h"
#include "patching/x86_decode.h"

namespace corral {
namespace {

volatile uint64_t deferrals = 0;

struct FarJmpWork {
    Patch* const* batch;
    int count;
    Direction dir;
    Coordination how;
    Deferral deferral;
};

// corral: only the instruction each parked CPU was executing when the IPI
// arrived -- the seed's second attempt, which forgets every thread that is
// not running right now.
NOT_PATCHABLE bool parked_cpu_inside(const CorralReport& report, uintptr_t start, uintptr_t end, ScanHit* hit) {
    for (int c = 0; c < report.cpus; c++) {
        const arch::TrapFrame* f = report.parked_frame[c];
        if (!f || !(f->eip > start && f->eip < end)) continue;
        Thread* t = cpus[c].current;
        *hit = ScanHit{t ? t->id : -1, {}, c, f->eip, "trap frame of a parked cpu"};
        if (t) str_copy(hit->thread_name, t->name, sizeof hit->thread_name);
        return true;
    }
    return false;
}

NOT_PATCHABLE Result<void> far_jmp_work(void* ctx, const CorralReport& report) {
    auto& w = *static_cast<FarJmpWork*>(ctx);
    Deferral& d = w.deferral;
    for (int i = 0; i < w.count && !d.deferred; i++) {
        const Edit& e = w.batch[i]->edits[0];
        const uintptr_t start = e.address, end = e.address + e.length;
        if (w.how == Coordination::ParkCheck) d.deferred = parked_cpu_inside(report, start, end, &d.hit);
        if (w.how == Coordination::ParkScan) d.deferred = scan_saved_contexts(start, end, ScanMode::Range, &d.hit);
    }
    phase_clock_mark("scan");
    if (d.deferred) return Ok{};   // nothing written; the caller retries
    for (int i = 0; i < w.count; i++) TRY_VOID(write_edit(w.batch[i]->edits[0], w.dir));
    phase_clock_mark("write");
    return Ok{};
}

}  // namespace

NOT_PATCHABLE Result<void> write_edit(Edit& e, Direction dir) {
    if (dir == Direction::Apply)
        for (int i = 0; i < e.length; i++) e.old_bytes[i] = reinterpret_cast<const uint8_t*>(e.address)[i];
    const uint8_t* bytes = dir == Direction::Apply ? e.new_bytes : e.old_bytes;
    if (e.atomic16) return text_write_u16_atomic(e.address, uint16_t(bytes[0] | bytes[1] << 8));
    return text_write(e.address, bytes, e.length);
}

Result<void> far_jmp_prepare(Patch& p) {
    TRY_VOID(check_patchable(p, FAR_JMP_LENGTH));
    // The jmp replaces whole instructions from the entry on; every one it
    // touches must decode, or we do not know what we are cutting through.
    auto* code = reinterpret_cast<const uint8_t*>(p.target);
    for (size_t off = 0; off < size_t(FAR_JMP_LENGTH);) {
        Result<Instruction> insn = decode_instruction(code + off, p.target_size - off);
        if (insn.is_error()) return make_error("%s+%#zx: %s", p.name, off, insn.error());
        off += insn.value().length;
    }
    Edit& e = p.edits[0];
    e = Edit{p.target, FAR_JMP_LENGTH, false, {}, {}};
    const uint32_t to = uint32_t(p.replacement);
    const uint8_t bytes[FAR_JMP_LENGTH] = {0xea, uint8_t(to), uint8_t(to >> 8), uint8_t(to >> 16), uint8_t(to >> 24),
                                           uint8_t(arch::KERNEL_CS), uint8_t(arch::KERNEL_CS >> 8)};
    for (int i = 0; i < FAR_JMP_LENGTH; i++) e.new_bytes[i] = bytes[i];
    p.edit_count = 1;
    return Ok{};
}

Result<void> far_jmp_write(Patch* const* batch, int count, Direction dir, const PatchHooks* hooks, Coordination how) {
    if (how == Coordination::None) {
        for (int i = 0; i < count; i++) batch[i]->deferrals = 0;
        // No coordination at all: whoever runs these bytes meanwhile is on
        // their own.  Only this CPU serializes.
        for (int i = 0; i < count; i++) TRY_VOID(write_edit(batch[i]->edits[0], dir));
        arch::serialize();
        return Ok{};
    }
    FarJmpWork w{batch, count, dir, how, {}};
    return corral_until_clear(batch, count, hooks, far_jmp_work, &w, &w.deferral);
}

namespace {
volatile int max_deferrals = MAX_DEFERRALS;
volatile uint64_t written_after_deferring = 0;
}

void far_jmp_set_max_deferrals(int max) { max_deferrals = max > 0 ? max : MAX_DEFERRALS; }

Result<void> corral_until_clear(Patch* const* batch, int count, const PatchHooks* hooks, CorralWork work, void* ctx,
                                Deferral* d) {
    for (int i = 0; i < count; i++) batch[i]->deferrals = 0;
    const int limit = max_deferrals;
    for (int attempt = 1; attempt <= limit; attempt++) {
        *d = Deferral{};
        TRY_VOID(corral_all_cpus(work, ctx));
        if (!d->deferred) {
            if (attempt > 1) written_after_deferring = written_after_deferring + 1;   // under the transaction mutex
            return Ok{};
        }
        for (int i = 0; i < count; i++) {
            batch[i]->deferrals = attempt;
            batch[i]->last_deferral = d->hit;
        }
        deferrals = deferrals + 1;   // under the transaction mutex
        if (hooks && hooks->on_deferred) hooks->on_deferred(hooks->ctx, *batch[0], d->hit, attempt);
        thread_sleep_ms(uint32_t(attempt * attempt < 250 ? attempt * attempt : 250));   // back off: let it leave
    }
    char where[64];
    symbolize(batch[0]->last_deferral.eip, where, sizeof where);
    return make_error("gave up after %d deferrals: thread %d '%s' still at %s", limit,
                      batch[0]->last_deferral.thread_id, batch[0]->last_deferral.thread_name, where);
}

uint64_t far_jmp_deferral_count() { return deferrals; }
uint64_t far_jmp_written_after_deferring_count() { return written_after_deferring; }

const char* FarJmpStrategy::name() const { return name_; }
const char* FarJmpStrategy::guarantees() const { return guarantees_; }
Result<void> FarJmpStrategy::prepare(Patch& p) const { return far_jmp_prepare(p); }
Result<void> FarJmpStrategy::write(Patch* const* b, int n, Direction d, const PatchHooks* h) const {
    return far_jmp_write(b, n, d, h, how_);
}
bool FarJmpStrategy::is_safe() const { return safe_; }

}  // namespace corral
