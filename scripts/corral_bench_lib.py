"""The benchmarks' host side: `make bench` (scripts/bench).  Each boot runs
Corral with `bench=all exit` (or `bench=<name> exit`) under QEMU, one QEMU at
a time, and reads the kernel's results off the serial log:

  * one `BENCH {json}` line per measured distribution: `name`, `case`,
    `cpus`, `accel`, `unit`, `samples`, `min` <= `median` <= `p90` <= `p99`
    <= `max`, the benchmark's own fields, and optionally a `goal` with `met`;
  * exactly one closing line `bench: <N> results` (N = the BENCH lines), or
    `bench: FAILURE <why>`; then the kernel powers off through isa-debug-exit.

A boot fails when a BENCH line is malformed (the line is quoted), the closing
line is missing or miscounts, the boot panicked or reset, QEMU's exit code is
not the kernel's success, a benchmark expected at that CPU count printed
nothing, or a line's `cpus` is not the boot's -smp.  A missed goal is not a
failure: it is reported in the summary.

The results go to build/bench/results.json, the plots (matplotlib, SVG) beside
it.  Everything but main() is pure or writes only where it is told, so
tests/driver/test_bench.py checks it on canned logs."""
import argparse
import datetime
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from types import SimpleNamespace
from typing import Dict, List, Optional, Tuple

from corral_qemu_lib import (BANNER_RE, SMP_RE, UsageError, _exit_on_sigterm, _last_line, _short, boot_problem,
                             check_environment, exit_problem, kvm_unusable_reason, log_lines, qemu_command, run_qemu)

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_OUT = os.path.join(ROOT, "build", "bench")
BOOT_TIMEOUT_S = 900.0           # one boot of every benchmark at -smp 8 under TCG takes minutes
QUOTE_LIMIT = 200                # how much of an offending line a reason quotes

NAMES = ("ipi", "corral", "window", "batch", "call", "boot")
NEEDS_TWO_CPUS = ("ipi", "corral")
ALWAYS_EXPECTED = ("call", "boot")   # what a 1-CPU boot must print; it may print more
UNITS = ("us", "cycles")
STATS = ("min", "median", "p90", "p99", "max")
CORRAL_CASES = ("idle", "busy", "irqoff", "idle-spin")   # idle-spin: idle, with park=spin for comparison
# The call cases in plotting order; the kernel may print more (plain-2jmp: the baseline of hotpatch-patched).
CALL_CASES = ("plain", "plain-2jmp", "hotpatch", "hotpatch-patched", "fentry", "fentry-int3", "fentry-live-bp")
BATCH_MODES = ("one", "separate")
DEFAULT_GOAL_RATIO = 2.5         # corral / IPI round trip, when no line states its goal

# The kernel's command-line key for samples per distribution (kernel/cmdline.cpp, README).
SAMPLES_KEY = "samples"
BENCH_PREFIX = "BENCH "
SUMMARY_RE = re.compile(r"^bench: (?P<n>\d+) results?\s*$")
FAILURE_RE = re.compile(r"^(?:error: )?bench: FAILURE\b")


class BenchLineError(ValueError):
    """A `BENCH ` line that breaks the contract; str() says why and quotes it."""

    def __init__(self, line: str, why: str):
        self.line = line
        self.why = why
        super().__init__(f"malformed BENCH line ({why}): {_short(line, QUOTE_LIMIT)}")


# ---------------------------------------------------------------- parsing

def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


_TYPES = {"string": lambda v: isinstance(v, str) and v != "", "int": _is_int, "number": _is_num,
          "bool": lambda v: isinstance(v, bool), "object": lambda v: isinstance(v, dict)}
COMMON_FIELDS = {"name": "string", "case": "string", "cpus": "int", "accel": "string", "unit": "string",
                 "samples": "int", **{s: "number" for s in STATS}}
