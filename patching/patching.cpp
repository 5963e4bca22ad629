#include "patching/patching.h"

#include "patching/corral.h"
#include "patching/hold.h"
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
    transactions_init();     // the built-in demo patches
}

}  // namespace corral
