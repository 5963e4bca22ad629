// Kernel command-line parser (see cmdline.h).  Table-driven: each key is
// described once in kKeys, and both parsing and the "(known: ...)" list in
// error messages come from that table, so they cannot disagree.
#include "kernel/cmdline.h"

#include "kernel/lib/string.h"

namespace corral {

bool BootOptions::wants_shell() const
{
    return !(has_test || has_demo || has_stress || has_bench || has_selftest);
}

namespace {

enum class KeyId { test, demo, stress, bench, bench_samples, patch, strategy, seed, flips, inject, broken, park, contract, exit, selftest };
enum class Kind { text, number, flag };

// The strategies, and stress's "mixed" (every safe one at once) and "all".
constexpr const char* kStrategies[] = {"naive",      "corral", "corral-scan", "hotpatch", "int3",
                                       "stop-check", "klp",    "mixed",       "all"};
// patching/corral.h's deliberately broken corrals (stress's negative controls).
constexpr const char* kBroken[] = {"ack-before-park", "skip-trap-frames", "stop-check-no-scan", "klp-no-stack-check"};
// patching/corral.h's park modes.
constexpr const char* kParkModes[] = {"spin", "halt", "adaptive"};
// stress's contract=strict: check the contract pairs whatever the strategy.
constexpr const char* kContract[] = {"strict"};
// patching/scenario.h's scenarios (kernel/ does not include patching/).
constexpr const char* kScenarios[] = {"torn", "preempted", "interrupted", "contract", "all"};
// patching/bench/bench.h's benchmarks.
constexpr const char* kBenchmarks[] = {"ipi", "corral", "window", "batch", "call", "boot", "all"};
constexpr const char* kSelftests[] = {"fail", "panic", "triple", "hang", "overflow", "corral-panic"};

struct KeyInfo {
    const char* name;
    KeyId id;
    Kind kind;
    const char* hint;                // shown in "needs a value (key=<hint>)"
    const char* const* choices;      // allowed values, nullptr: anything
    size_t n_choices;
};

constexpr KeyInfo kKeys[] = {
    {"test", KeyId::test, Kind::text, "<glob>", nullptr, 0},
    {"demo", KeyId::demo, Kind::text, "<torn|preempted|interrupted|contract|all>", kScenarios, 5},
    {"stress", KeyId::stress, Kind::number, "<seconds>", nullptr, 0},
    {"bench", KeyId::bench, Kind::text, "<ipi|corral|window|batch|call|boot|all>", kBenchmarks, 7},
    {"samples", KeyId::bench_samples, Kind::number, "<n>", nullptr, 0},
    {"patch", KeyId::patch, Kind::text, "<name>[:<strategy>][,...]", nullptr, 0},
    {"strategy", KeyId::strategy, Kind::text, "<name>", kStrategies, 9},
    {"seed", KeyId::seed, Kind::number, "<n>", nullptr, 0},
    {"flips", KeyId::flips, Kind::number, "<n>", nullptr, 0},
    {"inject", KeyId::inject, Kind::text, "<list>", nullptr, 0},
    {"broken", KeyId::broken, Kind::text, "<ack-before-park|skip-trap-frames|stop-check-no-scan|klp-no-stack-check>", kBroken, 4},
    {"park", KeyId::park, Kind::text, "<spin|halt|adaptive>", kParkModes, 3},
    {"contract", KeyId::contract, Kind::text, "<strict>", kContract, 1},
    {"exit", KeyId::exit, Kind::flag, "", nullptr, 0},
    {"selftest", KeyId::selftest, Kind::text, "<fail|panic|triple|hang|overflow|corral-panic>", kSelftests, 6},
};

// Where one key's value lands inside BootOptions.
struct Target {
    bool* present;
    char* text;        // Kind::text
    size_t capacity;   // of text, including the NUL
    uint32_t* number;  // Kind::number
};

Target target_of(BootOptions& o, KeyId id)
{
    switch (id) {
    case KeyId::test: return {&o.has_test, o.test_glob, sizeof(o.test_glob), nullptr};
    case KeyId::demo: return {&o.has_demo, o.demo, sizeof(o.demo), nullptr};
    case KeyId::stress: return {&o.has_stress, nullptr, 0, &o.stress_seconds};
    case KeyId::bench: return {&o.has_bench, o.bench, sizeof(o.bench), nullptr};
    case KeyId::bench_samples: return {&o.has_bench_samples, nullptr, 0, &o.samples};
    case KeyId::patch: return {&o.has_patch, o.patch, sizeof(o.patch), nullptr};
    case KeyId::strategy: return {&o.has_strategy, o.strategy, sizeof(o.strategy), nullptr};
    case KeyId::seed: return {&o.has_seed, nullptr, 0, &o.seed};
    case KeyId::flips: return {&o.has_flips, nullptr, 0, &o.flips};
    case KeyId::inject: return {&o.has_inject, o.inject, sizeof(o.inject), nullptr};
    case KeyId::broken: return {&o.has_broken, o.broken, sizeof(o.broken), nullptr};
    case KeyId::park: return {&o.has_park, o.park, sizeof(o.park), nullptr};
    case KeyId::contract: return {&o.has_contract, o.contract, sizeof(o.contract), nullptr};
    case KeyId::exit: return {&o.exit_when_done, nullptr, 0, nullptr};
    case KeyId::selftest: return {&o.has_selftest, o.selftest, sizeof(o.selftest), nullptr};
    }
    return {&o.exit_when_done, nullptr, 0, nullptr};  // unreachable: the switch is exhaustive
}

// A word of the command line, not NUL-terminated (the line is const).
struct Span {
    const char* start;
    size_t len;
};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Finds the next word at or after `p`; returns false at the end of the line.
bool next_word(const char*& p, Span& word)
{
    while (is_blank(*p)) ++p;
    if (*p == '\0') return false;
    word.start = p;
    while (*p != '\0' && !is_blank(*p)) ++p;
    word.len = static_cast<size_t>(p - word.start);
    return true;
}

// Copies a span that fits (len < capacity) and NUL-terminates it.
void copy_span(char* dst, Span s)
{
    for (size_t i = 0; i < s.len; ++i) dst[i] = s.start[i];
    dst[s.len] = '\0';
}

// At most this many characters of an offending value are echoed back.
int echo_len(Span s) { return static_cast<int>(s.len < 20 ? s.len : 20); }

bool span_is(Span s, const char* name)
{
    size_t i = 0;
    for (; i < s.len; ++i) {
        if (name[i] != s.start[i]) return false;  // also stops at name's NUL
    }
    return name[i] == '\0';
}

// Joins names with spaces for the "(known: ...)" part of an error.
void join_names(char* out, size_t size, const char* const* names, size_t count)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < count; ++i) {
        if (i > 0) used += str_copy(out + used, " ", size - used);
        if (used >= size) return;
        used += str_copy(out + used, names[i], size - used);
        if (used >= size) return;
    }
}

