"""Corral's QEMU test driver: build the QEMU command, stream the serial log,
judge it.  `scripts/corral-qemu` is the command-line entry point; the judging
is a pure function (`judge`) so tests/driver/ can check it on canned logs.

The serial contract it relies on is docs/design.md §3: one `Corral <v> booting`
banner per boot, `[ FAIL ] name: why`, `ktest: N passed, N failed`,
`PANIC: ...`, and the kernel ending its run through isa-debug-exit (QEMU's
exit code is then (value << 1) | 1, so 1 means the kernel said "pass").
"""

import argparse
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional

BANNER_RE = re.compile(r"^Corral \S+ booting")
SMP_RE = re.compile(r"^smp: (\d+) CPUs? online")      # checked against --cpus when printed
# Named groups: when a --require regex has them, the counts are checked too.
DEFAULT_REQUIRE = r"^ktest: (?P<passed>\d+) passed, (?P<failed>\d+) failed(?:, (?P<skipped>\d+) skipped)?"
# Printed before the first test: how many the test= glob selected.
MATCH_RE = re.compile(r"^ktest: (\d+) of (\d+) registered ktests match\b")
SKIP_RE = re.compile(r"\[ SKIP \] (\S+): (.*)$")
# The summary line a run's work ends with, by what its command line asked for.
DEMO_REQUIRE = r"^demo: \d+ cells?: (?P<passed>\d+) as expected, (?P<failed>\d+) unexpected"
STRESS_REQUIRE = r"^patchtorture: SUCCESS"
SUMMARY_NAMES = {DEFAULT_REQUIRE: "ktest summary", DEMO_REQUIRE: "demo summary", STRESS_REQUIRE: "patchtorture SUCCESS"}


def default_require(append: str) -> str:
    """The ktest summary, unless the command line asks only for a demo or a stress run."""
    words = (append or "").split()
    if not any(w.startswith("test=") for w in words):
        if any(w.startswith("demo=") for w in words):
            return DEMO_REQUIRE
        if any(w.startswith("stress=") for w in words):
            return STRESS_REQUIRE
    return DEFAULT_REQUIRE
DEFAULT_APPEND = "test=* exit"
# The kernel's exit codes (arch/x86/power.h): isa-debug-exit turns value v
# into (v << 1) | 1, and the values are chosen so that neither is a status
# QEMU gives by itself (1 for its own errors, 0 for a user quitting).
KERNEL_PASS_EXIT = 33         # isa-debug-exit value 0x10
KERNEL_FAIL_EXIT = 35         # isa-debug-exit value 0x11
PANIC_GRACE_S = 2.0           # keep reading after PANIC so the backtrace lands in the log
# "tcg" is spelled out: QEMU 7.2 runs an i386 guest multi-threaded under a
# bare "-accel tcg" (one host thread per vCPU), which made tcg and mttcg the same.
ACCELS = {"tcg": ["-accel", "tcg,thread=single"],
          "mttcg": ["-accel", "tcg,thread=multi"],
          "kvm": ["-accel", "kvm"]}


@dataclass
class Verdict:
    passed: bool
    reason: str = ""                 # first reason for a FAIL, "" on PASS
    ktests: Optional[int] = None     # N from the summary, when it has counts
    skipped: List[str] = field(default_factory=list)   # "suite.name: why", one per [ SKIP ] line


def log_lines(text: str) -> List[str]:
    """Serial text as lines without CR/NUL noise (the UART may send CRLF)."""
    return [ln.replace("\r", "").replace("\x00", "") for ln in text.split("\n")]


def _short(line: str, limit: int = 160) -> str:
    line = line.strip()
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _last_line(lines: List[str]) -> str:
    for ln in reversed(lines):
        if ln.strip():
            return _short(ln)
    return "no output"


