#include "kernel/test/ktest.h"

#include <stdarg.h>

#include "kernel/console/console.h"
#include "kernel/cpu.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/smp.h"
#include "kernel/symbols.h"
#include "kernel/time.h"

extern "C" const corral::KTest __ktests_start[], __ktests_end[];

namespace corral {

void KTestContext::fail(const char* file, int line, const char* fmt, ...) {
    char why[128];
    va_list ap;
    va_start(ap, fmt);
    vformat(why, sizeof why, fmt, ap);
    va_end(ap);
    // Strip the directory: "heap_test.cpp:42" is enough to find it.
    const char* base = file;
    for (const char* p = file; *p; p++)
        if (*p == '/') base = p + 1;
    if (failures_++ == 0) format(first_failure_, sizeof first_failure_, "%s (%s:%d)", why, base, line);
    kprintf("    failed: %s (%s:%d)\n", why, base, line);
}

void KTestContext::skip(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vformat(first_failure_, sizeof first_failure_, fmt, ap);
    va_end(ap);
    skipped_ = true;
}

static void deliberate_failure(KTestContext& t) {
    t.fail(__FILE__, __LINE__, "this test fails on purpose (selftest=fail): the driver must report it");
}

// The watchdog: a test still running after a minute is reported once, with
// where every CPU is and every thread's state, so a hang in `make test`
// leaves more than its [ RUN ] line.  From the tick (any CPU's): it works
// even when the scheduler does not.
static constexpr uint64_t WATCHDOG_US = 60000000;
static constexpr unsigned long long SLOW_TEST_MS = 5000;
static const KTest* volatile running_test = nullptr;
static volatile uint64_t running_since = 0;
static volatile bool reported = false;

static void print_thread_state(Thread* t, void*) {
    char where[64] = "-";
    if (!t->on_cpu && t->context) symbolize(t->context->eip, where, sizeof where);
    kprintf("    thread %d '%s' %s on cpu %d%s %s\n", t->id, t->name, thread_state_name(t->state), t->cpu,
            t->on_cpu ? " (on it)" : ", saved at", t->on_cpu ? "" : where);
}

static void watchdog_tick() {
    const KTest* test = running_test;
    if (!test || reported || now_us() - running_since < WATCHDOG_US) return;
    if (__atomic_exchange_n(&reported, true, __ATOMIC_ACQ_REL)) return;
    kprintf("ktest: %s.%s still running after %llu s; cpu %d (this tick) runs '%s'\n", test->suite, test->name,
            (unsigned long long)(WATCHDOG_US / 1000000), cpu_index(),
            this_cpu_current() ? this_cpu_current()->name : "?");
    for (int c = 0; c < cpu_count(); c++)
        if (c != cpu_index()) smp_print_sample(c);
    for_each_thread(print_thread_state, nullptr);
}

static void run_one(const KTest& test, KTestSummary& summary) {
    kprintf("[ RUN  ] %s.%s\n", test.suite, test.name);
    KTestContext t;
    running_since = now_us();
    reported = false;
    running_test = &test;
    test.run(t);
    running_test = nullptr;
    const unsigned long long ms = (now_us() - running_since) / 1000;
    if (t.failed()) {
        kprintf("[ FAIL ] %s.%s: %s\n", test.suite, test.name, t.first_failure());
        summary.failed++;
    } else if (t.skipped()) {
        kprintf("[ SKIP ] %s.%s: %s\n", test.suite, test.name, t.first_failure());
        summary.skipped++;
    } else {
        kprintf("[ PASS ] %s.%s\n", test.suite, test.name);
        summary.passed++;
    }
    // A slow test stands out in a log (the [ PASS ] line itself is the contract's, docs/design.md §3).
    if (ms >= SLOW_TEST_MS) kprintf("ktest: %s.%s took %llu ms\n", test.suite, test.name, ms);
}

// `test=` takes a comma-separated list of globs: test=heap.*,shell.*
static bool matches_any(const char* globs, const char* name) {
    char one[64];
    while (*globs) {
        size_t n = 0;
        while (globs[n] && globs[n] != ',') n++;
        str_copy(one, globs, n + 1 < sizeof one ? n + 1 : sizeof one);
        if (glob_match(one, name)) return true;
        globs += n;
        if (*globs == ',') globs++;
    }
    return false;
}

KTestSummary run_ktests(const char* glob, bool with_deliberate_failure) {
    KTestSummary summary{0, 0, 0};
    // How many this boot must run: the judge checks the summary adds up to it.
    int matched = with_deliberate_failure ? 1 : 0;
    for (const KTest* test = __ktests_start; test < __ktests_end; test++) {
        char full[96];
        format(full, sizeof full, "%s.%s", test->suite, test->name);
        if (matches_any(glob, full)) matched++;
    }
    kprintf("ktest: %d of %d registered ktests match '%s'\n", matched, int(__ktests_end - __ktests_start), glob);
    const bool watched = sched_add_tick_hook(watchdog_tick);
    for (const KTest* test = __ktests_start; test < __ktests_end; test++) {
        char full[96];
        format(full, sizeof full, "%s.%s", test->suite, test->name);
        if (matches_any(glob, full)) run_one(*test, summary);
    }
    if (with_deliberate_failure) run_one(KTest{"selftest", "deliberate_failure", deliberate_failure}, summary);
    if (watched) sched_remove_tick_hook(watchdog_tick);
    kprintf("ktest: %d passed, %d failed, %d skipped\n", summary.passed, summary.failed, summary.skipped);
    return summary;
}

}  // namespace corral
