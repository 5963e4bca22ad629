#include "patching/bench/bench.h"

#include "arch/x86/cpu.h"
#include "kernel/boot_clock.h"
#include "kernel/console/console.h"
#include "kernel/cpu.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/thread.h"
#include "kernel/shell.h"
#include "kernel/time.h"
#include "patching/bench/targets.h"
#include "patching/transaction.h"

namespace corral::bench {
namespace {

const Benchmark benchmarks[] = {
    {"ipi", "round trip of one IPI to each CPU, and of a broadcast", 2, bench_ipi},
    {"corral", "park 1..N-1 CPUs and release them, next to the IPI round trip to the same CPUs", 2, bench_corral},
    {"window", "stop window of one patch per strategy, by phase, with 16/64/256 sleeping threads", 1, bench_window},
    {"batch", "K patches in one transaction vs K transactions: corrals, sync rounds, time per patch", 1, bench_batch},
    {"call", "cycles per call of each patch-site layout, unpatched, patched, and through a live int3", 1, bench_call},
    {"boot", "banner, paging, each AP, shell ready: microseconds since the first instruction", 1, bench_boot},
};

void (*line_sink)(const char*, void*) = nullptr;
void* line_sink_ctx = nullptr;
int lines_printed = 0;
int lines_dropped = 0;
bool has_lfence = false;

void insertion_sort(uint64_t* v, int n) {   // samples are few thousand at most
    for (int i = 1; i < n; i++) {
        const uint64_t x = v[i];
        int j = i - 1;
        for (; j >= 0 && v[j] > x; j--) v[j + 1] = v[j];
        v[j + 1] = x;
    }
}

// The nearest-rank percentile of sorted v[0..n).
uint64_t percentile(const uint64_t* v, int n, int p) {
    int rank = (p * n + 99) / 100;
    if (rank < 1) rank = 1;
    return v[rank - 1];
}

}  // namespace

Stats stats_of(uint64_t* v, int n) {
    insertion_sort(v, n);
    return Stats{uint32_t(n), v[0], n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, percentile(v, n, 90),
                 percentile(v, n, 99), v[n - 1]};
}

uint64_t cycles_now() {
    if (has_lfence) asm volatile("lfence" ::: "memory");
    return arch::rdtsc();
}

uint64_t cycles_to_ns(uint64_t cycles) {
    const uint64_t khz = tsc_hz() / 1000;
    return khz ? cycles * 1000000 / khz : 0;
}

const char* accel_name() {
    if (!(arch::cpuid(1).ecx & (1u << 31))) return "none";   // no hypervisor bit: hardware, or Bochs
    const arch::CpuidResult r = arch::cpuid(0x40000000);
    char sig[13];
    const uint32_t words[3] = {r.ebx, r.ecx, r.edx};
    for (int i = 0; i < 12; i++) sig[i] = char(words[i / 4] >> (8 * (i % 4)));
    sig[12] = '\0';
    if (str_starts_with(sig, "TCGTCGTCG")) return "tcg";
    if (str_starts_with(sig, "KVMKVMKVM")) return "kvm";
    return "unknown";
}

void format_fixed3(char* out, size_t size, uint64_t thousandths) {
    format(out, size, "%llu.%03llu", (unsigned long long)(thousandths / 1000), (unsigned long long)(thousandths % 1000));
}

Line::Line(const char* name, const char* kase) {
    len_ = size_t(format(buf_, sizeof buf_, "{\"name\":\"%s\",\"case\":\"%s\",\"cpus\":%d,\"accel\":\"%s\"", name, kase,
                         cpu_count(), accel_name()));
}

void Line::key(const char* k) {
    if (len_ < sizeof buf_) len_ += size_t(format(buf_ + len_, sizeof buf_ - len_, ",\"%s\":", k));
}

void Line::add_int(const char* k, int64_t v) {
    key(k);
    if (len_ < sizeof buf_) len_ += size_t(format(buf_ + len_, sizeof buf_ - len_, "%lld", (long long)v));
}

void Line::add_us(const char* k, uint64_t cycles) {
    char v[32];
    format_fixed3(v, sizeof v, cycles_to_ns(cycles));
    add_raw(k, v);
}

void Line::add_ratio(const char* k, uint64_t num, uint64_t den) {
    char v[32];
    format_fixed3(v, sizeof v, den ? num * 1000 / den : 0);
    add_raw(k, v);
}

void Line::add_str(const char* k, const char* v) {
    key(k);
    if (len_ < sizeof buf_) len_ += size_t(format(buf_ + len_, sizeof buf_ - len_, "\"%s\"", v));
}

void Line::add_bool(const char* k, bool v) { add_raw(k, v ? "true" : "false"); }

void Line::add_raw(const char* k, const char* json) {
    key(k);
    if (len_ < sizeof buf_) len_ += size_t(format(buf_ + len_, sizeof buf_ - len_, "%s", json));
}

void Line::stats_us(const Stats& s) {
    add_str("unit", "us");
    add_int("samples", s.samples);
    add_us("min", s.min);
    add_us("median", s.median);
    add_us("p90", s.p90);
    add_us("p99", s.p99);
    add_us("max", s.max);
}

void Line::stats_cycles(const Stats& s) {
    add_str("unit", "cycles");
    add_int("samples", s.samples);
    add_int("min", int64_t(s.min));
    add_int("median", int64_t(s.median));
    add_int("p90", int64_t(s.p90));
    add_int("p99", int64_t(s.p99));
    add_int("max", int64_t(s.max));
}

void Line::goal(const char* text, bool met) {
    add_str("goal", text);
    add_bool("met", met);
}

void Line::finish() {
    if (len_ + 2 >= sizeof buf_) {   // never print a cut object: make bench would reject it anyway
        lines_dropped++;   // run_benchmarks() fails the run: a result is missing
        return;
    }
    buf_[len_++] = '}';
    buf_[len_] = '\0';
    if (line_sink) line_sink(buf_, line_sink_ctx);
    kprintf("BENCH %s\n", buf_);
    lines_printed++;
}

void set_line_sink(void (*sink)(const char*, void*), void* ctx) {
    line_sink = sink;
    line_sink_ctx = ctx;
}

Result<int> run_benchmarks(const char* name, const Options& o) {
    has_lfence = arch::cpuid(1).edx & (1u << 26);   // SSE2
    bool known = str_eq(name, "all");
    for (const Benchmark& b : benchmarks) known = known || str_eq(name, b.name);
    if (!known) return make_error("bench: unknown benchmark '%s' (ipi corral window batch call boot, or all)", name);
    // Measured from one CPU that stays put; the load goes on the others.
    Thread* me = current_thread();
    const uint32_t affinity = me->affinity;
    thread_set_affinity(me, 1u << cpu_index());
    lines_printed = 0;
    lines_dropped = 0;
    Result<void> r = Ok{};
    for (const Benchmark& b : benchmarks) {
        if (!str_eq(name, "all") && !str_eq(name, b.name)) continue;
        if (cpu_count() < b.min_cpus) {
            kprintf("bench: %s needs %d CPUs, skipped\n", b.name, b.min_cpus);
            continue;
        }
        kprintf("bench: %s: %s\n", b.name, b.what);
        r = b.run(o);
        if (r.is_error()) break;
    }
    thread_set_affinity(me, affinity);
    if (r.is_ok() && lines_dropped)
        r = make_error("%d result line(s) did not fit in %d bytes and were not printed", lines_dropped, LINE_BYTES);
    if (r.is_error()) return make_error("bench: FAILURE %s", r.error());   // scripts/bench looks for this
    kprintf("bench: %d results\n", lines_printed);
    return lines_printed;
}

Result<void> clean_padding(const char* bench) {
    Result<int> r = patch_cleanup_padding();
    if (r.is_error()) return make_error("bench %s: cleaning the padding: %s", bench, r.error());
    return Ok{};
}

Result<void> bench_boot(const Options&) {
    BootMark marks[MAX_BOOT_MARKS];
    const int n = boot_marks(marks, MAX_BOOT_MARKS);
    for (int i = 0; i < n; i++) {
        const uint64_t c = marks[i].tsc - boot_first_tsc;
        Line l("boot", marks[i].what);
        l.stats_us(Stats{1, c, c, c, c, c});
        l.finish();
    }
    return Ok{};
}

Result<void> bench_init() {
    ipi_init();
    return targets_init();
}

namespace {

int bench_command(int argc, char** argv) {
    if (argc < 2 || argc > 3) return shell_error("usage: bench <ipi|corral|window|batch|call|boot|all> [samples=<n>]");
    Options o{0};
    if (argc == 3) {
        Result<uint32_t> n = str_starts_with(argv[2], "samples=") ? parse_u32(argv[2] + 8) : make_error("no samples=");
        if (n.is_error() || n.value() < 1 || n.value() > MAX_SAMPLES)
            return shell_error("bench: '%s': want samples=<1..%d>", argv[2], MAX_SAMPLES);
        o.samples = int(n.value());
    }
    Result<int> r = run_benchmarks(argv[1], o);
    if (r.is_error()) return shell_error("%s", r.error());
    return 0;
}

}  // namespace

SHELL_COMMAND("bench", "bench <ipi|corral|window|batch|call|boot|all> [samples=<n>]",
              "measure what patching costs; prints BENCH {json} lines (docs/performance.md)", bench_command);

}  // namespace corral::bench
