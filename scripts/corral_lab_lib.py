"""The course kit's grader (scripts/lab, `make grade`, `make handout`,
`make test-labs`; docs/teaching.md says how a course uses it).

A lab is a folder labs/<nn>-<name>/: a README.md (the handout), starter/
(one file per piece, `<piece>.cpp.part`), checks.py (the checks, built
from the classes below) and, when the checks need them, ktests of its own
(`*_test.cpp`, compiled into every kernel).

A piece is a run of lines in the kernel's sources between two marker lines:

    // lab <name>: begin <piece>
    ... the reference (the real kernel code) ...
    // lab <name>: end <piece>

Grading copies the tree to build/grade/<lab>/src, puts each starter piece
in place of its reference there (unless --ref, or in a handout, where the
tree's own code is graded), builds it with the normal Makefile, boots it in
QEMU and runs the checks.  A handout is the repository with the lab's
pieces already replaced by the starter and a labs/.handout file naming it.

Timeouts are watchdogs on the guest's progress: a boot fails when its
serial line has been silent for WATCHDOG_S seconds (times
GRADE_TIMEOUT_SCALE); no check passes or fails on how long it took.
"""
import fnmatch
import importlib.util
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corral_qemu_lib import ACCELS, BANNER_RE, log_lines  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABS_DIR = "labs"
HANDOUT_FILE = os.path.join(LABS_DIR, ".handout")
PROMPT = "corral> "
MARKER_RE = re.compile(r"^\s*// lab (?P<lab>[a-z0-9-]+): (?P<what>begin|end) (?P<piece>[a-z0-9-]+)\s*$")
# A serial line silent this long means the guest stopped making progress.
WATCHDOG_S = 120.0
# A boot that keeps printing but never finishes (a loop of error lines) ends here.
BOOT_CAP_S = 1800.0
# Serial input: the kernel's ring holds 4 KiB; one command is far shorter.
RUN_RE = re.compile(r"\[ RUN  \] (\S+)")
RESULT_RE = re.compile(r"\[ (PASS|FAIL|SKIP) \] (\S+?)(?::\s*(.*))?$")


def timeout_scale() -> float:
    try:
        scale = float(os.environ.get("GRADE_TIMEOUT_SCALE", "1"))
    except ValueError:
        raise SystemExit("GRADE_TIMEOUT_SCALE must be a number (e.g. 2 on a slow laptop)")
    if scale <= 0:
        raise SystemExit("GRADE_TIMEOUT_SCALE must be positive")
    return scale


# ------------------------------------------------------------------ labs

@dataclass
class Lab:
    folder: str            # "01-corral"
    name: str              # "corral": the word in the markers
    path: str              # its folder in the tree
    checks: list
    title: str = ""

    def starter(self, piece: str) -> str:
        with open(os.path.join(self.path, "starter", piece + ".cpp.part")) as f:
            return f.read()

    def pieces(self) -> List[str]:
        d = os.path.join(self.path, "starter")
        return sorted(n[:-len(".cpp.part")] for n in os.listdir(d) if n.endswith(".cpp.part"))


def lab_folders(root: str) -> List[str]:
    d = os.path.join(root, LABS_DIR)
    if not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d) if re.match(r"^\d\d-[a-z0-9-]+$", n)
                  and os.path.isfile(os.path.join(d, n, "checks.py")))


