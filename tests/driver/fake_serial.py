#!/usr/bin/env python3
"""A stand-in for Corral's serial shell on a unix socket, for corralctl's
tests: the line editor's echo (Ctrl-U erases), the `corral> ` prompt, a few
commands with the kernel's answers and errors, and `patch load` as the
kernel does it (ready line, base64 lines not echoed, an ack after every
`window` lines, `end`, the checks, the no-data timeout, swallowing lines
after an error, `abort`).  It is strict about flow control: a sender that
sends past a window without waiting for its ack loses the transfer, as it
could on the kernel.  Timings are parameters so the tests do not wait for
the kernel's 5 s and 1 s."""
import base64
import binascii
import os
import select
import socket
import sys
import threading
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import corralctl_lib as lib  # noqa: E402

PROMPT = b"corral> "


class FakeShell(threading.Thread):
    """Serves `path` until stop().  `stale` is sent to each client as soon as
    it connects (output from before it came); `half_line` is a line another
    user began typing; `error_prefix` is put before `patch ...:` errors
    ("error: " as shell_error does, or "" as a loader printing its own).
    `window`: `patch load` acks every that many lines (None: a kernel from
    before flow control, whose ready line names no window and which never
    acks).  After an error in the middle of a transfer the kernel swallows
    the sender's remaining lines and then prints its error line;
    `error_first` prints the error line first and then swallows."""

    def __init__(self, path, stale=b"", half_line="", error_prefix="", no_data_s=0.6, silence_s=0.2,
                 demo_unexpected=0, replies=None, window=32, error_first=False):
        super().__init__(daemon=True)
        self.path, self.stale, self.half_line, self.error_prefix = path, stale, half_line, error_prefix
        self.no_data_s, self.silence_s, self.demo_unexpected = no_data_s, silence_s, demo_unexpected
        self.window, self.error_first = window, error_first
        self.replies = replies or {}          # line -> list of output lines
        self.commands = []                    # every line the shell ran
        self.data_lines = []                  # every line received during transfers (taken as data)
        self.acks = []                        # every ack line printed
        self.swallowed = []                   # every line swallowed after a transfer's error (`end` too)
        self.modules = {}                     # name -> size
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.stopping = False
        self.silent = False                   # after `panic`: never answer again

    def stop(self):
        self.stopping = True
        self.join(5)
        self.server.close()

    # -- the connection
    def run(self):
        while not self.stopping:
            ready, _, _ = select.select([self.server], [], [], 0.05)
            if ready:
                conn, _ = self.server.accept()
                with conn:
                    self.serve(conn)

    def read_byte(self, timeout):
        """A byte, None on timeout; raises EOFError when the client left."""
        end = time.monotonic() + timeout
        while not self.stopping:
            if self.pending:
                b, self.pending = self.pending[:1], self.pending[1:]
                return b
            ready, _, _ = select.select([self.conn], [], [], min(0.05, max(0.0, end - time.monotonic())))
            if ready:
                data = self.conn.recv(4096)
                if not data:
                    raise EOFError
                self.pending += data
            elif time.monotonic() >= end:
                return None
        raise EOFError

    def say(self, *lines):
        self.conn.sendall(b"".join(ln.encode() + b"\r\n" for ln in lines))

    def serve(self, conn):
        self.conn, self.pending, line = conn, b"", self.half_line
        try:
            if self.stale:             # once: QEMU keeps nothing for a later client
                conn.sendall(self.stale)
                self.stale = b""
            while not self.stopping:
                b = self.read_byte(3600)
                if b is None or self.silent:
                    continue
                if b == b"\x15":
                    conn.sendall(b"\b \b" * len(line))
                    line = ""
                elif b in (b"\r", b"\n"):
                    conn.sendall(b"\r\n")
                    self.execute(line)
                    conn.sendall(PROMPT)
                    line = ""
                elif b" " <= b < b"\x7f":
                    line += b.decode()
                    conn.sendall(b)
        except (EOFError, OSError):
            pass

    # -- the commands
    def execute(self, line):
        words = line.split()
        if not words:
            return
        self.commands.append(line)
        if line in self.replies:
            self.say(*self.replies[line])
        elif words[:2] == ["patch", "load"]:
            self.patch_load(words)
        elif words[:2] == ["patch", "modules"]:
            self.say(*(f"  {n} 1 target(s), code 64 bytes at 0x500000, data {s} bytes, loaded"
                       for n, s in self.modules.items()))
        elif words[:2] == ["patch", "apply"] and len(words) >= 3:
            if words[2] in self.modules:
                self.say(f"applied {words[2]} to fake_target with int3")
            else:
                self.say(f"error: patch: no patch named '{words[2]}' (see 'patch list')")
        elif words[:2] == ["patch", "unload"] and len(words) == 3:
            if self.modules.pop(words[2], None) is None:
                self.say(f"{self.error_prefix}patch unload: no module named '{words[2]}'")
            else:
                self.say(f"unloaded {words[2]}")
        elif words[0] == "demo":
            self.say("SCENARIO torn int3: FAIL -> PASS", f"demo: 2 cells: {2 - self.demo_unexpected} as expected, "
                     f"{self.demo_unexpected} unexpected, 0 skipped")
        elif words[0] == "stress":
            verdict = "FAILURE 1 thread(s) died" if "bad" in words else "SUCCESS"
            self.say(f"patchtorture: {verdict} strategy=mixed cpus=2 seconds={words[1]} seed=1")
        elif words[0] == "slow":
            time.sleep(float(words[1]))
            self.say("slow: done")
        elif words[0] == "panic":
            self.say("PANIC: fake panic", "  backtrace: fake_frame")
            self.silent = True
        else:
            self.say(f"error: unknown command '{words[0]}' (type 'help')")

    def load_error(self, why):
        self.say(f"{self.error_prefix}patch load: {why}")

    def patch_load(self, words):
        try:
            size, crc = int(words[2]), words[3]
        except (IndexError, ValueError):
            return self.say("error: usage: patch load <size> <crc32hex>")
        if size > lib.MAX_FILE_SIZE:
            return self.load_error(f"{size} bytes is more than the limit of {lib.MAX_FILE_SIZE}")
        ready = f"patch load: ready for {size} bytes: base64 lines of at most 76 characters, then 'end'"
        if self.window:
            ready += f"; after every {self.window} lines wait for 'patch load: <n> of {size} bytes'"
        self.say(ready)
        data, number, problem, swallow = b"", 0, None, True
        while True:
            text = self.read_line(self.no_data_s)
            if text is None:                  # the sender stopped: nothing to swallow
                problem, swallow = f"no data for 5 s after {len(data)} of {size} bytes", False
                break
            if text == "abort":
                return self.load_error("aborted")
            if text == "end":
                break
            number += 1
            self.data_lines.append(text)
            try:
                if len(text) > 76:
                    raise ValueError
                data += base64.b64decode(text, validate=True)
            except (ValueError, binascii.Error):
                problem = f"bad base64 on line {number}"
                break
            if self.window and number % self.window == 0:
                if self.unread_input():
                    problem = f"bytes were lost in the input after line {number}"
                    break
                self.acks.append(f"patch load: {len(data)} of {size} bytes")
                self.say(self.acks[-1])
        if problem:
            if self.error_first or not swallow:
                self.load_error(problem)
            while swallow:                    # the rest must not run as commands
                text = self.read_line(self.silence_s)
                if text is None:
                    break
                self.swallowed.append(text)
                if text == "end":
                    break
            if swallow and not self.error_first:
                self.load_error(problem)
            return
        if len(data) != size:
            return self.load_error(f"received {len(data)} bytes, the command said {size}")
        if "%08x" % (zlib.crc32(data) & 0xFFFFFFFF) != crc:
            return self.load_error(f"CRC-32 is {zlib.crc32(data) & 0xFFFFFFFF:08x}, the command said {crc}")
        try:
            name = lib.parse_kpatch_header(data).name
        except ValueError as e:
            return self.load_error(f"module: {e}")
        self.modules[name] = size
        self.say(f"loaded {name}: 1 target(s), code 64 bytes at 0x500000")

    def unread_input(self):
        """Whether bytes after the line just read are already waiting, at the
        end of a window, before its ack.  The kernel's input ring holds 4096
        bytes, so a sender that does not wait for the ack loses bytes only
        when more than 4 KiB are unread, which needs a reader kept off its
        CPU (likely under load, but not certain).  The fake is stricter, so
        that a test of it is deterministic: any byte waiting here means the
        sender did not wait, and the fake answers as the kernel does after
        an overflow.  A sender that waits cannot trip it: it sends nothing
        more until it has read the ack, and the ack is printed after this
        check.  Line ends left over from a CR LF do not count."""
        ready, _, _ = select.select([self.conn], [], [], 0)
        if ready:
            self.pending += self.conn.recv(65536)     # b"" at EOF: the next read_byte sees it again
        self.pending = self.pending.lstrip(b"\r\n")
        return bool(self.pending)

    def read_line(self, timeout):
        """A line without echo (a transfer); None after `timeout` of silence."""
        text = ""
        while True:
            b = self.read_byte(timeout)
            if b is None:
                return None
            if b in (b"\r", b"\n"):
                if text:
                    return text
                continue
            text += b.decode("latin-1")


def main(argv):
    """As a stand-in for qemu-system-i386 (CORRAL_QEMU_BINARY): serves the
    socket of `-serial unix:PATH,server=on,...` with a boot log, then the
    fake shell; ends on SIGTERM, or after 60 s so a test bug cannot leave it."""
    spec = argv[argv.index("-serial") + 1]
    path = spec[len("unix:"):].split(",")[0]
    boot = b"Corral 0.0-fake booting\r\nsmp: 2 CPUs online\r\nCorral shell: type 'help' for commands.\r\ncorral> "
    shell = FakeShell(path, stale=boot)
    shell.start()
    time.sleep(60)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
