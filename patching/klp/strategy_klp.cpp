// The `klp` strategy: patching/klp/klp.h's transition behind the Strategy
// interface.  Apply and revert start a transition and return; `patch
// status` follows it.
#include "kernel/symbols.h"
#include "patching/klp/klp.h"
#include "patching/layout.h"
#include "patching/strategy.h"

namespace corral {

const Strategy* strategy_int3();

namespace {

class KlpStrategy final : public Strategy {
public:
    const char* name() const override { return "klp"; }
    const char* guarantees() const override {
        return "each thread switches to the whole patch once no old function is on its stack; no CPU stopped";
    }
    Result<void> prepare(Patch& p) const override {
        // The site as it stands between two of the transition thread's writes.
        TRY_VOID(klp::with_sites_settled([](void* patch) { return check_site(*static_cast<Patch*>(patch)); }, &p));
        p.replacement_size = symbol_size_at(p.replacement);
        if (!p.replacement_size) return make_error("%s: no symbol at the replacement %#zx", p.name, p.replacement);
        return Ok{};
    }
    Result<void> write(Patch* const* batch, int count, Direction dir, const PatchHooks*) const override {
        for (int i = 0; i < count && dir == Direction::Apply; i++)
            for (int b = 0; b < FENTRY_SITE_LENGTH; b++) batch[i]->edits[0].old_bytes[b] = FENTRY_NOP[b];
        for (int i = 0; i < count && dir == Direction::Revert; i++) {
            // Finished: the site is the planned jmp; in transition: its stub's.
            const Edit& e = batch[i]->edits[0];
            bool planned = true;
            for (int b = 0; b < FENTRY_SITE_LENGTH; b++)
                planned = planned && reinterpret_cast<const uint8_t*>(e.address)[b] == e.new_bytes[b];
            if (!planned && !klp::in_transition(batch[i]->target))
                return make_error("%s: the site at %#zx changed underneath; refusing to revert", batch[i]->name,
                                  e.address);
        }
        return klp::start(batch, count, dir);
    }
    bool is_safe() const override { return true; }
    bool checks_own_bytes() const override;
    bool consistent_across_functions() const override;

private:
    static Result<void> check_site(Patch& p) {
        TRY_VOID(strategy_int3()->prepare(p));   // a fentry site, and the jmp it will end as
        const auto* site = reinterpret_cast<const uint8_t*>(p.target);
        if (!is_fentry_nop(site) && !klp::in_transition(p.target))
            return make_error("%s: klp patches a plain fentry NOP (this site holds %02x ...: revert what is there first)",
                              p.name, site[0]);
        return Ok{};
    }
};

bool KlpStrategy::checks_own_bytes() const { return true; }
bool KlpStrategy::consistent_across_functions() const { return true; }

}  // namespace

const KlpStrategy klp_strategy;
const Strategy* strategy_klp() { return &klp_strategy; }

}  // namespace corral
