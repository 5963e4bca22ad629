// The corral: an IPI rendezvous that parks every other CPU (modelled on
// Linux's stop_machine).  States:
//
//   IDLE -> PREPARE     the caller sends IPI_CALL to every other CPU
//   PREPARE -> PARKED   every CPU has answered: it records where it was
//                       (its trap frame) and waits in the park loop, still
//                       answering TLB shootdowns (see ParkMode for how)
//
// A CPU answers from the IPI, or from whatever wait loop it is in when the
// corral starts (kernel/sync/cross_cpu.h): a CPU waiting for a shootdown, a
// spinlock or another corral is parked there, so two CPUs waiting for each
// other never deadlock.  A CPU that holds a spinlock is never parked.
//   PARKED: work(ctx)   runs on the caller while nobody else executes anything
//   -> RELEASE          the caller wakes the CPUs that halted (an IPI);
//                       each CPU flushes the text alias from its TLB,
//                       serializes (CPUID, SDM 8.1.3) and returns
//
// A CPU that does not answer within the timeout aborts the corral before any
// work runs: nothing is written, and the report names the missing CPUs.  A
// corral inside a corral, or asked for from a trap handler, is refused; two
// CPUs asking at once take turns.  Halted CPUs are woken by the IPI.
#pragma once
#include <stdint.h>

#include "kernel/config.h"
#include "kernel/lib/result.h"

namespace corral {
namespace arch { struct TrapFrame; }

struct CorralReport {
    int cpus;                                        // CPUs online during the corral
    uint32_t parked_mask;                            // CPUs that answered (the caller included)
    uint32_t missing_mask;                           // CPUs that never answered (abort)
    uint64_t wait_us;                                // time until all were parked
    arch::TrapFrame* parked_frame[config::MAX_CPUS]; // each parked CPU's IPI frame (null for the caller)
};

using CorralWork = Result<void> (*)(void* ctx, const CorralReport& report);

// Parks every other CPU, runs `work` on this one, releases them.  Returns
// the work's result, or an error if the corral could not be formed.
Result<void> corral_all_cpus(CorralWork work, void* ctx, CorralReport* report = nullptr);

// The same for the CPUs in `mask` only (this one left out): the others go
// on running.  Never safe for writing code; `bench corral` measures with it
// how the corral's cost grows with the CPUs it parks.
Result<void> corral_cpus(uint32_t mask, CorralWork work, void* ctx, CorralReport* report = nullptr);

// One sync round without parking: every other CPU takes an IPI, flushes the
// alias, serializes, and acknowledges.  Used between text_poke_bp steps.
Result<void> sync_all_cpus();

void corral_init();
void corral_set_timeout_us(uint64_t us);
uint64_t corral_timeout_us();
uint64_t corral_count();   // corrals completed (benchmarks, tests)
uint64_t sync_count();     // sync rounds completed
uint64_t corral_lock_waits();   // rounds that had to wait for another CPU's round
uint64_t corral_gather_us_total();   // time spent gathering, over every completed corral
// What round, if any, is waiting for `cpu`'s answer right now (race tests).
enum class RoundKind { None, Corral, Sync };
RoundKind corral_round_waiting_for(int cpu);

// How a parked CPU waits (`park=` on the command line, `corral park <mode>`
// in the shell).
//   spin      pause in a loop, polling (cross_cpu.h); the CPU never sleeps
//   halt      hlt at once, with the task priority raised so that only the
//             rendezvous vectors (arch/x86/lapic.h) wake it: no timer tick
//             or device interrupt runs on a parked CPU, and an emulator or
//             hypervisor gets the core back for the CPUs still to arrive
//   adaptive  spin for 20 us (about one wake-up of a halted vCPU), then halt
// Each wake-up that leaves the round unchanged is counted (an NMI, or a
// shootdown or ping that needed this CPU), and the CPU halts again.  A CPU
// parked inside a rendezvous handler (a poll nested in one) spins instead.
enum class ParkMode { Spin, Halt, Adaptive };
void corral_set_park_mode(ParkMode mode);
ParkMode corral_park_mode();
const char* park_mode_name(ParkMode mode);
bool park_mode_by_name(const char* name, ParkMode* out);
constexpr const char* PARK_MODE_NAMES = "spin halt adaptive";

struct ParkStats {
    uint64_t parks;              // times this CPU was parked
    uint64_t halts;              // hlt instructions executed while parked
    uint64_t released_by_ipi;    // halts ended by the release (or abort) IPI
    uint64_t nmi_wakeups;        // halts ended by an NMI, the round unchanged
    uint64_t spurious_wakeups;   // halts ended by anything else, the round unchanged
    uint64_t spun_in_service;    // loop turns spent spinning because a rendezvous vector was in service
};
ParkStats corral_park_stats(int cpu);
ParkStats corral_park_stats_total();   // summed over the online CPUs

// Deliberately broken safety checks: patchtorture's negative controls, and
// a course's picture of what each check is for.  Off unless asked for
// (`broken=` on the command line, `corral break <bug>` in the shell).
//   ack-before-park     (corral-scan) each CPU acknowledges the IPI, goes
//                       back to what it was running, and parks only at its
//                       next timer tick
//   skip-trap-frames    (corral-scan) the scan ignores trap frames, so it
//                       misses threads that were interrupted (and parked
//                       CPUs' threads)
//   stop-check-no-scan  (stop-check) no stack check: the patch is written
//                       in the first corral, whoever is inside its functions
//   klp-no-stack-check  (klp) every thread is switched at its first check,
//                       old functions on its stack or not
enum class CorralBug { None, AckBeforePark, SkipTrapFrames, StopCheckNoScan, KlpNoStackCheck };
void corral_set_bug(CorralBug bug);
CorralBug corral_bug();
const char* corral_bug_name(CorralBug bug);
bool corral_bug_by_name(const char* name, CorralBug* out);
// The strategy whose check `bug` breaks (null for None).
const char* corral_bug_strategy(CorralBug bug);
constexpr const char* CORRAL_BUG_NAMES = "none ack-before-park skip-trap-frames stop-check-no-scan klp-no-stack-check";

}  // namespace corral
