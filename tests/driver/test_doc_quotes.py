"""The output that README.md and docs/*.md quote, checked against real runs
(issues 20 and 21: quotes drifted as the code changed).

A fenced block that quotes output has a marker on the line just before it:

  <!-- quoted: make run [CPUS=n] [ACCEL=a] [APPEND='...'] [session=NAME] -->
      what that `make run` shows: make's QEMU line, then the serial output.
      With `exit` in APPEND the block is an excerpt of it.  Otherwise the
      lines before the first `corral> CMD` are an excerpt of the boot up to
      its prompt, each `corral> CMD` is typed into that boot's shell, and
      the lines after it are all that CMD printed (`...` for the rest).
      The blocks of one doc that name the same make run share one boot, in
      the doc's order; session=NAME gives a block a boot of its own.
  <!-- quoted: host -->
      each `$ CMD` runs from the repo root (bash); the lines after it are
      all it printed.
  <!-- not quoted: REASON -->
      output that no test run reproduces: left out, and counted.

A quoted line matches a real line when they differ only in numbers: every
number, hex or decimal (`93`, `0x433000`, `0011a890`, the 3 of `idle3`),
matches any number, and a run of spaces any run of spaces.  `...` matches
anything: on a line of its own any lines (none too), inside a line any
text.  Everything else is literal, and the lines come in the quote's order,
one after another.  In a `make run` quote a `$ make run ...` line shows the
reader's command; it must be the marker's.

A block with no marker that looks like output (a `corral>`, `(gdb)` or
`(qemu)` prompt, a line the kernel or a driver prints) fails, so a new
quote cannot go in unchecked.

The parsing and matching run in run-tests' unit step; the runs (one QEMU
at a time) in its QEMU step, with the negative controls (load_tests)."""
import difflib
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import corral_qemu_lib as qemu_lib  # noqa: E402
import corralctl_lib as ctl_lib  # noqa: E402
sys.path.insert(0, HERE)
from steps import load_cases  # noqa: E402

KERNEL = "build/corral.elf"              # relative, as make run gives it: it is in the kernel's cmdline
DOCS = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
MAKE_RUN_VARS = {"CPUS": "4", "ACCEL": "tcg", "APPEND": ""}    # the Makefile's defaults
COMMAND_TIMEOUT = 300.0

MARKER_RE = re.compile(r"^\s*<!--\s*(quoted|not quoted)\s*:\s*(.*?)\s*-->\s*$")
FENCE_RE = re.compile(r"^(\s*)```")
PROMPT = ctl_lib.PROMPT.rstrip()
# Lines only output has: a prompt with its command, the kernel's own line
# starts, and the verdicts of the host's drivers.
OUTPUT_LINE_RE = re.compile(
    r"^\s*(corral>|\(gdb\)|\(qemu\)|PANIC|Corral \S+ booting|ktest: |\[ (RUN  |PASS|FAIL|SKIP) \]|SCENARIO |"
    r"scenario \S+ with |patchtorture: |klp: |torn: |demo: |smp: |boot: |memory: |symbols: |text verify|"
    r"stress: |(PASS|FAIL) \S+ \(|FAIL \S+: )")
# Numbers: 0x-hex; a byte dump (two or more bytes: `e9 eb 71 fe ff` is a
# displacement, digits or not); a word of hex digits with a digit in it; any digit run.
TOKEN_RE = re.compile(r"(?P<any>\.\.\.)|(?P<hex>0x[0-9a-fA-F]+)|"
                      r"(?P<dump>(?<![0-9A-Za-z_])[0-9a-fA-F]{2}(?: [0-9a-fA-F]{2})+(?![0-9A-Za-z_]))|"
                      r"(?P<num>(?<![0-9A-Za-z_])[0-9a-fA-F]*[0-9][0-9a-fA-F]*(?![0-9A-Za-z_])|[0-9]+)|(?P<space>\s+)")