def load_lab(root: str, which: str) -> Lab:
    folders = lab_folders(root)
    match = [f for f in folders if f == which or f.split("-", 1)[1] == which]
    if not match:
        raise SystemExit(f"lab '{which}': no such lab (labs here: {', '.join(folders) or 'none'})")
    folder = match[0]
    path = os.path.join(root, LABS_DIR, folder)
    spec = importlib.util.spec_from_file_location(f"lab_{folder.replace('-', '_')}", os.path.join(path, "checks.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for c in module.CHECKS:
        if isinstance(c, KtestCheck) and len(",".join(c.ktests)) > CMDLINE_VALUE_MAX:
            raise SystemExit(f"{folder}/checks.py: check {c.name}: its ktest globs take more than "
                             f"{CMDLINE_VALUE_MAX} characters, the most the kernel's test= takes")
    names = [c.name for c in module.CHECKS]
    if len(set(names)) != len(names):
        raise SystemExit(f"{folder}/checks.py: two checks share a name")
    return Lab(folder, folder.split("-", 1)[1], path, module.CHECKS, getattr(module, "TITLE", folder))


def handout_lab(root: str) -> Optional[str]:
    """The lab a handout tree was made for (None in the course's own tree)."""
    p = os.path.join(root, HANDOUT_FILE)
    if not os.path.isfile(p):
        return None
    with open(p) as f:
        return f.read().split()[0]


# ------------------------------------------------------------------ pieces

@dataclass
class Piece:
    lab: str
    name: str
    path: str          # relative to the tree
    begin: int         # index of the begin marker line
    end: int           # index of the end marker line


def tree_files(root: str) -> List[str]:
    """The files of the tree, relative: git's list (tracked and untracked,
    ignored left out) in a clone, else every file but build/ (a handout)."""
    if os.path.isdir(os.path.join(root, ".git")):
        out = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=root,
                             capture_output=True, check=True).stdout.decode()
        return sorted(p for p in out.split("\0") if p and os.path.isfile(os.path.join(root, p)))
    files = []
    for d, dirs, names in os.walk(root):
        rel = os.path.relpath(d, root)
        dirs[:] = [x for x in dirs if not (rel == "." and x in ("build", ".git")) and x != "__pycache__"]
        files += [os.path.normpath(os.path.join(rel, n)) for n in names if not n.endswith(".pyc")]
    return sorted(files)


def source_files(files: List[str]) -> List[str]:
    return [p for p in files if p.endswith((".cpp", ".h", ".asm")) and not p.startswith(LABS_DIR + "/")]


def find_pieces(root: str, files: List[str], lab: Optional[str] = None) -> List[Piece]:
    pieces = []
    for rel in source_files(files):
        with open(os.path.join(root, rel), errors="replace") as f:
            lines = f.read().split("\n")
        open_at: Dict[Tuple[str, str], int] = {}
        for i, ln in enumerate(lines):
            m = MARKER_RE.match(ln)
            if not m:
                continue
            key = (m.group("lab"), m.group("piece"))
            if m.group("what") == "begin":
                if key in open_at:
                    raise SystemExit(f"{rel}:{i + 1}: a second begin marker for {key[0]}/{key[1]}")
                open_at[key] = i
            else:
                if key not in open_at:
                    raise SystemExit(f"{rel}:{i + 1}: an end marker for {key[0]}/{key[1]} without a begin")
                pieces.append(Piece(key[0], key[1], rel, open_at.pop(key), i))
        if open_at:
            k = next(iter(open_at))
            raise SystemExit(f"{rel}: the begin marker of {k[0]}/{k[1]} has no end")
    return [p for p in pieces if lab is None or p.lab == lab]


def splice(text: str, pieces: List[Piece], lab: Lab) -> str:
    """The file's text with each piece's lines replaced by its starter."""
    lines = text.split("\n")
    for p in sorted(pieces, key=lambda p: -p.begin):
        body = lab.starter(p.name).rstrip("\n").split("\n")
        lines[p.begin + 1:p.end] = body
    return "\n".join(lines)


def check_lab_pieces(lab: Lab, pieces: List[Piece]):
    found = sorted(p.name for p in pieces)
    if found != lab.pieces():
        raise SystemExit(f"lab {lab.folder}: the tree's markers name pieces {found}, its starter/ has {lab.pieces()}")


# ------------------------------------------------------------------ trees

def _write_if_changed(path: str, data: bytes, source: str, keep_time: bool):
    try:
        with open(path, "rb") as f:
            same = f.read() == data
    except FileNotFoundError:
        same = False
    if not same:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        if keep_time:   # a new copy of an unchanged file keeps its time: make need not rebuild it
            st = os.stat(source)
            os.utime(path, (st.st_atime, st.st_mtime))
    shutil.copymode(source, path)


def make_tree(root: str, dest: str, lab: Optional[Lab], keep: Callable[[str], bool] = lambda p: True,
              seed_build: bool = True) -> List[str]:
    """Copies the tree's files to `dest` (only those that changed are
    written, so make rebuilds only them), with `lab`'s pieces spliced in
    (None: as they are).  Files gone from the tree go from `dest` too; its
    build/ stays.  A first copy starts from the tree's own build/, if any."""
    files = [p for p in tree_files(root) if keep(p)]
    pieces = find_pieces(root, files, lab.name) if lab else []
    if lab:
        check_lab_pieces(lab, pieces)
    by_file: Dict[str, List[Piece]] = {}
    for p in pieces:
        by_file.setdefault(p.path, []).append(p)
    fresh = not os.path.isdir(dest)
    os.makedirs(dest, exist_ok=True)
    if fresh and seed_build and os.path.isfile(os.path.join(root, "build", "corral.elf")):
        shutil.copytree(os.path.join(root, "build"), os.path.join(dest, "build"), symlinks=True,
                        ignore=shutil.ignore_patterns("grade", "mkpatch", "test-logs", "stress-logs", "bench", "host",
                                                      "isodir*", "*.iso", "debug-serial.log"))
    for rel in files:
        src = os.path.join(root, rel)
        with open(src, "rb") as f:
            data = f.read()
        if rel in by_file:
            data = splice(data.decode(), by_file[rel], lab).encode()
            _write_if_changed(os.path.join(dest, rel), data, src, keep_time=False)
        else:
            _write_if_changed(os.path.join(dest, rel), data, src, keep_time=True)
    wanted = set(files)
    for d, dirs, names in os.walk(dest):
        rel_d = os.path.relpath(d, dest)
        if rel_d == ".":
            dirs[:] = [x for x in dirs if x != "build"]
        for n in names:
            rel = os.path.normpath(os.path.join(rel_d, n))
            if rel not in wanted:
                os.remove(os.path.join(d, n))
    return files


def build(tree: str, log: str) -> Optional[str]:
    """make all in `tree`; None, or the reason it failed (the log keeps make's output)."""
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "wb") as out:
        p = subprocess.run(["make", "--no-print-directory", "-j2", "all"], cwd=tree, stdout=out,
                           stderr=subprocess.STDOUT)
    if p.returncode == 0:
        return None
    with open(log, errors="replace") as f:
        errors = [ln.rstrip() for ln in f if "error" in ln]
    return (errors[0] if errors else f"make exited {p.returncode}")[:300]


