"""scripts/corral_junit.py: the JUnit XML make test and make stress write,
from the output and serial logs their steps leave (no QEMU)."""
import os
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
import corral_junit as junit  # noqa: E402

CTEST = """\
        Start 17: Heap.Grows
  1/3 Test #17: Heap.Grows .......................................   Passed    0.01 sec
  2/3 Test #226: Header/ModuleChecks.Refused/Big  # GetParam() = Big ....   Passed    0.05 sec
  3/3 Test #5: Elf.Reads ........................................***Failed    0.20 sec
"""

UNITTEST = """\
test_one (test_bench.Collector.test_one) ... ok
test_two (test_bench.Collector.test_two) ... /x.py:3: ResourceWarning: unclosed file
  f = open(p)
ok
test_three (test_stress.Judge.test_three)
The judge reads the summary. ... FAIL
test_four (test_stress.Judge.test_four) ... skipped 'needs QEMU'
"""

BOOTS = """\
PASS smp4-tcg (3 ktests, 1 skipped, 2.0 s)
  SKIP sched.lend: needs a second CPU
FAIL smp8-mttcg: 1 ktest failed: [ FAIL ] klp.turn: expected waited (klp_test.cpp:390)
FAIL smp2-tcg: no ktest summary line: the kernel hung
"""

SERIAL = {
    "smp4-tcg": "[ RUN  ] a.one\n[ PASS ] a.one\n[ PASS ] a.two\n[ SKIP ] sched.lend: needs a second CPU\n",
    "smp8-mttcg": "[ PASS ] a.one\n[ RUN  ] klp.turn\n    failed: expected waited\n"
                  "[ FAIL ] klp.turn: expected waited (klp_test.cpp:390)\n",
    "smp2-tcg": "[ RUN  ] a.one\nwatchdog: a.one still running\n",
}

STRESS = """\
PASS stress smp4-klp (run, 16.7 s): 3381 flips
PASS stress smp4-control-naive (control, mttcg, 1.5 s): caught after 0.1 s: 9 thread(s) died in torn bytes
FAIL stress smp4-int3 (run, 15.4 s): patchtorture: FAILURE ...  log: build/stress-logs/short/smp4-int3.log
"""


class JUnit(unittest.TestCase):
    def test_every_kind_of_output_becomes_cases_with_their_outcomes(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in SERIAL.items():
                with open(os.path.join(tmp, name + ".log"), "w") as f:
                    f.write(text)
            os.makedirs(os.path.join(tmp, "build", "stress-logs", "short"))
            with open(os.path.join(tmp, "build", "stress-logs", "short", "smp4-int3.log"), "w") as f:
                f.write("patchtorture: 5 s: flips 10\npatchtorture: FAILURE strategy=int3\n")
            cases = (junit.ctest_cases(CTEST) + junit.unittest_cases(UNITTEST, "driver")
                     + junit.ktest_cases(BOOTS, tmp) + junit.stress_cases(STRESS, tmp))
            path = os.path.join(tmp, "out", "results.xml")
            junit.write(cases, path, "make test")
            top = ET.parse(path).getroot()

        self.assertEqual(top.tag, "testsuites")
        by_name = {(tc.get("classname"), tc.get("name")): tc for tc in top.iter("testcase")}

        def outcome(suite, name):
            tc = by_name[(suite, name)]
            return "fail" if tc.find("failure") is not None else "skip" if tc.find("skipped") is not None else "pass"

        self.assertEqual(outcome("host", "Heap.Grows"), "pass")
        self.assertEqual(outcome("host", "Header/ModuleChecks.Refused/Big"), "pass")
        self.assertEqual(outcome("host", "Elf.Reads"), "fail")
        self.assertEqual(outcome("driver.test_bench.Collector", "test_one"), "pass")
        self.assertEqual(outcome("driver.test_bench.Collector", "test_two"), "pass")   # a warning came between
        self.assertEqual(outcome("driver.test_stress.Judge", "test_three"), "fail")
        self.assertEqual(outcome("driver.test_stress.Judge", "test_four"), "skip")
        self.assertEqual(outcome("ktest.smp4-tcg", "a.two"), "pass")
        self.assertEqual(outcome("ktest.smp4-tcg", "sched.lend"), "skip")
        self.assertEqual(outcome("ktest.smp8-mttcg", "klp.turn"), "fail")
        self.assertEqual(outcome("ktest.smp2-tcg", "boot"), "fail")          # a boot with no verdict of its own
        self.assertEqual(outcome("stress.run", "smp4-klp"), "pass")
        self.assertEqual(outcome("stress.control", "smp4-control-naive"), "pass")
        self.assertEqual(outcome("stress.run", "smp4-int3"), "fail")
        self.assertEqual(len(by_name), 16)

        turn = by_name[("ktest.smp8-mttcg", "klp.turn")]
        self.assertIn("expected waited", turn.find("failure").get("message"))
        self.assertIn("failed: expected waited", turn.find("system-out").text)   # its serial log, attached
        hung = by_name[("ktest.smp2-tcg", "boot")]
        self.assertIn("the kernel hung", hung.find("failure").get("message"))
        self.assertIn("watchdog: a.one still running", hung.find("system-out").text)
        int3 = by_name[("stress.run", "smp4-int3")]
        self.assertIn("FAILURE strategy=int3", int3.find("system-out").text)
        self.assertEqual(int3.get("time"), "15.400")
        self.assertEqual(top.get("tests"), "16")
        self.assertEqual(top.get("failures"), "5")
        self.assertEqual(top.get("skipped"), "2")


if __name__ == "__main__":
    unittest.main()
