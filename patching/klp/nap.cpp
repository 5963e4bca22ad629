#include "patching/klp/nap.h"

#include "kernel/console/console.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/sched/thread.h"
#include "kernel/shell.h"
#include "kernel/time.h"
#include "patching/demo_targets.h"

namespace corral::klp {
namespace {

constexpr uint32_t OUTSIDE_MS = 100;
constexpr int MAX_NAPPERS = 16;

struct Nap {
    uint64_t until_us;
    uint32_t inside_ms;
    volatile bool stop;
    volatile int running;
    volatile int entered;
    volatile uint32_t calls[2];   // [0]: returned 1 (old), [1]: returned 2 (new)
};
Nap nap;

void napper(void*) {
    while (!nap.stop && now_us() < nap.until_us) {
        __atomic_add_fetch(&nap.entered, 1, __ATOMIC_SEQ_CST);
        const int version = demo_napper(int(nap.inside_ms));
        __atomic_add_fetch(&nap.calls[version == 2 ? 1 : 0], 1, __ATOMIC_SEQ_CST);
        if (!nap.stop) thread_sleep_ms(OUTSIDE_MS);
    }
    if (__atomic_sub_fetch(&nap.running, 1, __ATOMIC_SEQ_CST) == 0)
        kprintf("nap: done: %u calls returned the old demo_napper's 1, %u the new one's 2\n", nap.calls[0],
                nap.calls[1]);
}

int cmd_nap(int argc, char** argv) {
    if (argc == 2 && str_eq(argv[1], "stop")) {
        if (!nap.running) return shell_error("nap: nobody is napping");
        nap_stop();
        kprintf("nap: waking %d threads\n", nap.running);
        return 0;
    }
    if (argc < 3 || argc > 4) return shell_error("usage: nap <threads 1..%d> <seconds 1..600> [ms inside 1..600000] | nap stop",
                                                 MAX_NAPPERS);
    Result<uint32_t> n = parse_u32(argv[1]), secs = parse_u32(argv[2]);
    Result<uint32_t> inside = argc == 4 ? parse_u32(argv[3]) : Result<uint32_t>(3000u);
    if (n.is_error() || n.value() < 1 || n.value() > uint32_t(MAX_NAPPERS))
        return shell_error("nap: threads must be 1..%d", MAX_NAPPERS);
    if (secs.is_error() || secs.value() < 1 || secs.value() > 600) return shell_error("nap: seconds must be 1..600");
    if (inside.is_error() || inside.value() < 1 || inside.value() > 600000)
        return shell_error("nap: ms inside must be 1..600000");
    Result<void> started = nap_start(int(n.value()), secs.value(), inside.value());
    if (started.is_error()) return shell_error("%s", started.error());
    kprintf("nap: %u threads call demo_napper (%u ms inside, %u ms outside) for %u s; "
            "try 'patch apply napper klp', then 'patch status napper'\n",
            n.value(), inside.value(), OUTSIDE_MS, secs.value());
    return 0;
}

}  // namespace

Result<void> nap_start(int threads, uint32_t seconds, uint32_t inside_ms) {
    if (nap.running) return make_error("nap: %d threads are still napping; wait for 'nap: done'", nap.running);
    nap.until_us = now_us() + uint64_t(seconds) * 1000000;
    nap.inside_ms = inside_ms;
    nap.stop = false;
    nap.entered = 0;
    nap.calls[0] = 0;
    nap.calls[1] = 0;
    nap.running = threads;
    for (int i = 0; i < threads; i++) {
        char name[16];
        format(name, sizeof name, "napper%d", i);
        thread_detach(thread_create(name, napper, nullptr));
    }
    return Ok{};
}

void nap_stop() { nap.stop = true; }

void nap_sleep(uint32_t ms) {
    const uint64_t end = now_us() + uint64_t(ms) * 1000;
    while (!nap.stop && now_us() < end) thread_sleep_ms(ms < 50 ? ms : 50);
}

NapCounts nap_counts() { return NapCounts{nap.running, nap.entered, nap.calls[0], nap.calls[1]}; }

SHELL_COMMAND("nap", "nap <threads> <seconds> [ms inside] | nap stop",
              "threads that sleep inside demo_napper: watch a klp transition wait for them (patch status napper)",
              cmd_nap);

}  // namespace corral::klp
