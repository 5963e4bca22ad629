// In-kernel tests.  KTEST(suite, name) registers a test in the .ktests
// section; `test=<glob>` on the command line runs those whose "suite.name"
// matches and prints the lines the QEMU driver reads (docs/design.md §3):
//   [ RUN  ] suite.name / [ PASS ] suite.name / [ FAIL ] suite.name: why
//   ktest: suite.name took N ms        (a test that took 5 s or more)
//   [ SKIP ] suite.name: why      (never a silent pass)
//   ktest: N passed, N failed[, N skipped]
#pragma once
#include <stdint.h>

namespace corral {

class KTestContext {
public:
    void fail(const char* file, int line, const char* fmt, ...) __attribute__((format(printf, 4, 5)));
    void skip(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
    bool failed() const { return failures_ > 0; }
    bool skipped() const { return skipped_; }
    const char* first_failure() const { return first_failure_; }

private:
    int failures_ = 0;
    bool skipped_ = false;
    char first_failure_[160] = {};
};

struct KTest {
    const char* suite;
    const char* name;
    void (*run)(KTestContext& t);
};

struct KTestSummary { int passed, failed, skipped; };
// Runs every registered test matching `glob`; `deliberate_failure` adds the
// negative-control test the driver's own tests use (selftest=fail).
KTestSummary run_ktests(const char* glob, bool deliberate_failure);

}  // namespace corral

#define KTEST(suite, name)                                                                       \
    static void ktest_##suite##_##name(::corral::KTestContext& t);                               \
    [[gnu::used, gnu::section(".ktests")]] static const ::corral::KTest ktest_entry_##suite##_##name{ \
        #suite, #name, ktest_##suite##_##name};                                                  \
    static void ktest_##suite##_##name([[maybe_unused]] ::corral::KTestContext& t)

#define KEXPECT(cond) \
    do { if (!(cond)) t.fail(__FILE__, __LINE__, "expected %s", #cond); } while (0)
#define KEXPECT_EQ(a, b)                                                                               \
    do {                                                                                               \
        auto _ka = (a);                                                                                \
        auto _kb = (b);                                                                                \
        if (!(_ka == _kb))                                                                             \
            t.fail(__FILE__, __LINE__, "expected %s == %s (got %#llx vs %#llx)", #a, #b,               \
                   (unsigned long long)_ka, (unsigned long long)_kb);                                  \
    } while (0)
// Stops the test at the first failure (for preconditions of what follows).
#define KREQUIRE(cond) \
    do { if (!(cond)) { t.fail(__FILE__, __LINE__, "required %s", #cond); return; } } while (0)
