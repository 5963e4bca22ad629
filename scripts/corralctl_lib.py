"""corralctl's library: Corral's serial shell seen from the host.

The protocol (the kernel's shell, kernel/shell.cpp, and its `patch load`,
patching/module/module_commands.cpp):
  - the prompt is `corral> ` with no newline; a typed line is echoed, then
    the command prints its lines, then the prompt comes again;
  - an error is one line; the shell's own start with `error: `, and the
    loader's may start with `patch load: ` (or `patch unload: `);
  - `patch load <size> <crc32hex>` answers `patch load: ready for <size>
    bytes: ..., then 'end'; after every <W> lines wait for 'patch load: <n>
    of <size> bytes'`; the file then goes as base64 lines of at most 76
    characters (57 bytes each), not echoed, then the line `end`;
  - flow control: the kernel counts the data lines from the start of the
    transfer and after every W-th one prints the ack `patch load: <bytes
    received> of <size> bytes`; the sender sends W lines, then waits for
    that ack before it sends the next W (the kernel's input ring holds
    4 KiB and its reader thread may be off its CPU for a while, so a sender
    that does not wait can overflow it);
  - a transfer that fails ends in one `patch load: ...` (or `error: patch
    load: ...`) line and the prompt; the kernel stops acking at the bad
    line and swallows the sender's remaining lines until `end` or 1 s of
    silence, and prints the error after that swallowing, so a sender
    waiting for an ack sees the error line followed by the prompt;
  - a good transfer ends in `loaded <name>: ...` and the prompt.
The pure parts (base64 lines, CRC, faults, the ack window, judging a
reply, parsing `patch modules`) do no I/O, so tests/driver/test_corralctl.py
checks them without QEMU; Link and Session talk to a socket; boot/stop run
QEMU."""
import base64
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corral_qemu_lib import ACCELS, BANNER_RE, kvm_unusable_reason  # noqa: E402

PROMPT = "corral> "
MAX_FILE_SIZE = 262144            # the kernel's limit for one .kpatch
LINE_BYTES = 57                   # bytes per base64 line: 76 characters
READY_PREFIX = "patch load: ready for "
KERNEL_NO_DATA_S = 5.0            # the kernel abandons a transfer after this much silence
KERNEL_SWALLOW_S = 1.0            # ... and after an error, swallows lines until `end` or this much silence
PANIC_GRACE_S = 2.0               # keep reading after PANIC so the backtrace is in the output
GAVE_UP_GRACE_S = 0.5             # after a line that ends a transfer: how long to look for the prompt
DEFAULT_SOCKET = os.environ.get("CORRAL_SOCKET", "/tmp/corral.sock")
FAULTS = ("truncate", "garbage", "noise")
GARBAGE_LINE = "this line is not base64!"

# Exit codes of corralctl.
EXIT_OK, EXIT_KERNEL, EXIT_USAGE, EXIT_NO_ANSWER = 0, 1, 2, 3

# A command's success line, for the commands that have one.
SUCCESS_PREFIX = {"load": "loaded ", "apply": "applied ", "revert": "reverted ", "unload": "unloaded "}
DEMO_SUMMARY_RE = re.compile(r"^demo: \d+ cells?: \d+ as expected, (\d+) unexpected")
STRESS_VERDICT_RE = re.compile(r"^patchtorture: (SUCCESS|FAILURE)\b")
# `patch load`'s flow control: the window in its ready line, and the ack it
# prints after every window's last line (an error never has this shape).
WINDOW_RE = re.compile(r"after every (\d+) lines\b")
ACK_RE = re.compile(r"^patch load: (\d+) of (\d+) bytes$")
MODULE_RE = re.compile(r"^\s+(?P<name>\S+) (?P<targets>\d+) target\(s\), code (?P<code>\d+) bytes at "
                       r"(?P<addr>(?:0x)?[0-9a-fA-F]+), data (?P<data>\d+) bytes(?: at \S+)?(?:, (?P<state>.*))?$")


class CtlError(Exception):
    """A usage or environment problem (exit 2), or a subclass's code."""
    code = EXIT_USAGE

    def __init__(self, message: str, lines: Optional[List[str]] = None):
        super().__init__(message)
        self.lines = lines or []      # what the kernel printed before things went wrong