def boot_problem(lines: List[str]) -> Optional[str]:
    """A reset or a panic: the root cause of whatever else is missing."""
    banners = sum(1 for ln in lines if BANNER_RE.match(ln))
    if banners >= 2:
        return f"reset detected ({banners} boot banners)"
    panic = next((ln for ln in lines if ln.startswith("PANIC")), None)
    return _short(panic) if panic is not None else None


def judge(log_text: str, exit_code: Optional[int], timed_out: bool,
          require: str = DEFAULT_REQUIRE, timeout_s: Optional[float] = None,
          cpus: Optional[int] = None) -> Verdict:
    """Decides PASS/FAIL from the serial log, QEMU's exit code (None or
    negative when the driver killed it) and whether the timeout hit.
    Checks run in order of how much they explain: a reset or panic is the
    root cause of whatever else is missing, so it is reported first."""
    lines = log_lines(log_text)
    problem = boot_problem(lines)
    if problem:
        return Verdict(False, problem)
    banners = sum(1 for ln in lines if BANNER_RE.match(ln))
    fails = [ln for ln in lines if "[ FAIL ]" in ln]
    if fails:
        n = len(fails)
        first = _short(fails[0][fails[0].index("[ FAIL ]"):])
        return Verdict(False, f"{n} ktest{'s' if n != 1 else ''} failed: {first}")
    if timed_out:
        after = f" after {timeout_s:g} s" if timeout_s is not None else ""
        return Verdict(False, f"timeout{after} (last line: {_last_line(lines)})")
    if banners == 0:
        return Verdict(False, f"no boot banner (QEMU exit code {exit_code}; last line: {_last_line(lines)})")
    online = next((m for m in map(SMP_RE.match, lines) if m), None)
    if cpus is not None and online and int(online.group(1)) != cpus:
        return Verdict(False, f"{online.group(1)} of {cpus} CPUs online ({_short(online.string)})")
    rx = re.compile(require)
    summary = None
    for ln in lines:                 # the last summary wins (there should be one)
        m = rx.search(ln)
        if m:
            summary = m
    if summary is None:
        what = f"no {SUMMARY_NAMES[require]}" if require in SUMMARY_NAMES else f"no line matches --require {require!r}"
        return Verdict(False, f"{what} (last line: {_last_line(lines)})")
    ktests = None
    skips = [f"{m.group(1)}: {m.group(2).strip()}" for m in map(SKIP_RE.search, lines) if m]
    groups = summary.re.groupindex
    if "passed" in groups and "failed" in groups:
        ktests, failed = int(summary.group("passed")), int(summary.group("failed"))
        skipped = int(summary.group("skipped") or 0) if "skipped" in groups else len(skips)
        if failed:
            return Verdict(False, f"summary reports {failed} failed: {_short(summary.string)}")
        if ktests == 0:
            return Verdict(False, f"zero ktests ran (does the test= glob match anything?): {_short(summary.string)}")
        if skipped != len(skips):
            return Verdict(False, f"summary reports {skipped} skipped, but the log has {len(skips)} [ SKIP ] lines")
        matched = next((m for m in map(MATCH_RE.match, lines) if m), None)
        if matched and ktests + failed + skipped != int(matched.group(1)):
            return Verdict(False, f"ran {ktests + failed + skipped} of the {matched.group(1)} ktests the glob "
                                  f"matched: {_short(summary.string)}")
    problem = exit_problem(exit_code)
    if problem:
        return Verdict(False, problem)
    return Verdict(True, "", ktests, skips)


def exit_problem(exit_code: Optional[int]) -> Optional[str]:
    """None when QEMU's exit code is the kernel's success, else what it was."""
    if exit_code == KERNEL_PASS_EXIT:
        return None
    if exit_code == KERNEL_FAIL_EXIT:
        why = "the kernel reported failure through isa-debug-exit"
    elif exit_code is None or exit_code < 0:
        why = "QEMU was killed"
    else:
        why = f"expected {KERNEL_PASS_EXIT} (the kernel's success through isa-debug-exit)"
    return f"QEMU exit code {exit_code}: {why}"


