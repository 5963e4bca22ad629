"""patchtorture's host side: `make stress` (the full runs) and the short
version `make test` runs.  Each run boots Corral with `stress=... exit`
under QEMU and judges the serial log:

  * a safe run passes when its last verdict line is `patchtorture: SUCCESS`
    (with the flips it was asked for), the kernel exited with its success
    code, and nothing panicked or reset;
  * a negative control (an unsafe strategy, or a deliberately broken corral)
    passes only when it was *caught*: a FAILURE verdict whose reason is a
    thread killed in torn bytes or a call that returned no version's
    signature, within the run's budget.  A control that ends in SUCCESS, in
    a panic, or in FAILURE for any other reason (a patcher error, a corral
    abort) was not caught, and fails `make stress`.

Everything here but main() is pure, so tests/driver/test_stress.py checks it
on made-up logs."""
import argparse
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import List, Optional

import corral_junit
from corral_qemu_lib import (ACCELS, BANNER_RE, KERNEL_FAIL_EXIT, KERNEL_PASS_EXIT, boot_problem, log_lines,
                             run_qemu)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LOGS = os.path.join(ROOT, "build", "stress-logs")

VERDICT_RE = re.compile(r"^patchtorture: (?P<verdict>SUCCESS|FAILURE) strategy=(?P<strategy>\S+)")
FLIPS_RE = re.compile(r"\bflips (?P<flips>\d+)")
AFTER_RE = re.compile(r"\(after (?P<seconds>\d+(?:\.\d+)?) s\)")
# What a caught control dies of (patching/torture/torture.cpp's wording).
CAUGHT_RE = re.compile(r"died in torn bytes|ran a torn mov|no version's signature|the contract of the pair broke")


@dataclass
class Spec:
    """One boot: `stress=<seconds> strategy=<strategy> [flips=] [broken=] [contract=] seed= exit`."""
    name: str
    cpus: int
    strategy: str
    seconds: int                 # the run's limit (with flips: how long it may take)
    flips: int = 0               # 0: run for `seconds`
    broken: str = ""             # a deliberately broken corral
    contract: str = ""           # "strict": check the contract pairs whatever the strategy
    inject: str = ""             # fault injections (patching/torture/inject.h)
    control: bool = False        # must be caught
    seed: int = 1
    accel: str = ""              # "" : the run's --accel

    def cmdline(self) -> str:
        words = [f"stress={self.seconds}", f"strategy={self.strategy}", f"seed={self.seed}"]
        if self.flips:
            words.append(f"flips={self.flips}")
        if self.inject:
            words.append(f"inject={self.inject}")
        if self.broken:
            words.append(f"broken={self.broken}")
        if self.contract:
            words.append(f"contract={self.contract}")
        return " ".join(words + ["exit"])


@dataclass
class Outcome:
    passed: bool
    reason: str
    flips: Optional[int] = None


SAFE = ("corral-scan", "hotpatch", "int3", "stop-check", "klp", "mixed")
# klp flips slowly: each is a whole transition, which ends only once a
# timer tick has found every worker outside the patched functions (about
# 140 flips/s at -smp 4, against thousands for the others).
KLP_FLIPS = {4: 50_000, 8: 10_000}
# (strategy, broken corral, contract): the last is int3 held to a promise
# it does not make (switching both functions of a pair at once).
CONTROLS = (("naive", "", ""), ("corral", "", ""), ("corral-scan", "ack-before-park", ""),
            ("corral-scan", "skip-trap-frames", ""), ("int3", "", "strict"),
            ("stop-check", "stop-check-no-scan", ""), ("klp", "klp-no-stack-check", ""))
CONTROL_BUDGET_S = 60            # a control must be caught within this (stated in the README)


# Two accelerators, two kinds of interleaving.  Single-threaded TCG runs the
# vCPUs in turn on one host thread and switches at every `pause`, so spin
# waits cost little and the flips are cheap: that is where the counts are
# reached.  Multi-threaded TCG runs them truly at once, on host threads the
# host can deschedule at any instruction -- far fewer flips (a corral waits
# for starved vCPU threads), but real parallel writes and fetches: the
# negative controls run there, where torn bytes are met within a second,
# and every safe strategy gets a share of its flips there too.
MTTCG_FLIPS4 = 20_000


