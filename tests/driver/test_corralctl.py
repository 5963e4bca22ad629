"""scripts/corralctl, the host side of live patch loading.

The pure parts (base64 lines, CRC, faults, the ack window, judging
answers, parsing `patch modules`) and the protocol against
tests/driver/fake_serial.py, flow control included (the fake fails a
sender that does not wait for its acks), run without QEMU.  LiveKernel
boots the real kernel (2 CPUs, tcg) and loads every
build/patches/*.kpatch: apply, the change each example makes, revert,
unload; and the three transfer faults, each one `patch load:` error with
the shell working afterwards.  Like the other QEMU tests it is left out
when CORRAL_DRIVER_UNIT_ONLY=1 (scripts/run-tests' unit-test step)."""
import base64
import glob
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CTL = os.path.join(ROOT, "scripts", "corralctl")
# The live tests' kernel and modules; overridable to test a build elsewhere.
KERNEL = os.environ.get("CORRALCTL_TEST_KERNEL", os.path.join(ROOT, "build", "corral.elf"))
PATCHES = os.environ.get("CORRALCTL_TEST_PATCHES", os.path.join(ROOT, "build", "patches"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, HERE)
import corralctl_lib as lib  # noqa: E402
from fake_serial import FakeShell  # noqa: E402
from steps import load_cases  # noqa: E402


def ctl(socket_path, *args, timeout=120, env=None):
    """Runs corralctl --json; returns (exit code, the JSON object, stderr)."""
    p = subprocess.run([sys.executable, CTL, "--socket", socket_path, "--json", *args], cwd=ROOT,
                       capture_output=True, text=True, timeout=timeout, env=env)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"corralctl {' '.join(args)}: not JSON (exit {p.returncode}):\n{p.stdout}{p.stderr}")
    return p.returncode, out, p.stderr


def ready_line(size, window=32):
    """The kernel's ready line (patching/module/module_commands.cpp); window
    None: the one from before flow control."""
    line = f"patch load: ready for {size} bytes: base64 lines of at most 76 characters, then 'end'"
    return line + (f"; after every {window} lines wait for 'patch load: <n> of {size} bytes'" if window else "")


def fake_kpatch(name="fake_mod", payload=b"payload " * 40):
    """Enough of a .kpatch for the host: the header fields the tool reads."""
    header = bytearray(64 + 120)
    header[:8] = b"CRLPATCH"
    header[24:28] = (0x1234abcd).to_bytes(4, "little")
    header[28:28 + len(name)] = name.encode()
    header[60:64] = (1).to_bytes(4, "little")
    header[64:64 + 10] = b"target_fn\0"
    header[64 + 96:64 + 96 + 5] = b"int3\0"
    return bytes(header) + payload


