// patchtorture's own refusals: what it checks before it starts.
#include "kernel/lib/string.h"
#include "kernel/test/ktest.h"
#include "patching/strategy.h"
#include "patching/torture/torture.h"
#include "patching/transaction.h"

namespace corral {
namespace {

// A run ends by checking the text against the ELF; with someone else's
// patch applied it would fail there, after the whole run.  It is refused
// at once, naming the patch, and runs again once the patch is reverted.
KTEST(stress, refuses_to_start_while_a_patch_is_applied) {
    PatchRecord* f = patch_find("fentry");
    KREQUIRE(f && f->state != PatchState::Applied);
    KREQUIRE(patch_apply(f, find_strategy("int3")).is_ok());
    StressOptions o;
    o.seconds = 1;
    o.strategy = "int3";
    Result<bool> refused = stress_run(o);
    KEXPECT(patch_revert(f).is_ok());
    KREQUIRE(refused.is_error());
    KEXPECT(str_contains(refused.error(), "patch 'fentry'"));
    KEXPECT(str_contains(refused.error(), "revert it first"));
}

}  // namespace
}  // namespace corral