def invert(v: Verdict) -> Verdict:
    """--expect-fail: a negative control passes when the run fails."""
    if v.passed:
        n = f" ({v.ktests} ktests)" if v.ktests is not None else ""
        return Verdict(False, f"expected a failure, but the run passed{n}", v.ktests)
    return Verdict(True, f"failed as expected: {v.reason}", v.ktests)


# ---------------------------------------------------------------- command line

class UsageError(Exception):
    """Bad options or an environment that cannot run the test (exit 2)."""


def slug(text: str) -> str:
    text = text.replace("*", "all")
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def default_name(args) -> str:
    """smp4-tcg for the standard ktest run, plus the unusual cmdline words."""
    base = f"{'iso-' if args.iso else ''}smp{args.cpus}-{args.accel}"
    extra = [w for w in (args.append or "").split() if w not in DEFAULT_APPEND.split()]
    return base + ("-" + slug(" ".join(extra)) if extra else "")


def _glue_qemu_args(argv):
    """`--qemu-arg -d` -> `--qemu-arg=-d`: argparse would take "-d" for an option."""
    out, it = [], iter(argv)
    for a in it:
        out.append(f"{a}={next(it, '')}" if a == "--qemu-arg" else a)
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="corral-qemu",
        description="Boot Corral under QEMU and judge its serial log (PASS/FAIL).")
    p.add_argument("--kernel", default="build/corral.elf", help="multiboot ELF (default %(default)s)")
    p.add_argument("--iso", help="boot this ISO with -cdrom; the cmdline then comes from grub.cfg")
    p.add_argument("--append", default=None, help=f"kernel cmdline (default {DEFAULT_APPEND!r})")
    p.add_argument("--cpus", type=int, default=1, help="-smp N (default 1)")
    p.add_argument("--accel", choices=sorted(ACCELS), default="tcg")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")
    p.add_argument("--log", help="serial log path (default build/test-logs/<name>.log)")
    p.add_argument("--name", help="name used in the verdict line and default log path")
    p.add_argument("--require", default=None,
                   help="regex of the summary line that must appear; groups named passed/failed "
                        "are checked (default: the ktest summary, or the demo summary / patchtorture "
                        "SUCCESS when the command line runs only a demo / a stress run)")
    p.add_argument("--expect-fail", action="store_true", help="invert the verdict (negative controls)")
    echo = p.add_mutually_exclusive_group()
    echo.add_argument("--echo", dest="echo", action="store_true", default=None, help="echo serial lines live")
    echo.add_argument("--quiet", dest="echo", action="store_false", help="do not echo (default unless a tty)")
    p.add_argument("--qemu-arg", action="append", default=[], metavar="ARG", help="extra QEMU argument (repeatable)")
    args = p.parse_args(_glue_qemu_args(sys.argv[1:] if argv is None else argv))
    if args.iso and args.append is not None:
        raise UsageError("--append cannot be used with --iso: the cmdline comes from grub.cfg")
    if args.append is None and not args.iso:
        args.append = DEFAULT_APPEND
    if args.require is None:
        args.require = default_require(args.append or "")
    if args.cpus < 1 or args.cpus > 255:
        raise UsageError(f"--cpus {args.cpus}: must be 1..255")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    try:
        re.compile(args.require)
    except re.error as e:
        raise UsageError(f"--require: bad regex: {e}")
    if args.echo is None:
        args.echo = sys.stdout.isatty()
    args.name = args.name or default_name(args)
    args.log = args.log or os.path.join("build", "test-logs", args.name + ".log")
    return args


