"""`make debug` and its gdb helpers (scripts/gdb/).

- Two `make debug` sessions at once (the command `make print-debug` says
  make debug runs): each gets its own gdb port and serial log, and gdb stops
  at kmain with its source line (the kernel carries DWARF).
- The corral-* commands against a real session: QEMU at -smp 3 with the
  serial console on a socket that scripts/corralctl drives, gdb in batch
  mode.  gdb stops inside a hotpatch's corral (the other two CPUs parked),
  and again in the shell's `help`, after `patch apply hot` and `patch apply
  fentry`; each command's output is checked against what the kernel itself
  printed (`threads`, `cpus`, `text verify`, `peek`) at the same point.
- At QEMU's first instruction, and without a target, the commands answer
  with a clear line, not a traceback (without a target needs no QEMU:
  run-tests' unit step runs that one).

Every timeout below is a watchdog against a hang, never what passes."""
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
KERNEL = os.path.join(ROOT, "build", "corral.elf")
CTL = os.path.join(ROOT, "scripts", "corralctl")
HELPERS = os.path.join(ROOT, "scripts", "gdb", "corral.py")
sys.path.insert(0, HERE)
from steps import load_cases  # noqa: E402

WATCHDOG_S = 180
CPUS = 3
NO_TRACEBACK = ("Traceback", "Python Exception", "Error occurred in Python")

needs_kernel = unittest.skipUnless(os.path.isfile(KERNEL), "build/corral.elf does not exist (run `make` first)")
needs_gdb = unittest.skipUnless(shutil.which("gdb"), "gdb is not installed (scripts/install-deps debug installs it)")


def debug_command(kernel, gdb_args, cpus=CPUS, serial=None, serial_log=None):
    """The command `make debug` runs (make print-debug), with a kernel of our
    own (a copy: a rebuild beside the test must not change it under QEMU or gdb)."""
    words = ["make", "-s", "--no-print-directory", "print-debug", f"CPUS={cpus}"]
    if serial:
        words.append(f"SERIAL={serial}")
    argv = shlex.split(subprocess.run(words, cwd=ROOT, capture_output=True, text=True, check=True,
                                      timeout=60).stdout.strip())
    cut = argv.index("--")
    mine = ["--kernel", kernel, "--gdb-args", gdb_args] + (["--serial-log", serial_log] if serial_log else [])
    return argv[:cut] + mine + argv[cut:]


