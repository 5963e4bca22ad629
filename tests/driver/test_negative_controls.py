"""Negative controls: the real kernel, told to misbehave with `selftest=`,
must be reported as FAIL by scripts/corral-qemu with the right reason.  A
driver that passes these runs would pass a broken kernel (docs/design.md §4:
a test that cannot fail is a defect).

scripts/run-tests runs this file as its own step; it sets
CORRAL_DRIVER_UNIT_ONLY=1 for the unit-test step so these QEMU runs are
not done twice (see load_tests below)."""
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DRIVER = os.path.join(ROOT, "scripts", "corral-qemu")
KERNEL = os.path.join(ROOT, "build", "corral.elf")


def load_tests(loader, tests, pattern):
    # The unit-test step of run-tests leaves the QEMU runs to the later step.
    if os.environ.get("CORRAL_DRIVER_UNIT_ONLY") == "1":
        return unittest.TestSuite()
    return tests


@unittest.skipUnless(os.path.isfile(KERNEL), "build/corral.elf does not exist (run `make` first)")
class NegativeControls(unittest.TestCase):
    def run_selftest(self, what, timeout, append=None, cpus=2):
        name = f"selftest-{what}"
        p = subprocess.run(
            [sys.executable, DRIVER, "--kernel", KERNEL, "--append", append or f"test=* selftest={what} exit",
             "--cpus", str(cpus), "--timeout", str(timeout), "--name", name, "--quiet",
             "--log", os.path.join(ROOT, "build", "test-logs", name + ".log")],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout + 60)
        self.assertEqual(p.returncode, 1, f"driver must say FAIL (exit 1):\n{p.stdout}{p.stderr}")
        self.assertTrue(p.stdout.startswith(f"FAIL {name}: "), p.stdout)
        return p.stdout

    def test_stack_overflow_is_a_reported_double_fault(self):
        out = self.run_selftest("overflow", 60)
        self.assertIn("PANIC: double fault", out)

    def test_failing_ktest_is_reported(self):
        # Among real tests that pass (a few suites: the matrix runs them all).
        out = self.run_selftest("fail", 120, append="test=boot.*,symbols.* selftest=fail exit")
        self.assertIn("ktest failed: [ FAIL ] selftest.deliberate_failure", out)

    def test_panic_is_reported(self):
        out = self.run_selftest("panic", 120)
        self.assertIn(": PANIC", out)
        self.assertIn("selftest: deliberate panic", out)

    def test_panic_inside_a_corral_stops_every_parked_cpu(self):
        # panic x corral: the parked CPUs sit in the IPI handler with
        # interrupts off; the panic's NMI must still stop each one, and the
        # corral must neither time out nor abort.
        out = self.run_selftest("corral-panic", 120, append="selftest=corral-panic exit", cpus=4)
        self.assertIn("deliberate panic with every other cpu parked", out)
        with open(os.path.join(ROOT, "build", "test-logs", "selftest-corral-panic.log")) as f:
            log = f.read()
        self.assertIn("panicking inside a corral, 4 of 4 cpus parked", log)
        self.assertIn("other cpus stopped: 3 of 3", log)
        self.assertIn("PANIC: system halted", log)
        self.assertNotIn("aborted", log)

    def test_triple_fault_is_reported_as_reset(self):
        out = self.run_selftest("triple", 120)
        self.assertIn("reset detected (2 boot banners)", out)

    def test_hang_times_out(self):
        out = self.run_selftest("hang", 8)
        self.assertIn("timeout after 8 s", out)
        self.assertIn("selftest: hanging on purpose", out)

    def test_a_boot_patch_that_fails_fails_the_boot(self):
        # The ktests pass, but patch= named a patch that does not exist.
        out = self.run_selftest("bootpatch", 120, append="patch=no_such_patch test=boot.* exit", cpus=1)
        self.assertIn("QEMU exit code 35", out)
        with open(os.path.join(ROOT, "build", "test-logs", "selftest-bootpatch.log")) as f:
            self.assertIn("no patch named 'no_such_patch'", f.read())

    def test_glob_matching_nothing_is_not_a_pass(self):
        out = self.run_selftest("nomatch", 120, append="test=no_such_suite.* exit")
        self.assertIn("zero ktests ran", out)


if __name__ == "__main__":
    unittest.main()
