#include "patching/patching.h"

#include "kernel/panic.h"
#include "patching/bench/bench.h"
#include "patching/corral.h"
#include "patching/hold.h"
#include "patching/klp/klp.h"
#include "patching/module/loader.h"
#include "patching/text_writer.h"
#include "patching/torn.h"
#include "patching/transaction.h"

namespace corral {

void int3_strategy_init();

void patching_init() {
    text_writer_init();      // the alias's page table exists before any corral
    corral_init();           // IPI_CALL: park or sync
    torn_init();             // faults in patched bytes kill a thread, not the kernel
    int3_strategy_init();    // #BP: finish a half-written jmp
    hold_init();             // #DB: hold a thread at an exact instruction (scenarios)
    klp::klp_init();         // klp's transition thread, tick and switch-in hooks
    module::loader_init();   // patch modules: their code named in backtraces
    transactions_init();     // the built-in demo patches
    Result<void> bench = bench::bench_init();   // the ping IPI, the benchmarks' patches
    if (bench.is_error()) panic("bench: %s", bench.error());
    module::load_boot_modules();   // patch modules from the boot loader, applied by patch= later
}

}  // namespace corral