class NoAnswer(CtlError):
    """The kernel did not answer in time, or the connection went away (exit 3)."""
    code = EXIT_NO_ANSWER


# ---------------------------------------------------------------- pure helpers

def crc32_hex(data: bytes) -> str:
    """The CRC-32 `patch load` wants: zlib's (IEEE), 8 lowercase hex digits."""
    return "%08x" % (zlib.crc32(data) & 0xFFFFFFFF)


def base64_lines(data: bytes) -> List[str]:
    """Standard base64 of `data` in lines of 76 characters (the last may be
    shorter): 57 bytes a line, a multiple of 3, so only the last line pads."""
    return [base64.b64encode(data[i:i + LINE_BYTES]).decode("ascii") for i in range(0, len(data), LINE_BYTES)]


def load_command(data: bytes) -> str:
    return f"patch load {len(data)} {crc32_hex(data)}"


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def apply_fault(lines: List[str], fault: Optional[str]) -> Tuple[List[str], bool]:
    """(lines to send, whether to send `end`) for a fault the tests inject:
    truncate: the first half, then nothing (the kernel's 5 s timeout);
    garbage: a line that is not base64 in the middle;
    noise: one character of the middle line changed into another base64
    character (valid base64, same length, other bytes: a CRC mismatch)."""
    if fault is None:
        return list(lines), True
    mid = len(lines) // 2
    if fault == "truncate":
        return lines[:mid], False
    if fault == "garbage":
        return lines[:mid] + [GARBAGE_LINE] + lines[mid:], True
    if fault == "noise":
        out = list(lines)
        if out:
            # The first character of a line: its 6 bits land in one byte in full.
            c = out[mid][0]
            out[mid] = _ALPHABET[(_ALPHABET.index(c) + 1) % 64] + out[mid][1:]
        return out, True
    raise ValueError(f"unknown fault {fault!r} (one of: {', '.join(FAULTS)})")


def ack_window(ready_line: str) -> Optional[int]:
    """How many lines the kernel takes before it acks, from its `ready`
    line (`... after every 32 lines wait for ...`); None when the line
    names no window (a kernel without flow control)."""
    m = WINDOW_RE.search(ready_line)
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def parse_ack(line: str) -> Optional[Tuple[int, int]]:
    """(bytes received, size) from an ack line `patch load: <n> of <size> bytes`, else None."""
    m = ACK_RE.match(line)
    return (int(m.group(1)), int(m.group(2))) if m else None


def without_acks(lines: List[str]) -> List[str]:
    """`lines` less `patch load`'s acks (flow control, not output)."""
    return [ln for ln in lines if not ACK_RE.match(ln)]


def render(line: str) -> str:
    """A line as a terminal shows it: backspaces erase (Ctrl-U echoes `\\b \\b`)."""
    out: List[str] = []
    for ch in line:
        if ch == "\b":
            if out:
                out.pop()
        else:
            out.append(ch)
    return "".join(out)


def normalize(text: str) -> str:
    return text.replace("\r", "").replace("\x00", "")


def split_lines(text: str) -> List[str]:
    return [render(ln) for ln in normalize(text).split("\n")]


def at_prompt(text: str) -> bool:
    """True when `text` (normalized) ends with a prompt at the start of a line."""
    return text == PROMPT or text.endswith("\n" + PROMPT)


def reply_after_echo(text: str, echo: Optional[str], quiet: float = 0.0) -> Optional[List[str]]:
    """The kernel's answer to a typed line, once complete: the lines after the
    echo of `echo` and before the closing prompt; None while incomplete.  A
    prompt before the echo (from an earlier empty line) is not the end.  If
    no echo shows but a prompt has ended the text for 2 s, the whole text
    is the answer."""
    text = normalize(text)
    body = text
    if echo is not None:
        at = text.find(echo + "\n")
        if at >= 0:
            body = text[at + len(echo) + 1:]
        elif not (at_prompt(text) and quiet >= 2.0):
            return None
    if not at_prompt(body):
        return None
    return [render(ln) for ln in body[:len(body) - len(PROMPT)].split("\n")[:-1]]