OWN_FIELDS = {"ipi": {},             # target or targets, by case (below)
              "corral": {"ncpus": "int", "ipi_median": "number", "ratio": "number", "park": "string"},
              "window": {"threads": "int", "phases": "object", "corral_median": "number"},
              "batch": {"k": "int", "mode": "string", "corrals": "int", "syncs": "int", "per_patch": "number"},
              "call": {"ratio_to_plain": "number"},
              "boot": {}}


def _check_fields(obj: dict, fields: Dict[str, str]) -> Optional[str]:
    for key, kind in fields.items():
        if key not in obj:
            return f"no field {key!r}"
        if not _TYPES[kind](obj[key]):
            return f"{key!r} is {json.dumps(obj[key])}, not a{'n' if kind[0] in 'aeiou' else ''} {kind}"
    return None


def _contract_problem(obj: dict) -> Optional[str]:
    """None when one BENCH object keeps the contract, else what it breaks."""
    why = _check_fields(obj, COMMON_FIELDS)
    if why:
        return why
    name, cpus = obj["name"], obj["cpus"]
    if name not in NAMES:
        return f"unknown benchmark name {name!r} (known: {', '.join(NAMES)})"
    if obj["unit"] not in UNITS:
        return f"unit {obj['unit']!r} is not one of {', '.join(UNITS)}"
    if obj["samples"] < 1:
        return f"samples {obj['samples']} < 1"
    if cpus < 1:
        return f"cpus {cpus} < 1"
    for lo, hi in zip(STATS, STATS[1:]):
        if obj[lo] > obj[hi]:
            return f"{lo} {obj[lo]} > {hi} {obj[hi]}"
    if ("goal" in obj) != ("met" in obj):
        return "'goal' and 'met' come together"
    if "goal" in obj:
        why = _check_fields(obj, {"goal": "string", "met": "bool"})
        if why:
            return why
    why = _check_fields(obj, OWN_FIELDS[name])
    if why:
        return why
    return _OWN_CHECKS[name](obj)


def _ipi_problem(obj):
    m = re.fullmatch(r"cpu(\d+)", obj["case"])
    if m:
        why = _check_fields(obj, {"target": "int"})
        if why:
            return why
        if obj["target"] != int(m.group(1)):
            return f"case {obj['case']!r} but target {obj['target']}"
        return None
    if obj["case"] == "broadcast":
        return _check_fields(obj, {"targets": "int"})
    return f"ipi case {obj['case']!r} is neither cpu<N> nor broadcast"


def _corral_problem(obj):
    if obj["case"] not in CORRAL_CASES:
        return f"corral case {obj['case']!r} is not one of {', '.join(CORRAL_CASES)}"
    if not 2 <= obj["ncpus"] <= obj["cpus"]:
        return f"ncpus {obj['ncpus']} is not in 2..cpus ({obj['cpus']})"
    return None


def _window_problem(obj):
    if obj["threads"] < 0:
        return f"threads {obj['threads']} < 0"
    if not obj["phases"]:
        return "'phases' is empty"
    bad = next((k for k, v in obj["phases"].items() if not _is_num(v)), None)
    return f"phase {bad!r} is {json.dumps(obj['phases'][bad])}, not a number" if bad is not None else None


def _batch_problem(obj):
    if obj["mode"] not in BATCH_MODES:
        return f"batch mode {obj['mode']!r} is not one of {', '.join(BATCH_MODES)}"
    return f"k {obj['k']} < 1" if obj["k"] < 1 else None


def _call_problem(obj):
    return f"call unit {obj['unit']!r}, not 'cycles'" if obj["unit"] != "cycles" else None


def _boot_problem(obj):
    m = re.fullmatch(r"ap(\d+)", obj["case"])
    if obj["case"] not in ("banner", "paging", "shell") and not (m and 1 <= int(m.group(1)) < obj["cpus"]):
        return f"boot case {obj['case']!r} is not banner, paging, ap1..ap{obj['cpus'] - 1} or shell"
    if obj["samples"] != 1:
        return f"boot samples {obj['samples']}, not 1"
    if len({obj[s] for s in STATS}) != 1:
        return "boot stats differ (one sample: all five must be equal)"
    return None


