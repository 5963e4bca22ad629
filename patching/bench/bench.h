// Benchmarks (`bench=<name|all>` on the command line, `bench` in the shell):
// what each patching strategy costs, measured inside one boot.
//
// Every figure is a distribution of RDTSC samples (ordered by LFENCE where
// the CPU has it), printed as one line `BENCH {json}` with the fields
// make bench reads (docs/performance.md): name, case, cpus, accel, unit,
// samples, min, median, p90, p99, max, then the benchmark's own.  Times are
// in microseconds (the calibrated TSC rate), call costs in cycles.  Ratios
// are taken between figures measured in this boot, side by side, never
// against a wall-clock threshold.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral::bench {

struct Stats {
    uint32_t samples;
    uint64_t min, median, p90, p99, max;
};
// Sorts `v` in place.  n >= 1.
Stats stats_of(uint64_t* v, int n);

uint64_t cycles_now();                    // lfence; rdtsc
uint64_t cycles_to_ns(uint64_t cycles);
const char* accel_name();                 // "tcg", "kvm", ... as CPUID's hypervisor leaf tells

constexpr int LINE_BYTES = 768;

// One BENCH line, built field by field, printed by finish().
class Line {
public:
    Line(const char* name, const char* kase);
    void stats_us(const Stats& s);        // unit "us", the five figures from cycles
    void stats_cycles(const Stats& s);    // unit "cycles"
    void add_int(const char* key, int64_t v);
    void add_us(const char* key, uint64_t cycles);   // a time, from cycles, in µs
    void add_ratio(const char* key, uint64_t num, uint64_t den);   // num/den, 3 decimals
    void add_str(const char* key, const char* v);
    void add_bool(const char* key, bool v);
    void add_raw(const char* key, const char* json);  // an object or array already formatted
    void goal(const char* text, bool met);
    void finish();
    const char* text() const { return buf_; }

private:
    void key(const char* k);
    char buf_[LINE_BYTES];
    size_t len_ = 0;
};

// A few more decimals than the default printing gives: "12.345".
void format_fixed3(char* out, size_t size, uint64_t thousandths);

constexpr int MAX_SAMPLES = 4000;   // per distribution

// Runs discarded before the samples: caches, TCG's translations, the
// first page faults.  Fewer when few samples are asked for (the ktest).
constexpr int warmup(int samples) { return samples < 20 ? samples : 20; }

struct Options {
    int samples;   // 0: each benchmark's own default
    int pick(int default_samples) const {
        const int n = samples > 0 ? samples : default_samples;
        return n < MAX_SAMPLES ? n : MAX_SAMPLES;
    }
};

struct Benchmark {
    const char* name;
    const char* what;
    int min_cpus;
    Result<void> (*run)(const Options& o);
};

// The ping IPI and the patches the benchmarks use (patching_init).
Result<void> bench_init();

// Runs `name` ("all" for every one); prints the BENCH lines and one closing
// line "bench: N results" (or "bench: FAILURE <why>").
Result<int> run_benchmarks(const char* name, const Options& o);

// A ktest sees every line before it is printed.
void set_line_sink(void (*sink)(const char* json, void* ctx), void* ctx);

// A hotpatch revert leaves its jmp in the padding: every benchmark that
// patched puts the text back as it found it.
Result<void> clean_padding(const char* bench);

// The benchmarks.
Result<void> bench_ipi(const Options& o);
Result<void> bench_corral(const Options& o);
Result<void> bench_window(const Options& o);
Result<void> bench_batch(const Options& o);
Result<void> bench_call(const Options& o);
Result<void> bench_boot(const Options& o);

// ipi.cpp: one IPI round trip to each CPU in `mask` (sent one by one, or
// as one broadcast when `mask` is every other CPU), in cycles.
uint64_t ipi_round_trip(uint32_t mask);
void ipi_init();

// Sleeping threads for the scan's cost, and busy or interrupts-off threads
// on every other CPU (load.cpp).
enum class Load { Idle, Busy, IrqOff };
const char* load_name(Load l);
void load_start(Load l);   // on every CPU but this one
void load_stop();
Result<void> sleepers_start(int count);
void sleepers_stop();

}  // namespace corral::bench