PATTERN = {"any": ".*", "hex": "0x[0-9a-fA-F]+", "num": "[0-9a-fA-F]+", "space": r"\s+"}
BYTE = "[0-9a-fA-F]{2}"


# ---------------------------------------------------------------- reading the docs

@dataclass
class QuoteLine:
    lineno: int                 # in the doc
    text: str

    @property
    def is_any(self) -> bool:
        return self.text.strip() == "..."

    @property
    def regex(self) -> "re.Pattern":
        return line_regex(self.text)


@dataclass
class Block:
    path: str
    lineno: int                 # the opening fence's line
    lines: List[QuoteLine]
    marker: Optional[Tuple[str, str]] = None      # ("quoted" | "not quoted", the rest)

    def where(self, line: Optional[QuoteLine] = None) -> str:
        return f"{self.path}:{line.lineno if line else self.lineno}"


def extract_blocks(path: str, text: str) -> List[Block]:
    """Every fenced block of a markdown text, with the marker on the line before it."""
    lines = text.split("\n")
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, start = len(m.group(1)), i
        i += 1
        body = []
        while i < len(lines) and not FENCE_RE.match(lines[i]):
            body.append(QuoteLine(i + 1, lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i]))
            i += 1
        i += 1
        marker = MARKER_RE.match(lines[start - 1]) if start > 0 else None
        blocks.append(Block(path, start + 1, body, marker.groups() if marker else None))
    return blocks


def doc_blocks() -> List[Block]:
    out = []
    for path in DOCS:
        with open(os.path.join(ROOT, path)) as f:
            out += extract_blocks(path, f.read())
    return out


def looks_like_output(block: Block) -> Optional[QuoteLine]:
    """The first line that only output has, or None."""
    return next((ln for ln in block.lines if OUTPUT_LINE_RE.match(ln.text)), None)


@dataclass(frozen=True)
class MakeRun:
    """A `make run` a quote names: its boot, and the session that shares it."""
    cpus: int
    accel: str
    append: str
    session: str

    @property
    def exits(self) -> bool:
        return "exit" in self.append.split()

    def command(self) -> str:
        words = ["make run"] + [f"CPUS={self.cpus}"] * (self.cpus != int(MAKE_RUN_VARS["CPUS"]))
        words += [f"ACCEL={self.accel}"] * (self.accel != MAKE_RUN_VARS["ACCEL"])
        words += [f"APPEND={shlex.quote(self.append)}"] * (self.append != "")
        return " ".join(words)


class MarkerError(ValueError):
    pass


def parse_make_run(words: List[str], default_session: str) -> MakeRun:
    if words[:2] != ["make", "run"]:
        raise MarkerError(f"expected `quoted: make run ...` or `quoted: host`, not {' '.join(words)!r}")
    values = dict(MAKE_RUN_VARS, session=default_session)
    for w in words[2:]:
        key, eq, value = w.partition("=")
        if not eq or key not in values:
            raise MarkerError(f"{w!r}: a make run quote takes CPUS=, ACCEL=, APPEND= and session=")
        values[key] = value
    if not values["CPUS"].isdigit() or values["ACCEL"] not in qemu_lib.ACCELS:
        raise MarkerError(f"CPUS={values['CPUS']} ACCEL={values['ACCEL']}: not a number of CPUs and an accelerator")
    return MakeRun(int(values["CPUS"]), values["ACCEL"], values["APPEND"], values["session"])


@dataclass
class Step:
    """A command of a quote (None: the boot itself) and the lines it must print."""
    command: Optional[str]
    expect: List[QuoteLine] = field(default_factory=list)


@dataclass
class Quote:
    block: Block
    kind: str                       # "make run" or "host"
    run: Optional[MakeRun]
    steps: List[Step]