def lines_after_echo(text: str, echo: Optional[str]) -> List[str]:
    """The non-blank lines after the echo of `echo` (all, if it never showed),
    prompts left out: an answer cut short by a panic or a timeout."""
    text = normalize(text)
    at = text.find(echo + "\n") if echo is not None else -1
    if at >= 0:
        text = text[at + len(echo) + 1:]
    return [ln for ln in map(render, text.split("\n")) if ln.strip() and ln != PROMPT]


def fatal_line(lines: List[str], banners_allowed: int = 0) -> Optional[str]:
    """A panic, or a boot banner beyond those expected (the machine reset):
    either way no prompt will come."""
    banners = 0
    for ln in lines:
        if ln.startswith("PANIC"):
            return ln
        if BANNER_RE.match(ln):
            banners += 1
            if banners > banners_allowed:
                return f"corralctl: the machine rebooted: {ln}"
    return None


def find_error(kind: str, lines: List[str]) -> Optional[str]:
    """The line that makes this answer a failure, or None.  `kind` is the
    corralctl command (load, apply, revert, unload, demo, stress, or any
    other for a plain shell line)."""
    fatal = fatal_line(lines)
    if fatal:
        return fatal
    own_prefix = f"patch {kind}: " if kind in SUCCESS_PREFIX else None
    for ln in lines:
        if ln.startswith("error: "):
            return ln
        if own_prefix and ln.startswith(own_prefix) and not ln.startswith(READY_PREFIX) and not ACK_RE.match(ln):
            return ln
        if kind == "stress" and ln.startswith("patchtorture: FAILURE"):
            return ln
        m = DEMO_SUMMARY_RE.match(ln) if kind == "demo" else None
        if m and int(m.group(1)):
            return ln
    if kind in SUCCESS_PREFIX and not any(ln.startswith(SUCCESS_PREFIX[kind]) for ln in lines):
        return f"corralctl: the kernel printed no '{SUCCESS_PREFIX[kind]}...' line"
    if kind == "demo" and not any(DEMO_SUMMARY_RE.match(ln) for ln in lines):
        return "corralctl: the kernel printed no 'demo: N cells: ...' summary"
    if kind == "stress" and not any(STRESS_VERDICT_RE.match(ln) for ln in lines):
        return "corralctl: the kernel printed no 'patchtorture: SUCCESS|FAILURE' verdict"
    return None


@dataclass
class Reply:
    command: str                  # the shell line sent
    kind: str
    output: List[str]             # the kernel's lines (echo and prompt removed)
    complete: bool = True         # the prompt came back
    error: Optional[str] = None

    def __post_init__(self):
        if self.error is None:
            self.error = find_error(self.kind, self.output)
        if self.error is None and not self.complete:
            self.error = "corralctl: the shell did not return to its prompt"

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict:
        return {"ok": self.ok, "command": self.command, "output": self.output, "error": self.error}


@dataclass
class Module:
    name: str
    targets: int
    code_size: int
    code_address: int
    data_size: int
    state: str


def parse_modules(lines: List[str]) -> List[Module]:
    """The modules in `patch modules` output; lines of another shape are skipped."""
    out = []
    for ln in lines:
        m = MODULE_RE.match(ln)
        if m:
            out.append(Module(m["name"], int(m["targets"]), int(m["code"]), int(m["addr"], 16), int(m["data"]),
                              m["state"] or ""))
    return out


@dataclass
class KpatchHeader:
    name: str
    build_id: int
    targets: List[Tuple[str, str, str]]      # (target, replacement, strategy)

    def patch_names(self) -> List[str]:
        """What `patch list` shows once loaded: the module's name, and for a
        module of several targets the members <name>.0, <name>.1, ..."""
        if len(self.targets) == 1:
            return [self.name]
        return [self.name] + [f"{self.name}.{i}" for i in range(len(self.targets))]


def parse_kpatch_header(data: bytes) -> KpatchHeader:
    """The fields of a .kpatch header the host needs (docs/module-format.md §1)."""
    def text(raw: bytes) -> str:
        return raw.split(b"\0")[0].decode("latin-1")
    if len(data) < 64 or data[:8] != b"CRLPATCH":
        raise ValueError("not a .kpatch file (no CRLPATCH magic)")
    build_id, name, count = struct.unpack_from("<I32sI", data, 24)
    if not 1 <= count <= 8 or len(data) < 64 + 120 * count:
        raise ValueError(f"bad target count {count}")
    targets = []
    for i in range(count):
        t, r, s = struct.unpack_from("<48s48s16s", data, 64 + 120 * i)
        targets.append((text(t), text(r), text(s)))
    return KpatchHeader(text(name), build_id, targets)


