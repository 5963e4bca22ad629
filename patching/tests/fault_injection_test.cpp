// Faults injected into the corral's rendezvous.  Each must end in a clean
// completion, timeout/abort or refusal -- never a hang -- with the kernel's
// text byte-identical afterwards and the next corral working again.  (The
// CPU that never answers at all is corral.deaf_cpu_aborts_with_nothing_written.)
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/trap.h"
#include "kernel/cpu.h"
#include "kernel/lib/hash.h"
#include "kernel/lib/string.h"
#include "kernel/sched/thread.h"
#include "kernel/smp.h"
#include "kernel/test/ktest.h"
#include "kernel/time.h"
#include "patching/corral.h"
#include "patching/tests/generous_timeout.h"

extern "C" const uint8_t __text_start[], __text_end[];

namespace corral {
namespace {

uint32_t text_hash() { return fnv1a(__text_start, size_t(__text_end - __text_start)); }

Result<void> no_work(void*, const CorralReport&) { return Ok{}; }

// ---- A CPU that answers late (interrupts off for a while, then on).

constexpr uint32_t LATE_US = 300000;
volatile bool late_ready = false;

void answer_late(void*) {
    arch::cli();
    late_ready = true;
    udelay(LATE_US);   // deaf meanwhile: no IPI, no polling
    arch::sti();
}

KTEST(fault, cpu_that_answers_late_is_waited_for) {
    if (cpu_count() < 2) { t.skip("needs a second CPU"); return; }
    const uint32_t before = text_hash();
    late_ready = false;
    Thread* th = thread_create("late", answer_late, nullptr, 1u << (cpu_count() - 1));
    while (!late_ready) thread_yield();
    // A starved host may deschedule the late vCPU well past its 300 ms: the
    // test is about waiting for it, so the timeout must not be what decides.
    CorralReport report{};
    Result<void> r = make_error("not run");
    {
        GenerousCorralTimeout generous;
        r = corral_all_cpus(no_work, nullptr, &report);
    }
    thread_join(th);
    KEXPECT(r.is_ok());
    KEXPECT_EQ(report.missing_mask, 0u);
    KEXPECT(report.wait_us > 0);
    KEXPECT_EQ(text_hash(), before);
}

// ---- A CPU halted with interrupts off (cli; hlt): no IPI wakes it, only
// an NMI.  The corral aborts with nothing written and names the CPU.

volatile bool halt_ready = false, halt_woken = false, halt_wake = false;

void halt_deaf(void*) {
    arch::cli();
    halt_ready = true;
    while (!halt_wake) arch::hlt();   // each NMI ends one hlt; only halt_wake ends the loop
    arch::sti();
    halt_woken = true;
}

KTEST(fault, cpu_halted_with_interrupts_off_aborts_cleanly) {
    if (cpu_count() < 2 || !smp_apic_mode()) { t.skip("needs a second CPU and the LAPIC"); return; }
    const uint32_t before = text_hash();
    halt_ready = false;
    halt_woken = false;
    halt_wake = false;
    const int cpu = cpu_count() - 1;
    Thread* th = thread_create("halted", halt_deaf, nullptr, 1u << cpu);
    while (!halt_ready) thread_yield();
    CorralReport report{};
    Result<void> r = make_error("not run");
    {
        ScopedCorralTimeout short_wait(300000);
        r = corral_all_cpus(no_work, nullptr, &report);
    }
    halt_wake = true;
    arch::ipi_send_nmi(cpus[cpu].lapic_id);
    thread_join(th);
    KEXPECT(r.is_error() && str_contains(r.error(), "nothing written"));
    KEXPECT(report.missing_mask & (1u << cpu));
    KEXPECT(halt_woken);
    KEXPECT(corral_all_cpus(no_work, nullptr).is_ok());   // the next corral forms
    KEXPECT_EQ(text_hash(), before);
}

// ---- An NMI arriving at a parked CPU: it returns to the park loop.

struct NmiWork { int target; uint32_t before; bool seen; };

Result<void> nmi_a_parked_cpu(void* ctx, const CorralReport&) {
    auto* w = static_cast<NmiWork*>(ctx);
    w->before = smp_nmis_taken(w->target);
    arch::ipi_send_nmi(cpus[w->target].lapic_id);
    const uint64_t end = now_us() + 30000000;   // generous: the parked vCPU may be starved
    while (smp_nmis_taken(w->target) == w->before && now_us() < end) arch::cpu_relax();
    w->seen = smp_nmis_taken(w->target) != w->before;
    return Ok{};
}

KTEST(fault, nmi_while_parked_leaves_the_corral_intact) {
    if (cpu_count() < 2) { t.skip("needs a second CPU"); return; }
    const uint32_t before = text_hash();
    NmiWork w{cpu_count() - 1, 0, false};
    CorralReport report{};
    Result<void> r = corral_all_cpus(nmi_a_parked_cpu, &w, &report);
    KEXPECT(r.is_ok());
    KEXPECT(w.seen);   // the NMI really arrived while the CPU was parked
    KEXPECT_EQ(report.missing_mask, 0u);
    KEXPECT(corral_all_cpus(no_work, nullptr).is_ok());
    KEXPECT_EQ(text_hash(), before);
}

// ---- A corral asked for from a trap handler is refused, not deadlocked.

volatile bool handler_ran = false;
Result<void> from_handler = make_error("not run");
arch::TrapHandler saved_handler = nullptr;

bool corral_from_interrupt(arch::TrapFrame* frame) {
    from_handler = corral_all_cpus(no_work, nullptr);
    handler_ran = true;
    return saved_handler ? saved_handler(frame) : true;
}

bool handler_done(void*) { return handler_ran; }

KTEST(fault, corral_from_interrupt_context_is_refused) {
    if (!smp_apic_mode()) { t.skip("needs the LAPIC to send itself an IPI"); return; }
    const uint32_t before = text_hash();
    handler_ran = false;
    thread_set_affinity(current_thread(), 1u);
    saved_handler = arch::register_trap_handler(arch::VECTOR_IPI_RESCHEDULE, corral_from_interrupt);
    arch::ipi_send(cpus[0].lapic_id, arch::VECTOR_IPI_RESCHEDULE);
    const bool ran = wait_until(handler_done, nullptr, 30000000);
    arch::register_trap_handler(arch::VECTOR_IPI_RESCHEDULE, saved_handler);
    thread_set_affinity(current_thread(), AFFINITY_ANY);
    KREQUIRE(ran);
    KEXPECT(from_handler.is_error() && str_contains(from_handler.error(), "interrupt context"));
    KEXPECT(corral_all_cpus(no_work, nullptr).is_ok());   // and the corral still works
    KEXPECT_EQ(text_hash(), before);
}

}  // namespace
}  // namespace corral
