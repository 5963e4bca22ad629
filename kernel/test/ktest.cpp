#include "kernel/test/ktest.h"

#include <stdarg.h>

#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"

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

static void run_one(const KTest& test, KTestSummary& summary) {
    kprintf("[ RUN  ] %s.%s\n", test.suite, test.name);
    KTestContext t;
    test.run(t);
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
    for (const KTest* test = __ktests_start; test < __ktests_end; test++) {
        char full[96];
        format(full, sizeof full, "%s.%s", test->suite, test->name);
        if (matches_any(glob, full)) run_one(*test, summary);
    }
    if (with_deliberate_failure) run_one(KTest{"selftest", "deliberate_failure", deliberate_failure}, summary);
    if (summary.skipped)
        kprintf("ktest: %d passed, %d failed, %d skipped\n", summary.passed, summary.failed, summary.skipped);
    else
        kprintf("ktest: %d passed, %d failed\n", summary.passed, summary.failed);
    return summary;
}

}  // namespace corral
