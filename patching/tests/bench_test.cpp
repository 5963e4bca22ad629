// The benchmarks, with two samples each: every BENCH line is one
// well-formed JSON object whose figures are sane, every benchmark that can
// run here printed, and the kernel text is as it was afterwards.
#include "kernel/cpu.h"
#include "kernel/lib/format.h"
#include "kernel/lib/json.h"
#include "kernel/lib/string.h"
#include "kernel/test/ktest.h"
#include "patching/bench/bench.h"
#include "patching/tests/generous_timeout.h"
#include "patching/text_verify.h"

namespace corral {
namespace {

struct Seen {
    int lines = 0;
    int bad = 0;
    char first_problem[200] = {};
    uint32_t names = 0;   // bit per benchmark name seen
};

const char* const NAMES[] = {"ipi", "corral", "window", "batch", "call", "boot"};

void problem(Seen& s, const char* line, const char* why) {
    if (!s.bad++) format(s.first_problem, sizeof s.first_problem, "%s: %.120s", why, line);
}

bool number(const char* line, const char* key, int64_t* v) { return json_number_milli(line, key, v); }

void check_line(const char* line, void* ctx) {
    Seen& s = *static_cast<Seen*>(ctx);
    s.lines++;
    char why[64];
    if (!json_valid(line, why, sizeof why)) return problem(s, line, why);
    for (int i = 0; i < 6; i++) {
        char needle[32];
        format(needle, sizeof needle, "{\"name\":\"%s\"", NAMES[i]);
        if (str_starts_with(line, needle)) s.names |= 1u << i;
    }
    int64_t min, median, p90, p99, max, samples, cpus;
    if (!number(line, "min", &min) || !number(line, "median", &median) || !number(line, "p90", &p90) ||
        !number(line, "p99", &p99) || !number(line, "max", &max) || !number(line, "samples", &samples) ||
        !number(line, "cpus", &cpus))
        return problem(s, line, "a figure is missing");
    if (!(min <= median && median <= p90 && p90 <= p99 && p99 <= max)) return problem(s, line, "figures out of order");
    if (min <= 0) return problem(s, line, "a zero or negative time");
    if (samples < 1000 || cpus != cpu_count() * 1000) return problem(s, line, "samples or cpus wrong");
    // A ratio is the quotient of the figures printed next to it.
    int64_t ratio, ipi;
    if (number(line, "ratio", &ratio) && number(line, "ipi_median", &ipi)) {
        const int64_t expect = ipi ? median * 1000 / ipi : 0;
        if (ratio < expect - expect / 50 - 2 || ratio > expect + expect / 50 + 2)
            return problem(s, line, "ratio is not median / ipi_median");
    }
}

KTEST(bench, every_benchmark_prints_sane_json_and_leaves_the_text_alone) {
    const TextVerifyReport before = text_verify(false);
    GenerousCorralTimeout generous;
    Seen seen;
    bench::set_line_sink(check_line, &seen);
    Result<int> r = bench::run_benchmarks("all", bench::Options{2});
    bench::set_line_sink(nullptr, nullptr);
    KREQUIRE(r.is_ok());
    KEXPECT_EQ(r.value(), seen.lines);
    if (seen.bad) t.fail(__FILE__, __LINE__, "%d bad lines; the first: %s", seen.bad, seen.first_problem);
    const uint32_t need = cpu_count() >= 2 ? 0x3f : 0x3c;   // ipi and corral need two CPUs
    if ((seen.names & need) != need) t.fail(__FILE__, __LINE__, "benchmarks seen %#x, want %#x", seen.names, need);
    const TextVerifyReport after = text_verify(false);
    KEXPECT_EQ(after.patched_bytes, before.patched_bytes);
    KEXPECT_EQ(after.unexplained_chunks, 0);
}

KTEST(bench, unknown_name_is_refused) {
    Result<int> r = bench::run_benchmarks("nope", bench::Options{1});
    KREQUIRE(r.is_error());
    KEXPECT(str_contains(r.error(), "unknown benchmark 'nope'"));
}

}  // namespace
}  // namespace corral
