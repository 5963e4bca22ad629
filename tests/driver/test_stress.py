"""The stress driver's judgement (scripts/corral_stress_lib.py) on made-up
serial logs: a control counts only when it was caught in torn bytes, a safe
run only with its SUCCESS line, its flips and the kernel's success code."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from corral_qemu_lib import KERNEL_FAIL_EXIT, KERNEL_PASS_EXIT  # noqa: E402
from corral_stress_lib import Spec, full_plan, judge_stress, short_plan  # noqa: E402

BOOT = "Corral 0.1.0 booting\nsmp: 4 CPUs online (50 ms after boot)\n"
SUCCESS = ("patchtorture: SUCCESS strategy=int3 cpus=4 seconds=20 seed=1; flips 5000, calls 9, preemption points 1, "
           "deferrals 0, corrals 0, syncs 3, shootdowns 9, threads churned 9, torn 0; ops 9, sequence digest 0x1; "
           "text verified\n")
CAUGHT = ("patchtorture: FAILURE strategy=naive cpus=4 seconds=60 seed=1: 1 thread(s) died in torn bytes, the last "
          "'tw0' at torture_far_1+0x2 (invalid opcode executing fe 3f 00) (after 0.4 s); flips 31, calls 9\n")
SAFE = Spec("smp4-int3", 4, "int3", 20)
CONTROL = Spec("smp4-control-naive", 4, "naive", 60, control=True)


class SafeRuns(unittest.TestCase):
    def test_success_passes(self):
        o = judge_stress(SAFE, BOOT + SUCCESS, KERNEL_PASS_EXIT, False)
        self.assertTrue(o.passed, o.reason)
        self.assertEqual(o.flips, 5000)

    def test_failure_fails(self):
        o = judge_stress(SAFE, BOOT + CAUGHT.replace("naive", "int3"), KERNEL_FAIL_EXIT, False)
        self.assertFalse(o.passed)

    def test_too_few_flips_fails(self):
        spec = Spec("smp4-int3", 4, "int3", 3600, flips=1_000_000)
        o = judge_stress(spec, BOOT + SUCCESS, KERNEL_PASS_EXIT, False)
        self.assertFalse(o.passed)
        self.assertIn("fewer than the 1000000", o.reason)

    def test_wrong_exit_code_fails(self):
        self.assertFalse(judge_stress(SAFE, BOOT + SUCCESS, KERNEL_FAIL_EXIT, False).passed)

    def test_panic_fails_even_after_success(self):
        o = judge_stress(SAFE, BOOT + SUCCESS + "PANIC: something\n", KERNEL_PASS_EXIT, False)
        self.assertFalse(o.passed)
        self.assertIn("PANIC", o.reason)

    def test_no_verdict_and_timeout_fail(self):
        self.assertFalse(judge_stress(SAFE, BOOT, KERNEL_PASS_EXIT, False).passed)
        self.assertIn("timeout", judge_stress(SAFE, BOOT, None, True).reason)

    def test_a_run_whose_race_was_not_exercised_fails_saying_which(self):
        verdict = ("patchtorture: FAILURE strategy=corral-scan cpus=4 seconds=20 seed=1: race not exercised: "
                   "deferrals (the scan never found a thread inside a patch's bytes) (after 20.0 s); flips 5000\n")
        o = judge_stress(Spec("smp4-corral-scan", 4, "corral-scan", 20), BOOT + verdict, KERNEL_FAIL_EXIT, False)
        self.assertFalse(o.passed)
        self.assertIn("race not exercised: deferrals", o.reason)

    def test_reset_fails(self):
        self.assertIn("reset", judge_stress(SAFE, BOOT + BOOT + SUCCESS, KERNEL_PASS_EXIT, False).reason)


class Controls(unittest.TestCase):
    def test_caught_passes(self):
        o = judge_stress(CONTROL, BOOT + CAUGHT, KERNEL_FAIL_EXIT, False)
        self.assertTrue(o.passed, o.reason)
        self.assertIn("after 0.4 s", o.reason)

    def test_a_control_that_succeeds_fails(self):
        o = judge_stress(CONTROL, BOOT + SUCCESS.replace("int3", "naive"), KERNEL_PASS_EXIT, False)
        self.assertFalse(o.passed)
        self.assertIn("not caught", o.reason)

    def test_a_control_failing_for_another_reason_fails(self):
        other = ("patchtorture: FAILURE strategy=naive cpus=4 seconds=60 seed=1: patcher 0, op 3 (apply of 1 far "
                 "target(s), first torture_far_0): corral: aborted (after 3.0 s); flips 2\n")
        o = judge_stress(CONTROL, BOOT + other, KERNEL_FAIL_EXIT, False)
        self.assertFalse(o.passed)
        self.assertIn("another reason", o.reason)

    def test_a_control_that_panics_fails(self):
        self.assertFalse(judge_stress(CONTROL, BOOT + "PANIC: unhandled #UD\n", None, False).passed)

    def test_caught_too_late_fails(self):
        late = CAUGHT.replace("after 0.4 s", "after 75.0 s")
        self.assertIn("budget", judge_stress(CONTROL, BOOT + late, KERNEL_FAIL_EXIT, False).reason)

    def test_torn_mov_and_bad_signature_count_as_caught(self):
        for why in ("worker 3: a far-jmp target ran a torn mov (signature 0x8003f)",
                    "worker 6: torture_fentry_6 v2 called torture_fentry_7 and ran v1: the contract of the pair "
                    "broke (int3 switched one function without the other)",
                    "churn thread: a call of torture_far_25 returned 0, which is no version's signature"):
            line = f"patchtorture: FAILURE strategy=naive cpus=4 seconds=60 seed=1: {why} (after 0.2 s); flips 3\n"
            self.assertTrue(judge_stress(CONTROL, BOOT + line, KERNEL_FAIL_EXIT, False).passed, why)


class Plans(unittest.TestCase):
    def test_full_plan_has_the_issue_counts(self):
        plan = full_plan()
        safe4 = [s for s in plan if s.cpus == 4 and not s.control and not s.inject and not s.accel]
        safe8 = [s for s in plan if s.cpus == 8 and not s.control and not s.inject]
        self.assertEqual(sorted(s.strategy for s in safe4), ["corral-scan", "hotpatch", "int3", "klp", "mixed",
                                                             "stop-check"])
        # The issue's counts, for the seed's safe strategies and mixed; klp's transitions are slower.
        seed_safe4 = [s for s in safe4 if s.strategy != "klp"]
        seed_safe8 = [s for s in safe8 if s.strategy != "klp"]
        self.assertTrue(all(s.flips >= 1_000_000 for s in seed_safe4))
        self.assertTrue(all(s.flips >= 100_000 for s in seed_safe8) and len(seed_safe8) == 5)
        self.assertTrue(all(s.flips >= 10_000 for s in safe4 + safe8 if s.strategy == "klp"))
        controls = [s for s in plan if s.control]
        self.assertEqual(sorted((s.strategy, s.broken, s.contract) for s in controls),
                         [("corral", "", ""), ("corral-scan", "ack-before-park", ""),
                          ("corral-scan", "skip-trap-frames", ""), ("int3", "", "strict"),
                          ("klp", "klp-no-stack-check", ""), ("naive", "", ""),
                          ("stop-check", "stop-check-no-scan", "")])
        self.assertTrue(all(s.accel == "mttcg" for s in controls))   # true parallelism: torn bytes within a second
        mttcg = [s for s in plan if s.accel == "mttcg" and not s.control]
        self.assertEqual(sorted(s.strategy for s in mttcg), ["corral-scan", "hotpatch", "int3", "klp", "mixed",
                                                            "stop-check"])

    def test_cmdline(self):
        spec = Spec("x", 4, "corral-scan", 60, flips=10, broken="skip-trap-frames", control=True, seed=3)
        self.assertEqual(spec.cmdline(), "stress=60 strategy=corral-scan seed=3 flips=10 broken=skip-trap-frames exit")

    def test_short_plan_runs_every_safe_strategy_every_injection_and_every_control(self):
        plan = short_plan(15)
        self.assertEqual(len([s for s in plan if not s.control and not s.inject]), 6)
        self.assertEqual([s.inject for s in plan if s.inject], ["all"])
        self.assertEqual(len([s for s in plan if s.control]), 7)

    def test_cmdline_with_a_strict_contract(self):
        spec = Spec("x", 4, "int3", 60, contract="strict", control=True)
        self.assertEqual(spec.cmdline(), "stress=60 strategy=int3 seed=1 contract=strict exit")

    def test_cmdline_with_injections(self):
        self.assertIn(" inject=never-ack,nmi ", Spec("x", 4, "mixed", 45, inject="never-ack,nmi").cmdline())


if __name__ == "__main__":
    unittest.main()
