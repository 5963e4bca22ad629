"""Which tests of a file scripts/run-tests' steps run: its unit step sets
CORRAL_DRIVER_UNIT_ONLY=1 (no QEMU), its QEMU step CORRAL_DRIVER_LIVE_ONLY=1
(the unit tests ran already); without either, every test runs."""
import os
import unittest


def load_cases(loader, tests, unit_cases, live_cases):
    """A load_tests body: the cases of the step that runs, or `tests`."""
    if os.environ.get("CORRAL_DRIVER_UNIT_ONLY") == "1":
        cases = unit_cases
    elif os.environ.get("CORRAL_DRIVER_LIVE_ONLY") == "1":
        cases = live_cases
    else:
        return tests
    suite = unittest.TestSuite()
    for case in cases:
        suite.addTests(loader.loadTestsFromTestCase(case))
    return suite
