"""`make debug` works: QEMU started with -s -S and gdb with scripts/gdbinit
stops at kmain and shows its source line (the kernel carries DWARF).

Boots QEMU, so like the negative controls it runs in run-tests' QEMU step,
not in the unit-test step (see load_tests)."""
import os
import shutil
import socket
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
KERNEL = os.path.join(ROOT, "build", "corral.elf")


def load_tests(loader, tests, pattern):
    if os.environ.get("CORRAL_DRIVER_UNIT_ONLY") == "1":
        return unittest.TestSuite()
    return tests


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(os.path.isfile(KERNEL), "build/corral.elf does not exist (run `make` first)")
@unittest.skipUnless(shutil.which("gdb"), "gdb is not installed (scripts/install-deps installs it)")
class GdbSession(unittest.TestCase):
    def test_breaks_at_kmain_with_source_line(self):
        port = free_port()
        qemu = subprocess.Popen(
            ["qemu-system-i386", "-kernel", KERNEL, "-m", "128M", "-display", "none", "-serial", "null",
             "-monitor", "none", "-gdb", f"tcp:127.0.0.1:{port}", "-S"],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # scripts/gdbinit connects to :1234; point this session at our port instead.
            with open(os.path.join(ROOT, "scripts", "gdbinit")) as f:
                script = f.read().replace("localhost:1234", f"127.0.0.1:{port}")
            path = os.path.join(ROOT, "build", "test-logs", "gdbinit-test")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(script)
            out = subprocess.run(["gdb", "-q", "-batch", "-x", path, "-ex", "info line", "-ex", "bt", KERNEL],
                                 cwd=ROOT, capture_output=True, text=True, timeout=120).stdout
        finally:
            qemu.kill()
            qemu.wait()
        self.assertIn("kmain", out, out)
        self.assertIn("kernel/main.cpp", out, out)
        self.assertIn("boot/multiboot.asm", out, out)   # _start called it


if __name__ == "__main__":
    unittest.main()
