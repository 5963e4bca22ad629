#!/usr/bin/env python3
"""A stand-in for qemu-system-i386 (selected with CORRAL_QEMU_BINARY) so the
driver's streaming, early-kill and timeout logic is tested without a kernel.
The word `fake=<scenario>` in -append picks what it "boots"; it sleeps at
most 30 s, so a driver bug cannot leave it running for long.  A `bench=`
command line (scripts/bench) prints bench_log() for its -smp and exits with
the kernel's success; CORRAL_FAKE_BENCH=bad-count makes its closing line
miscount."""
import json
import os
import sys
import time

BANNER = "Corral 0.0-fake booting"


def say(*lines, pause=0.0):
    for ln in lines:
        sys.stdout.write(ln + "\r\n")      # the real UART sends CRLF
        sys.stdout.flush()
        time.sleep(pause)


def bench_lines(cpus, accel="tcg"):
    """The BENCH lines of a good `bench=all` run at -smp cpus, as the kernel's
    contract has them (corral_bench_lib.py), with made-up numbers.  The
    corral's irqoff case misses its goal: a missed goal is not a failure."""
    out = []

    def emit(name, case, unit, median, samples=200, **own):
        stats = dict(min=round(median * 0.8, 2), median=median, p90=round(median * 1.2, 2),
                     p99=round(median * 1.5, 2), max=round(median * 2, 2))
        if samples == 1:
            stats = dict.fromkeys(stats, median)
        if unit == "cycles":                 # the kernel prints cycles as integers
            stats = {k: int(v) for k, v in stats.items()}
        out.append("BENCH " + json.dumps(dict(name=name, case=case, cpus=cpus, accel=accel, unit=unit,
                                              samples=samples, **stats, **own)))

    if cpus >= 2:
        for n in range(1, cpus):
            emit("ipi", f"cpu{n}", "us", 10.0 + n, target=n)
        emit("ipi", "broadcast", "us", 20.0 + cpus, targets=cpus - 1)
        for case, factor in (("idle", 1.5), ("busy", 2.0), ("irqoff", 3.0), ("idle-spin", 30.0)):
            for n in range(2, cpus + 1):
                ipi = 10.0 + n
                goal = {} if case == "idle-spin" else dict(goal="corral/ipi <= 2.5", met=factor <= 2.5)
                emit("corral", case, "us", round(ipi * factor, 2), ncpus=n, ipi_median=ipi, ratio=factor,
                     park="spin" if case == "idle-spin" else "halt", **goal)
    corral_phases = ("gather", "scan", "write", "release", "serialize")     # the kernel's order
    for threads in (16, 64, 256):
        for strategy, phases, scan_cost in (("corral", corral_phases, 0.0), ("corral-scan", corral_phases, 0.5),
                                            ("hotpatch", corral_phases, 0.1), ("int3", ("write", "sync1", "sync2", "sync3"), 0)):
            cost = {p: round(5.0 + i + (threads * scan_cost if p == "scan" else 0), 2) for i, p in enumerate(phases)}
            total = round(sum(cost.values()), 2)
            goal = {}
            if strategy == "hotpatch" and threads == 16:
                goal = dict(goal="hotpatch window <= 1.5 x corral", met=True)
            if strategy == "corral-scan" and threads == 256:
                goal = dict(goal="scan of 256 sleeping threads <= 1 corral", met=True)
            emit("window", strategy, "us", total, threads=threads, phases=cost, corral_median=round(total * 0.9, 2),
                 **goal)
    for strategy, per_round in (("corral-scan", 60.0), ("hotpatch", 40.0), ("int3", 25.0)):
        for k in (1, 4, 16, 64):
            for mode in ("one", "separate"):
                rounds = 1 if mode == "one" else k
                corrals, syncs = (0, 3 * rounds) if strategy == "int3" else (rounds, 0)
                total = round(per_round * rounds + 2.0 * k, 2)
                goal = {}
                if mode == "one" and strategy == "hotpatch":
                    goal = dict(goal="one corral whatever K", met=corrals == 1)
                if mode == "one" and strategy == "int3":
                    goal = dict(goal="three sync rounds whatever K", met=syncs == 3)
                emit("batch", strategy, "us", total, k=k, mode=mode, corrals=corrals, syncs=syncs,
                     per_patch=round(total / k, 3), **goal)
    for case, cycles in (("plain", 20), ("plain-2jmp", 26), ("hotpatch", 20), ("hotpatch-patched", 26),
                         ("fentry", 21), ("fentry-int3", 24), ("fentry-live-bp", 420)):
        goal = dict(goal="hotpatch/plain <= 1.02", met=True) if case == "hotpatch" else {}
        emit("call", case, "cycles", cycles, samples=4000, ratio_to_plain=round(cycles / 20, 3), **goal)
    for i, case in enumerate(["banner", "paging"] + [f"ap{n}" for n in range(1, cpus)] + ["shell"]):
        emit("boot", case, "us", 1000.0 + 1500.0 * i, samples=1)
    return out


def bench_log(cpus, accel="tcg"):
    """A whole good bench boot's serial log (without the CRs of the UART)."""
    skipped = [] if cpus >= 2 else ["bench: ipi needs 2 CPUs, skipped", "bench: corral needs 2 CPUs, skipped"]
    lines = bench_lines(cpus, accel)
    return "\n".join([BANNER, f"smp: {cpus} CPUs online (50 ms after boot)", *skipped, *lines,
                      f"bench: {len(lines)} results"]) + "\n"


def main():
    argv = sys.argv[1:]
    if argv == ["--version"]:
        say("QEMU emulator version 0.0.0 (fake_qemu.py)", "Copyright (c) nobody")
        return
    append = argv[argv.index("-append") + 1] if "-append" in argv else ""
    if any(w.startswith("bench=") for w in append.split()):
        cpus = int(argv[argv.index("-smp") + 1])
        log = bench_log(cpus).splitlines()
        if os.environ.get("CORRAL_FAKE_BENCH") == "bad-count":
            log[-1] = f"bench: {len(bench_lines(cpus)) + 1} results"
        say(*log)
        sys.exit(33)
    scenario = next((w.split("=", 1)[1] for w in append.split() if w.startswith("fake=")), "pass")
    if scenario == "stderr":               # QEMU itself failed: exit 1, but no boot at all
        sys.stderr.write("qemu-system-i386: could not load kernel\n")
        sys.exit(1)
    say(BANNER, "smp: 1 CPUs online")
    if scenario == "pass":
        say("[ RUN  ] a.b", "[ PASS ] a.b", "ktest: 1 passed, 0 failed")
        sys.stdout.write("powering off (no newline)")
        sys.exit(33)                       # isa-debug-exit value 0x10: the kernel's success
    if scenario == "fail-exit":
        say("[ RUN  ] a.b", "[ FAIL ] a.b: nope", "ktest: 0 passed, 1 failed")
        sys.exit(35)
    if scenario == "reset":
        say("selftest: triple fault now", BANNER, "after the reset")
    elif scenario == "panic":
        say("PANIC: fake panic", "  backtrace:")
        time.sleep(1.0)                    # the backtrace arrives late; the driver must wait for it
        say("    #0 00100000 late_frame+0")
    time.sleep(30)                         # hang: only the driver's kill or timeout ends this


if __name__ == "__main__":
    main()