# ------------------------------------------------------------------ the guest

class Guest:
    """One QEMU boot: serial on stdio (typed commands go to its stdin),
    every byte logged, a watchdog on silence."""

    def __init__(self, tree: str, cpus: int, accel: str, append: str, log_path: str):
        self.log_path = log_path
        self.scale = timeout_scale()
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        self.log = open(log_path, "wb")
        cmd = ["qemu-system-i386", "-kernel", "build/corral.elf", "-append", append, "-smp", str(cpus),
               "-m", "128M", "-display", "none", "-monitor", "none", "-serial", "stdio",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", *ACCELS[accel]]
        self.command = cmd
        self.proc = subprocess.Popen(cmd, cwd=tree, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.chunks: "queue.Queue[bytes]" = queue.Queue()
        self.reader = threading.Thread(target=self._pump, daemon=True)
        self.reader.start()
        self.text = ""
        self.started = self.last = time.monotonic()
        self.dead: Optional[str] = None    # why the guest can answer no more
        self.scanned, self.banners, self.panic = 0, 0, None

    def _pump(self):
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 4096)
            self.chunks.put(chunk)
            if not chunk:
                return

    def _take(self, wait: float) -> bool:
        try:
            chunk = self.chunks.get(timeout=wait)
        except queue.Empty:
            return False
        if not chunk:
            code = self.proc.wait()
            self.dead = self.dead or f"QEMU exited (code {code})"
            return True
        self.log.write(chunk)
        self.log.flush()
        self.text += chunk.decode("latin-1").replace("\r", "").replace("\x00", "")
        self.last = time.monotonic()
        # The new complete lines only: a reset or a panic ends the guest.
        end = self.text.rfind("\n")
        if end > self.scanned:
            for ln in self.text[self.scanned:end].split("\n"):
                if BANNER_RE.match(ln):
                    self.banners += 1
                if ln.startswith("PANIC") and not self.panic:
                    self.panic = ln.strip()[:200]
            self.scanned = end + 1
        return True

    def _fatal(self) -> Optional[str]:
        if self.banners >= 2:
            return "the machine reset (a second boot banner: a triple fault?)"
        return self.panic

    def wait_for(self, done: Callable[[str], bool], since: int = 0) -> bool:
        """Reads until done(text[since:]); False when the guest died or went
        silent (self.dead says which)."""
        quiet = WATCHDOG_S * self.scale
        seen = -1
        while True:
            if len(self.text) != seen:      # judged again only when something came
                seen = len(self.text)
                if done(self.text[since:]):
                    return True
            if self.dead:
                return False
            fatal = self._fatal()
            if fatal:
                end = time.monotonic() + 2.0     # the backtrace still reaches the log
                while time.monotonic() < end and self._take(0.2):
                    pass
                self.dead = fatal
                return False
            now = time.monotonic()
            if now - self.last > quiet:
                self.dead = f"watchdog: no serial output for {quiet:g} s (last line: {self.last_line()})"
                return False
            if now - self.started > BOOT_CAP_S * self.scale:
                self.dead = f"the boot ran for {BOOT_CAP_S * self.scale:g} s without finishing"
                return False
            self._take(0.2)

    def last_line(self) -> str:
        lines = [ln for ln in self.text.split("\n") if ln.strip()]
        return lines[-1].strip()[:160] if lines else "no output"

    def at_prompt(self) -> bool:
        return self.wait_for(lambda t: t.endswith(PROMPT))

    def type(self, command: str) -> Tuple[bool, List[str]]:
        """Types a shell line; (answered, its output lines without echo and prompt)."""
        start = len(self.text)
        try:
            self.proc.stdin.write((command + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            self.dead = self.dead or "QEMU's serial input closed"
            return False, []
        echo = command + "\n"

        def answered(t: str) -> bool:
            if not t.endswith(PROMPT):
                return False
            at = t.find(echo)
            return at >= 0 and at + len(echo) <= len(t) - len(PROMPT)

        ok = self.wait_for(answered, start)
        out = self.text[start:]
        at = out.find(echo)
        body = out[at + len(echo):] if at >= 0 else out
        if ok:
            body = body[:-len(PROMPT)]
        return ok, [ln for ln in body.split("\n") if ln != ""] if body else []

    def finish(self):
        """Waits for a boot that ends by itself (`exit`); the guest is dead
        after.  A shell prompt means the kernel refused its work (a
        `cmdline:` line says why): nothing more will come."""
        if self.wait_for(lambda t: t.endswith(PROMPT)):
            why = next((ln for ln in self.text.split("\n") if ln.startswith("cmdline:")), "no cmdline: line")
            self.dead = f"the kernel started its shell instead of the ktests ({why.strip()[:160]})"

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.reader.join(timeout=2)
        while self._take(0):
            pass
        self.log.close()


# ------------------------------------------------------------------ checks

@dataclass
class Outcome:
    ok: bool
    reason: str = ""
    log: str = ""          # the part of the serial log that belongs to this check
    seconds: float = 0.0
    retry: bool = False    # not judged: the guest died before this check began


class Check:
    """A check; `points` for the score.  Subclasses say what they need."""
    kind = "?"

    def __init__(self, name: str, points: int = 1, cpus: int = 4, accel: str = "tcg", append: str = "",
                 why: str = ""):
        self.name, self.points, self.cpus, self.accel, self.append, self.why = name, points, cpus, accel, append, why

    def boot_key(self):
        return (self.kind, self.cpus, self.accel, self.append)


class KtestCheck(Check):
    """Passes when every ktest its names (globs) match ran and passed (a skip is no pass)."""
    kind = "ktest"

    def __init__(self, name: str, ktests: List[str], expect: Optional[List[str]] = None, **kw):
        super().__init__(name, **kw)
        self.ktests = ktests
        self.expect = expect or []     # regexes some line of the ktests' output must match


class ShellCheck(Check):
    """Types commands into the shell, then judge(list of (command, output lines))
    returns None for a pass or the reason for a fail."""
    kind = "shell"

    def __init__(self, name: str, commands: List[str], judge: Callable, **kw):
        super().__init__(name, **kw)
        self.commands, self.judge = commands, judge


# Readers of shell output, for ShellCheck judges.

def error_line(command: str, lines: List[str]) -> Optional[str]:
    """The refusal of a shell command (`error: ...`, prefixed with the command), or None."""
    err = next((ln for ln in lines if ln.startswith("error:")), None)
    return f"`{command}`: {err.strip()[:240]}" if err else None


def symbol_address(lines: List[str]) -> Optional[int]:
    """The address of `sym <name>`'s answer (`001117a0 T     20 <name>`)."""
    for ln in lines:
        m = re.match(r"^([0-9a-f]{8}) [A-Za-z] ", ln)
        if m:
            return int(m.group(1), 16)
    return None


def peek_bytes(lines: List[str]) -> Tuple[Optional[int], Optional[List[int]]]:
    """(address, bytes) of `peek`'s answer (`0011178b: cc cc 8b ff`)."""
    for ln in lines:
        m = re.match(r"^([0-9a-f]{8}):((?: [0-9a-f]{2})+)\s*$", ln)
        if m:
            return int(m.group(1), 16), [int(b, 16) for b in m.group(2).split()]
    return None, None


class StressCheck(Check):
    """A race check: `command` (with {seed}) typed once per seed; every seed
    must end in `patchtorture: SUCCESS`, a verdict line that matches each
    regex of `expect` (a race counter the lab is about, say)."""
    kind = "shell"

    def __init__(self, name: str, command: str, seeds: List[int], expect: Optional[List[str]] = None, **kw):
        super().__init__(name, **kw)
        self.command, self.seeds = command, seeds
        self.expect = expect or []


class StaticCheck(Check):
    """Looks at the built kernel (objdump): judge(tree) returns None or the reason."""
    kind = "static"

    def __init__(self, name: str, judge: Callable[[str], Optional[str]], **kw):
        super().__init__(name, **kw)
        self.judge = judge


def objdump_function(tree: str, demangled: str) -> Optional[List[str]]:
    """The instruction lines of one function of build/corral.elf (None if absent)."""
    out = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", "build/corral.elf"], cwd=tree,
                         capture_output=True, text=True, check=True).stdout
    head = re.compile(r"^[0-9a-f]+ <(.*)>:$")
    lines, inside = [], False
    for ln in out.split("\n"):
        m = head.match(ln)
        if m:
            inside = m.group(1) == demangled
            continue
        if inside and ln.strip():
            lines.append(ln)
    return lines if lines else None


# ------------------------------------------------------------------ running checks

def ktest_lines(text: str) -> List[str]:
    return log_lines(text)


def judge_ktests(check: KtestCheck, lines: List[str], dead: Optional[str]) -> Outcome:
    started: Dict[str, int] = {}
    results: Dict[str, Tuple[str, str, int]] = {}
    for i, ln in enumerate(lines):
        m = RUN_RE.search(ln)
        if m:
            started[m.group(1)] = i
            continue
        m = RESULT_RE.search(ln)
        if m:
            results[m.group(2)] = (m.group(1), m.group(3) or "", i)
    mine = [n for n in started if any(fnmatch.fnmatchcase(n, g) for g in check.ktests)]
    # Results without a RUN line (a SKIP before it starts) count as theirs too.
    mine += [n for n in results if n not in started and any(fnmatch.fnmatchcase(n, g) for g in check.ktests)]
    if not mine:
        if dead:
            return Outcome(False, dead, retry=True)
        return Outcome(False, f"no ktest matches {', '.join(check.ktests)}: not in this kernel?")
    first = min(started.get(n, results.get(n, ("", "", 0))[2]) for n in mine)
    last = max(results[n][2] if n in results else len(lines) - 1 for n in mine)
    log = "\n".join(lines[first:last + 1]) + "\n"
    # Judged in the order of the check's globs: its first ktests say best what went wrong.
    def glob_rank(n: str) -> int:
        return next(i for i, g in enumerate(check.ktests) if fnmatch.fnmatchcase(n, g))
    for n in sorted(mine, key=glob_rank):
        if n not in results:
            return Outcome(False, f"{n} did not finish: {dead or 'the run ended'}", log)
        verdict, why, _ = results[n]
        if verdict == "FAIL":
            return Outcome(False, f"{n}: {why}", log)
        if verdict == "SKIP":
            return Outcome(False, f"{n} skipped ({why}): it must run", log)
    missing = [g for g in check.ktests if not any(fnmatch.fnmatchcase(n, g) for n in mine)]
    if missing:
        if dead:   # the guest died before they began: a boot of their own
            return Outcome(False, f"{', '.join(missing)} never ran: {dead}", log, retry=True)
        return Outcome(False, f"no ktest matches {', '.join(missing)}", log)
    for rx in check.expect:
        if not re.search(rx, log, re.M):
            return Outcome(False, f"the ktests passed, but no line of their output matches {rx!r}", log)
    return Outcome(True, "", log)


# The kernel takes at most this many characters in one value (kernel/cmdline.cpp).
CMDLINE_VALUE_MAX = 63


def pack_test_value(checks: List[KtestCheck]) -> List[KtestCheck]:
    """The first checks whose globs fit in one `test=` value together (at least one)."""
    group, length = [], -1
    for c in checks:
        n = len(",".join(c.ktests))
        if group and length + 1 + n > CMDLINE_VALUE_MAX:
            break
        group.append(c)
        length += 1 + n
    return group


def run_ktest_group(tree: str, checks: List[KtestCheck], log_path: str) -> Dict[str, Outcome]:
    c0 = checks[0]
    globs = ",".join(g for c in checks for g in c.ktests)
    append = f"test={globs} exit" + (f" {c0.append}" if c0.append else "")
    g = Guest(tree, c0.cpus, c0.accel, append, log_path)
    try:
        start = time.monotonic()
        g.finish()
        elapsed = time.monotonic() - start
    finally:
        g.stop()
    dead = g.dead if g.dead and not g.dead.startswith("QEMU exited") else None
    lines = ktest_lines(g.text)
    out = {}
    for c in checks:
        o = judge_ktests(c, lines, dead)
        o.seconds = elapsed
        out[c.name] = o
    return out


def judge_stress(lines: List[str], expect: List[str] = ()) -> Optional[str]:
    verdict = next((ln for ln in lines if re.match(r"^patchtorture: (SUCCESS|FAILURE)\b", ln)), None)
    if verdict is None:
        err = next((ln for ln in lines if ln.startswith("error:")), None)
        return err or "no patchtorture verdict line"
    if not verdict.startswith("patchtorture: SUCCESS"):
        return verdict.strip()[:300]
    for rx in expect:
        if not re.search(rx, verdict):
            return f"the verdict does not match {rx!r}: {verdict.strip()[:240]}"
    return None


def run_shell_group(tree: str, checks: List[Check], log_path: str, seed: Optional[int],
                    rerun: Callable[[Check, Optional[int]], str]) -> Dict[str, Outcome]:
    """Every check in one boot, in order; a check the guest dies in fails,
    and the ones after it are left for another boot (retry)."""
    c0 = checks[0]
    g = Guest(tree, c0.cpus, c0.accel, c0.append, log_path)
    out: Dict[str, Outcome] = {}
    try:
        if not g.at_prompt():
            for c in checks:
                out[c.name] = Outcome(False, f"no shell prompt: {g.dead}", g.text[-4000:], retry=False)
            return out
        for c in checks:
            if g.dead:
                out[c.name] = Outcome(False, g.dead, retry=True)
                continue
            start, t0 = len(g.text), time.monotonic()
            if isinstance(c, StressCheck):
                seeds = [seed] if seed is not None else c.seeds
                reason = None
                for s in seeds:
                    cmd = c.command.format(seed=s)
                    ok, lines = g.type(cmd)
                    why = judge_stress(lines, c.expect) if ok else g.dead
                    if why:
                        reason = f"seed {s}: {why}; rerun: {rerun(c, s)}"
                        break
            else:
                transcript = []
                reason = None
                for cmd in c.commands:
                    ok, lines = g.type(cmd)
                    transcript.append((cmd, lines))
                    if not ok:
                        reason = f"`{cmd}`: {g.dead}"
                        break
                if reason is None:
                    reason = c.judge(transcript)
            out[c.name] = Outcome(reason is None, reason or "", g.text[start:], time.monotonic() - t0)
    finally:
        g.stop()
    return out


@dataclass
class Result:
    check: Check
    outcome: Outcome


def run_checks(tree: str, checks: List[Check], logdir: str, seed: Optional[int],
               rerun: Callable[[Check, Optional[int]], str], say: Callable[[Result], None]) -> List[Result]:
    """Runs the checks, grouping those that can share a boot; prints each as it is judged."""
    results: Dict[str, Outcome] = {}
    boots = 0
    pending = list(checks)
    for c in [c for c in pending if isinstance(c, StaticCheck)]:
        t0 = time.monotonic()
        why = c.judge(tree)
        results[c.name] = Outcome(why is None, why or "", seconds=time.monotonic() - t0)
        say(Result(c, results[c.name]))
    pending = [c for c in pending if not isinstance(c, StaticCheck)]
    retried = set()
    while pending:
        key = pending[0].boot_key()
        group = [c for c in pending if c.boot_key() == key]
        if key[0] == "ktest":
            group = pack_test_value(group)
        boots += 1
        log = os.path.join(logdir, f"boot-{boots}.log")
        if key[0] == "ktest":
            got = run_ktest_group(tree, group, log)
        else:
            got = run_shell_group(tree, group, log, seed, rerun)
        pending = [c for c in pending if c not in group]
        again = []
        for c in group:
            o = got[c.name]
            if o.retry and c.name not in retried:
                retried.add(c.name)
                again.append(c)
                continue
            results[c.name] = o
            with open(os.path.join(logdir, f"{c.name}.log"), "w") as f:
                f.write(f"# check {c.name}: {'OK' if o.ok else 'FAIL'}{' -- ' + o.reason if o.reason else ''}\n"
                        f"# its boot's whole serial log: {os.path.relpath(log, logdir)}\n{o.log}")
            say(Result(c, o))
        # Checks the guest died before: a boot of their own, with the ones still pending.
        pending = again + pending
    return [Result(c, results[c.name]) for c in checks]


def gradescope_json(results: List[Result]) -> dict:
    tests = []
    for r in results:
        out = "OK" if r.outcome.ok else f"FAIL: {r.outcome.reason}"
        if r.check.why:
            out += f"\n({r.check.why})"
        tests.append({"name": r.check.name, "score": r.check.points if r.outcome.ok else 0,
                      "max_score": r.check.points, "output": out})
    return {"score": sum(t["score"] for t in tests), "max_score": sum(t["max_score"] for t in tests),
            "tests": tests}
