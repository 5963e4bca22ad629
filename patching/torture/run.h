// patchtorture's one run, shared by its parts: torture.cpp runs it (the
// callers, the patchers, setup and teardown), evidence.cpp counts and
// judges what it did (conservation, torn bytes, the race proofs), and
// stress_command.cpp is the shell's `stress`.
#pragma once
#include "kernel/config.h"
#include "kernel/cpu.h"
#include "kernel/sync/spinlock.h"
#include "patching/klp/klp.h"
#include "patching/strategy.h"
#include "patching/torture/plan.h"
#include "patching/torture/targets.h"

namespace corral {
struct PatchRecord;
struct Thread;
}

namespace corral::torture {

constexpr int PATCHERS = 2;
constexpr int CHURN_SLOTS = 4;                // short-lived threads running at once
constexpr int WORKERS_PER_CPU = 2;            // one pinned to the CPU, one free to move
constexpr int MAX_WORKERS = WORKERS_PER_CPU * config::MAX_CPUS;

// What one run patches: the strategy for each family (null: left alone).
struct Mode {
    char name[16];
    const Strategy* by_family[FAMILIES];
    bool control;   // expected to fail: an unsafe strategy, a broken corral, or a contract it cannot keep
    bool strict_contract;   // every patched family's contract pairs are checked, whatever its strategy
};

struct Records {
    PatchRecord* v2;
    PatchRecord* v3;
};

struct Patcher {
    int index;
    Plan plan;
    Thread* thread;
    volatile uint64_t flips;
};

struct Run {
    Mode mode;
    uint32_t seconds, seed;
    volatile bool stop_patchers, stop_workers, tick_calls;
    bool irq_family[FAMILIES];
    volatile bool failed;
    char why[384];   // the first failure, with what it knows of the cause
    Spinlock why_lock{"torture-why"};
    uint64_t start_us, failed_at_us;
    CallCtx* worker_ctx[MAX_WORKERS];
    Thread* workers[MAX_WORKERS];
    int worker_count;
    CallCtx* irq_ctx[config::MAX_CPUS];
    CallCtx* churn_ctx[CHURN_SLOTS];
    volatile bool churn_busy[CHURN_SLOTS];
    volatile uint32_t churned;
    Thread* churner;
    Patcher patchers[PATCHERS];
    volatile uint32_t passes_by_cpu[config::MAX_CPUS];   // worker passes over every target
    volatile uint32_t preempt_points;
    int stepped_families[FAMILIES];    // the patched ones
    int stepped_family_count;
    uint64_t corrals0, syncs0, shootdowns0, deferrals0, written_after_deferring0;
    uint32_t torn0;
    Int3Redirects redirects0;
    klp::Counts klp0;
};

extern Run* run;

// Ends the run with this reason (the first one given wins).
void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Whether the contract pairs of `family` must never break in this run.
bool contract_checked(int family);

// evidence.cpp
struct Totals {
    uint64_t calls;
    uint64_t flips;
};
Totals totals();
void print_counts();
void print_progress(uint64_t elapsed_us);
void check_conservation();
void check_torn();
void check_klp_switches();
// The race must really have been run, each strategy's own included.
void check_it_happened();

}  // namespace corral::torture