# ---------------------------------------------------------------- talking to the shell

class Link:
    """A connected stream socket to the kernel's serial port."""

    def __init__(self, sock: socket.socket, transcript=None):
        self.sock = sock
        self.sock.settimeout(30.0)      # for sends: a guest that stopped reading
        self.transcript = transcript    # a binary file that gets every byte received

    @classmethod
    def connect(cls, path: str, timeout: float = 5.0, transcript=None) -> "Link":
        if not os.path.exists(path):
            raise CtlError(f"{path}: no such socket (start QEMU with `corralctl boot --socket {path}`, "
                           f"or `make run SERIAL=unix:{path}`)")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
        except OSError as e:
            s.close()
            raise CtlError(f"{path}: cannot connect: {e.strerror or e} (is QEMU still running?)")
        return cls(s, transcript)

    def send(self, data: bytes):
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise NoAnswer("the kernel stopped reading its serial input (send timed out)")
        except OSError as e:
            raise NoAnswer(f"the serial connection failed: {e.strerror or e}")

    def recv(self, timeout: float) -> bytes:
        """Bytes received within `timeout` (b"" if none); NoAnswer when closed."""
        ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not ready:
            return b""
        try:
            data = self.sock.recv(65536)
        except OSError as e:
            raise NoAnswer(f"the serial connection failed: {e.strerror or e}")
        if not data:
            raise NoAnswer("QEMU closed the serial connection (did QEMU exit, or does another client hold it?)")
        if self.transcript:
            self.transcript.write(data)
            self.transcript.flush()
        return data

    def drain(self, quiet: float, limit: float) -> bytes:
        """Reads until `quiet` seconds pass without a byte, or `limit` in all."""
        got, end = b"", time.monotonic() + limit
        while time.monotonic() < end:
            chunk = self.recv(min(quiet, max(0.0, end - time.monotonic())))
            if not chunk:
                break
            got += chunk
        return got

    def close(self):
        self.sock.close()