_OWN_CHECKS = {"ipi": _ipi_problem, "corral": _corral_problem, "window": _window_problem,
               "batch": _batch_problem, "call": _call_problem, "boot": _boot_problem}


def _reject_constant(name):
    raise ValueError(f"{name} is not a number")


def parse_bench_line(line: str) -> dict:
    """One `BENCH {json}` line -> its object; BenchLineError when it breaks the contract."""
    try:
        obj = json.loads(line[len(BENCH_PREFIX):], parse_constant=_reject_constant)
    except ValueError as e:
        raise BenchLineError(line, f"not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise BenchLineError(line, "not a JSON object")
    why = _contract_problem(obj)
    if why:
        raise BenchLineError(line, why)
    return obj


def _bench_entries(lines: List[str]) -> List[Tuple[str, dict]]:
    return [(ln, parse_bench_line(ln)) for ln in lines if ln.startswith(BENCH_PREFIX)]


def parse_bench_lines(log_text: str) -> List[dict]:
    """Every BENCH object of a serial log, in order.  Raises BenchLineError
    (which quotes the line) at the first line that breaks the contract."""
    return [obj for _, obj in _bench_entries(log_lines(log_text))]


# ---------------------------------------------------------------- judging

def expected_names(cpus: int, only: Optional[str] = None) -> List[str]:
    """The benchmarks a boot at -smp cpus must print (it may print more)."""
    wanted = [only] if only else list(NAMES if cpus >= 2 else ALWAYS_EXPECTED)
    return [n for n in wanted if cpus >= 2 or n not in NEEDS_TWO_CPUS]


def judge_bench_boot(log_text: str, exit_code: Optional[int], timed_out: bool, cpus: int,
                     only: Optional[str] = None, timeout_s: Optional[float] = None) -> Tuple[bool, str, List[dict]]:
    """(ok, reason, results) for one bench boot; the reason is "" when ok.
    The checks run in order of how much they explain, as judge() does."""
    lines = log_lines(log_text)
    problem = boot_problem(lines)
    if problem:
        return False, problem, []
    if timed_out:
        after = f" after {timeout_s:g} s" if timeout_s is not None else ""
        return False, f"timeout{after} (last line: {_last_line(lines)})", []
    if not any(BANNER_RE.match(ln) for ln in lines):
        return False, f"no boot banner (QEMU exit code {exit_code}; last line: {_last_line(lines)})", []
    online = next((m for m in map(SMP_RE.match, lines) if m), None)
    if online and int(online.group(1)) != cpus:
        return False, f"{online.group(1)} of {cpus} CPUs online ({_short(online.string)})", []
    failure = next((ln for ln in lines if FAILURE_RE.match(ln)), None)
    if failure:
        return False, f"the kernel reported {_short(failure, QUOTE_LIMIT)}", []
    try:
        entries = _bench_entries(lines)
    except BenchLineError as e:
        return False, str(e), []
    results = [obj for _, obj in entries]
    summaries = [ln for ln in lines if SUMMARY_RE.match(ln)]
    if not summaries:
        return False, f"no `bench: N results` line (last line: {_last_line(lines)})", results
    if len(summaries) > 1:
        return False, f"{len(summaries)} `bench: N results` lines, not one: {', '.join(summaries)}", results
    said = int(SUMMARY_RE.match(summaries[0]).group("n"))
    if said != len(results):
        return False, f"the kernel says {_short(summaries[0])!r}, but printed {len(results)} BENCH lines", results
    wrong = next(((ln, obj) for ln, obj in entries if obj["cpus"] != cpus), None)
    if wrong:
        return (False, f"a BENCH line says cpus {wrong[1]['cpus']}, but the boot had -smp {cpus}: "
                       f"{_short(wrong[0], QUOTE_LIMIT)}", results)
    seen = {obj["name"] for obj in results}
    missing = [n for n in expected_names(cpus, only) if n not in seen]
    if missing:
        return False, f"no results for {', '.join(missing)} at -smp {cpus}", results
    problem = exit_problem(exit_code)
    if problem:
        return False, problem, results
    return True, "", results


# ---------------------------------------------------------------- goals

def distinguishing(obj: dict) -> List[str]:
    """What tells two objects of one name/case apart, as key=value words."""
    keys = {"corral": ("ncpus",), "window": ("threads",), "batch": ("k", "mode")}.get(obj["name"], ())
    return [f"{k}={obj[k]}" for k in keys if k in obj]


def _num(v) -> str:
    return f"{v:.0f}" if abs(v) >= 1e4 else f"{v:.4g}"


def _times(part, whole) -> str:
    return f"{part / whole:.3g}" if whole else "inf"


def goal_value(obj: dict) -> str:
    """What a goal speaks of, measured.  The goals are the kernel's own text
    (`corral/ipi <= 2.5`, `hotpatch window <= 1.5 x corral`, `one corral
    whatever K`...), so the figures shown are chosen by benchmark."""
    name, unit = obj["name"], obj["unit"]
    if name == "corral":
        return f"{_num(obj['ratio'])} x IPI ({_num(obj['median'])} / {_num(obj['ipi_median'])} {unit})"
    if name == "window":
        part, what = obj["median"], "window"
        if "scan" in obj.get("goal", "") and _is_num(obj["phases"].get("scan")):
            part, what = obj["phases"]["scan"], "scan"
        return (f"{what} {_times(part, obj['corral_median'])} x corral "
                f"({_num(part)} / {_num(obj['corral_median'])} {unit})")
    if name == "batch":
        return f"{obj['corrals']} corrals, {obj['syncs']} syncs for k={obj['k']}"
    if name == "call":
        return f"{_num(obj['ratio_to_plain'])} x plain ({_num(obj['median'])} {unit})"
    return f"{_num(obj['median'])} {unit}"


def goal_limit(objs: List[dict], default: float = DEFAULT_GOAL_RATIO) -> float:
    """The bound of the first `<lhs> <op> <number>` goal among objs."""
    for obj in objs:
        m = re.search(r"[<>]=?\s*(\d+(?:\.\d+)?)", obj.get("goal", ""))
        if m:
            return float(m.group(1))
    return default


def goal_lines(runs: List[dict]) -> Tuple[List[str], int, int]:
    """One line per object with a goal, over the runs that passed; (lines, met, missed)."""
    out, met, missed = [], 0, 0
    for run in ok_runs(runs):
        for obj in run["results"]:
            if "goal" not in obj:
                continue
            ok = obj.get("met") is True
            met += ok
            missed += not ok
            where = ", ".join([run["name"]] + distinguishing(obj))
            out.append(f"goal {obj['name']}/{obj['case']} {obj['goal']}: {goal_value(obj)} -> "
                       f"{'met' if ok else 'MISSED'} ({where})")
    return out, met, missed


# ---------------------------------------------------------------- results.json

def ok_runs(runs: List[dict]) -> List[dict]:
    return [r for r in runs if not r.get("failure")]


def _first_line_of(cmd: List[str]) -> str:
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    first = p.stdout.strip().splitlines()
    return first[0].strip() if p.returncode == 0 and first else "unknown"


def host_cpu(cpuinfo: str = "/proc/cpuinfo") -> str:
    try:
        with open(cpuinfo) as f:
            for ln in f:
                if ln.startswith("model name"):
                    return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def collect_meta(qemu: str, accels: List[str]) -> dict:
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "git_commit": _first_line_of(["git", "rev-parse", "--short", "HEAD"]),
            "qemu_version": _first_line_of([qemu, "--version"]),
            "host_cpu": host_cpu(),
            "host_cores": os.cpu_count(),
            "accels": list(accels)}


