"""Unit tests of the driver's pure judging function over canned serial logs
(no QEMU): every way a run can fail must be caught, with its reason."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import corral_qemu_lib as lib  # noqa: E402

BANNER = "Corral 0.1 booting\n"
BOOT = BANNER + "boot: loaded by qemu, cmdline 'build/corral.elf test=* exit'\nsmp: 4 CPUs online\n"
TESTS = "[ RUN  ] heap.alloc\n[ PASS ] heap.alloc\n[ RUN  ] sched.yield\n[ PASS ] sched.yield\n"
CLEAN = BOOT + TESTS + "ktest: 2 passed, 0 failed\n"


def judge(text, exit_code=33, timed_out=False, **kw):
    return lib.judge(text, exit_code, timed_out, **kw)


class JudgeTests(unittest.TestCase):
    def assertFails(self, verdict, *fragments):
        self.assertFalse(verdict.passed, "expected FAIL")
        for f in fragments:
            self.assertIn(f, verdict.reason)

    def test_clean_pass(self):
        v = judge(CLEAN)
        self.assertTrue(v.passed, v.reason)
        self.assertEqual(v.ktests, 2)

    def test_crlf_and_skipped_suffix_still_pass(self):
        text = (BOOT + TESTS + "[ SKIP ] kvm.only: no kvm\nktest: 2 passed, 0 failed, 1 skipped\n")
        v = judge(text.replace("\n", "\r\n"))
        self.assertTrue(v.passed, v.reason)
        self.assertEqual(v.ktests, 2)

    def test_skips_are_listed_with_their_reasons(self):
        text = (BOOT + "ktest: 3 of 9 registered ktests match '*'\n" + TESTS +
                "[ RUN  ] smp.pair\n[ SKIP ] smp.pair: needs a second CPU\nktest: 2 passed, 0 failed, 1 skipped\n")
        v = judge(text)
        self.assertTrue(v.passed, v.reason)
        self.assertEqual(v.skipped, ["smp.pair: needs a second CPU"])

    def test_a_boot_that_ran_fewer_ktests_than_matched_fails(self):
        text = BOOT + "ktest: 5 of 9 registered ktests match '*'\n" + TESTS + "ktest: 2 passed, 0 failed, 0 skipped\n"
        self.assertFails(judge(text), "ran 2 of the 5 ktests the glob matched")

    def test_a_summary_whose_skips_do_not_match_the_log_fails(self):
        text = BOOT + TESTS + "ktest: 2 passed, 0 failed, 3 skipped\n"
        self.assertFails(judge(text), "summary reports 3 skipped, but the log has 0 [ SKIP ] lines")

    def test_missing_summary(self):
        self.assertFails(judge(BOOT + TESTS), "no ktest summary", "last line: [ PASS ] sched.yield")

    def test_fail_line(self):
        text = BOOT + "[ RUN  ] heap.alloc\n[ FAIL ] heap.alloc: got 3, want 4\nktest: 0 passed, 1 failed\n"
        self.assertFails(judge(text, exit_code=35), "1 ktest failed: [ FAIL ] heap.alloc: got 3, want 4")

    def test_fail_line_counted_even_if_interleaved(self):
        text = BOOT + "cpu1: hi[ FAIL ] a.b: x\n[ FAIL ] c.d: y\nktest: 5 passed, 2 failed\n"
        self.assertFails(judge(text), "2 ktests failed: [ FAIL ] a.b: x")

    def test_summary_with_failures_but_no_fail_line(self):
        self.assertFails(judge(BOOT + "ktest: 3 passed, 1 failed\n"), "summary reports 1 failed")

    def test_zero_tests(self):
        self.assertFails(judge(BOOT + "ktest: 0 passed, 0 failed\n"), "zero ktests ran")

    def test_panic(self):
        text = BOOT + TESTS + "PANIC: page fault at 0xdeadbeef\n  backtrace:\n    #0 001000 kmain+0\n"
        self.assertFails(judge(text, exit_code=None), "PANIC: page fault at 0xdeadbeef")

    def test_panic_outranks_missing_summary_and_exit_code(self):
        self.assertFails(judge(BOOT + "PANIC: x\n", exit_code=35), "PANIC: x")

    def test_two_banners_is_a_reset(self):
        self.assertFails(judge(CLEAN + BANNER, exit_code=None), "reset detected (2 boot banners)")

    def test_banner_must_start_the_line(self):
        # A line that merely mentions the banner text is not a boot.
        v = judge(CLEAN.replace("ktest:", "echo Corral 0.1 booting\nktest:"))
        self.assertTrue(v.passed, v.reason)

    def test_cpus_online_must_match_request(self):
        self.assertTrue(judge(CLEAN, cpus=4).passed)
        self.assertFails(judge(CLEAN.replace("smp: 4", "smp: 1"), cpus=4), "1 of 4 CPUs online")

    def test_no_banner(self):
        self.assertFails(judge(TESTS + "ktest: 2 passed, 0 failed\n"), "no boot banner")

    def test_empty_log(self):
        self.assertFails(judge("", exit_code=1), "no boot banner", "no output")

    def test_timeout(self):
        v = judge(BOOT + "[ RUN  ] sched.forever\n", exit_code=None, timed_out=True, timeout_s=120)
        self.assertFails(v, "timeout after 120 s", "last line: [ RUN  ] sched.forever")

    def test_timeout_even_with_summary(self):
        # The kernel printed its summary but never powered off: still a timeout.
        self.assertFails(judge(CLEAN, exit_code=None, timed_out=True, timeout_s=5), "timeout after 5 s")

    def test_kernel_fail_exit_code(self):
        self.assertFails(judge(CLEAN, exit_code=35), "QEMU exit code 35", "isa-debug-exit")

    def test_wrong_exit_code(self):
        self.assertFails(judge(CLEAN, exit_code=0), "QEMU exit code 0", "expected 33")

    def test_qemu_own_error_code_is_not_a_pass(self):
        # QEMU exits 1 for its own errors (a bad -smp, say): never the kernel's success.
        self.assertFails(judge(CLEAN, exit_code=1), "QEMU exit code 1", "expected 33")

    def test_killed_exit_code(self):
        self.assertFails(judge(CLEAN, exit_code=None), "QEMU was killed")

    def test_custom_require_without_counts(self):
        text = BOOT + "SCENARIO torn naive: fault -> fault\n"
        v = judge(text, require=r"^SCENARIO \S+ \S+: (\S+) -> \1$")
        self.assertTrue(v.passed, v.reason)
        self.assertIsNone(v.ktests)
        v = judge(BOOT + "SCENARIO torn naive: fault -> ok\n", require=r"^SCENARIO \S+ \S+: (\S+) -> \1$")
        self.assertFails(v, "no line matches --require")

    def test_custom_require_with_counts(self):
        rx = r"^stress: (?P<passed>\d+) rounds, (?P<failed>\d+) faults"
        self.assertTrue(judge(BOOT + "stress: 40 rounds, 0 faults\n", require=rx).passed)
        self.assertFails(judge(BOOT + "stress: 40 rounds, 2 faults\n", require=rx), "summary reports 2 failed")

    def test_expect_fail_inverts_a_failure(self):
        v = lib.invert(judge(BOOT + "PANIC: boom\n"))
        self.assertTrue(v.passed)
        self.assertIn("failed as expected: PANIC: boom", v.reason)

    def test_expect_fail_inverts_a_pass(self):
        v = lib.invert(judge(CLEAN))
        self.assertFalse(v.passed)
        self.assertIn("expected a failure, but the run passed (2 ktests)", v.reason)


class CommandLineTests(unittest.TestCase):
    def test_default_command(self):
        args = lib.parse_args(["--cpus", "4"])
        self.assertEqual(args.name, "smp4-tcg")
        self.assertEqual(args.log, os.path.join("build", "test-logs", "smp4-tcg.log"))
        cmd = lib.qemu_command(args)
        self.assertEqual(cmd[:5], ["qemu-system-i386", "-kernel", "build/corral.elf", "-append", "test=* exit"])
        for flag in (["-smp", "4"], ["-m", "128M"], ["-display", "none"], ["-monitor", "none"],
                     ["-serial", "stdio"], ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"],
                     ["-accel", "tcg,thread=single"]):   # a bare "tcg" is multi-threaded on QEMU 7.2
            self.assertIn(flag, [cmd[i:i + 2] for i in range(len(cmd) - 1)])
        # A triple fault must reset the machine so the second banner shows it.
        self.assertNotIn("-no-reboot", cmd)
        self.assertNotIn("-no-shutdown", cmd)

    def test_accels_and_extra_args(self):
        cmd = lib.qemu_command(lib.parse_args(["--accel", "mttcg", "--qemu-arg", "-d", "--qemu-arg", "int"]))
        self.assertIn("tcg,thread=multi", cmd)
        self.assertEqual(cmd[-2:], ["-d", "int"])
        self.assertEqual(lib.qemu_command(lib.parse_args(["--accel", "kvm"]))[-2:], ["-accel", "kvm"])

    def test_name_derives_from_unusual_cmdline_words(self):
        args = lib.parse_args(["--append", "test=* selftest=fail exit"])
        self.assertEqual(args.name, "smp1-tcg-selftest-fail")
        self.assertEqual(lib.parse_args(["--append", "test=heap.* exit", "--accel", "mttcg"]).name,
                         "smp1-mttcg-test-heap-all")

    def test_iso(self):
        args = lib.parse_args(["--iso", "build/corral.iso"])
        self.assertEqual(lib.qemu_command(args)[1:3], ["-cdrom", "build/corral.iso"])
        self.assertNotIn("-append", lib.qemu_command(args))
        self.assertTrue(args.name.startswith("iso-"))
        with self.assertRaises(lib.UsageError):
            lib.parse_args(["--iso", "x.iso", "--append", "test=*"])

    def test_summary_line_follows_the_work_asked_for(self):
        self.assertEqual(lib.parse_args(["--append", "demo=all exit"]).require, lib.DEMO_REQUIRE)
        self.assertEqual(lib.parse_args(["--append", "stress=5 exit"]).require, lib.STRESS_REQUIRE)
        self.assertEqual(lib.parse_args(["--append", "test=* demo=all exit"]).require, lib.DEFAULT_REQUIRE)
        self.assertEqual(lib.parse_args([]).require, lib.DEFAULT_REQUIRE)
        demo = BOOT + "demo: 15 cells: 15 as expected, 0 unexpected, 0 skipped\n"
        self.assertTrue(judge(demo, require=lib.DEMO_REQUIRE).passed)
        bad = BOOT + "demo: 15 cells: 14 as expected, 1 unexpected, 0 skipped\n"
        self.assertIn("summary reports 1 failed", judge(bad, require=lib.DEMO_REQUIRE).reason)
        self.assertIn("no demo summary", judge(BOOT, require=lib.DEMO_REQUIRE).reason)

    def test_bad_values(self):
        for argv in (["--cpus", "0"], ["--timeout", "0"], ["--require", "("]):
            with self.assertRaises(lib.UsageError):
                lib.parse_args(argv)


if __name__ == "__main__":
    unittest.main()
