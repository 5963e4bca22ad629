#include "patching/strategy.h"

#include "kernel/lib/string.h"
#include "kernel/symbols.h"
#include "patching/module/loader.h"
#include "patching/text_writer.h"

namespace corral {

const Strategy* strategy_naive();
const Strategy* strategy_corral();
const Strategy* strategy_corral_scan();
const Strategy* strategy_hotpatch();
const Strategy* strategy_int3();
const Strategy* strategy_stop_check();
const Strategy* strategy_klp();

const Strategy* find_strategy(const char* name) {
    const Strategy* all[] = {strategy_naive(), strategy_corral(), strategy_corral_scan(), strategy_hotpatch(),
                             strategy_int3(), strategy_stop_check(), strategy_klp()};
    for (const Strategy* s : all)
        if (str_eq(s->name(), name)) return s;
    return nullptr;
}

bool Strategy::checks_own_bytes() const { return false; }
bool Strategy::consistent_across_functions() const { return false; }

Edit jmp_rel32_edit(uintptr_t at, uintptr_t to) {
    const uint32_t rel = uint32_t(to - (at + JMP_REL32_LENGTH));
    return Edit{at, JMP_REL32_LENGTH, false, {}, {0xe9, uint8_t(rel), uint8_t(rel >> 8), uint8_t(rel >> 16), uint8_t(rel >> 24)}};
}

const char* strategy_names() { return "naive corral corral-scan hotpatch int3 stop-check klp"; }

size_t symbol_size_at(uintptr_t address) {
    SymbolHit hit;
    if (symbol_for_address(address, &hit)) return hit.offset == 0 ? hit.symbol.size : 0;
    // A patch module's replacement: the module keeps no symbol sizes, so
    // its code from there to the end (a scan of it is only more careful).
    const module::LoadedModule* m = module::module_containing(address);
    return m ? m->code + m->code_size - address : 0;
}

Result<void> check_patchable(const Patch& p, size_t length) {
    if (!is_kernel_text(p.target, length))
        return make_error("%s at %#zx is not kernel text", p.name, p.target);
    if (is_not_patchable(p.target, p.target_size ? p.target_size : length))
        return make_error("refusing to patch %s: the patcher itself runs it while patching (not patchable)", p.name);
    if (p.target_size && p.target_size < length)
        return make_error("%s is %zu bytes, too short for a %zu-byte patch", p.name, p.target_size, length);
    return Ok{};
}

}  // namespace corral
