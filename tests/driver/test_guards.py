"""Lock and scope guards that cannot be misused (issue 27): `SpinlockGuard{lock};`
locks and unlocks on the spot, so it must not compile; nor may a guard be
copied.  Each snippet is compiled against the kernel's own headers with the
kernel's warnings-as-errors; the control (the right use) must compile."""
import os
import shutil
import subprocess
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CXX = ["g++", "-m32", "-std=c++20", "-ffreestanding", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra",
       "-Werror", "-I" + ROOT, "-fsyntax-only", "-x", "c++", "-"]
HEADERS = '#include "kernel/sync/spinlock.h"\n#include "kernel/sched/wait_queue.h"\n'


def compiles(body: str) -> bool:
    src = HEADERS + "void f(corral::Spinlock& l, corral::Mutex& m) { (void)l; (void)m; %s }\n" % body
    p = subprocess.run(CXX, input=src, capture_output=True, text=True, cwd=ROOT)
    return p.returncode == 0


@unittest.skipIf(shutil.which("g++") is None, "no g++")
class Guards(unittest.TestCase):
    def test_the_right_use_compiles(self):
        self.assertTrue(compiles("corral::SpinlockGuard g(l); corral::InterruptGuard i; corral::MutexGuard h(m);"))

    def test_a_temporary_guard_does_not_compile(self):
        for body in ("corral::SpinlockGuard{l};", "corral::SpinlockGuard(l);", "corral::InterruptGuard{};",
                     "corral::MutexGuard{m};"):
            with self.subTest(body=body):
                self.assertFalse(compiles(body), body)

    def test_a_copied_guard_does_not_compile(self):
        for body in ("corral::SpinlockGuard g(l); corral::SpinlockGuard h(g);",
                     "corral::MutexGuard g(m); corral::MutexGuard h(g);"):
            with self.subTest(body=body):
                self.assertFalse(compiles(body), body)


if __name__ == "__main__":
    unittest.main()