def kvm_unusable_reason() -> Optional[str]:
    """None when KVM can run Corral, else why not.  /dev/kvm opening is not
    enough: some VMs offer a /dev/kvm (e.g. kvm_pvm) without vmx/svm, and it
    runs only paravirtualized 64-bit guests -- Corral #GPs on enabling paging."""
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
    except FileNotFoundError:
        return "no /dev/kvm"
    except OSError as e:
        return f"cannot open /dev/kvm read-write: {e.strerror}"
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next((ln for ln in f if ln.startswith("flags")), "").split())
    except OSError:
        return None
    if not flags & {"vmx", "svm"}:
        return "/dev/kvm opens, but the CPU has no vmx/svm: not hardware KVM"
    return None


def kvm_usable() -> bool:
    return kvm_unusable_reason() is None


def qemu_command(args, qemu: str = "qemu-system-i386") -> List[str]:
    # No -no-reboot: a triple fault must reset so a second banner shows it.
    boot = ["-cdrom", args.iso] if args.iso else ["-kernel", args.kernel, "-append", args.append]
    return [qemu, *boot, "-smp", str(args.cpus), "-m", "128M",
            "-display", "none", "-monitor", "none", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            *ACCELS[args.accel], *args.qemu_arg]


def check_environment(args, qemu: str):
    image = args.iso or args.kernel
    if not os.path.isfile(image):
        raise UsageError(f"{image} not found (run `make{' iso' if args.iso else ''}` first)")
    why_not = kvm_unusable_reason() if args.accel == "kvm" else None
    if why_not:
        raise UsageError(f"--accel kvm unavailable: {why_not}; use --accel tcg or mttcg")
    if os.sep not in qemu and not any(os.access(os.path.join(d, qemu), os.X_OK)
                                      for d in os.environ.get("PATH", "").split(os.pathsep)):
        raise UsageError(f"{qemu} not found in PATH (scripts/install-deps installs it)")


# ---------------------------------------------------------------- running QEMU

@dataclass
class RunResult:
    log_text: str
    exit_code: Optional[int]     # None/negative when the driver killed QEMU
    timed_out: bool
    seconds: float
    stderr: str


def _pump(stream, q: "queue.Queue"):
    """Reader thread: raw chunks, so a line without "\\n" still gets logged."""
    fd = stream.fileno()
    while True:
        chunk = os.read(fd, 4096)
        q.put(chunk)
        if not chunk:
            return


class _LineWatcher:
    """Splits the byte stream into lines and notices the early-stop events."""

    def __init__(self, echo: bool):
        self.partial = b""
        self.banners = 0
        self.panic_seen = False
        self.echo = echo

    def feed(self, chunk: bytes):
        self.partial += chunk
        *complete, self.partial = self.partial.split(b"\n")
        for raw in complete:
            line = raw.decode("utf-8", "replace").replace("\r", "").replace("\x00", "")
            if self.echo:
                print(line, flush=True)
            if BANNER_RE.match(line):
                self.banners += 1
            if line.startswith("PANIC"):
                self.panic_seen = True