class Session:
    """Commands over a Link: every command starts from a clean prompt."""

    def __init__(self, link: Link, log: Optional[Callable[[str], None]] = None):
        self.link = link
        self.log = log or (lambda message: None)

    def collect(self, check: Callable[[str, float], object], timeout: float, what: str, text: str = "",
                poke: Optional[bytes] = None, banners_allowed: int = 0):
        """Reads until check(text, seconds since the last byte) returns
        non-None; returns (that, text).  A panic or a reset ends the wait
        PANIC_GRACE_S later with (None, text).  `poke` is sent after 3 s
        without a byte (a prompt printed before we connected is lost)."""
        start = last = time.monotonic()
        fatal_at = None
        while True:
            now = time.monotonic()
            result = check(text, now - last)
            if result is not None:
                return result, text
            if fatal_at is not None and now - fatal_at >= PANIC_GRACE_S:
                return None, text
            if now - start >= timeout:
                raise NoAnswer(f"no {what} within {timeout:g} s", lines_after_echo(text, None))
            if poke is not None and now - last >= 3.0:
                self.link.send(poke)
                last = now
            chunk = self.link.recv(min(0.1, timeout - (now - start))).decode("latin-1")
            if chunk:
                text += chunk
                last = time.monotonic()
                if fatal_at is None and ("PANIC" in text[-len(chunk) - 8:] or "booting" in text[-len(chunk) - 8:]) \
                        and fatal_line(split_lines(text), banners_allowed):
                    fatal_at = last

    def sync(self, timeout: float = 15.0):
        """A clean prompt: drop what was printed before, erase a half-typed
        line (Ctrl-U) instead of running it, and wait for the prompt that
        answers our line end.  A transfer left halfway ends too: the kernel
        takes Ctrl-U for bad data, swallows lines for a second and prompts."""
        self.link.drain(quiet=0.15, limit=1.0)
        self.link.send(b"\x15\n")
        self.collect(lambda t, q: True if at_prompt(normalize(t)) else None, timeout,
                     "`corral> ` prompt (is a command still running, or does another client hold the socket?)",
                     poke=b"\n")
        self.link.drain(quiet=0.05, limit=0.5)    # a second prompt, if a poke was answered too

    def run(self, line: str, kind: str = "shell", timeout: float = 30.0) -> Reply:
        self.sync()
        self.log(f"> {line}")
        self.link.send((line + "\n").encode())
        lines, text = self.collect(lambda t, q: reply_after_echo(t, line, q), timeout, f"answer to '{line}'")
        if lines is None:
            return Reply(line, kind, lines_after_echo(text, line), complete=False)
        return Reply(line, kind, lines)

    def load(self, data: bytes, timeout: float = 60.0, fault: Optional[str] = None) -> Reply:
        """`patch load`: the command, the `ready` line, the base64 lines in
        windows the kernel acknowledges (_send_windowed), `end`, and the
        kernel's verdict.  `timeout` bounds each wait: for `ready`, for each
        ack, and for the verdict.  The acks are left out of the Reply."""
        if not data:
            raise CtlError("the file is empty")
        if len(data) > MAX_FILE_SIZE:
            raise CtlError(f"the file has {len(data)} bytes; the kernel takes at most {MAX_FILE_SIZE}")
        command = load_command(data)
        self.sync()
        self.log(f"> {command}")
        self.link.send((command + "\n").encode())

        def ready_or_done(t, q):
            done = reply_after_echo(t, command, q)
            if done is not None:      # back at the prompt: refused (or ready and given up at once)
                return False, done
            complete = lines_after_echo(t[:t.rfind("\n") + 1], command) if command + "\n" in normalize(t) else []
            return (True, complete) if any(ln.startswith(READY_PREFIX) for ln in complete) else None
        result, text = self.collect(ready_or_done, timeout, f"answer to '{command}'")
        if result is None:
            return Reply(command, "load", lines_after_echo(text, command), complete=False)
        ready, head = result
        if not ready:
            return Reply(command, "load", head)
        after_ready = text[text.rfind("\n") + 1:]
        ready_line = next(ln for ln in head if ln.startswith(READY_PREFIX))
        window = ack_window(ready_line)
        if window is None:
            self._abort_transfer(after_ready)
            raise CtlError("the kernel's `patch load` names no ack window ('after every N lines'): it has no "
                           "flow control, and this corralctl sends only with it; use the kernel built from the "
                           f"same tree (it said: {ready_line})", head)
        lines, send_end = apply_fault(base64_lines(data), fault)
        self.log(f"> {len(lines)} base64 lines, {window} per ack{', then end' if send_end else ''}"
                 + (f" ({fault})" if fault else ""))
        heard, back_at_prompt = self._send_windowed(lines, window, timeout, stop_on_output=fault is None,
                                                    heard=after_ready)
        if fatal_line(split_lines(heard)[:-1]):      # a panic or a reset during the transfer: no prompt will come
            heard += self.link.drain(quiet=0.5, limit=PANIC_GRACE_S).decode("latin-1")
            return Reply(command, "load", head + without_acks(lines_after_echo(heard, None)), complete=False)
        if send_end and not back_at_prompt:
            self.link.send(b"end\n")
        wait = timeout + (KERNEL_NO_DATA_S + KERNEL_SWALLOW_S + 5 if fault == "truncate" else 0)
        tail, text = self.collect(lambda t, q: reply_after_echo(t, None, q), wait, "answer after the transfer",
                                  text=heard)
        if tail is None:
            return Reply(command, "load", head + without_acks(lines_after_echo(text, None)), complete=False)
        return Reply(command, "load", head + without_acks([ln for ln in tail if ln.strip()]))

    def _abort_transfer(self, text: str):
        """Ends a transfer that has begun (`abort`: the kernel answers with
        one line and its prompt), so the shell is left as it was."""
        self.link.send(b"abort\n")
        try:
            self.collect(lambda t, q: True if at_prompt(normalize(t)) else None, 10.0, "prompt after `abort`",
                         text=text)
        except NoAnswer:
            pass

    def _send_windowed(self, lines: List[str], window: int, timeout: float, stop_on_output: bool,
                       heard: str = "") -> Tuple[str, bool]:
        """Sends `lines` in blocks of `window`, counted from the first line
        as the kernel counts them, and after each full block waits (at most
        `timeout` s: NoAnswer) for the kernel's ack of it before sending
        more; a last, shorter block gets no ack.  Returns `heard` (text
        already received) plus what the kernel printed meanwhile, and
        whether the kernel is back at its prompt.

        Any complete non-blank line other than an ack means the kernel gave
        up.  The kernel prints its error only after swallowing the rest of
        the transfer (until `end` or 1 s of silence), so while we wait for an
        ack its error comes with the prompt right after it: then nothing
        more is sent, not even `end`, which would run as a command.  If no
        prompt follows within GAVE_UP_GRACE_S, the kernel is still
        swallowing: stop (with `stop_on_output`; the caller's `end` ends the
        swallowing) or, when a test injects a fault and wants every line
        sent, send the rest at once without waiting for acks."""
        seen = len(split_lines(heard)) - 1      # complete lines of `heard` already looked at
        acks = 0

        def listen(wait: float) -> Optional[str]:
            """Reads for at most `wait` s (less once a byte comes); counts the
            acks among the new complete lines, returns the first other line."""
            nonlocal heard, seen, acks
            heard += self.link.recv(wait).decode("latin-1")
            complete = split_lines(heard)[:-1]
            other = None
            for ln in complete[seen:]:
                if ACK_RE.match(ln):
                    acks += 1
                elif ln.strip() and other is None:
                    other = ln
            seen = len(complete)
            return other

        sent, gave_up = 0, None
        while sent < len(lines) and gave_up is None:
            block = lines[sent:sent + window]
            self.link.send("".join(ln + "\n" for ln in block).encode("ascii"))
            sent += len(block)
            gave_up = listen(0.0)
            if len(block) < window:
                break                       # the last block, short: no ack comes for it
            deadline = time.monotonic() + timeout
            while gave_up is None and acks < sent // window:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NoAnswer(f"no ack 'patch load: <n> of <size> bytes' after line {sent} of {len(lines)} "
                                   f"within {timeout:g} s (the kernel acks every {window} lines)",
                                   without_acks(lines_after_echo(heard, None)))
                gave_up = listen(min(0.1, left))
        if gave_up is None:
            return heard, False
        self.log(f"< the kernel ended the transfer after {sent} of {len(lines)} lines: {gave_up}")
        until = time.monotonic() + GAVE_UP_GRACE_S
        while not at_prompt(normalize(heard)) and time.monotonic() < until:
            heard += self.link.recv(min(0.1, max(0.0, until - time.monotonic()))).decode("latin-1")
        if at_prompt(normalize(heard)):
            return heard, True
        if not stop_on_output and sent < len(lines):
            self.log(f"> the other {len(lines) - sent} lines, without waiting for acks")
            self.link.send("".join(ln + "\n" for ln in lines[sent:]).encode("ascii"))
        return heard, False