def full_plan(cpus4_flips: int = 1_000_000, cpus8_flips: int = 100_000) -> List[Spec]:
    specs = control_plan()   # first: a minute, and the verdict that matters most
    for cpus, flips, limit in ((4, cpus4_flips, 4 * 3600), (8, cpus8_flips, 2 * 3600)):
        specs += [Spec(f"smp{cpus}-{s}", cpus, s, limit, flips=min(flips, KLP_FLIPS[cpus]) if s == "klp" else flips)
                  for s in SAFE]
        specs.append(Spec(f"smp{cpus}-inject-all", cpus, "mixed", 300, inject="all"))
    specs += [Spec(f"smp4-mttcg-{s}", 4, s, 3600, flips=MTTCG_FLIPS4 // (10 if s == "klp" else 1), accel="mttcg")
              for s in SAFE]
    return specs


def control_plan() -> List[Spec]:
    return [Spec(f"smp4-control-{b or ('contract' if c else s)}", 4, s, CONTROL_BUDGET_S, broken=b, contract=c,
                 control=True, accel="mttcg")
            for s, b, c in CONTROLS]


INJECT_SECONDS = 30             # one round of every injection, with the gaps between them


def short_plan(seconds: int = 15) -> List[Spec]:
    return ([Spec(f"smp4-{s}", 4, s, seconds) for s in SAFE] +
            [Spec("smp4-inject-all", 4, "mixed", INJECT_SECONDS, inject="all")] + control_plan())


def _short(line: str, limit: int = 200) -> str:
    return line if len(line) <= limit else line[:limit - 3] + "..."


def judge_stress(spec: Spec, log_text: str, exit_code: Optional[int], timed_out: bool) -> Outcome:
    lines = log_lines(log_text)
    problem = boot_problem(lines)
    if problem:
        return Outcome(False, problem)
    if not any(BANNER_RE.match(ln) for ln in lines):
        return Outcome(False, f"no boot banner (QEMU exit code {exit_code})")
    verdicts = [ln for ln in lines if VERDICT_RE.match(ln)]
    if timed_out:
        return Outcome(False, "timeout: no verdict" if not verdicts else "timeout after the verdict")
    if not verdicts:
        last = next((ln for ln in reversed(lines) if ln.strip()), "no output")
        return Outcome(False, f"no patchtorture verdict (last line: {_short(last)})")
    verdict = verdicts[-1]
    m = VERDICT_RE.match(verdict)
    flips_m = FLIPS_RE.search(verdict)
    flips = int(flips_m.group("flips")) if flips_m else None
    success = m.group("verdict") == "SUCCESS"
    if spec.control:
        if success:
            return Outcome(False, f"control not caught: it ended in SUCCESS ({_short(verdict)})", flips)
        if not CAUGHT_RE.search(verdict):
            return Outcome(False, f"control failed for another reason than torn bytes or a broken contract: "
                                  f"{_short(verdict)}", flips)
        after = AFTER_RE.search(verdict)
        if after and float(after.group("seconds")) > spec.seconds:
            return Outcome(False, f"caught after {after.group('seconds')} s, over the {spec.seconds} s budget", flips)
        if exit_code != KERNEL_FAIL_EXIT:
            return Outcome(False, f"QEMU exit code {exit_code}: the kernel did not report the failure", flips)
        return Outcome(True, f"caught{' after ' + after.group('seconds') + ' s' if after else ''}: "
                             f"{_short(verdict.split(': ', 2)[-1], 120)}", flips)
    if not success:
        return Outcome(False, _short(verdict), flips)
    if spec.flips and (flips is None or flips < spec.flips):
        return Outcome(False, f"SUCCESS with {flips} flips, fewer than the {spec.flips} asked for", flips)
    if exit_code != KERNEL_PASS_EXIT:
        return Outcome(False, f"QEMU exit code {exit_code}: expected the kernel's success code", flips)
    return Outcome(True, f"{flips} flips", flips)


def qemu_cmd(spec: Spec, kernel: str, accel: str) -> List[str]:
    return ["qemu-system-i386", "-kernel", kernel, "-append", spec.cmdline(), "-smp", str(spec.cpus), "-m", "128M",
            "-display", "none", "-monitor", "none", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", *ACCELS[accel]]


def run_one(spec: Spec, kernel: str, accel: str, logs: str):
    log = os.path.join(logs, spec.name + ".log")
    # The limit the kernel keeps (an injection run may take 120 s longer to
    # give every injection its turn), plus boot, the final revert and a margin.
    timeout = spec.seconds + 120 + (120 if spec.inject else 0)
    r = run_qemu(qemu_cmd(spec, kernel, spec.accel or accel), log, timeout, echo=False)
    return spec, judge_stress(spec, r.log_text, r.exit_code, r.timed_out), r.seconds, log


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="patchtorture runs under QEMU (make stress; make test runs --short)")
    p.add_argument("--short", action="store_true", help="the short version: 15 s per safe strategy, plus the controls")
    p.add_argument("--seconds", type=int, default=15, help="with --short: seconds per safe strategy")
    p.add_argument("--flips4", type=int, default=1_000_000, help="flips per safe strategy at -smp 4 (full run)")
    p.add_argument("--flips8", type=int, default=100_000, help="flips per safe strategy at -smp 8 (full run)")
    p.add_argument("--only", help="run only the specs whose name contains this")
    p.add_argument("--jobs", type=int, default=int(os.environ.get("CORRAL_JOBS", "2")))
    p.add_argument("--accel", choices=("tcg", "mttcg"), default="tcg",
                   help="single-threaded TCG (default): one host core per QEMU, so --jobs 2 fills 2 cores; "
                        "the controls and the smp4-mttcg-* runs always use mttcg")
    p.add_argument("--kernel", default=os.path.join(ROOT, "build", "corral.elf"))
    args = p.parse_args(argv)
    if not os.path.isfile(args.kernel):
        print(f"stress: {args.kernel} not found (run make first)")
        return 2
    specs = short_plan(args.seconds) if args.short else full_plan(args.flips4, args.flips8)
    if args.only:
        specs = [s for s in specs if args.only in s.name]
    logs = os.path.join(LOGS, "short") if args.short else LOGS   # make test may run beside make stress
    os.makedirs(logs, exist_ok=True)
    print(f"stress: {len(specs)} runs, {args.jobs} at a time, accel {args.accel}; logs in {os.path.relpath(logs, ROOT)}/",
          flush=True)
    start = time.monotonic()
    passed = failed = 0
    total_flips = 0
    cases = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for spec, outcome, seconds, log in pool.map(lambda s: run_one(s, args.kernel, args.accel, logs), specs):
            kind = "control" if spec.control else "run"
            if spec.accel and spec.accel != args.accel:
                kind += f", {spec.accel}"
            print(f"{'PASS' if outcome.passed else 'FAIL'} stress {spec.name} ({kind}, {seconds:.1f} s): "
                  f"{outcome.reason}" + ("" if outcome.passed else f"  log: {os.path.relpath(log, ROOT)}"),
                  flush=True)
            cases.append(corral_junit.Case(f"stress.{'control' if spec.control else 'run'}", spec.name,
                                           "pass" if outcome.passed else "fail", "" if outcome.passed else outcome.reason,
                                           seconds, None if outcome.passed else log))
            passed += outcome.passed
            failed += not outcome.passed
            if not spec.control and outcome.flips:
                total_flips += outcome.flips
    minutes = (time.monotonic() - start) / 60
    print(f"stress: {total_flips} flips in the safe runs; {minutes:.1f} minutes", flush=True)
    junit = os.path.join(logs, "results.xml")
    corral_junit.write(cases, junit, "make stress" if not args.short else "stress --short")
    print(f"stress: JUnit XML in {os.path.relpath(junit, ROOT)}", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