const KeyInfo* find_key(Span key)
{
    for (const KeyInfo& info : kKeys) {
        if (span_is(key, info.name)) return &info;
    }
    return nullptr;
}

Error unknown_key(Span key)
{
    const char* names[sizeof(kKeys) / sizeof(kKeys[0])];
    size_t n = 0;
    for (const KeyInfo& info : kKeys) names[n++] = info.name;
    char known[112];
    join_names(known, sizeof(known), names, n);
    // Key capped at 24 characters so the list of known keys still fits the 160-byte error.
    return make_error("cmdline: unknown key '%.*s' (known: %s)",
                      static_cast<int>(key.len < 24 ? key.len : 24), key.start, known);
}

Result<void> store_number(const KeyInfo& info, const Target& target, Span value)
{
    char digits[24];  // longer than any valid uint32_t, even in hex with leading zeros
    if (value.len >= sizeof(digits))
        return make_error("cmdline: %s=%.*s...: not a number (too long)", info.name,
                          echo_len(value), value.start);
    copy_span(digits, value);
    auto parsed = parse_u32(digits);
    if (parsed.is_error()) return make_error("cmdline: %s=%s", info.name, parsed.error());
    *target.number = parsed.value();
    return {};
}

Result<void> store_text(const KeyInfo& info, const Target& target, Span value)
{
    if (value.len >= target.capacity)
        return make_error("cmdline: %s=%.*s...: value too long (max %zu characters)", info.name,
                          echo_len(value), value.start, target.capacity - 1);
    if (info.choices != nullptr) {
        bool allowed = false;
        for (size_t i = 0; i < info.n_choices; ++i) allowed = allowed || span_is(value, info.choices[i]);
        if (!allowed) {
            char known[128];
            join_names(known, sizeof(known), info.choices, info.n_choices);
            return make_error("cmdline: unknown %s '%.*s' (known: %s)", info.name,
                              static_cast<int>(value.len), value.start, known);
        }
    }
    copy_span(target.text, value);
    return {};
}

// Applies one "key=value" (or "exit") word to the options.
Result<void> apply_word(BootOptions& options, Span word)
{
    Span key{word.start, 0};
    while (key.len < word.len && key.start[key.len] != '=') ++key.len;
    bool has_value = key.len < word.len;
    Span value{word.start + key.len + (has_value ? 1 : 0), has_value ? word.len - key.len - 1 : 0};

    const KeyInfo* info = find_key(key);
    if (info == nullptr) return unknown_key(key);
    Target target = target_of(options, info->id);
    // Repeating a key is almost always a mistake in a script that builds
    // the line; "last one wins" would silently drop half of what was asked.
    if (*target.present) return make_error("cmdline: %s given twice", info->name);

    if (info->kind == Kind::flag) {
        if (has_value)
            return make_error("cmdline: %s takes no value (got '%.*s')", info->name,
                              static_cast<int>(word.len < 40 ? word.len : 40), word.start);
    } else if (value.len == 0) {
        return make_error("cmdline: %s needs a value (%s=%s)", info->name, info->name, info->hint);
    } else if (info->kind == Kind::number) {
        TRY_VOID(store_number(*info, target, value));
    } else {
        TRY_VOID(store_text(*info, target, value));
    }
    *target.present = true;
    return {};
}

bool is_kernel_path(const Span& word) {
    for (size_t i = 0; i < word.len; i++)
        if (word.start[i] == '=') return false;
    static const char exit_key[] = "exit";
    if (word.len == sizeof exit_key - 1) {
        bool same = true;
        for (size_t i = 0; i < word.len; i++) same = same && word.start[i] == exit_key[i];
        if (same) return false;
    }
    return true;
}

}  // namespace

Result<BootOptions> parse_cmdline(const char* cmdline)
{
    BootOptions options{};
    if (cmdline == nullptr) return options;
    const char* p = cmdline;
    Span word{};
    // QEMU's multiboot loader puts the kernel's path first; GRUB 2.06 (as
    // Debian ships it) passes only the arguments.  So the first word is
    // skipped only when it looks like a path: no '=' and not a bare key.
    const char* after_first = p;
    if (!next_word(after_first, word)) return options;
    if (is_kernel_path(word)) p = after_first;
    while (next_word(p, word)) TRY_VOID(apply_word(options, word));
    if (options.exit_when_done && options.wants_shell())
        return make_error("cmdline: exit with nothing to do first (give test=, demo=, stress=, bench= or selftest=)");
    return options;
}

}  // namespace corral