class Session:
    """One debug session in the background, its output collected."""

    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True)
        self.chunks = []
        self.reader = threading.Thread(target=lambda: self.chunks.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    def output(self):
        return "".join(self.chunks)

    def finish(self, timeout=WATCHDOG_S):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait()
        self.reader.join(timeout=10)
        if not self.reader.is_alive():
            self.proc.stdout.close()
        return self.output()


def sections(out):
    """{name: text} of the `==== name` markers the gdb scripts echo."""
    parts = re.split(r"^==== (\S+)\n", out, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


class NoTarget(unittest.TestCase):
    @needs_kernel
    @needs_gdb
    def test_every_command_answers_without_a_target(self):
        commands = ["corral-cpus", "corral-threads", "corral-patches", "corral-bytes seed_example", "corral"]
        p = subprocess.run(["gdb", "-q", "-batch", "-x", HELPERS] + [w for c in commands for w in ("-ex", c)]
                           + [KERNEL], cwd=ROOT, capture_output=True, text=True, timeout=WATCHDOG_S)
        out = p.stdout + p.stderr
        for bad in NO_TRACEBACK:
            self.assertNotIn(bad, out)
        for name in ("corral-cpus", "corral-threads", "corral-patches", "corral-bytes"):
            self.assertRegex(out, rf"{name}: not connected to a kernel: `make debug` connects by itself")
            self.assertIn(name, out.split("Corral's gdb commands:")[-1])   # `corral` lists it


@needs_kernel
@needs_gdb
class LiveDebug(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="corral-gdb-")
        self.kernel = os.path.join(self.tmp, "corral.elf")
        shutil.copyfile(KERNEL, self.kernel)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_two_sessions_at_once_get_their_own_port_and_log(self):
        log = os.path.join(self.tmp, "serial.log")
        gdb_args = "-batch -ex 'info line' -ex bt"
        runs = [Session(debug_command(self.kernel, gdb_args, cpus=1, serial_log=log)) for _ in range(2)]
        outs = [r.finish() for r in runs]
        ports, logs = [], []
        for out in outs:
            self.assertIn("kmain", out, out)
            self.assertIn("kernel/main.cpp", out, out)
            self.assertIn("boot/multiboot.asm", out, out)   # _start called it
            m = re.search(r"^gdb stub on 127\.0\.0\.1:(\d+); serial output goes to (\S+)", out, re.M)
            self.assertIsNotNone(m, out)
            ports.append(m.group(1))
            logs.append(m.group(2))
        self.assertNotEqual(ports[0], ports[1], outs)
        # Both at once: one has the log, the other its per-port name (unless
        # the first was over before the second began).
        if logs[0] == logs[1]:
            self.assertEqual(logs[0], log)
        else:
            self.assertEqual(sorted(logs), sorted([log, os.path.join(self.tmp, f"serial-{ports[logs.index(log) ^ 1]}.log")]))

    def test_at_reset_the_commands_say_the_kernel_is_not_running_yet(self):
        # QEMU stopped at its first instruction (the BIOS), gdb attached by hand.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        qemu = subprocess.Popen(
            ["qemu-system-i386", "-smp", "2", "-m", "128M", "-display", "none", "-serial", "null", "-monitor", "none",
             "-kernel", self.kernel, "-chardev", f"socket,id=g,fd={listener.fileno()},server=on,wait=off,nodelay=on",
             "-gdb", "chardev:g", "-S"], pass_fds=[listener.fileno()], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = listener.getsockname()[1]
        listener.close()
        try:
            commands = ["set architecture i386", f"target remote 127.0.0.1:{port}", "corral-cpus", "corral-threads",
                        "corral-patches", "corral-bytes seed_example 4"]
            p = subprocess.run(["gdb", "-q", "-batch", "-x", HELPERS] + [w for c in commands for w in ("-ex", c)]
                               + [self.kernel], cwd=ROOT, capture_output=True, text=True, timeout=WATCHDOG_S)
        finally:
            qemu.kill()
            qemu.wait()
        out = p.stdout + p.stderr
        for bad in NO_TRACEBACK:
            self.assertNotIn(bad, out)
        for name in ("corral-cpus", "corral-threads", "corral-patches"):
            self.assertRegex(out, rf"{name}: not stopped in the kernel \(cpu 0 at 0xfff0, cpu 1 at 0xfff0: ")
        # The text is there already (QEMU loaded the ELF): its bytes can be read.
        self.assertRegex(out, r"cc cc cc cc cc\s+padding: int3 x5")

    def ctl(self, sock, *words, timeout=120):
        p = subprocess.run([sys.executable, CTL, "--socket", sock, "--timeout", str(timeout), *words], cwd=ROOT,
                           capture_output=True, text=True, timeout=timeout + 60)
        self.assertEqual(p.returncode, 0, f"corralctl {' '.join(words)}: {p.stdout}{p.stderr}\n"
                         f"gdb session so far:\n{self.session.output()}")
        return p.stdout

    def test_corral_commands_read_the_kernel(self):
        sock = os.path.join(self.tmp, "serial.sock")
        script = os.path.join(self.tmp, "helpers.gdb")
        with open(script, "w") as f:
            f.write(GDB_SCRIPT)
        self.session = Session(debug_command(self.kernel, f"-batch -x {script}", serial=f"unix:{sock}"))
        trigger = None
        try:
            end = time.monotonic() + WATCHDOG_S
            while not os.path.exists(sock) and self.session.proc.poll() is None and time.monotonic() < end:
                time.sleep(0.1)
            self.assertTrue(os.path.exists(sock), f"no serial socket:\n{self.session.output()}")
            # gdb stops inside this one's corral (its corral-* output: `in-corral`).
            self.assertIn("applied hot to corral::demo_hot_counter with hotpatch", self.ctl(sock, "apply", "hot", "hotpatch"))
            self.assertIn("with int3", self.ctl(sock, "apply", "fentry"))
            kernel = {w: self.ctl(sock, "shell", w) for w in ("threads", "cpus", "text verify",
                                                                "peek corral::demo_hot_counter-5 16")}
            # gdb stops in `help` (`at-help`), prints, and kills the kernel.
            trigger = subprocess.Popen([sys.executable, CTL, "--socket", sock, "--timeout", str(WATCHDOG_S), "shell",
                                        "help"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            out = self.session.finish()
        finally:
            self.session.finish(timeout=10)
            if trigger is not None:
                try:
                    trigger.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    trigger.kill()
                    trigger.wait()
        for bad in NO_TRACEBACK:
            self.assertNotIn(bad, out, out)
        s = sections(out)
        self.assertEqual(sorted(s), ["at-help", "errors", "in-corral", "kmain"], out)
        self.check_kmain(s["kmain"])
        self.check_in_corral(s["in-corral"])
        self.check_at_help(s["at-help"], kernel)
        self.check_errors(s["errors"])

    def check_kmain(self, text):
        # Before smp_init and patching_init: said so, not printed as empty tables.
        self.assertIn("corral-cpus: no CPU is online yet", text)
        self.assertIn("corral-threads: no thread registered yet", text)
        self.assertIn("corral-patches: no patch defined yet", text)

    def cpu_rows(self, text):
        text = text.split("corral-cpus:")[1].split("corral-threads:")[0]
        rows = re.findall(r"^\s*(\d+)\s+(\d+)\s+#(\d+) (\S+)(?: \(idle\))?\s+(.*?)\s+((?:owner:|PARKED|not in a corral|"
                          r"left out|asked to park|not parked|released|answered|sync round).*)$", text, re.M)
        self.assertEqual(len(rows), CPUS, text)
        return rows

    def thread_rows(self, text):
        text = text.split("corral-threads:")[1].split("corral-patches:")[0]
        return re.findall(r"^\s*(\d+) (\S+)\s+(ready|running|blocked|sleeping|dead)\s+(\d+)  (.*)$", text, re.M)

    def check_in_corral(self, text):
        self.assertIn(f"corral-cpus: {CPUS} CPUs online; a round is on", text)
        self.assertIn("phase parked", text)
        rows = self.cpu_rows(text)
        owners = [r for r in rows if r[5].startswith("owner: runs the round")]
        parked = [r for r in rows if r[5].startswith("PARKED (")]
        self.assertEqual(len(owners), 1, text)
        self.assertEqual(len(parked), CPUS - 1, text)
        self.assertEqual(owners[0][3], "main", text)                # the shell's thread runs the patch
        self.assertIn("hotpatch_work", owners[0][4], text)          # and its vCPU is at the breakpoint
        self.assertRegex(text, rf"owner cpu {owners[0][0]}\b")
        threads = self.thread_rows(text)
        self.assertIn("main", [t[1] for t in threads], text)
        # A parked CPU's thread took the corral's IPI: its trap frame says so.
        self.assertIn("trap frame: vector 242 (corral/sync IPI) at ", text)
        self.assertRegex(text, r"(?m)^hot\s+defined\s+default hotpatch\s+corral::demo_hot_counter")

    def check_at_help(self, text, kernel):
        # corral-cpus against the kernel's `cpus`: the same CPUs and APIC ids.
        rows = self.cpu_rows(text)
        mine = sorted((int(r[0]), int(r[1])) for r in rows)
        theirs = sorted((int(c), int(a)) for c, a in re.findall(r"^\s*(\d+)\s+(\d+)\s+\d+\s+\d+\s+\d+\s+\S+\s*$",
                                                                kernel["cpus"], re.M))
        self.assertEqual(mine, theirs, text + kernel["cpus"])
        self.assertTrue(all(r[5] == "not in a corral" for r in rows), text)
        self.assertEqual([r[3] for r in rows if "cmd_help" in r[4]], ["main"], text)
        # corral-threads against the kernel's `threads`: the same ids and names;
        # a thread blocked in both waits at the same saved EIP.
        mine = {(int(t[0]), t[1]): t for t in self.thread_rows(text)}
        theirs = {(int(t[0]), t[1]): t for t in re.findall(
            r"^\s*(\d+) (\S+)\s+(ready|running|blocked|sleeping|dead)\s+(\d+)\s+\S+\s+(\S+)\s+\d+$", kernel["threads"], re.M)}
        self.assertEqual(sorted(mine), sorted(theirs), text + kernel["threads"])
        self.assertGreaterEqual(len(mine), CPUS + 2, text)   # an idle thread per CPU, main, the reaper
        for key, t in mine.items():
            if t[2] == "blocked" and theirs[key][2] == "blocked":
                self.assertEqual(t[4], theirs[key][4], f"{key}: {text}{kernel['threads']}")
        self.assertRegex(text, r"(?m)^\s*1 main\s+running\s+\d+  \(running on cpu \d+: vCPU at corral::\(anonymous namespace\)::cmd_help\)$")
        # corral-patches: states and strategies, and its bytes against `text verify`'s.
        self.assertRegex(text, r"(?m)^hot\s+applied\s+by hotpatch\s+corral::demo_hot_counter \(0x[0-9a-f]+\) -> corral::demo_hot_counter_v2$")
        self.assertRegex(text, r"(?m)^fentry\s+applied\s+by int3\s+corral::demo_fentry_counter ")
        self.assertRegex(text, r"(?m)^seed\s+defined\s+default corral-scan\s+seed_example ")
        self.assertRegex(text, r"(?m)^\s+0x[0-9a-f]+ \+10: now cc cc cc cc cc 8b ff .*   as the ELF$")
        self.assertIn("(one aligned 16-bit store)", text)
        sites = {}
        for name, start, now, elf in re.findall(r"(?m)^(\S+) .*\n\s+(0x[0-9a-f]+) \+\d+: now ([0-9a-f ]+?)   ELF ([0-9a-f ]+?)   ", text):
            sites[name] = (int(start, 16), now.split(), elf.split())
        ranges = re.findall(r"(?m)^\s+(0x[0-9a-f]+) \+(\d+): ([0-9a-f ]+) \(ELF: ([0-9a-f ]+)\) patch '(\S+)'",
                            kernel["text verify"])
        self.assertEqual(sorted(r[4] for r in ranges), ["fentry", "hot"], kernel["text verify"])
        for address, n, now, elf, name in ranges:
            start, my_now, my_elf = sites[name]
            i = int(address, 16) - start
            self.assertEqual(my_now[i:i + int(n)], now.split(), f"{name}: {text}{kernel['text verify']}")
            self.assertEqual(my_elf[i:i + int(n)], elf.split(), f"{name}: {text}{kernel['text verify']}")
        self.assertIn("(and ", text)   # patchtorture's and the benchmarks' patches, counted
        # corral-bytes: the hotpatched function, as `peek` shows it, and annotated.
        hot = text.split("corral::demo_hot_counter at ")[1].split("\n", 1)[1]
        shown = " ".join(re.findall(r"(?m)^  0x[0-9a-f]+  ((?:[0-9a-f]{2} )+)", hot)).split()
        peeked = " ".join(re.findall(r"(?m)^[0-9a-f]{8}:((?: [0-9a-f]{2})+)$", kernel["peek corral::demo_hot_counter-5 16"])).split()
        self.assertEqual(len(peeked), 16, kernel["peek corral::demo_hot_counter-5 16"])
        self.assertEqual(shown[:16], peeked, text)
        self.assertRegex(hot, r"padding: jmp rel32 -> corral::demo_hot_counter_v2\b.*\[ELF: cc cc cc cc cc\]")
        self.assertRegex(hot, r"eb f9\s+entry: jmp short -7 .*\[ELF: 8b ff\]")
        seed = text.split("seed_example at ")[1]
        self.assertRegex(seed, r"cc cc cc cc cc\s+padding: int3 x5")
        self.assertRegex(seed, r"8b ff\s+entry: mov edi,edi")
        self.assertRegex(text.split("corral::demo_fentry_square at ")[1], r"0f 1f 44 00 00\s+entry: .*the fentry NOP")
        self.assertRegex(text.split("corral::demo_fentry_counter at ")[1],
                         r"e9 [0-9a-f ]+\s+entry: jmp rel32 -> corral::demo_fentry_counter_v2 .*\[ELF: 0f 1f 44 00 00\]")

    def check_errors(self, text):
        self.assertIn("ERROR: corral-bytes: no symbol 'no_such_symbol_xyz'", text)
        self.assertIn("ERROR: corral-bytes: usage: corral-bytes SYMBOL|ADDRESS [N]", text)
        self.assertIn("ERROR: corral-cpus: takes no arguments", text)
        self.assertIn("ERROR: corral-patches: usage: corral-patches [all]", text)


# What gdb does after scripts/gdbinit (which leaves it at kmain).
GDB_SCRIPT = r"""
echo ==== kmain\n
corral-cpus
corral-threads
corral-patches
delete
break 'corral::(anonymous namespace)::hotpatch_work'
continue
echo ==== in-corral\n
corral-cpus
corral-threads
corral-patches
delete
break 'corral::(anonymous namespace)::cmd_help'
continue
echo ==== at-help\n
corral-cpus
corral-threads
corral-patches
corral-bytes corral::demo_hot_counter
corral-bytes seed_example 8
corral-bytes corral::demo_fentry_square
corral-bytes corral::demo_fentry_counter 12
echo ==== errors\n
python
for c in ["corral-bytes no_such_symbol_xyz", "corral-bytes", "corral-cpus extra", "corral-patches bogus"]:
    try:
        gdb.execute(c)
    except gdb.error as e:
        print("ERROR:", e)
end
kill
"""


def load_tests(loader, tests, pattern):
    return load_cases(loader, tests, (NoTarget,), (LiveDebug,))


if __name__ == "__main__":
    unittest.main()