class PureParts(unittest.TestCase):
    def test_base64_lines_are_at_most_76_characters_and_round_trip(self):
        for size in (1, 2, 3, 56, 57, 58, 114, 1000, 4452, lib.MAX_FILE_SIZE):
            data = bytes((i * 7 + size) & 0xFF for i in range(size))
            lines = lib.base64_lines(data)
            self.assertTrue(all(0 < len(ln) <= 76 for ln in lines), size)
            self.assertTrue(all(len(ln) == 76 for ln in lines[:-1]), size)
            self.assertEqual(base64.b64decode("".join(lines), validate=True), data)
            self.assertEqual(b"".join(base64.b64decode(ln, validate=True) for ln in lines), data)
            whole = base64.b64encode(data).decode()
            self.assertEqual(lines, [whole[i:i + 76] for i in range(0, len(whole), 76)])
        self.assertEqual(lib.base64_lines(b""), [])

    def test_crc_is_zlib_ieee_in_eight_lowercase_hex_digits(self):
        self.assertEqual(lib.crc32_hex(b"123456789"), "cbf43926")     # the CRC-32 check value
        self.assertEqual(lib.crc32_hex(b""), "00000000")
        small = next(d for d in (str(i).encode() for i in range(100000)) if zlib.crc32(d) < 0x10000000)
        self.assertRegex(lib.crc32_hex(small), r"^0[0-9a-f]{7}$")
        self.assertEqual(lib.load_command(b"123456789"), "patch load 9 cbf43926")

    def test_faults(self):
        lines = lib.base64_lines(bytes(range(256)) * 4)          # 18 lines
        sent, end = lib.apply_fault(lines, "truncate")
        self.assertEqual((sent, end), (lines[:9], False))
        sent, end = lib.apply_fault(lines, "garbage")
        self.assertTrue(end)
        self.assertEqual(len(sent), len(lines) + 1)
        self.assertRaises(ValueError, base64.b64decode, sent[9], validate=True)
        sent, end = lib.apply_fault(lines, "noise")
        self.assertTrue(end)
        self.assertEqual([i for i, (a, b) in enumerate(zip(sent, lines)) if a != b], [9])
        self.assertEqual(sum(a != b for a, b in zip(sent[9], lines[9])), 1)
        noisy = base64.b64decode("".join(sent), validate=True)
        self.assertEqual(len(noisy), 1024)
        self.assertNotEqual(zlib.crc32(noisy), zlib.crc32(bytes(range(256)) * 4))
        self.assertEqual(lib.apply_fault(lines, None), (lines, True))

    def test_answer_ends_at_the_prompt_after_the_echo(self):
        self.assertIsNone(lib.reply_after_echo("patch list\r\npatches:\r\n", "patch list"))
        self.assertEqual(lib.reply_after_echo("patch list\r\npatches:\r\n  a\r\ncorral> ", "patch list"),
                         ["patches:", "  a"])
        self.assertEqual(lib.reply_after_echo("mem\r\ncorral> ", "mem"), [])
        # A prompt from an earlier empty line is not the end of this answer.
        self.assertIsNone(lib.reply_after_echo("\r\ncorral> ", "mem"))
        self.assertEqual(lib.reply_after_echo("\r\ncorral> mem\r\nram\r\ncorral> ", "mem"), ["ram"])
        # "corral> " inside a line is not a prompt.
        self.assertIsNone(lib.reply_after_echo("x\r\nsays corral> ", "x"))
        # No echo at all: the text counts once a prompt ended it 2 s ago.
        self.assertIsNone(lib.reply_after_echo("out\r\ncorral> ", "x", quiet=0.5))
        self.assertEqual(lib.reply_after_echo("out\r\ncorral> ", "x", quiet=2.5), ["out"])
        self.assertEqual(lib.split_lines("ab\b \bc\r\nd"), ["ac", "d"])

    def test_errors_are_found(self):
        f = lib.find_error
        self.assertIsNone(f("shell", ["patches (strategies: naive):", "  hot defined"]))
        self.assertEqual(f("shell", ["x", "error: unknown command 'x' (type 'help')"]),
                         "error: unknown command 'x' (type 'help')")
        self.assertEqual(f("apply", ["error: patch apply: busy"]), "error: patch apply: busy")
        self.assertIsNone(f("apply", ["applied hot to corral::demo_hot_counter with naive",
                                      "warning: naive is unsafe: it guarantees nothing"]))
        self.assertRegex(f("apply", []), "no 'applied ...' line")
        ready = ready_line(9)
        self.assertIsNone(f("load", [ready, "loaded m: 1 target(s), code 5 bytes at 0x1000"]))
        # Acks are flow control, not errors; an error that mentions bytes is still one.
        self.assertIsNone(f("load", [ready, "patch load: 1824 of 9 bytes", "patch load: 3648 of 9 bytes",
                                     "loaded m: 1 target(s), code 5 bytes at 0x1000"]))
        self.assertRegex(f("load", [ready, "patch load: 1824 of 9 bytes"]), "no 'loaded ...' line")
        self.assertEqual(f("load", [ready, "patch load: 1824 of 9 bytes", "patch load: no data for 5 s after 1824 "
                                    "of 9 bytes"]), "patch load: no data for 5 s after 1824 of 9 bytes")
        self.assertEqual(f("load", [ready, "patch load: bytes were lost in the input after line 32"]),
                         "patch load: bytes were lost in the input after line 32")
        self.assertEqual(f("load", [ready, "patch load: CRC mismatch"]), "patch load: CRC mismatch")
        self.assertEqual(f("load", [ready, "error: patch load: CRC mismatch"]), "error: patch load: CRC mismatch")
        self.assertRegex(f("load", [ready]), "no 'loaded ...' line")
        self.assertEqual(f("unload", ["patch unload: m is applied"]), "patch unload: m is applied")
        self.assertIsNone(f("demo", ["demo: 4 cells: 4 as expected, 0 unexpected, 0 skipped"]))
        self.assertEqual(f("demo", ["demo: 4 cells: 3 as expected, 1 unexpected, 0 skipped"]),
                         "demo: 4 cells: 3 as expected, 1 unexpected, 0 skipped")
        self.assertRegex(f("demo", ["SCENARIO torn int3: FAIL -> PASS"]), "no 'demo: N cells")
        self.assertIsNone(f("stress", ["patchtorture: 5 s: 12 flips", "patchtorture: SUCCESS strategy=int3"]))
        self.assertEqual(f("stress", ["patchtorture: FAILURE strategy=naive"]), "patchtorture: FAILURE strategy=naive")
        self.assertEqual(f("shell", ["x", "PANIC: page fault"]), "PANIC: page fault")
        self.assertRegex(f("shell", ["Corral 0.1.0 booting"]), "rebooted")
        # `demo:` and `text verify:` lines are output, not errors.
        self.assertIsNone(f("shell", ["text verify: clean: 10 chunks"]))

    def test_the_ack_window_and_the_ack_lines(self):
        self.assertEqual(lib.ack_window(ready_line(4452)), 32)
        self.assertEqual(lib.ack_window(ready_line(4452, window=8)), 8)
        self.assertIsNone(lib.ack_window(ready_line(4452, window=None)))     # a kernel without flow control
        self.assertIsNone(lib.ack_window(ready_line(4452).replace("every 32 lines", "every 0 lines")))
        self.assertEqual(lib.parse_ack("patch load: 1824 of 4452 bytes"), (1824, 4452))
        for not_ack in ("patch load: no data for 5 s after 1824 of 4452 bytes", "error: patch load: 1824 of 4452 bytes",
                        "patch load: 1824 of 4452 bytes; transfer abandoned", ready_line(4452),
                        "patch load: <n> of 4452 bytes", "patch load: bytes were lost in the input after line 32"):
            self.assertIsNone(lib.parse_ack(not_ack), not_ack)
            self.assertFalse(lib.ACK_RE.match(not_ack), not_ack)
        self.assertEqual(lib.without_acks([ready_line(9), "patch load: 1824 of 9 bytes", "loaded m"]),
                         [ready_line(9), "loaded m"])

    def test_json_shape(self):
        r = lib.Reply("patch list", "shell", ["a"])
        self.assertEqual(r.as_json(), {"ok": True, "command": "patch list", "output": ["a"], "error": None})
        r = lib.Reply("patch list", "shell", ["a"], complete=False)
        self.assertFalse(r.ok)
        self.assertRegex(r.error, "did not return to its prompt")

    def test_modules_and_header_parsing(self):
        mods = lib.parse_modules([
            "modules:", "  mem_report 1 target(s), code 208 bytes at 0x512000, data 96 bytes, applied",
            "  square_pair 2 target(s), code 32 bytes at 513000, data 0 bytes, loaded",
            "  seed_v3 1 target(s), code 23 bytes at 0xd8000000, data 8 bytes",        # no state
            "no patch modules loaded ('patch load', or scripts/corralctl load FILE)"])
        self.assertEqual([(m.name, m.targets, m.code_size, m.code_address, m.state) for m in mods],
                         [("mem_report", 1, 208, 0x512000, "applied"), ("square_pair", 2, 32, 0x513000, "loaded"),
                          ("seed_v3", 1, 23, 0xd8000000, "")])
        h = lib.parse_kpatch_header(fake_kpatch("abc"))
        self.assertEqual((h.name, h.build_id, h.targets), ("abc", 0x1234abcd, [("target_fn", "", "int3")]))
        self.assertEqual(h.patch_names(), ["abc"])
        h.targets.append(h.targets[0])
        self.assertEqual(h.patch_names(), ["abc", "abc.0", "abc.1"])
        self.assertRaises(ValueError, lib.parse_kpatch_header, b"ELF" + bytes(100))

    def test_qemu_command_has_the_makefile_flags(self):
        cmd = lib.qemu_boot_command("qemu-system-i386", "k.elf", 2, "mttcg", "/tmp/s.sock")
        line = " ".join(cmd)
        for part in ("-kernel k.elf", "-smp 2", "-m 128M", "-accel tcg,thread=multi", "-display none",
                     "-device isa-debug-exit,iobase=0xf4,iosize=0x04", "-serial unix:/tmp/s.sock,server=on,wait=off",
                     "-monitor none"):
            self.assertIn(part, line)


