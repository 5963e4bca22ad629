#include "patching/torture/inject.h"

#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/sections.h"
#include "kernel/cpu.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/time.h"
#include "patching/corral.h"

namespace corral::torture {
namespace {

constexpr uint32_t GAP_MS = 2000;          // quiet time between two injections
constexpr uint32_t WINDOW_US = 1000000;    // nmi, irq-corral, two-patchers last this long
constexpr uint64_t ABORT_GRACE_US = 1000000;   // an abort reported this long after the injection is still its

const char* const names[INJECTIONS] = {"never-ack", "late-ack", "halted", "nmi", "irq-corral", "two-patchers"};

struct State {
    uint32_t mask;
    volatile bool stop;
    Thread* thread;
    int cpu;                              // the injector's
    volatile uint64_t may_abort_until;    // now_us() up to which corral aborts are expected
    volatile bool halted;                 // the injector's CPU sits in hlt with interrupts off
    volatile uint64_t wake_at;
    volatile bool wake_sent;
    volatile bool irq_corral;             // the tick asks for corrals (and must be refused)
    InjectionReport report;
    char problem[160];
};
State st;

void note_problem(const char* what) {
    if (!st.problem[0]) str_copy(st.problem, what, sizeof st.problem);
}

Result<void> no_work(void*, const CorralReport&) { return Ok{}; }

// On every CPU's tick: wake the halted injector once its time is up (from
// another CPU: the halted one takes no interrupt), and the irq-corral ask.
NOT_PATCHABLE void inject_tick() {
    if (st.halted && !st.wake_sent && cpu_index() != st.cpu && now_us() >= st.wake_at) {
        st.wake_sent = true;
        arch::ipi_send_nmi(cpus[st.cpu].lapic_id);
    }
    if (st.irq_corral && cpu_index() == st.cpu) {
        Result<void> r = corral_all_cpus(no_work, nullptr);
        if (r.is_ok()) note_problem("irq-corral: a corral asked for from the timer interrupt was formed");
        else if (!str_contains(r.error(), "interrupt context")) note_problem("irq-corral: refused for the wrong reason");
        else st.report.refusals = st.report.refusals + 1;
    }
}

void sleep_unless_stopped(uint32_t ms) {
    for (uint32_t slept = 0; slept < ms && !st.stop; slept += 50) thread_sleep_ms(50);
}

void inject(Injection kind) {
    const uint64_t timeout = corral_timeout_us();
    switch (kind) {
        case Injection::NeverAck:
            st.may_abort_until = ~0ull;
            arch::cli();
            udelay(uint32_t(timeout + 1000000));   // deaf: no IPI, no polling
            arch::sti();
            st.may_abort_until = now_us() + ABORT_GRACE_US;
            break;
        case Injection::LateAck:
            arch::cli();
            udelay(uint32_t(timeout / 4));
            arch::sti();
            break;
        case Injection::Halted:
            st.may_abort_until = ~0ull;
            st.wake_sent = false;
            st.wake_at = now_us() + timeout + 1000000;
            arch::cli();
            st.halted = true;
            // Only an NMI ends hlt with interrupts off; a report's NMI (a
            // shootdown naming this CPU) may come first, so halt again.
            while (!st.wake_sent) arch::hlt();
            st.halted = false;
            arch::sti();
            st.may_abort_until = now_us() + ABORT_GRACE_US;
            break;
        case Injection::Nmi: {
            const uint64_t end = now_us() + WINDOW_US;
            for (int i = 0; now_us() < end && !st.stop; i++) {
                const int target = i % (cpu_count() - 1);   // every CPU but ours (the last)
                arch::ipi_send_nmi(cpus[target].lapic_id);
                st.report.nmis_sent = st.report.nmis_sent + 1;
                udelay(2000);
            }
            break;
        }
        case Injection::IrqCorral:
            st.irq_corral = true;
            sleep_unless_stopped(WINDOW_US / 1000);
            st.irq_corral = false;
            break;
        case Injection::TwoPatchers: {
            const uint64_t end = now_us() + WINDOW_US;
            while (now_us() < end && !st.stop) {
                Result<void> r = corral_all_cpus(no_work, nullptr);
                if (r.is_error()) {
                    note_problem("two-patchers: a third patcher's corral failed");
                    break;
                }
                st.report.extra_corrals = st.report.extra_corrals + 1;
            }
            break;
        }
    }
}

void injector(void*) {
    while (!st.stop)
        for (int k = 0; k < INJECTIONS && !st.stop; k++) {
            if (!(st.mask >> k & 1)) continue;
            sleep_unless_stopped(GAP_MS);
            if (st.stop) break;
            inject(Injection(k));
            st.report.rounds[k] = st.report.rounds[k] + 1;
        }
}

}  // namespace

const char* injection_name(Injection i) { return names[int(i)]; }

Result<uint32_t> injections_by_names(const char* list) {
    uint32_t mask = 0;
    char word[24];
    for (const char* p = list; *p;) {
        size_t n = 0;
        while (p[n] && p[n] != ',') n++;
        if (n == 0 || n >= sizeof word) return make_error("inject: bad list '%s' (one or more of: %s)", list, INJECTION_NAMES);
        for (size_t i = 0; i < n; i++) word[i] = p[i];
        word[n] = '\0';
        bool known = false;
        if (str_eq(word, "all")) {
            mask |= (1u << INJECTIONS) - 1;
            known = true;
        }
        for (int k = 0; k < INJECTIONS && !known; k++)
            if (str_eq(word, names[k])) {
                mask |= 1u << k;
                known = true;
            }
        if (!known) return make_error("inject: unknown injection '%s' (one or more of: %s)", word, INJECTION_NAMES);
        p += n;
        if (*p == ',') p++;
    }
    if (!mask) return make_error("inject: empty list (one or more of: %s)", INJECTION_NAMES);
    return mask;
}

void injector_start(uint32_t mask) {
    st = State{};
    st.mask = mask;
    st.cpu = cpu_count() - 1;
    sched_add_tick_hook(inject_tick);
    st.thread = thread_create("injector", injector, nullptr, 1u << st.cpu);
}

void injector_stop() {
    st.stop = true;
    thread_join(st.thread);
    sched_remove_tick_hook(inject_tick);
}

bool injection_may_abort() { return now_us() <= st.may_abort_until; }
void injection_count_abort() { __atomic_add_fetch(&st.report.aborts, 1, __ATOMIC_RELAXED); }
InjectionReport injection_report() { return st.report; }

bool injection_all_ran() {
    for (int k = 0; k < INJECTIONS; k++)
        if ((st.mask >> k & 1) && st.report.rounds[k] == 0) return false;
    return true;
}

const char* injection_problem() {
    if (st.problem[0]) return st.problem;
    static char why[96];
    for (int k = 0; k < INJECTIONS; k++)
        if ((st.mask >> k & 1) && st.report.rounds[k] == 0) {
            format(why, sizeof why, "%s was never injected: the run was too short", names[k]);
            return why;
        }
    const uint32_t aborting = 1u << int(Injection::NeverAck) | 1u << int(Injection::Halted);
    if ((st.mask & aborting) && st.report.aborts == 0) return "never-ack/halted: no corral or sync round aborted";
    if ((st.mask >> int(Injection::IrqCorral) & 1) && st.report.refusals == 0) return "irq-corral: nothing refused";
    if ((st.mask >> int(Injection::TwoPatchers) & 1) && st.report.extra_corrals == 0)
        return "two-patchers: the third patcher formed no corral";
    return nullptr;
}

}  // namespace corral::torture
