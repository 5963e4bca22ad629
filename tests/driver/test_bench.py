"""The benchmarks' host side (scripts/corral_bench_lib.py, scripts/bench) on
canned serial logs and against tests/driver/fake_qemu.py: every way a bench
boot breaks the kernel's output contract must fail it, with the offending
line quoted; a missed goal must not; results.json and the plots must come
out whole.  No real QEMU."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, HERE)
import corral_bench_lib as bench  # noqa: E402
import corral_bench_plots as plots  # noqa: E402
from corral_qemu_lib import KERNEL_FAIL_EXIT, KERNEL_PASS_EXIT  # noqa: E402
from fake_qemu import bench_lines, bench_log  # noqa: E402

BENCH = os.path.join(ROOT, "scripts", "bench")
FAKE = os.path.join(HERE, "fake_qemu.py")
GOOD4 = bench_log(4)
GOOD1 = bench_log(1)
CALL_LINE = next(ln for ln in bench_lines(4) if '"name": "call"' in ln)


def judge(text, cpus=4, exit_code=KERNEL_PASS_EXIT, timed_out=False, **kw):
    return bench.judge_bench_boot(text, exit_code, timed_out, cpus, **kw)


def with_line(log, old, new):
    """The log with one line replaced (it must be there)."""
    assert old in log.splitlines(), old
    return "\n".join(new if ln == old else ln for ln in log.splitlines()) + "\n"


def bench_obj(**changes):
    obj = json.loads(CALL_LINE[len("BENCH "):])
    obj.update(changes)
    return obj


def line_of(obj):
    return "BENCH " + json.dumps(obj)


class ParseTests(unittest.TestCase):
    def assertRejected(self, line, *fragments):
        with self.assertRaises(bench.BenchLineError) as cm:
            bench.parse_bench_lines("Corral 0.1 booting\n" + line + "\n")
        message = str(cm.exception)
        self.assertIn(bench._short(line, bench.QUOTE_LIMIT), message)     # the line is quoted
        for f in fragments:
            self.assertIn(f, message)
        return message

    def test_good_log_parses_every_line(self):
        results = bench.parse_bench_lines(GOOD4)
        self.assertEqual(len(results), len(bench_lines(4)))
        self.assertEqual({r["name"] for r in results}, set(bench.NAMES))
        self.assertEqual(results[0]["case"], "cpu1")

    def test_crlf_log_parses(self):
        self.assertEqual(len(bench.parse_bench_lines(GOOD4.replace("\n", "\r\n"))), len(bench_lines(4)))

    def test_lines_that_only_look_alike_are_not_bench_lines(self):
        text = "BENCHMARK {x}\nbench: ipi needs 2 CPUs, skipped\n  BENCH {}\n"
        self.assertEqual(bench.parse_bench_lines(text), [])

    def test_malformed_json(self):
        self.assertRejected('BENCH {"name": "call", "case": "plain",', "not JSON")

    def test_not_an_object(self):
        self.assertRejected("BENCH [1, 2, 3]", "not a JSON object")

    def test_missing_field(self):
        obj = bench_obj()
        del obj["median"]
        self.assertRejected(line_of(obj), "no field 'median'")

    def test_missing_own_field(self):
        obj = bench_obj()
        del obj["ratio_to_plain"]
        self.assertRejected(line_of(obj), "no field 'ratio_to_plain'")

    def test_wrong_types(self):
        self.assertRejected(line_of(bench_obj(cpus="4")), "'cpus' is \"4\", not an int")
        self.assertRejected(line_of(bench_obj(samples=True)), "'samples' is true, not an int")
        self.assertRejected(line_of(bench_obj(p90="fast")), "'p90' is \"fast\", not a number")
        self.assertRejected(line_of(bench_obj(goal="x <= 1", met="yes")), "'met'")

    def test_nan_is_not_a_number(self):
        line = line_of(bench_obj()).replace(f'"max": {bench_obj()["max"]}', '"max": NaN')
        self.assertIn("NaN", line)
        self.assertRejected(line, "NaN")

    def test_min_above_median(self):
        self.assertRejected(line_of(bench_obj(min=30.5, median=20)), "min 30.5 > median 20")

    def test_p99_above_max(self):
        self.assertRejected(line_of(bench_obj(p99=900)), "p99 900 > max 40")

    def test_samples_below_one(self):
        self.assertRejected(line_of(bench_obj(samples=0)), "samples 0 < 1")

    def test_unknown_name_and_unit(self):
        self.assertRejected(line_of(bench_obj(name="nope")), "unknown benchmark name 'nope'")
        self.assertRejected(line_of(bench_obj(unit="ms")), "unit 'ms'")
        self.assertRejected(line_of(bench_obj(unit="us")), "call unit 'us', not 'cycles'")

    def test_a_call_case_beyond_the_list_is_accepted(self):
        # The kernel prints plain-2jmp (the baseline of hotpatch-patched) besides the six cases.
        self.assertEqual(bench.parse_bench_lines(line_of(bench_obj(case="plain-2jmp")))[0]["case"], "plain-2jmp")

    def test_goal_needs_met(self):
        self.assertRejected(line_of(bench_obj(goal="call/plain <= 30")), "'goal' and 'met' come together")

    def test_per_benchmark_rules(self):
        ipi = json.loads(bench_lines(4)[0][len("BENCH "):])
        self.assertRejected(line_of(dict(ipi, target=2)), "case 'cpu1' but target 2")
        corral = json.loads(next(ln for ln in bench_lines(4) if '"corral"' in ln)[len("BENCH "):])
        self.assertRejected(line_of(dict(corral, ncpus=5)), "ncpus 5 is not in 2..cpus (4)")
        self.assertRejected(line_of(dict(corral, case="asleep")), "corral case 'asleep'")
        window = json.loads(next(ln for ln in bench_lines(4) if '"window"' in ln)[len("BENCH "):])
        self.assertRejected(line_of(dict(window, phases={"gather": "slow"})), "phase 'gather'")
        batch = json.loads(next(ln for ln in bench_lines(4) if '"batch"' in ln)[len("BENCH "):])
        self.assertRejected(line_of(dict(batch, mode="both")), "batch mode 'both'")
        boot = json.loads(next(ln for ln in bench_lines(4) if '"boot"' in ln)[len("BENCH "):])
        self.assertRejected(line_of(dict(boot, max=boot["max"] + 1)), "boot stats differ")
        self.assertRejected(line_of(dict(boot, case="ap4")), "boot case 'ap4'")

    def test_a_long_line_is_trimmed_in_the_reason(self):
        line = line_of(bench_obj(min=99.0, padding="x" * 500))
        message = self.assertRejected(line, "min 99.0 > median")
        self.assertLess(len(message), 300)
        self.assertNotIn("x" * 300, message)


class JudgeTests(unittest.TestCase):
    def assertFails(self, verdict, *fragments):
        ok, reason, _ = verdict
        self.assertFalse(ok, "expected a failure")
        for f in fragments:
            self.assertIn(f, reason)
        return reason

    def test_good_run_passes(self):
        ok, reason, results = judge(GOOD4)
        self.assertTrue(ok, reason)
        self.assertEqual(reason, "")
        self.assertEqual(len(results), len(bench_lines(4)))

    def test_missed_goal_is_not_a_failure(self):
        ok, reason, results = judge(GOOD4)
        self.assertTrue(ok, reason)
        self.assertTrue(any(r.get("met") is False for r in results))

    def test_malformed_json_line_fails_quoting_it(self):
        bad = 'BENCH {"name": "call", "case": "plain", oops}'
        self.assertFails(judge(with_line(GOOD4, CALL_LINE, bad)), "malformed BENCH line", bad)

    def test_missing_field_fails(self):
        obj = bench_obj()
        del obj["p99"]
        self.assertFails(judge(with_line(GOOD4, CALL_LINE, line_of(obj))), "no field 'p99'", line_of(obj)[:100])

    def test_min_above_median_fails(self):
        bad = line_of(bench_obj(min=50))
        self.assertFails(judge(with_line(GOOD4, CALL_LINE, bad)), "min 50 > median 20", bad[:100])

    def test_wrong_summary_count_fails(self):
        n = len(bench_lines(4))
        text = with_line(GOOD4, f"bench: {n} results", f"bench: {n + 1} results")
        self.assertFails(judge(text), f"'bench: {n + 1} results'", f"printed {n} BENCH lines")

    def test_missing_summary_fails(self):
        text = GOOD4.replace(f"bench: {len(bench_lines(4))} results\n", "")
        self.assertFails(judge(text), "no `bench: N results` line", "last line: BENCH")

    def test_two_summaries_fail(self):
        n = len(bench_lines(4))
        self.assertFails(judge(GOOD4 + f"bench: {n} results\n"), "2 `bench: N results` lines")

    def test_kernel_failure_line_fails(self):
        text = GOOD4 + "bench: FAILURE window: corral aborted\n"
        self.assertFails(judge(text, exit_code=KERNEL_FAIL_EXIT), "the kernel reported bench: FAILURE window: corral aborted")

    def test_panic_fails(self):
        text = GOOD4 + "PANIC: page fault at 0xdeadbeef\n"
        self.assertFails(judge(text, exit_code=None), "PANIC: page fault at 0xdeadbeef")

    def test_panic_is_reported_before_a_malformed_line(self):
        text = with_line(GOOD4, CALL_LINE, "BENCH {") + "PANIC: x\n"
        self.assertFails(judge(text, exit_code=None), "PANIC: x")

    def test_reset_fails(self):
        self.assertFails(judge(GOOD4 + GOOD4), "reset detected (2 boot banners)")

    def test_wrong_exit_code_fails(self):
        self.assertFails(judge(GOOD4, exit_code=KERNEL_FAIL_EXIT), "QEMU exit code 35")
        self.assertFails(judge(GOOD4, exit_code=1), "QEMU exit code 1", "expected 33")
        self.assertFails(judge(GOOD4, exit_code=None), "QEMU was killed")

    def test_timeout_fails(self):
        self.assertFails(judge(GOOD4, exit_code=None, timed_out=True, timeout_s=900), "timeout after 900 s")

    def test_no_banner_fails(self):
        self.assertFails(judge("", exit_code=1), "no boot banner")

    def test_smp1_without_ipi_and_corral_passes(self):
        self.assertNotIn('"ipi"', GOOD1)
        ok, reason, results = judge(GOOD1, cpus=1)
        self.assertTrue(ok, reason)
        self.assertEqual({r["name"] for r in results}, {"window", "batch", "call", "boot"})

    def test_smp1_with_only_call_and_boot_passes(self):
        lines = [ln for ln in bench_lines(1) if '"name": "call"' in ln or '"name": "boot"' in ln]
        text = "Corral 0.1 booting\nsmp: 1 CPUs online\n" + "\n".join(lines) + f"\nbench: {len(lines)} results\n"
        ok, reason, results = judge(text, cpus=1)
        self.assertTrue(ok, reason)
        self.assertEqual({r["name"] for r in results}, {"call", "boot"})

    def test_smp1_needs_call_and_boot(self):
        lines = [ln for ln in GOOD1.splitlines() if '"name": "call"' not in ln]
        n = sum(ln.startswith("BENCH ") for ln in lines)
        text = "\n".join(lines).replace(f"bench: {len(bench_lines(1))} results", f"bench: {n} results")
        self.assertFails(judge(text, cpus=1), "no results for call at -smp 1")

    def test_smp4_needs_every_benchmark(self):
        lines = [ln for ln in GOOD4.splitlines() if '"name": "ipi"' not in ln]
        n = sum(ln.startswith("BENCH ") for ln in lines)
        text = "\n".join(lines).replace(f"bench: {len(bench_lines(4))} results", f"bench: {n} results")
        self.assertFails(judge(text), "no results for ipi at -smp 4")

    def test_only_expects_just_that_benchmark(self):
        lines = [ln for ln in bench_lines(4) if '"name": "window"' in ln]
        text = "Corral 0.1 booting\n" + "\n".join(lines) + f"\nbench: {len(lines)} results\n"
        self.assertTrue(judge(text, only="window")[0])
        self.assertFails(judge(text, only="batch"), "no results for batch")

    def test_cpus_in_a_line_must_match_the_boot(self):
        bad = CALL_LINE.replace('"cpus": 4', '"cpus": 2')
        self.assertFails(judge(with_line(GOOD4, CALL_LINE, bad)), "says cpus 2, but the boot had -smp 4", bad[:100])

    def test_fewer_cpus_online_fails(self):
        self.assertFails(judge(bench_log(2), cpus=4), "2 of 4 CPUs online")


def run_of(cpus, accel="tcg", **extra):
    _, _, results = judge(bench_log(cpus), cpus=cpus)
    return dict(name=f"smp{cpus}-{accel}", cpus=cpus, accel=accel, seconds=1.0, results=results, **extra)


class GoalAndPlanTests(unittest.TestCase):
    def test_goal_lines(self):
        lines, met, missed = bench.goal_lines([run_of(2)])
        self.assertEqual((met, missed), (13, 1))       # corral 3, window 2, batch 8, call 1; irqoff misses
        self.assertEqual(len(lines), 14)
        self.assertIn("goal corral/irqoff corral/ipi <= 2.5: 3 x IPI (36 / 12 us) -> MISSED (smp2-tcg, ncpus=2)", lines)
        self.assertIn("goal corral/idle corral/ipi <= 2.5: 1.5 x IPI (18 / 12 us) -> met (smp2-tcg, ncpus=2)", lines)
        self.assertIn("goal window/corral-scan scan of 256 sleeping threads <= 1 corral: scan 0.913 x corral "
                      "(134 / 146.7 us) -> met (smp2-tcg, threads=256)", lines)
        self.assertIn("goal batch/int3 three sync rounds whatever K: 0 corrals, 3 syncs for k=16 -> met "
                      "(smp2-tcg, k=16, mode=one)", lines)

    def test_goal_lines_skip_failed_runs(self):
        self.assertEqual(bench.goal_lines([dict(run_of(2), failure="PANIC: x")]), ([], 0, 0))

    def test_summary_counts_only_passed_runs(self):
        runs = [run_of(1), run_of(2), dict(run_of(4), results=[], failure="PANIC: x")]
        lines = bench.summarize(runs, boots_failed=1)
        n = len(bench_lines(1)) + len(bench_lines(2))
        self.assertEqual(lines[-1], f"bench: 3 boots, {n} results, 24 goals met, 1 missed; 1 boots FAILED")
        self.assertEqual(len(lines), 26)

    def test_goal_value_by_benchmark(self):
        by = {(r["name"], r["case"], r.get("threads")): r for r in run_of(2)["results"]}
        hot = dict(by[("window", "hotpatch", 16)], median=50, corral_median=40)
        self.assertEqual(bench.goal_value(hot), "window 1.25 x corral (50 / 40 us)")
        self.assertEqual(bench.goal_value(dict(hot, corral_median=0)), "window inf x corral (50 / 0 us)")
        self.assertEqual(bench.goal_value(dict(bench_obj(case="hotpatch", median=21), ratio_to_plain=1.05)),
                         "1.05 x plain (21 cycles)")
        self.assertEqual(bench.goal_value(by[("boot", "shell", None)]), "5500 us")

    def test_cmdline(self):
        self.assertEqual(bench.cmdline(None, None), "bench=all exit")
        self.assertEqual(bench.cmdline("ipi", 7), "bench=ipi exit samples=7")

    def test_plan_adds_kvm_only_where_it_works(self):
        boots, notes = bench.plan_boots([1, 2], ["mttcg"], None, None)
        self.assertEqual(boots, [(1, "mttcg"), (1, "kvm"), (2, "mttcg"), (2, "kvm")])
        self.assertEqual(notes, [])
        boots, notes = bench.plan_boots([1, 2], ["mttcg", "kvm"], None, "no /dev/kvm")
        self.assertEqual(boots, [(1, "mttcg"), (2, "mttcg")])
        self.assertEqual(notes, ["kvm: skipped (no /dev/kvm)"])

    def test_plan_skips_one_cpu_for_two_cpu_benchmarks(self):
        boots, notes = bench.plan_boots([1, 4], ["tcg"], "corral", "no /dev/kvm")
        self.assertEqual(boots, [(4, "tcg")])
        self.assertIn("bench: corral needs 2 CPUs: no boot at -smp 1", notes)


PYPLOT, NO_PYPLOT = plots.load_pyplot()


@unittest.skipIf(PYPLOT is None, f"plots not tested: {NO_PYPLOT}")
class PlotTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_every_plot_writes_an_svg(self):
        runs = [run_of(1), run_of(4), run_of(2, "mttcg")]
        for plotter, name in zip(plots.PLOTTERS, plots.PLOTS):
            path = os.path.join(self.tmp.name, name)
            note = plotter(PYPLOT, runs, path)
            self.assertEqual(note, f"wrote {path}")
            with open(path) as f:
                svg = f.read()
            self.assertIn("<svg", svg, name)
            self.assertGreater(len(svg), 2000, name)
            self.assertIn("smp4-tcg", svg, f"{name}: drawn from the run with the most CPUs")

    def test_missing_data_skips_without_crashing(self):
        runs_by_case = {"no runs": [], "only failed runs": [dict(run_of(4), failure="PANIC: x")],
                        "no results": [dict(run_of(4), results=[])]}
        for what, runs in runs_by_case.items():
            for plotter, name in zip(plots.PLOTTERS, plots.PLOTS):
                path = os.path.join(self.tmp.name, name)
                note = plotter(PYPLOT, runs, path)
                self.assertTrue(note.startswith(f"skipped {name}: no "), f"{what}: {note}")
                self.assertFalse(os.path.exists(path), f"{what}: {name}")

    def test_one_cpu_run_skips_only_the_corral_plot(self):
        notes = plots.draw_plots([run_of(1)], self.tmp.name)
        self.assertEqual(notes[0], "skipped corral_vs_cpus.svg: no corral results")
        self.assertTrue(all(n.startswith("wrote ") for n in notes[1:]), notes)

    def test_window_phases_needs_threads_16(self):
        run = run_of(2)
        run["results"] = [r for r in run["results"] if r.get("threads") != 16]
        note = plots.plot_window_phases(PYPLOT, [run], os.path.join(self.tmp.name, "w.svg"))
        self.assertEqual(note, "skipped w.svg: no window results at threads=16")


class CollectorTests(unittest.TestCase):
    """scripts/bench end to end, with fake_qemu.py standing in for QEMU."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.out = os.path.join(self.tmp.name, "bench")

    def drive(self, *argv, fake_mode=None):
        env = dict(os.environ, CORRAL_QEMU_BINARY=FAKE)
        if fake_mode:
            env["CORRAL_FAKE_BENCH"] = fake_mode
        return subprocess.run([sys.executable, BENCH, "--kernel", FAKE, "--out", self.out, *argv],
                              env=env, capture_output=True, text=True, timeout=120)

    def results(self):
        with open(os.path.join(self.out, "results.json")) as f:
            return json.load(f)

    def test_good_runs_write_results_json_and_summary(self):
        p = self.drive("--cpus", "1,2")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, rf"(?m)^bench smp1-mttcg: {len(bench_lines(1))} results in \d+ s$")
        self.assertRegex(p.stdout, rf"(?m)^bench smp2-mttcg: {len(bench_lines(2))} results in \d+ s$")
        self.assertIn("goal corral/irqoff corral/ipi <= 2.5: 3 x IPI (36 / 12 us) -> MISSED (smp2-mttcg, ncpus=2)",
                      p.stdout)
        data = self.results()
        meta = data["meta"]
        self.assertEqual(set(meta), {"date", "git_commit", "qemu_version", "host_cpu", "host_cores", "accels"})
        self.assertEqual(meta["qemu_version"], "QEMU emulator version 0.0.0 (fake_qemu.py)")
        self.assertEqual(meta["host_cores"], os.cpu_count())
        self.assertIn("mttcg", meta["accels"])
        self.assertTrue(meta["git_commit"])
        runs = {(r["cpus"], r["accel"]): r for r in data["runs"]}
        for cpus in (1, 2):
            run = runs[(cpus, "mttcg")]
            self.assertEqual(len(run["results"]), len(bench_lines(cpus)))
            self.assertNotIn("failure", run)
            self.assertIsInstance(run["seconds"], float)
            self.assertTrue(os.path.isfile(os.path.join(self.out, "logs", f"smp{cpus}-mttcg.log")))
        n = sum(len(r["results"]) for r in data["runs"])
        self.assertRegex(p.stdout.splitlines()[-1], rf"^bench: {len(data['runs'])} boots, {n} results, "
                                                    rf"\d+ goals met, \d+ missed$")
        if PYPLOT is not None:
            for name in plots.PLOTS:
                self.assertGreater(os.path.getsize(os.path.join(self.out, name)), 0, name)

    def test_a_failed_boot_fails_the_run_and_is_recorded(self):
        p = self.drive("--cpus", "2", "--no-plots", fake_mode="bad-count")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"(?m)^FAIL bench smp2-mttcg: the kernel says 'bench: \d+ results', but printed "
                                   r"\d+ BENCH lines  log: .*smp2-mttcg\.log$")
        run = self.results()["runs"][0]
        self.assertIn("printed", run["failure"])
        self.assertEqual(run["results"], [])
        self.assertRegex(p.stdout.splitlines()[-1], r"; \d+ boots FAILED$")

    def test_only_a_two_cpu_benchmark_skips_the_one_cpu_boot(self):
        p = self.drive("--cpus", "1,2", "--only", "ipi", "--samples", "5", "--no-plots")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("bench: ipi needs 2 CPUs: no boot at -smp 1", p.stdout)
        self.assertIn("`bench=ipi exit samples=5`", p.stdout)
        self.assertEqual({r["cpus"] for r in self.results()["runs"]}, {2})
        self.assertFalse(any(name.endswith(".svg") for name in os.listdir(self.out)))

    def test_replot_from_results_json(self):
        bench.write_results(os.path.join(self.out, "results.json"), {}, [run_of(2), run_of(1)])
        p = self.drive("--plot", os.path.join(self.out, "results.json"))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.splitlines()[-1], f"bench: 2 boots, {len(bench_lines(1)) + len(bench_lines(2))} "
                                                    f"results, 24 goals met, 1 missed")
        if PYPLOT is not None:
            self.assertIn(f"wrote {os.path.join(self.out, 'batch.svg')}", p.stdout)

    def test_usage_errors_exit_2(self):
        for argv in (["--kernel", os.path.join(self.tmp.name, "missing.elf")], ["--cpus", "0"],
                     ["--cpus", "two"], ["--accel", "hvf"], ["--samples", "0"], ["--only", "nope"]):
            p = self.drive(*argv)
            self.assertEqual(p.returncode, 2, argv)
            self.assertTrue(p.stderr.strip(), argv)


if __name__ == "__main__":
    unittest.main()