class FakePeer(unittest.TestCase):
    """The protocol end to end against fake_serial.FakeShell."""

    def start(self, **kw):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.path = os.path.join(self.tmp.name, "serial.sock")
        self.fake = FakeShell(self.path, **kw)
        self.fake.start()
        self.addCleanup(self.fake.stop)
        return self.fake

    def session(self):
        link = lib.Link.connect(self.path)
        self.addCleanup(link.close)
        return lib.Session(link)

    def test_stale_output_and_a_half_typed_line_are_not_taken_for_the_answer(self):
        fake = self.start(stale=b"old output\r\ncorral> patch li", half_line="patch ap")
        reply = self.session().run("patch modules")
        self.assertTrue(reply.ok, reply)
        self.assertEqual(reply.output, [])
        self.assertEqual(fake.commands, ["patch modules"])       # "patch ap" was erased, not run

    def test_load_apply_unload(self):
        fake = self.start()
        s = self.session()
        data = fake_kpatch("fake_mod", os.urandom(3000))
        reply = s.load(data)
        self.assertTrue(reply.ok, reply)
        self.assertEqual(reply.output[0], ready_line(len(data)))
        self.assertEqual(reply.output[-1], "loaded fake_mod: 1 target(s), code 64 bytes at 0x500000")
        self.assertTrue(all(len(ln) <= 76 for ln in fake.data_lines))
        self.assertEqual(len(fake.data_lines), -(-len(data) // 57))
        self.assertEqual([m.name for m in lib.parse_modules(s.run("patch modules").output)], ["fake_mod"])
        self.assertTrue(s.run("patch apply fake_mod", "apply").ok)
        self.assertTrue(s.run("patch unload fake_mod", "unload").ok)
        reply = s.run("patch unload fake_mod", "unload")
        self.assertEqual(reply.error, "patch unload: no module named 'fake_mod'")

    def test_each_fault_gives_one_load_error_and_the_shell_answers_afterwards(self):
        for prefix in ("", "error: "):
            fake = self.start(error_prefix=prefix)
            s = self.session()
            for fault, why in (("truncate", "no data for 5 s"), ("garbage", "bad base64 on line"),
                               ("noise", "CRC-32 is")):
                reply = s.load(fake_kpatch("m", os.urandom(2000)), timeout=10, fault=fault)
                self.assertFalse(reply.ok, (fault, reply))
                errors = [ln for ln in reply.output if ln.startswith(prefix + "patch load: ")
                          and not ln.startswith(lib.READY_PREFIX)]
                self.assertEqual(len(errors), 1, reply.output)
                self.assertIn(why, reply.error)
                self.assertTrue(s.run("patch modules").ok)
            self.assertEqual(fake.modules, {})

    def test_a_refused_load_command_sends_no_data(self):
        fake = self.start()
        s = self.session()
        self.assertRaises(lib.CtlError, s.load, b"x" * (lib.MAX_FILE_SIZE + 1))
        fake.replies["patch load 4 %s" % lib.crc32_hex(b"abcd")] = ["error: patch: loader busy"]
        reply = s.load(b"abcd")
        self.assertEqual(reply.error, "error: patch: loader busy")
        self.assertEqual(fake.data_lines, [])
        # (An error right after `ready` is a race the real kernel cannot
        # produce -- it prints nothing until the data has come -- so it is
        # not tested: a test that depends on who is faster would flake.)
        self.assertEqual(s.run("patch modules").output, [])      # and no stray `end` ran as a command
        self.assertNotIn("end", fake.commands)

    def test_a_transfer_left_halfway_is_recovered_by_the_next_command(self):
        fake = self.start(no_data_s=5.0)
        s = self.session()
        s.link.send(b"patch load 100 00000000\nAAAA\n")     # a sender that died
        self.assertTrue(s.run("patch modules").ok)
        self.assertIn("patch modules", fake.commands)

    def test_a_load_of_several_windows_waits_for_each_ack(self):
        fake = self.start()
        s = self.session()
        # 106 lines: three full windows and 10 lines; then 64 lines: the last window full, its ack awaited too.
        for name, size, acks in (("big_mod", 6000, [1824, 3648, 5472]), ("even_mod", 64 * 57, [1824, 3648])):
            del fake.data_lines[:], fake.acks[:]
            data = fake_kpatch(name, os.urandom(size - 184))
            reply = s.load(data)
            self.assertTrue(reply.ok, reply)
            self.assertEqual(reply.output, [ready_line(size), f"loaded {name}: 1 target(s), code 64 bytes at 0x500000"])
            self.assertFalse([ln for ln in reply.output if lib.ACK_RE.match(ln)])
            self.assertEqual(fake.data_lines, lib.base64_lines(data))
            self.assertEqual(fake.acks, [f"patch load: {n} of {size} bytes" for n in acks])
            self.assertEqual(fake.swallowed, [])
        self.assertEqual(sorted(fake.modules), ["big_mod", "even_mod"])

    def test_the_window_is_the_one_the_ready_line_names(self):
        fake = self.start(window=8)       # a sender that assumed 32 would send past the window and lose the load
        data = fake_kpatch("m8", os.urandom(2000))                # 39 lines
        reply = self.session().load(data)
        self.assertTrue(reply.ok, reply)
        self.assertEqual(len(fake.acks), 4)
        self.assertEqual(fake.data_lines, lib.base64_lines(data))

    def unpaced_load(self, session, data):
        """A sender without flow control (the old unpaced mode): the command,
        the ready line, then every line and `end` at once.  The reply's lines."""
        command = lib.load_command(data)
        session.sync()
        session.link.send((command + "\n").encode())
        session.collect(lambda t, q: True if re.search(r"patch load: ready for .*\n", lib.normalize(t)) else None,
                        10, "ready line")
        session.link.send("".join(ln + "\n" for ln in lib.base64_lines(data) + ["end"]).encode())
        lines, _ = session.collect(lambda t, q: lib.reply_after_echo(t, None, q), 10, "answer")
        return lib.Reply(command, "load", [ln for ln in lines if ln.strip()])

    def test_a_sender_that_does_not_wait_for_the_acks_loses_the_load(self):
        """The fake's flow-control check bites: the same 106 lines that load
        when the sender waits fail when it does not."""
        fake = self.start()
        s = self.session()
        data = fake_kpatch("rushed", os.urandom(6000 - 184))
        reply = self.unpaced_load(s, data)
        self.assertEqual(reply.error, "patch load: bytes were lost in the input after line 32")
        self.assertEqual(fake.acks, [])
        self.assertEqual(len(fake.data_lines), 32)
        self.assertEqual(fake.swallowed, lib.base64_lines(data)[32:] + ["end"])
        self.assertEqual(fake.modules, {})
        self.assertTrue(s.run("patch modules").ok)
        self.assertEqual(fake.commands, [lib.load_command(data), "patch modules"])    # no data line ran
        self.assertTrue(s.load(data).ok)                                               # the same file, waiting

    def test_when_the_kernel_gives_up_the_sender_stops(self):
        """An error in the middle (here: bytes lost after line 64).  The
        kernel swallows first and then prints its error and the prompt: the
        sender must send nothing more, not even `end`.  A kernel that
        printed its error first and still swallows gets `end` at once."""
        for error_first, swallowed in ((False, []), (True, ["end"])):
            fake = self.start(error_first=error_first, silence_s=2.0 if error_first else 0.2)
            fake.unread_input = lambda fake=fake: len(fake.data_lines) == 64
            s = self.session()
            data = fake_kpatch("lost", os.urandom(6000 - 184))
            start = time.monotonic()
            reply = s.load(data)
            self.assertEqual(reply.error, "patch load: bytes were lost in the input after line 64", error_first)
            self.assertEqual(reply.output, [ready_line(6000), reply.error])     # the acks left out
            self.assertEqual((len(fake.data_lines), len(fake.acks)), (64, 1))
            self.assertEqual(fake.swallowed, swallowed)
            self.assertLess(time.monotonic() - start, 5)
            self.assertTrue(s.run("patch modules").ok)
            self.assertEqual(fake.commands, [lib.load_command(data), "patch modules"])

    def test_a_fault_with_a_kernel_that_prints_its_error_first_still_sends_every_line(self):
        fake = self.start(error_first=True, silence_s=2.0)
        s = self.session()
        data = fake_kpatch("m", os.urandom(6000 - 184))
        sent, _ = lib.apply_fault(lib.base64_lines(data), "garbage")     # the garbage is line 54, in window 2
        reply = s.load(data, timeout=10, fault="garbage")
        self.assertEqual(reply.error, "patch load: bad base64 on line 54")
        self.assertEqual(fake.data_lines, sent[:54])
        self.assertEqual(fake.swallowed, sent[54:] + ["end"])
        self.assertTrue(s.run("patch modules").ok)
        self.assertEqual(fake.commands, [lib.load_command(data), "patch modules"])

    def test_a_kernel_that_stops_acking_is_no_answer(self):
        fake = self.start(no_data_s=5.0)
        say = fake.say
        fake.say = lambda *lines: say(*(ln for ln in lines if not lib.ACK_RE.match(ln)))
        s = self.session()
        with self.assertRaisesRegex(lib.NoAnswer, r"no ack 'patch load: <n> of <size> bytes' after line 32 of 39 "
                                                  r"within 0.5 s \(the kernel acks every 32 lines\)"):
            s.load(fake_kpatch("m", os.urandom(2000)), timeout=0.5)
        self.assertEqual(len(fake.data_lines), 32)
        self.assertTrue(s.run("patch modules").ok)     # sync ends the transfer left halfway
        self.assertEqual(fake.modules, {})

    def test_a_kernel_without_flow_control_is_refused(self):
        fake = self.start(window=None)
        s = self.session()
        data = fake_kpatch("m", os.urandom(2000))
        with self.assertRaisesRegex(lib.CtlError, r"names no ack window .* it has no flow control") as caught:
            s.load(data)
        self.assertEqual(caught.exception.lines, [ready_line(len(data), window=None)])
        self.assertEqual(fake.data_lines, [])
        self.assertTrue(s.run("patch modules").ok)
        self.assertEqual(fake.commands, [lib.load_command(data), "patch modules"])    # `abort` ended the transfer

    def test_the_cli_json_exit_codes_and_stderr(self):
        self.start(demo_unexpected=1)
        code, out, err = ctl(self.path, "modules")
        self.assertEqual((code, out), (0, {"ok": True, "command": "patch modules", "output": [], "error": None}))
        code, out, err = ctl(self.path, "apply", "nosuch")
        self.assertEqual(code, 1)
        self.assertEqual(out["error"], "error: patch: no patch named 'nosuch' (see 'patch list')")
        self.assertIn("the kernel said: error: patch: no patch named 'nosuch'", err)
        code, out, _ = ctl(self.path, "demo", "torn")
        self.assertEqual((code, out["command"]), (1, "demo torn"))
        code, out, _ = ctl(self.path, "stress", "1", "bad")
        self.assertEqual(code, 1)
        self.assertEqual(ctl(self.path, "stress", "1")[0], 0)
        code, out, _ = ctl(self.path, "shell", "patch", "status", "x")
        self.assertEqual(out["command"], "patch status x")
        code, out, _ = ctl(self.path, "--timeout", "0.5", "shell", "slow 1.5")
        self.assertEqual(code, lib.EXIT_NO_ANSWER, out)
        self.assertRegex(out["error"], r"no answer to 'slow 1.5' within 0.5 s")
        code, out, _ = ctl(self.path, "shell", "panic")
        self.assertEqual((code, out["error"]), (1, "PANIC: fake panic"))
        self.assertIn("  backtrace: fake_frame", out["output"])

    def test_boot_and_stop_with_a_stand_in_for_qemu(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        sock, fake = os.path.join(tmp.name, "s.sock"), os.path.join(HERE, "fake_serial.py")
        env = dict(os.environ, CORRAL_QEMU_BINARY=fake)
        code, out, err = ctl(sock, "boot", "--kernel", fake, "--cpus", "2", env=env)
        self.assertEqual(code, 0, (out, err))
        pid = out["pid"]
        self.addCleanup(lambda: lib.stop_pid(pid, sock))
        self.assertEqual(out["output"], [f"socket {sock}", f"pid {pid}"])
        self.assertIn("Corral 0.0-fake booting", out["boot"])
        self.assertEqual(lib.read_pid(sock), pid)
        self.assertTrue(lib.pid_serves(pid, sock))
        code, out, _ = ctl(sock, "boot", "--kernel", fake, env=env)
        self.assertEqual(code, lib.EXIT_USAGE)
        self.assertIn("already serves", out["error"])
        self.assertEqual(ctl(sock, "modules")[:2], (0, {"ok": True, "command": "patch modules", "output": [],
                                                        "error": None}))
        code, out, _ = ctl(sock, "stop")
        self.assertEqual((code, out["output"]), (0, [f"QEMU (pid {pid}) stopped"]))
        self.assertFalse(lib.pid_alive(pid))
        self.assertFalse(os.path.exists(sock) or os.path.exists(sock + ".pid"))

    def test_cli_load_and_usage_errors(self):
        fake = self.start()
        path = os.path.join(self.tmp.name, "cli_mod.kpatch")
        with open(path, "wb") as f:
            f.write(fake_kpatch("cli_mod"))
        code, out, _ = ctl(self.path, "load", path)
        self.assertEqual(code, 0, out)
        self.assertEqual(out["command"], lib.load_command(fake_kpatch("cli_mod")))
        self.assertIn("cli_mod", fake.modules)
        code, out, _ = ctl(self.path, "load", path, "--fault", "garbage")
        garbage_at = len(lib.base64_lines(fake_kpatch("cli_mod"))) // 2 + 1
        self.assertEqual((code, out["error"]), (1, f"patch load: bad base64 on line {garbage_at}"))
        code, out, err = ctl(self.path, "load", os.path.join(self.tmp.name, "missing.kpatch"))
        self.assertEqual(code, lib.EXIT_USAGE)
        code, out, err = ctl(os.path.join(self.tmp.name, "nothing.sock"), "modules")
        self.assertEqual(code, lib.EXIT_USAGE)
        self.assertIn("no such socket", out["error"])
        code, out, err = ctl(os.path.join(self.tmp.name, "nothing.sock"), "stop")
        self.assertEqual(code, lib.EXIT_USAGE)


def load_tests(loader, tests, pattern):
    return load_cases(loader, tests, (PureParts, FakePeer), LIVE_CASES)


def kernel_elf_tools():
    """scripts/mkpatch's ELF reader: symbol addresses, bytes and the build-id."""
    spec = importlib.util.spec_from_loader("mkpatch", importlib.machinery.SourceFileLoader(
        "mkpatch", os.path.join(ROOT, "scripts", "mkpatch")))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class MkpatchLayouts(unittest.TestCase):
    """stop-check rewrites whatever layout the function has; mkpatch hashes the same bytes
    the kernel's validator reads (patching/module/module_format.cpp)."""

    def test_stop_check_takes_the_layout_of_the_entry(self):
        mkpatch = kernel_elf_tools()
        self.assertEqual(mkpatch.layout_strategy(bytes([0x8b, 0xff, 0x55, 0x89, 0xe5])), "hotpatch")
        self.assertEqual(mkpatch.layout_strategy(bytes([0x0f, 0x1f, 0x44, 0x00, 0x00])), "int3")
        self.assertEqual(mkpatch.layout_strategy(bytes([0xeb, 0x00, 0xb8, 0x3f, 0x00])), "corral-scan")
        self.assertIn("stop-check", mkpatch.OLD_BYTES)


def read_header(path):
    with open(path, "rb") as f:
        return lib.parse_kpatch_header(f.read())


def live_skip_reason():
    if not shutil.which("qemu-system-i386"):
        return "qemu-system-i386 is not installed (scripts/install-deps installs it)"
    if not os.path.isfile(KERNEL):
        return f"{KERNEL} does not exist (run `make` first)"
    if not glob.glob(os.path.join(PATCHES, "*.kpatch")):
        return f"no {PATCHES}/*.kpatch (run `make patches`)"
    return None


@unittest.skipIf(live_skip_reason(), live_skip_reason())
class LiveKernel(unittest.TestCase):
    """The real kernel at -smp 4 under tcg, with `load` keeping every CPU
    busy the whole time (the shell, and so `patch load`'s reader, competes
    for its CPU), and the real .kpatch files.  BootModules boots at 2."""
    CPUS = 4
    LOAD = "load 8 600"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="corralctl-")
        # Copies: `make` may rewrite build/ while this runs.
        kernel = shutil.copy(KERNEL, os.path.join(cls.tmp, "corral.elf"))
        cls.kpatches = {}
        for path in sorted(glob.glob(os.path.join(PATCHES, "*.kpatch"))):
            cls.kpatches[os.path.basename(path)[:-len(".kpatch")]] = shutil.copy(path, cls.tmp)
        mkpatch = kernel_elf_tools()
        cls.OLD_BYTES = mkpatch.OLD_BYTES
        try:
            cls.elf = mkpatch.Kernel(kernel)
        except SystemExit as e:
            raise unittest.SkipTest(f"build/corral.elf: {e}")
        stale = [n for n, p in cls.kpatches.items()
                 if read_header(p).build_id != cls.elf.build_id]
        if stale:
            shutil.rmtree(cls.tmp)
            raise unittest.SkipTest(f"{', '.join(stale)}: packaged for another kernel build (run `make patches`)")
        cls.sock = os.path.join(cls.tmp, "serial.sock")
        code, out, err = ctl(cls.sock, "boot", "--cpus", str(cls.CPUS), "--accel", "tcg", "--kernel", kernel,
                             timeout=150)
        if code != 0:
            shutil.rmtree(cls.tmp)
            raise AssertionError(f"corralctl boot failed ({code}): {out}\n{err}")
        code, out, err = ctl(cls.sock, "shell", cls.LOAD)
        if code != 0:
            cls.tearDownClass()
            raise AssertionError(f"corralctl shell '{cls.LOAD}' failed ({code}): {out}\n{err}")
        code, out, _ = ctl(cls.sock, "modules")
        missing = out["error"] or ""
        if "unknown command" in missing or "usage:" in missing:
            cls.tearDownClass()
            raise unittest.SkipTest(f"the kernel has no `patch modules`/`patch load` yet: {missing}")

    @classmethod
    def tearDownClass(cls):
        if os.path.exists(cls.sock + ".pid"):
            ctl(cls.sock, "stop")
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def ok(self, *args, timeout=120):
        code, out, err = ctl(self.sock, *args, timeout=timeout)
        self.assertEqual(code, 0, f"corralctl {' '.join(args)}: {out}\n{err}")
        return out["output"]

    def modules(self):
        return {m.name: m for m in lib.parse_modules(self.ok("modules"))}

    def peek(self, address, count):
        """Live kernel memory, by `peek` (at most 256 bytes a time)."""
        out = b""
        for at in range(address, address + count, 256):
            lines = self.ok("shell", f"peek {at:#x} {min(256, address + count - at)}")
            out += bytes(int(b, 16) for ln in lines for b in ln.split(":", 1)[1].split())
        return out

    def entry_bytes(self, address):
        """From address-5 to address+7: the hotpatch padding, the entry, a far jmp's length."""
        return self.peek(address - 5, 12)

    @staticmethod
    def jump_target(code, address):
        """Where a patched entry (bytes from address-5) jumps, or None."""
        entry = code[5:]
        if entry[0] == 0xEA:                                  # far jmp: naive, corral, corral-scan
            return int.from_bytes(entry[1:5], "little")
        if entry[0] == 0xE9:                                  # int3's jmp rel32 at the entry
            return (address + 5 + int.from_bytes(entry[1:5], "little", signed=True)) & 0xFFFFFFFF
        if entry[:2] == b"\xeb\xf9" and code[0] == 0xE9:      # hotpatch: jmp short back into the padding
            return (address + int.from_bytes(code[1:5], "little", signed=True)) & 0xFFFFFFFF
        return None

    def check_module(self, name, behaviour=None, strategy=None):
        """Loads, applies (with the module's strategies, or `strategy` for every target), checks each
        target now jumps into the module, reverts, unloads, and checks the text is the ELF's again."""
        if name not in self.kpatches:
            self.skipTest(f"build/patches/{name}.kpatch is missing (make patches)")
        header = read_header(self.kpatches[name])
        targets = [(self.elf.function(t)["value"], s) for t, _, s in header.targets]
        before = {a: self.entry_bytes(a) for a, _ in targets}
        out = self.ok("load", self.kpatches[name])
        self.addCleanup(self.forget, name)
        self.assertTrue(out[-1].startswith(f"loaded {name}: {len(targets)} target(s)"), out)
        module = self.modules().get(name)
        self.assertIsNotNone(module, "patch modules does not list the module")
        self.assertEqual(module.targets, len(targets))
        listed = "\n".join(self.ok("list"))
        for patch in header.patch_names():
            self.assertRegex(listed, rf"(?m)^\s+{re.escape(patch)}\s", listed)
        applied = self.ok("apply", name, *([strategy] if strategy else []))[0]
        self.assertTrue(applied.startswith(f"applied {name}"), applied)
        if strategy:
            self.assertIn(f"with {strategy}", applied)
        code_area = range(module.code_address, module.code_address + module.code_size)
        for address, _ in targets:
            to = self.jump_target(self.entry_bytes(address), address)
            self.assertIn(to, code_area, f"{name}: {address:#x} does not jump into the module's code")
        if behaviour:
            behaviour(module)
        self.assertTrue(self.ok("revert", name)[0].startswith(f"reverted {name}"))
        for address, strategy in targets:
            start, length = self.OLD_BYTES[strategy]
            if strategy == "hotpatch":       # the revert leaves the jmp in the padding, on purpose
                start, length = 0, 2
            self.assertEqual(self.entry_bytes(address)[5 + start:5 + start + length],
                             before[address][5 + start:5 + start + length], f"{name}: {address:#x} after revert")
        self.assertEqual(self.ok("unload", name), [f"unloaded {name}"])
        self.assertEqual(self.modules(), {})
        # Nothing left behind, not even a hotpatch's jmp in the padding into the freed code.
        verify = self.ok("shell", "text verify")
        self.assertTrue(verify[-1].startswith("text verify: clean"), verify)
        self.assertNotIn(name, "\n".join(self.ok("modules") + self.ok("list")))

    def forget(self, name):
        """After a failure: the module reverted and unloaded, so the next test starts clean."""
        if name in self.modules():
            ctl(self.sock, "revert", name)
            ctl(self.sock, "unload", name)

    def test_mem_report_changes_mem(self):
        self.assertIn("memory map", "\n".join(self.ok("shell", "mem")))

        def patched(_):
            out = "\n".join(self.ok("shell", "mem"))
            self.assertIn("(mem: patched by module mem_report)", out)
            self.assertNotIn("memory map", out)
        self.check_module("mem_report", patched)
        self.assertIn("memory map", "\n".join(self.ok("shell", "mem")))

    def test_seed_v3_replaces_seed_example(self):
        self.check_module("seed_v3")

    def test_square_pair_replaces_both_functions_at_once(self):
        self.check_module("square_pair")

    def test_square_pair_applies_with_stop_check(self):
        """A module's functions switched the kpatch way: one corral, no thread inside either."""
        self.check_module("square_pair", strategy="stop-check")

    def test_counted_calls_calls_kprintf(self):
        kprintf = self.elf.function("_ZN6corral7kprintfEPKcz")["value"]

        def calls_kprintf(module):
            code = self.peek(module.code_address, module.code_size)
            calls = [(module.code_address + i + 5 + int.from_bytes(code[i + 1:i + 5], "little", signed=True))
                     & 0xFFFFFFFF for i in range(len(code) - 4) if code[i] == 0xE8]
            self.assertIn(kprintf, calls, "no call to kprintf in the module's code (its relocation)")
        self.check_module("counted_calls", calls_kprintf)

    def test_a_module_stacks_on_a_built_in_patch(self):
        # The built-in `fentry` (int3) first; square_pair's counter goes on top
        # of it, and its revert gives the built-in's jmp back, not the NOP.
        if "square_pair" not in self.kpatches:
            self.skipTest("build/patches/square_pair.kpatch is missing (make patches)")
        counter = self.elf.function("_ZN6corral19demo_fentry_counterEi")["value"]
        nop = self.entry_bytes(counter)
        self.assertTrue(self.ok("shell", "patch apply fentry int3")[0].startswith("applied fentry"))
        self.addCleanup(ctl, self.sock, "shell", "patch revert fentry")
        built_in = self.entry_bytes(counter)
        self.assertNotEqual(built_in, nop)
        self.ok("load", self.kpatches["square_pair"])
        self.addCleanup(self.forget, "square_pair")
        self.assertTrue(self.ok("apply", "square_pair")[0].startswith("applied square_pair"))
        module = self.modules()["square_pair"]
        to = self.jump_target(self.entry_bytes(counter), counter)
        self.assertIn(to, range(module.code_address, module.code_address + module.code_size))
        self.assertRegex("\n".join(self.ok("list")), r"square_pair\.\d\s+applied\s+corral::demo_fentry_counter\s.*over fentry")
        self.assertTrue(self.ok("revert", "square_pair")[0].startswith("reverted square_pair"))
        self.assertEqual(self.entry_bytes(counter), built_in)
        self.assertEqual(self.ok("unload", "square_pair"), ["unloaded square_pair"])
        self.assertTrue(self.ok("shell", "patch revert fentry")[0].startswith("reverted fentry"))
        self.assertEqual(self.entry_bytes(counter), nop)
        self.assertTrue(self.ok("shell", "text verify")[-1].startswith("text verify: clean"))

    def fault(self, fault, why):
        path = self.kpatches.get("mem_report") or next(iter(self.kpatches.values()))
        code, out, err = ctl(self.sock, "load", path, "--fault", fault, timeout=60)
        self.assertEqual(code, 1, out)
        errors = [ln for ln in out["output"] if re.match(r"(error: )?patch load: ", ln)
                  and not ln.startswith(lib.READY_PREFIX)]
        self.assertEqual(len(errors), 1, out["output"])
        self.assertRegex(errors[0], why)
        self.assertEqual(out["error"], errors[0])
        self.assertEqual(self.modules(), {})
        self.assertIn("memory map", "\n".join(self.ok("shell", "mem")))

    def test_fault_truncate(self):
        start = time.monotonic()
        self.fault("truncate", r"(?i)data|time|silen")
        self.assertLess(time.monotonic() - start, 30)

    def test_fault_garbage(self):
        self.fault("garbage", r"(?i)base64")

    def test_fault_noise(self):
        self.fault("noise", r"(?i)crc")





@unittest.skipIf(live_skip_reason(), live_skip_reason())
class BootModules(unittest.TestCase):
    """Patch modules given to the boot loader (QEMU -initrd a,b) are loaded at
    boot, and patch=<name>[:strategy] applies them; a refused one says why."""

    def test_initrd_modules_are_loaded_and_applied_at_boot(self):
        wanted = [os.path.join(PATCHES, n + ".kpatch") for n in ("mem_report", "square_pair")]
        if not os.path.isfile(KERNEL) or not all(os.path.isfile(p) for p in wanted):
            self.skipTest("build/corral.elf or build/patches/*.kpatch missing (make patches)")
        with tempfile.TemporaryDirectory() as tmp:
            garbage = os.path.join(tmp, "garbage.kpatch")
            with open(garbage, "wb") as f:
                f.write(b"CRLPATCH" + bytes(100))
            log = os.path.join(tmp, "boot.log")
            cmd = [sys.executable, os.path.join(ROOT, "scripts", "corral-qemu"), "--kernel", KERNEL, "--cpus", "2",
                   "--accel", "tcg", "--timeout", "120", "--log", log, "--name", "boot-modules",
                   "--append", "patch=mem_report,square_pair:klp test=module.* exit",
                   "--qemu-arg=-initrd", "--qemu-arg=" + ",".join(wanted + [garbage])]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=200)
            with open(log, errors="replace") as f:
                text = f.read()
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("loaded mem_report (1 target(s))", text)
            self.assertIn("loaded square_pair (2 target(s))", text)
            self.assertRegex(text, r"boot: patch module '[^']*garbage.kpatch': module: ")
            self.assertIn("applied mem_report to", text)
            self.assertIn("applied square_pair (2 functions, one write) with klp", text)


# What run-tests' live step runs (CORRAL_DRIVER_LIVE_ONLY=1).
LIVE_CASES = (LiveKernel, BootModules)


if __name__ == "__main__":
    unittest.main()
