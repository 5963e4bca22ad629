// patchtorture's fault injections (`stress ... inject=<list>`): while the
// torture runs, an injector thread on the last CPU breaks the rendezvous in
// one way after another, each for a few seconds, with quiet gaps between:
//
//   never-ack     interrupts off, spinning, past the corral timeout: corrals
//                 and sync rounds abort with nothing written (expected)
//   late-ack      interrupts off for a quarter of the timeout: waited for
//   halted        cli; hlt -- woken only by an NMI another CPU sends after
//                 a while: aborts like never-ack
//   nmi           NMIs sent to the other CPUs, parked or not
//   irq-corral    a corral asked for from the timer interrupt: refused
//   two-patchers  a third patcher asking for corrals as fast as it can
//
// The torture counts each, treats the aborts the first and third cause as
// expected (the patcher retries the same operation afterwards), and fails
// the run when an injection had no effect or an unexpected one.
#pragma once
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral::torture {

enum class Injection : uint8_t { NeverAck, LateAck, Halted, Nmi, IrqCorral, TwoPatchers };
constexpr int INJECTIONS = 6;
constexpr const char* INJECTION_NAMES = "never-ack late-ack halted nmi irq-corral two-patchers all";
const char* injection_name(Injection i);
// A comma-separated list ("all" for every one) into a bit mask.
Result<uint32_t> injections_by_names(const char* list);

// The corral timeout while injecting: short, so never-ack and halted are
// past it quickly; the torture sets it.
constexpr uint64_t INJECT_CORRAL_TIMEOUT_US = 2000000;

void injector_start(uint32_t mask);   // the thread runs on the last CPU (needs 2 or more)
void injector_stop();                 // returns once the injector is back to normal

// An injection that makes corrals abort is under way (or ended a moment ago).
bool injection_may_abort();
void injection_count_abort();

struct InjectionReport {
    uint32_t rounds[INJECTIONS];
    uint32_t aborts;            // expected: counted by the patchers
    uint32_t refusals;          // irq-corral
    uint32_t nmis_sent;
    uint32_t extra_corrals;     // two-patchers
};
InjectionReport injection_report();
bool injection_all_ran();   // every requested injection has run at least once
// The first thing an injection did that it should not have (empty: none),
// and whether every requested injection showed its effect.
const char* injection_problem();

}  // namespace corral::torture