# ---------------------------------------------------------------- QEMU in the background

def qemu_boot_command(qemu: str, kernel: str, cpus: int, accel: str, socket_path: str, append: str = "") -> List[str]:
    """The Makefile's QEMU_FLAGS, with the serial port on a unix socket."""
    return [qemu, "-kernel", kernel, "-append", append, "-smp", str(cpus), "-m", "128M", *ACCELS[accel],
            "-display", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-serial", f"unix:{socket_path},server=on,wait=off", "-monitor", "none"]


def pid_alive(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:   # our own child (tests boot in-process)
            return False
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"    # a zombie is gone
    except (OSError, IndexError):
        return False


def pid_serves(pid: int, socket_path: str) -> bool:
    """Whether process `pid` is a QEMU whose command line names this socket."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f"unix:{socket_path},".encode() in f.read()
    except OSError:
        return False


def read_pid(socket_path: str) -> Optional[int]:
    try:
        with open(socket_path + ".pid") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _remove(*paths):
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


def boot(socket_path: str, kernel: str, cpus: int = 4, accel: str = "tcg", timeout: float = 60.0,
         append: str = "", qemu: str = "qemu-system-i386", log=None, cwd: Optional[str] = None) -> Tuple[int, List[str]]:
    """Starts QEMU in its own session with the serial port on `socket_path`,
    waits for the first prompt, and leaves it running.  Writes the pid to
    PATH.pid and QEMU's own output to PATH.log.  Returns (pid, boot lines).
    `cwd`: where QEMU runs, and what a relative `kernel` is relative to."""
    log = log or (lambda message: None)
    if "," in socket_path:
        raise CtlError(f"{socket_path}: a socket path with a comma cannot be given to QEMU's -serial")
    if not os.path.isfile(os.path.join(cwd or "", kernel)):
        raise CtlError(f"{kernel} not found (run `make` first)")
    if accel not in ACCELS:
        raise CtlError(f"--accel {accel}: one of {', '.join(sorted(ACCELS))}")
    if accel == "kvm" and kvm_unusable_reason():
        raise CtlError(f"--accel kvm unavailable: {kvm_unusable_reason()}")
    old = read_pid(socket_path)
    if old and pid_alive(old) and pid_serves(old, socket_path):
        raise CtlError(f"QEMU (pid {old}) already serves {socket_path}: `corralctl --socket {socket_path} stop` first")
    _remove(socket_path, socket_path + ".pid")
    cmd = qemu_boot_command(qemu, kernel, cpus, accel, socket_path, append)
    log("$ " + " ".join(cmd))
    with open(socket_path + ".log", "wb") as out:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, cwd=cwd)
        except OSError as e:
            raise CtlError(f"cannot start {qemu}: {e.strerror or e} (scripts/install-deps installs QEMU)")
    with open(socket_path + ".pid", "w") as f:
        f.write(f"{proc.pid}\n")
    try:
        link = _connect_to_new(proc, socket_path, socket_path + ".log")
        try:
            session = Session(link, log)
            result, text = session.collect(lambda t, q: True if at_prompt(normalize(t)) else None, timeout,
                                           "`corral> ` prompt after boot", poke=b"\n",
                                           banners_allowed=1)
        finally:
            link.close()
        lines = [ln for ln in split_lines(text) if ln and ln != PROMPT]
        if result is None:
            raise CtlError(f"the kernel failed to boot: {fatal_line(lines)}", lines)
        return proc.pid, lines
    except BaseException:
        stop_pid(proc.pid, socket_path)
        raise


def _connect_to_new(proc: subprocess.Popen, socket_path: str, qemu_log: str) -> Link:
    end = time.monotonic() + 10.0
    while True:
        if proc.poll() is not None:
            with open(qemu_log, errors="replace") as f:
                said = " | ".join(f.read().strip().splitlines()[-3:])
            raise CtlError(f"QEMU exited with status {proc.returncode} at start: {said or 'no message'}")
        if os.path.exists(socket_path):
            try:
                return Link.connect(socket_path, timeout=2.0)
            except CtlError:
                pass
        if time.monotonic() > end:
            raise NoAnswer(f"QEMU did not create {socket_path} within 10 s")
        time.sleep(0.02)


def _signal_and_wait(pid: int, sig: int, seconds: float) -> bool:
    """Sends `sig`; True once the process is gone, False if it outlived `seconds`."""
    os.kill(pid, sig)
    end = time.monotonic() + seconds
    while pid_alive(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def stop_pid(pid: int, socket_path: str) -> str:
    """Ends QEMU `pid` (SIGTERM, then SIGKILL after 5 s) and removes its files."""
    how = "had already exited"
    if pid_alive(pid):
        how = "stopped"
        if not _signal_and_wait(pid, signal.SIGTERM, 5.0):
            how = "killed (it ignored SIGTERM for 5 s)"
            _signal_and_wait(pid, signal.SIGKILL, 2.0)
    _remove(socket_path, socket_path + ".pid")
    return how


def stop(socket_path: str) -> str:
    pid = read_pid(socket_path)
    if pid is None:
        raise CtlError(f"no {socket_path}.pid: no QEMU started by `corralctl boot` serves {socket_path}")
    if pid_alive(pid) and not pid_serves(pid, socket_path):
        raise CtlError(f"pid {pid} (from {socket_path}.pid) is not a QEMU serving {socket_path}; "
                       f"remove the stale {socket_path}.pid")
    return f"QEMU (pid {pid}) {stop_pid(pid, socket_path)}"