def parse_quote(block: Block) -> Quote:
    """A `quoted:` block as the boot (or host) it needs and its steps; MarkerError if malformed."""
    try:
        words = shlex.split(block.marker[1])
    except ValueError as e:
        raise MarkerError(f"{block.marker[1]!r}: {e}")
    if words == ["host"]:
        steps = []
        for ln in block.lines:
            if ln.text.startswith("$ "):
                steps.append(Step(ln.text[2:].strip()))
            elif not steps:
                raise MarkerError(f"line {ln.lineno}: a host quote starts with a `$ ` command")
            else:
                steps[-1].expect.append(ln)
        if not steps:
            raise MarkerError("a host quote has no `$ ` command")
        return Quote(block, "host", None, steps)
    run = parse_make_run(words, block.path)
    steps = [Step(None)]
    for ln in block.lines:
        if ln.text.startswith("$ "):
            if " ".join(ln.text[2:].split()) != run.command():
                raise MarkerError(f"line {ln.lineno}: shows `{ln.text[2:]}`, but the marker says `{run.command()}`")
        elif ln.text.startswith(PROMPT + " ") and ln.text[len(PROMPT):].strip():
            if run.exits:
                raise MarkerError(f"line {ln.lineno}: a shell command, but with `exit` there is no shell")
            steps.append(Step(ln.text[len(PROMPT):].strip()))
        elif ln.text.strip() == PROMPT and len(steps) > 1:
            raise MarkerError(f"line {ln.lineno}: a prompt with no command after the boot's")
        else:
            steps[-1].expect.append(ln)
    return Quote(block, "make run", run, steps)


# ---------------------------------------------------------------- matching

def line_regex(quoted: str) -> "re.Pattern":
    """A quoted line as a pattern: numbers, spaces and `...` loose, the rest literal."""
    out, pos = [], 0
    text = quoted.rstrip()
    for m in TOKEN_RE.finditer(text):
        out.append(re.escape(text[pos:m.start()]))
        out.append(" ".join([BYTE] * len(m.group().split())) if m.lastgroup == "dump" else PATTERN[m.lastgroup])
        pos = m.end()
    out.append(re.escape(text[pos:]))
    return re.compile("".join(out) + r"\Z")


@dataclass
class Mismatch:
    line: Optional[QuoteLine]       # the quoted line that matched nothing; None: output went on past the quote
    nearest: Optional[str]          # the real line nearest to it (None: no output there)
    last: Optional[QuoteLine] = None    # with line None: the quote's last line


def nearest(text: str, candidates: List[str]) -> Optional[str]:
    if not candidates:
        return None
    return max(candidates, key=lambda c: difflib.SequenceMatcher(None, text.strip(), c.strip()).ratio())


def match(quoted: List[QuoteLine], real: List[str], whole: bool) -> Optional[Mismatch]:
    """None when the quoted lines match real lines in order, one after another
    but where a `...` line stands; `whole`: from real's first line to its
    last, else anywhere in it.  Else the first quoted line that cannot match,
    with the real line nearest to it where it was due."""
    real = [r.rstrip() for r in real]
    at = {0} if whole else set(range(len(real) + 1))      # where the next quoted line may match
    for q in quoted:
        if q.is_any:
            at = set(range(min(at), len(real) + 1))
            continue
        rx = q.regex
        after = {j + 1 for j in at if j < len(real) and rx.match(real[j])}
        if not after:
            return Mismatch(q, nearest(q.text, [real[j] for j in sorted(at) if j < len(real)]))
        at = after
    if whole and len(real) not in at:
        return Mismatch(None, real[min(at)], quoted[-1] if quoted else None)
    return None


def describe(block: Block, step: Step, miss: Mismatch) -> str:
    what = f" (after `{step.command}`)" if step.command else ""
    if miss.line is None:
        at = block.where(miss.last) if miss.last else block.where()
        return f"{at}: the quote ends here{what}, but the output goes on: {miss.nearest!r}"
    real = f"nearest real line: {miss.nearest!r}" if miss.nearest is not None else "no output there"
    return f"{block.where(miss.line)}: quoted {miss.line.text.strip()!r}{what} is not in the output; {real}"


# ---------------------------------------------------------------- running

