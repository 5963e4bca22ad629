"""The README's recipe for a kernel in the background, typed into an
interactive shell on a terminal as a user would:

    make run SERIAL=unix:/tmp/corral.sock &
    scripts/corralctl --socket /tmp/corral.sock shell help

An interactive shell stops a background job that reads the terminal
(`[1]+ Stopped`), so `make run` with SERIAL must leave the terminal alone;
it once put the QEMU monitor there and the socket never appeared.  The
shell runs in a pseudo-terminal, with job control, so the stop would really
happen.  Boots QEMU: left out of run-tests' unit step (load_tests)."""
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CTL = os.path.join(ROOT, "scripts", "corralctl")
sys.path.insert(0, HERE)
from steps import load_cases  # noqa: E402


def read_some(fd, seconds):
    out = b""
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace")


class BackgroundRun(unittest.TestCase):
    def test_make_run_with_serial_runs_in_the_background_of_an_interactive_shell(self):
        tmp = tempfile.mkdtemp(prefix="corral-bg-")
        sock = os.path.join(tmp, "corral.sock")
        pid, fd = pty.fork()
        if pid == 0:   # the child: an interactive bash with job control, on the terminal
            os.chdir(ROOT)
            os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
        typed = ""
        try:
            os.write(fd, f"make run SERIAL=unix:{sock} CPUS=2 &\n".encode())
            end = time.time() + 180
            while not os.path.exists(sock) and time.time() < end:
                typed += read_some(fd, 1)
            self.assertTrue(os.path.exists(sock), f"the socket never appeared; the terminal showed:\n{typed}")
            os.write(fd, b"jobs\n")
            typed += read_some(fd, 2)
            self.assertNotIn("Stopped", typed, f"the shell stopped the background job:\n{typed}")
            p = subprocess.run([sys.executable, CTL, "--socket", sock, "--json", "shell", "help"], cwd=ROOT,
                               capture_output=True, text=True, timeout=180)
            answer = json.loads(p.stdout)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertTrue(answer["ok"], answer)
            self.assertIn("text verify|cleanup", "\n".join(answer.get("lines", [])) or p.stdout)
        finally:
            os.write(fd, b"kill %1; sleep 1; exit\n")
            read_some(fd, 3)
            try:
                os.kill(pid, 9)
            except OSError:
                pass
            os.waitpid(pid, 0)
            subprocess.run(["pkill", "-f", f"unix:{sock}"], check=False)
            shutil.rmtree(tmp, ignore_errors=True)


def load_tests(loader, tests, pattern):
    # Not a skip in the unit step: the QEMU step runs it.
    return load_cases(loader, tests, (), (BackgroundRun,))


if __name__ == "__main__":
    unittest.main()