def write_results(path: str, meta: dict, runs: List[dict]):
    """results.json, replaced whole, so a run cut short leaves the boots it finished."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"meta": meta, "runs": runs}, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------- main

def _cpu_list(text: str) -> List[int]:
    try:
        cpus = [int(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: want comma-separated CPU counts, e.g. 1,2,4,8")
    if not cpus or any(not 1 <= c <= 16 for c in cpus):
        raise argparse.ArgumentTypeError(f"{text!r}: every CPU count must be 1..16 (the kernel uses at most 16)")
    return cpus


def _accel_list(text: str) -> List[str]:
    accels = [w.strip() for w in text.split(",") if w.strip()]
    bad = [a for a in accels if a not in ("tcg", "mttcg", "kvm")]
    if not accels or bad:
        raise argparse.ArgumentTypeError(f"{text!r}: want tcg, mttcg or kvm (comma-separated)")
    return accels


def cmdline(only: Optional[str], samples: Optional[int]) -> str:
    words = [f"bench={only or 'all'}", "exit"]
    return " ".join(words + ([f"{SAMPLES_KEY}={samples}"] if samples else []))


def plan_boots(cpus: List[int], accels: List[str], only: Optional[str], kvm_why_not: Optional[str]):
    """[(cpus, accel)] in the order they boot, and notes about what is left out."""
    notes = []
    accels = list(dict.fromkeys(accels))
    if kvm_why_not is None and "kvm" not in accels:
        accels.append("kvm")
    elif kvm_why_not is not None:
        accels = [a for a in accels if a != "kvm"]
        notes.append(f"kvm: skipped ({kvm_why_not})")
    if only in NEEDS_TWO_CPUS and 1 in cpus:
        cpus = [c for c in cpus if c >= 2]
        notes.append(f"bench: {only} needs 2 CPUs: no boot at -smp 1")
    return [(c, a) for c in cpus for a in accels], notes


def _show(path: str) -> str:
    rel = os.path.relpath(path, ROOT)
    return path if rel.startswith("..") else rel


def parse_args(argv):
    p = argparse.ArgumentParser(prog="bench", description="Corral's benchmarks under QEMU (make bench): boots "
                                "`bench=all exit` at each CPU count, one QEMU at a time, writes results.json and SVG plots.")
    p.add_argument("--cpus", type=_cpu_list, default=[1, 2, 4, 8], help="CPU counts to boot (default 1,2,4,8)")
    p.add_argument("--accel", type=_accel_list, default=["mttcg"],
                   help="tcg, mttcg (default) or kvm, comma-separated; kvm is added by itself where hardware KVM works")
    p.add_argument("--only", choices=NAMES, help="run one benchmark (bench=NAME) instead of all")
    p.add_argument("--kernel", default=os.path.join(ROOT, "build", "corral.elf"))
    p.add_argument("--samples", type=int, help="samples per distribution (appends samples=N)")
    p.add_argument("--out", default=DEFAULT_OUT, help="results.json, plots and logs/ go here (default build/bench)")
    p.add_argument("--timeout", type=float, default=BOOT_TIMEOUT_S, help="seconds per boot (default %(default)g)")
    p.add_argument("--echo", action="store_true", help="show the serial output live")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="write results.json only")
    p.add_argument("--plot", metavar="RESULTS_JSON", help="boot nothing: draw the plots and the summary of this file")
    args = p.parse_args(argv)
    if args.samples is not None and args.samples < 1:
        p.error("--samples must be at least 1")
    if args.timeout <= 0:
        p.error("--timeout must be positive")
    return args


def summarize(runs: List[dict], boots_failed: int) -> List[str]:
    lines, met, missed = goal_lines(runs)
    results = sum(len(r["results"]) for r in ok_runs(runs))
    lines.append(f"bench: {len(runs)} boots, {results} results, {met} goals met, {missed} missed"
                 + (f"; {boots_failed} boots FAILED" if boots_failed else ""))
    return lines


def _replot(args, draw_plots) -> int:
    try:
        with open(args.plot) as f:
            runs = json.load(f)["runs"]
    except (OSError, ValueError, KeyError) as e:
        print(f"bench: cannot read {args.plot}: {e}", file=sys.stderr)
        return 2
    out = args.out if args.out != DEFAULT_OUT else os.path.dirname(os.path.abspath(args.plot))
    for note in draw_plots(runs, out):
        print(note)
    failed = len(runs) - len(ok_runs(runs))
    print("\n".join(summarize(runs, failed)), flush=True)
    return 1 if failed else 0


def main(draw_plots, argv=None) -> int:
    """scripts/bench.  `draw_plots` is corral_bench_plots.draw_plots, handed in
    (the plots read this module's cases and goals: no import back)."""
    signal.signal(signal.SIGTERM, _exit_on_sigterm)   # run_qemu's finally then kills QEMU
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.plot:
        return _replot(args, draw_plots)
    qemu = os.environ.get("CORRAL_QEMU_BINARY", "qemu-system-i386")   # tests use a fake QEMU
    append = cmdline(args.only, args.samples)

    def qemu_args(cpus, accel):
        return SimpleNamespace(iso=None, kernel=args.kernel, append=append, cpus=cpus, accel=accel, qemu_arg=[])

    try:
        check_environment(qemu_args(1, "tcg"), qemu)
    except UsageError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 2
    boots, notes = plan_boots(args.cpus, args.accel, args.only, kvm_unusable_reason())
    logs = os.path.join(args.out, "logs")
    results_path = os.path.join(args.out, "results.json")
    os.makedirs(logs, exist_ok=True)
    for note in notes:
        print(note, flush=True)
    if not boots:
        print("bench: nothing to boot", file=sys.stderr)
        return 2
    accels = list(dict.fromkeys(a for _, a in boots))
    print(f"bench: {len(boots)} boots ({', '.join(f'smp{c}-{a}' for c, a in boots)}), one at a time, "
          f"`{append}`; logs in {_show(logs)}/", flush=True)
    meta = collect_meta(qemu, accels)
    runs, failed = [], 0
    start = time.monotonic()
    for cpus, accel in boots:
        name = f"smp{cpus}-{accel}"
        log = os.path.join(logs, name + ".log")
        try:
            r = run_qemu(qemu_command(qemu_args(cpus, accel), qemu), log, args.timeout, args.echo)
        except KeyboardInterrupt:
            print("bench: interrupted", flush=True)
            return 130
        ok, reason, results = judge_bench_boot(r.log_text, r.exit_code, r.timed_out, cpus, args.only, args.timeout)
        if not r.log_text.strip() and r.stderr.strip():
            reason += f"; QEMU said: {_short(r.stderr.strip().splitlines()[-1])}"
        run = {"name": name, "cpus": cpus, "accel": accel, "seconds": round(r.seconds, 1),
               "results": results if ok else [], "log": _show(log)}
        if ok:
            print(f"bench {name}: {len(results)} results in {r.seconds:.0f} s", flush=True)
        else:
            failed += 1
            run["failure"] = reason
            print(f"FAIL bench {name}: {reason}  log: {_show(log)}", flush=True)
        runs.append(run)
        write_results(results_path, meta, runs)
    print(f"bench: wrote {_show(results_path)} ({(time.monotonic() - start) / 60:.1f} minutes)", flush=True)
    for note in draw_plots(runs, args.out) if args.plots else []:
        print(note, flush=True)
    print("\n".join(summarize(runs, failed)), flush=True)
    return 1 if failed else 0