def make_run_line(run: MakeRun) -> str:
    """The QEMU command line that make run prints first."""
    p = subprocess.run(["make", "-s", "--no-print-directory", "print-run", f"CPUS={run.cpus}",
                        f"ACCEL={run.accel}", f"APPEND={run.append}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"make print-run failed: {p.stdout}{p.stderr}")
    return p.stdout.strip()


def boot_and_exit(run: MakeRun) -> Tuple[List[str], str]:
    """(the serial lines, the judge's word on the boot and its log) of a boot that ends by itself."""
    args = qemu_lib.parse_args(["--kernel", KERNEL, "--append", run.append, "--cpus", str(run.cpus),
                                "--accel", run.accel, "--timeout", "180", "--quiet"])
    log = os.path.join(ROOT, "build", "test-logs", f"doc-{args.name}.log")
    r = qemu_lib.run_qemu(qemu_lib.qemu_command(args), log, args.timeout, echo=False, cwd=ROOT)
    v = qemu_lib.judge(r.log_text, r.exit_code, r.timed_out, args.require, args.timeout, args.cpus)
    lines = qemu_lib.log_lines(r.log_text)
    while lines and not lines[-1].strip():
        lines.pop()
    verdict = "it passed" if v.passed else f"it failed: {v.reason}"
    return lines, f"the boot of `{run.command()}`: {verdict}; log: {os.path.relpath(log, ROOT)}"


class ShellBoot:
    """A kernel in QEMU with its shell on a socket, for the quotes of one
    session; what it prints goes to build/test-logs/doc-<session>.log too."""

    def __init__(self, run: MakeRun, tmp: str):
        self.sock = os.path.join(tmp, "serial.sock")
        with warnings.catch_warnings():     # boot() leaves QEMU running, and so drops a running Popen
            warnings.simplefilter("ignore", ResourceWarning)
            self.pid, lines = ctl_lib.boot(self.sock, KERNEL, run.cpus, run.accel, append=run.append, cwd=ROOT)
        self.boot_lines = lines + [PROMPT]        # boot() returned at this prompt
        name = qemu_lib.slug(f"{run.session} smp{run.cpus} {run.accel} {run.append}")
        self.log = os.path.join(ROOT, "build", "test-logs", f"doc-{name}.log")
        try:
            os.makedirs(os.path.dirname(self.log), exist_ok=True)
            self.transcript = open(self.log, "wb")
            self.transcript.write("".join(ln + "\n" for ln in self.boot_lines).encode())
            self.link = ctl_lib.Link.connect(self.sock, transcript=self.transcript)
        except BaseException:
            ctl_lib.stop_pid(self.pid, self.sock)
            raise
        self.session = ctl_lib.Session(self.link)

    def type(self, command: str) -> List[str]:
        reply = self.session.run(command, timeout=COMMAND_TIMEOUT)
        if not reply.complete:
            raise AssertionError(f"`{command}`: the shell did not come back to its prompt: {reply.output[-5:]}")
        return reply.output

    def stop(self):
        self.link.close()
        self.transcript.close()
        ctl_lib.stop_pid(self.pid, self.sock)


def run_host(command: str) -> List[str]:
    p = subprocess.run(["bash", "-c", command], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="replace", timeout=COMMAND_TIMEOUT)
    lines = p.stdout.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def check_quotes(quotes: List[Quote], tmp: str) -> Tuple[List[str], Dict[str, int], List[str]]:
    """Runs what the quotes need, as few boots as they allow: (mismatches,
    counts of boots and host commands, every line any run printed)."""
    problems, seen = [], []
    counts = {"boots": 0, "host commands": 0}
    sessions: Dict[MakeRun, List[Quote]] = {}
    for q in quotes:
        if q.kind == "host":
            for step in q.steps:
                counts["host commands"] += 1
                real = run_host(step.command)
                seen += real
                miss = match(step.expect, real, whole=True)
                if miss:
                    problems.append(describe(q.block, step, miss))
        else:
            key = q.run if not q.run.exits else MakeRun(q.run.cpus, q.run.accel, q.run.append, "")
            sessions.setdefault(key, []).append(q)
    for run, group in sessions.items():
        counts["boots"] += 1
        head = [make_run_line(run)]
        if run.exits:
            lines, verdict = boot_and_exit(run)
            seen += lines
            for q in group:
                miss = match(q.steps[0].expect, head + lines, whole=False)
                if miss:
                    problems.append(f"{describe(q.block, q.steps[0], miss)} ({verdict})")
            continue
        shell = ShellBoot(run, tmp)
        try:
            seen += shell.boot_lines
            for q in group:
                for step in q.steps:
                    if step.command is None:
                        miss = match(step.expect, head + shell.boot_lines, whole=False) if step.expect else None
                    else:
                        real = shell.type(step.command)
                        seen += real
                        miss = match(step.expect, real, whole=True)
                    if miss:
                        problems.append(f"{describe(q.block, step, miss)} (log: {os.path.relpath(shell.log, ROOT)})")
        finally:
            shell.stop()
    return problems, counts, seen


def unmarked_output(blocks: List[Block], seen: List[str]) -> List[str]:
    """Unmarked blocks with a line that a run printed (as a quote would match it)."""
    real = [s.rstrip() for s in seen if len(s.strip()) >= 20]
    found = []
    for b in blocks:
        if b.marker:
            continue
        for ln in b.lines:
            if len(ln.text.strip()) >= 20 and not ln.is_any:
                rx = ln.regex
                hit = next((r for r in real if rx.match(r)), None)
                if hit is not None:
                    found.append(f"{b.where(ln)}: a block with no marker quotes output: {hit!r}")
                    break
    return found


# ---------------------------------------------------------------- tests

def quoted_lines(*texts: str) -> List[QuoteLine]:
    return [QuoteLine(i + 1, t) for i, t in enumerate(texts)]


class Matching(unittest.TestCase):
    REAL = ["Corral 0.1.0 booting",
            "memory: 127 MiB usable, 29580 frames free, heap 8192 KiB at 0x433000",
            "  thread 7 'victim' held at seed_example+0x2 on cpu 3 (running there)",
            "0011178b: cc cc cc cc cc 8b ff 55",
            "   3 reaper         blocked    0  0         corral::schedule+0xe3                0",
            "demo: 1 cell: 1 as expected, 0 unexpected, 0 skipped"]

    def test_only_numbers_changed_still_matches(self):
        quoted = quoted_lines("Corral 0.2.7 booting",
                   "memory: 64 MiB usable, 1234 frames free, heap 16 KiB at 0x51f000",
                   "  thread 12 'victim' held at seed_example+0x5 on cpu 1 (running there)",
                   "0011a88b: cc cc cc cc cc 8b ff 53",
                   "   12 reaper   blocked    1  1   corral::schedule+0x1f0    0",
                   "demo: 4 cell: 3 as expected, 1 unexpected, 0 skipped")
        self.assertIsNone(match(quoted, self.REAL, whole=True))

    def test_one_word_changed_is_caught_with_the_nearest_real_line(self):
        quoted = quoted_lines("Corral 0.1.0 booting",
                   "memory: 127 MiB usable, 29580 frames used, heap 8192 KiB at 0x433000")
        miss = match(quoted, self.REAL, whole=False)
        self.assertEqual((miss.line.lineno, miss.nearest), (2, self.REAL[1]))
        self.assertIn("README.md:2: quoted 'memory: 127 MiB usable, 29580 frames used",
                      describe(Block("README.md", 1, quoted), Step(None), miss))
        self.assertIn(f"nearest real line: {self.REAL[1]!r}", describe(Block("README.md", 1, quoted), Step(None), miss))

    def test_a_name_or_a_state_changed_is_caught(self):
        for line in ("  thread 7 'victim' held at seed_example+0x2 on cpu 3 (switched out)",
                     "  thread 7 'victim' held at seed_example+0x2 on CPU 3 (running there)",
                     "   3 reaper         ready      0  0         corral::schedule+0xe3                0",
                     "   3 reaper         blocked    0  0         corral::schedule_ap+0xe3             0"):
            self.assertIsNotNone(match(quoted_lines(line), self.REAL, whole=False), line)

    def test_a_byte_dump_is_numbers_but_keeps_its_length(self):
        self.assertIsNone(match(quoted_lines("0011a88b: e9 eb 71 fe ff 8b ff 53"), self.REAL, whole=False))
        self.assertIsNotNone(match(quoted_lines("0011a88b: e9 eb 71 fe ff 8b ff"), self.REAL, whole=False))
        self.assertIsNotNone(match(quoted_lines("0011a88b: cc cc cc cc cc 8b ff 55 90"), self.REAL, whole=False))

    def test_lines_come_in_order_and_together_unless_dots_stand_between(self):
        self.assertIsNone(match(quoted_lines(self.REAL[0], self.REAL[1]), self.REAL, whole=False))
        self.assertIsNotNone(match(quoted_lines(self.REAL[1], self.REAL[0]), self.REAL, whole=False))
        self.assertIsNotNone(match(quoted_lines(self.REAL[0], self.REAL[2]), self.REAL, whole=False))
        self.assertIsNone(match(quoted_lines(self.REAL[0], "...", self.REAL[2]), self.REAL, whole=False))
        self.assertIsNone(match(quoted_lines(self.REAL[0], "  ...", self.REAL[2], "...", self.REAL[5]), self.REAL, whole=True))

    def test_whole_output_must_be_quoted_to_its_end(self):
        miss = match(quoted_lines(*self.REAL[:-1]), self.REAL, whole=True)
        self.assertIsNone(miss.line)
        self.assertEqual((miss.nearest, miss.last.lineno), (self.REAL[-1], 5))
        self.assertIsNone(match(quoted_lines(*self.REAL[:-1], "..."), self.REAL, whole=True))
        self.assertIsNotNone(match(quoted_lines(*self.REAL[1:]), self.REAL, whole=True))
        self.assertIsNone(match(quoted_lines(), [], whole=True))
        self.assertIsNotNone(match(quoted_lines(), ["x"], whole=True))

    def test_dots_inside_a_line_match_any_text(self):
        self.assertIsNone(match(quoted_lines("memory: ... at 0x433000"), self.REAL, whole=False))
        self.assertIsNone(match(quoted_lines("demo: 1 cell: ..."), self.REAL, whole=False))
        self.assertIsNotNone(match(quoted_lines("demo: 1 cells: ..."), self.REAL, whole=False))


class Markers(unittest.TestCase):
    DOC = "\n".join([
        "text", "<!-- quoted: make run CPUS=2 APPEND='demo=torn exit' -->", "```", "SCENARIO torn naive: x", "```",
        "", "<!-- not quoted: a long run -->", "  ```", "  patchtorture: SUCCESS", "  ```",
        "```", "make run", "```", "```", "corral> help", "commands:", "```",
        "<!-- quoted: make run session=b -->", "```", "$ make run", "Corral 0.1.0 booting", "corral>",
        "corral> help", "commands:", "corral> sym x", "...", "```",
        "<!-- quoted: host -->", "```", "$ scripts/corral-qemu --append 'test=heap.* exit'", "PASS x (4 ktests, 1 s)", "```"])

    def test_blocks_markers_and_steps(self):
        blocks = extract_blocks("d.md", self.DOC)
        self.assertEqual([(b.lineno, b.marker and b.marker[0]) for b in blocks],
                         [(3, "quoted"), (8, "not quoted"), (11, None), (14, None), (19, "quoted"), (29, "quoted")])
        self.assertEqual(blocks[1].lines[0].text, "patchtorture: SUCCESS")
        self.assertEqual([looks_like_output(b) is not None for b in blocks], [True, True, False, True, True, True])
        demo = parse_quote(blocks[0])
        self.assertEqual((demo.run, demo.run.exits, demo.run.command()),
                         (MakeRun(2, "tcg", "demo=torn exit", "d.md"), True, "make run CPUS=2 APPEND='demo=torn exit'"))
        shell = parse_quote(blocks[4])
        self.assertEqual(shell.run.session, "b")
        self.assertEqual([(s.command, [ln.text for ln in s.expect]) for s in shell.steps],
                         [(None, ["Corral 0.1.0 booting", "corral>"]), ("help", ["commands:"]), ("sym x", ["..."])])
        host = parse_quote(blocks[5])
        self.assertEqual([(s.command, len(s.expect)) for s in host.steps],
                         [("scripts/corral-qemu --append 'test=heap.* exit'", 1)])

    def test_malformed_markers_are_refused(self):
        def refused(marker, *lines):
            block = Block("d.md", 2, quoted_lines(*lines), ("quoted", marker))
            self.assertRaises(MarkerError, parse_quote, block)
        refused("make demo")
        refused("make run CPUS=x")
        refused("make run SMP=4")
        refused("make run", "$ make run CPUS=2")
        refused("make run APPEND='test=* exit'", "corral> help")
        refused("host", "output before any command")
        refused("make run 'unclosed")

    def test_an_unmarked_block_with_a_line_a_run_printed_is_found(self):
        shell = "Corral shell: type 'help' for commands (up/down arrows: history)."
        blocks = extract_blocks("d.md", f"```\n{shell}\n```\n<!-- not quoted: x -->\n```\n{shell}\n```\n"
                                        "```\nmake run CPUS=2 APPEND='demo=torn'\n```\n")
        self.assertEqual([looks_like_output(b) for b in blocks], [None, None, None])
        found = unmarked_output(blocks, ["Corral 0.1.0 booting", shell, "make run CPUS=4"])
        self.assertEqual(found, [f"d.md:2: a block with no marker quotes output: {shell!r}"])

    def test_every_block_of_the_docs_that_looks_like_output_has_a_marker(self):
        unmarked, excluded = [], 0
        for b in doc_blocks():
            if b.marker is None:
                line = looks_like_output(b)
                if line:
                    unmarked.append(f"{b.where(line)}: looks like output but has no marker: {line.text.strip()!r}")
            elif b.marker[0] == "not quoted":
                excluded += 1
                if not b.marker[1]:
                    unmarked.append(f"{b.where()}: `not quoted:` without a reason")
            else:
                try:
                    parse_quote(b)
                except MarkerError as e:
                    unmarked.append(f"{b.where()}: {e}")
        if unmarked:
            self.fail("\n" + "\n".join(unmarked))
        self.assertGreater(excluded, 0)


def live_skip_reason() -> Optional[str]:
    if not shutil.which("qemu-system-i386"):
        return "qemu-system-i386 is not installed (scripts/install-deps installs it)"
    if not os.path.isfile(os.path.join(ROOT, KERNEL)):
        return f"{KERNEL} does not exist (run `make` first)"
    return None


@unittest.skipIf(live_skip_reason(), live_skip_reason())
class DocQuotes(unittest.TestCase):
    def test_every_quote_matches_a_real_run(self):
        blocks = doc_blocks()
        quotes = [parse_quote(b) for b in blocks if b.marker and b.marker[0] == "quoted"]
        excluded = sum(1 for b in blocks if b.marker and b.marker[0] == "not quoted")
        with tempfile.TemporaryDirectory(prefix="corral-docs-") as tmp:
            problems, counts, seen = check_quotes(quotes, tmp)
        problems += unmarked_output(blocks, seen)
        print(f"doc quotes: {len(quotes)} blocks checked ({counts['boots']} boots, {counts['host commands']} host "
              f"commands), {excluded} excluded", file=sys.stderr, flush=True)
        if problems:
            self.fail(f"{len(problems)} stale quote(s):\n" + "\n".join(problems))


def load_tests(loader, tests, pattern):
    return load_cases(loader, tests, (Matching, Markers), (DocQuotes,))


if __name__ == "__main__":
    unittest.main()