def run_qemu(cmd: List[str], log_path: str, timeout_s: float, echo: bool, cwd: Optional[str] = None) -> RunResult:
    """Streams QEMU's stdout into the log (every byte, flushed as it comes)
    and kills QEMU once the verdict is certain: a second banner (reset),
    a PANIC plus a grace period for its backtrace, or the timeout.  `cwd`:
    where QEMU runs (a relative -kernel path is in the kernel's cmdline)."""
    os.makedirs(os.path.dirname(log_path) or ".", exist_ok=True)
    start = time.monotonic()
    deadline = start + timeout_s
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, cwd=cwd)
    chunks: "queue.Queue[bytes]" = queue.Queue()
    err_chunks: "queue.Queue[bytes]" = queue.Queue()
    readers = [threading.Thread(target=_pump, args=(proc.stdout, chunks), daemon=True),
               threading.Thread(target=_pump, args=(proc.stderr, err_chunks), daemon=True)]
    for t in readers:
        t.start()
    watch = _LineWatcher(echo)
    data = bytearray()
    timed_out = killed = False
    panic_deadline = None
    try:
        with open(log_path, "wb") as log:
            eof = False
            while not eof:
                now = time.monotonic()
                if watch.banners >= 2:
                    killed = True
                    break
                if watch.panic_seen and panic_deadline is None:
                    panic_deadline = now + PANIC_GRACE_S
                if panic_deadline is not None and now >= panic_deadline:
                    killed = True
                    break
                if now >= deadline:
                    timed_out = killed = True
                    break
                limit = min(deadline, panic_deadline or deadline)
                try:
                    chunk = chunks.get(timeout=max(0.01, min(0.5, limit - now)))
                except queue.Empty:
                    continue
                eof = not chunk
                data += chunk
                log.write(chunk)
                log.flush()
                watch.feed(chunk)
            if not killed:
                # EOF on stdout comes a moment before QEMU is reapable: wait
                # for its own exit code instead of racing it with a kill.
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    killed = True
            if killed:
                proc.kill()
            exit_code = proc.wait()
            for t in readers:
                t.join(timeout=2)
            for chunk in _drain(chunks):      # bytes already sent before the kill: log them too
                data += chunk
                log.write(chunk)
    finally:
        if proc.poll() is None:               # an exception (e.g. Ctrl-C) must not leak QEMU
            proc.kill()
            proc.wait()
        if not any(t.is_alive() for t in readers):
            proc.stdout.close()
            proc.stderr.close()
    if watch.partial and echo:
        print(watch.partial.decode("utf-8", "replace"), flush=True)
    stderr = b"".join(_drain(err_chunks)).decode("utf-8", "replace")
    return RunResult(data.decode("utf-8", "replace"), None if killed else exit_code,
                     timed_out, time.monotonic() - start, stderr)


def _drain(q: "queue.Queue[bytes]"):
    while True:
        try:
            yield q.get_nowait()
        except queue.Empty:
            return


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)     # unwinds through run_qemu's finally, which kills QEMU


def main(argv=None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    qemu = os.environ.get("CORRAL_QEMU_BINARY", "qemu-system-i386")   # tests use a fake QEMU
    try:
        args = parse_args(argv)
        check_environment(args, qemu)
    except UsageError as e:
        print(f"corral-qemu: {e}", file=sys.stderr)
        return 2
    cmd = qemu_command(args, qemu)
    if args.echo:
        print("$ " + " ".join(f"'{a}'" if " " in a or "*" in a else a for a in cmd), file=sys.stderr)
    if "exit" not in (args.append or "").split() and not args.iso:
        print("corral-qemu: warning: no `exit` in --append, so the kernel will not end the run", file=sys.stderr)
    try:
        run = run_qemu(cmd, args.log, args.timeout, args.echo)
    except KeyboardInterrupt:
        return 130
    verdict = judge(run.log_text, run.exit_code, run.timed_out, args.require, args.timeout,
                    args.cpus)
    if not run.log_text.strip() and run.stderr.strip():
        verdict.reason += f"; QEMU said: {_short(run.stderr.strip().splitlines()[-1])}"
    if args.expect_fail:
        verdict = invert(verdict)
    if verdict.passed:
        detail = f"{verdict.ktests} ktests, " if verdict.ktests is not None else ""
        if verdict.skipped:
            detail += f"{len(verdict.skipped)} skipped, "
        extra = f"; {verdict.reason}" if verdict.reason else ""
        print(f"PASS {args.name} ({detail}{run.seconds:.1f} s{extra})", flush=True)
        for skip in verdict.skipped:
            print(f"  SKIP {skip}", flush=True)
        return 0
    print(f"FAIL {args.name}: {verdict.reason}", flush=True)
    print(f"  log: {args.log}", file=sys.stderr)
    if run.stderr.strip():
        print("  qemu stderr: " + _short(run.stderr.strip().replace("\n", " | "), 400), file=sys.stderr)
    return 1
