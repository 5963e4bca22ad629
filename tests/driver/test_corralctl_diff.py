"""scripts/mkpatch --diff over the corpus in tests/diff (docs/patch-from-diff.md).

Each tests/diff/<case>.patch is a diff against the kernel's own sources, and
<case>.expect says what mkpatch must answer: its first line `exit N`, every
other line a line that must be in its output.  kpatch's naming: x.patch must
give a module, x-FAIL.patch must be refused (or fail) with the expected line
and write nothing, x-NOCHANGE.patch must find no change.  The corpus runs
without QEMU in run-tests' unit step, every case on one shared base build
(build/mkpatch/base, mkpatch's own, kept while the kernel's sources are the same).

Live (run-tests' QEMU step): every case with a <case>.probe is loaded into a
real kernel with corralctl, applied with the strategy mkpatch chose, and its
probe run: `$ CMD` lines are typed into the shell, and the lines after one
must be in what it prints once the patch is applied, and not before it, nor
after the revert.  Then the module is unloaded and `text verify` must be clean.
Two more live tests run `mkpatch --diff --verify`: one must prove the peek
fix, one must refuse it (and remove the module) for a probe it fails.

make test-diff (CORRAL_DIFF_VERIFY=1): `--verify` for every case with a probe."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import struct
import unittest
from concurrent.futures import ThreadPoolExecutor
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "diff")
WORK = os.path.join(ROOT, "build", "mkpatch")      # mkpatch's own default: the base build is shared
KERNEL = os.path.join(ROOT, "build", "corral.elf")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, HERE)
import corralctl_lib as lib  # noqa: E402
from steps import load_cases  # noqa: E402
from test_corralctl import ctl, kernel_elf_tools  # noqa: E402


def cases():
    return sorted(os.path.basename(p)[:-len(".patch")] for p in glob.glob(os.path.join(CORPUS, "*.patch")))


def expectation(case):
    with open(os.path.join(CORPUS, case + ".expect")) as f:
        lines = [ln.rstrip("\n") for ln in f if ln.strip()]
    code = int(lines[0].split()[1])
    return code, lines[1:]


def probe(case):
    """[(command, [expected lines])] of <case>.probe, or None."""
    path = os.path.join(CORPUS, case + ".probe")
    if not os.path.isfile(path):
        return None
    steps = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif line.strip() and not line.startswith("#"):
                steps[-1][1].append(line)
    return steps


def module_path(name):
    return os.path.join(WORK, name + ".kpatch")


def tree_changed_since(elf):
    """A file the kernel's build reads that is newer than `elf` (another edit under way), or None."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import mkpatch_diff_lib
    built = os.path.getmtime(elf)
    return next((p for p in mkpatch_diff_lib.tree_files() if os.path.getmtime(os.path.join(ROOT, p)) > built), None)


_TEST_KERNEL = {}
SNAPSHOT = os.path.join(ROOT, "build", "mkpatch-snapshot")


def snapshot():
    """The tree as it is now, mkpatch included, in build/mkpatch-snapshot: the work tree is shared, and
    mkpatch run from the live tree would build another base whenever an edit lands elsewhere."""
    if not os.path.isdir(os.path.join(SNAPSHOT, "scripts")):
        import mkpatch_diff_lib
        tmp = SNAPSHOT + ".partial"
        shutil.rmtree(tmp, ignore_errors=True)
        files = mkpatch_diff_lib.tree_files() + [os.path.relpath(p, ROOT) for p in glob.glob(
            os.path.join(ROOT, "scripts", "*")) if os.path.isfile(p)]
        for p in set(files):
            os.makedirs(os.path.dirname(os.path.join(tmp, p)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, p), os.path.join(tmp, p))
        shutil.rmtree(SNAPSHOT, ignore_errors=True)
        os.rename(tmp, SNAPSHOT)
    return SNAPSHOT


def test_kernel():
    """(mkpatch's answer for a no-change diff against build/corral.elf, the base build's own kernel).

    The cases run against the base build's kernel: the work tree is shared, and an edit under way
    elsewhere makes build/corral.elf another tree's kernel while the tests run.  Whether the base
    build reproduces build/corral.elf is its own test."""
    if not _TEST_KERNEL:
        shutil.rmtree(SNAPSHOT, ignore_errors=True)       # this run's tree, not an earlier run's
        first = mkpatch("blank-line-NOCHANGE", kernel=KERNEL, name="reproduce")
        elf = os.path.join(WORK, "test-kernel.elf")
        shutil.copy(os.path.join(WORK, "base", "tree", "build", "corral.elf"), elf)
        _TEST_KERNEL.update(first=first, elf=elf)
    return _TEST_KERNEL["first"], _TEST_KERNEL["elf"]


def mkpatch(case, *extra, name=None, kernel=None):
    """Runs mkpatch --diff on a case (as module `name`, by default the case's) against `kernel` (by
    default test_kernel()'s); returns (exit code, output, report or None)."""
    kernel = kernel or test_kernel()[1]
    name = name or case
    report = os.path.join(WORK, name + ".json")
    for stale in (report, module_path(name)):
        if os.path.exists(stale):
            os.remove(stale)
    tree = snapshot()
    p = subprocess.run([sys.executable, os.path.join(tree, "scripts", "mkpatch"), "--diff", os.path.join(CORPUS, case + ".patch"), "--name",
                        name.replace("-", "_")[:31], "-o", module_path(name), "--report", report, "--workdir", WORK,
                        "--kernel", kernel, *extra], cwd=tree, capture_output=True, text=True, timeout=900)
    data = None
    if os.path.isfile(report):
        with open(report) as f:
            data = json.load(f)
    return p.returncode, p.stdout + p.stderr, data


def skip_reason():
    if not os.path.isfile(KERNEL):
        return f"{KERNEL} does not exist (run `make` first)"
    if not shutil.which("patch"):
        return "the `patch` program is missing (scripts/install-deps test installs it)"
    return None


@unittest.skipIf(skip_reason(), skip_reason())
class DiffCorpus(unittest.TestCase):
    """Every case of tests/diff, and what mkpatch says of it."""

    @classmethod
    def setUpClass(cls):
        """Every case, two at a time (mkpatch builds the base once; the other run waits for it, then shares it)."""
        test_kernel()
        with ThreadPoolExecutor(max_workers=2) as pool:
            cls.results = dict(zip(cases(), pool.map(mkpatch, cases())))

    def test_the_base_build_is_build_corral_elf(self):
        """mkpatch's copy of the tree, built with the kernel's Makefile, gives build/corral.elf again."""
        code, out, _ = test_kernel()[0]
        if code == 2 and "the tree builds build-id" in out:
            newer = tree_changed_since(KERNEL)
            if newer:
                self.skipTest(f"{newer} changed after build/corral.elf was built (an edit under way)")
        self.assertEqual(code, 3, out)

    def check_case(self, case):
        code, wanted = expectation(case)
        got, out, report = self.results[case]
        self.assertEqual(got, code, f"{case}: exit {got}, want {code}:\n{out}")
        for line in wanted:
            self.assertTrue(any(line in ln for ln in out.splitlines()), f"{case}: no line with {line!r}:\n{out}")
        self.assertIsNotNone(report, f"{case}: no --report written:\n{out}")
        self.assertEqual(report["exit"], code)
        if code == 0:
            with open(module_path(case), "rb") as f:
                header = lib.parse_kpatch_header(f.read())
            patched = [c["name"] for c in report["changed"] if c.get("patched")]
            self.assertEqual(sorted(t for t, _, _ in header.targets), sorted(patched))
            self.assertEqual({s for _, _, s in header.targets}, {report["strategy"]})
            self.assertEqual(report["strategy"], "int3" if len(patched) == 1 else "klp")
        else:
            self.assertFalse(os.path.exists(module_path(case)), f"{case}: refused, yet a module was written")
        if code == 2:
            refused = [ln for ln in out.splitlines() if ln.startswith("mkpatch: refused: ")]
            self.assertTrue(refused, out)
            self.assertEqual(len(refused), len(report["refused"]))
        if code == 3:
            self.assertEqual(report["changed"], [])

    def test_a_base_build_that_is_not_the_running_kernel_is_refused(self):
        """The patched kernel of another case stands in for a running kernel built from other sources."""
        got, out, _ = self.results["peek-null-page"]
        self.assertEqual(got, 0, out)
        other = os.path.join(WORK, "other-kernel.elf")
        shutil.copy(os.path.join(WORK, "peek_null_page", "tree", "build", "corral.elf"), other)
        got, out, report = mkpatch("sym-message", kernel=other, name="other-kernel")
        self.assertEqual(got, 2, out)
        self.assertRegex(out, r"(?m)^mkpatch: refused: \S*other-kernel.elf: the tree builds build-id 0x[0-9a-f]{8}, "
                              r"the running kernel is 0x[0-9a-f]{8}")
        self.assertFalse(os.path.exists(module_path("other-kernel")))
        self.assertEqual(report["exit"], 2)

    def test_strategy_asked_for(self):
        """--strategy overrides the choice, and is refused for an entry without the layout it needs."""
        code, out, report = mkpatch("peek-null-page", "--strategy", "stop-check", name="peek-stop-check")
        self.assertEqual(code, 0, out)
        self.assertEqual((report["strategy"], report["strategy_reason"]), ("stop-check", "asked for with --strategy"))
        with open(module_path("peek-stop-check"), "rb") as f:
            self.assertEqual({s for _, _, s in lib.parse_kpatch_header(f.read()).targets}, {"stop-check"})
        code, out, _ = mkpatch("peek-null-page", "--strategy", "hotpatch", name="peek-hotpatch")
        self.assertEqual(code, 2, out)
        self.assertIn("mkpatch: refused: _ZN6corral12_GLOBAL__N_18cmd_peekEiPPc.part.0: --strategy hotpatch needs the "
                      "hotpatch layout at its entry; it has the int3 layout", out)
        self.assertFalse(os.path.exists(module_path("peek-hotpatch")))

    def test_every_case_has_its_expectation(self):
        for case in cases():
            self.assertTrue(os.path.isfile(os.path.join(CORPUS, case + ".expect")), f"{case}.expect is missing")
            code, _ = expectation(case)
            self.assertEqual(code != 0, case.endswith(("-FAIL", "-NOCHANGE")), f"{case}: its name and exit {code}")
        self.assertGreaterEqual(len(cases()), 12)


def add_case_tests():
    for case in cases():
        setattr(DiffCorpus, "test_" + case.replace("-", "_"), lambda self, c=case: self.check_case(c))


add_case_tests()


def live_skip_reason():
    if not shutil.which("qemu-system-i386"):
        return "qemu-system-i386 is not installed (scripts/install-deps installs it)"
    return skip_reason()


@unittest.skipIf(live_skip_reason(), live_skip_reason())
class DiffLive(unittest.TestCase):
    """The corpus' modules with a probe, loaded into a real kernel (-smp 2, tcg) and applied."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="corralctl-diff-")
        cls.kernel = shutil.copy(test_kernel()[1], os.path.join(cls.tmp, "corral.elf"))
        cls.sock = os.path.join(cls.tmp, "serial.sock")
        code, out, err = ctl(cls.sock, "boot", "--cpus", "2", "--accel", "tcg", "--kernel", cls.kernel, timeout=150)
        if code != 0:
            shutil.rmtree(cls.tmp)
            raise AssertionError(f"corralctl boot failed ({code}): {out}\n{err}")

    @classmethod
    def tearDownClass(cls):
        if os.path.exists(cls.sock + ".pid"):
            ctl(cls.sock, "stop")
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def shell(self, command):
        _, out, err = ctl(self.sock, "shell", command)
        return out["output"] + ([out["error"]] if out.get("error") else [])

    def ok(self, *args):
        code, out, err = ctl(self.sock, *args)
        self.assertEqual(code, 0, f"corralctl {' '.join(args)}: {out}\n{err}")
        return out["output"]

    def probe_shows(self, steps):
        """For each step: are all its expected lines in what its command printed?"""
        return [all(any(want in ln for ln in self.shell(cmd)) for want in wanted) for cmd, wanted in steps]

    def test_a_module_made_for_other_code_is_refused(self):
        """The loader's .oldcode check: the module's record of its target's code, one bit off."""
        code, out, _ = mkpatch("peek-null-page")
        self.assertEqual(code, 0, out)
        with open(module_path("peek-null-page"), "rb") as f:
            blob = bytearray(f.read())
        header_size = struct.unpack_from("<I", blob, 12)[0]
        payload = os.path.join(self.tmp, "payload.o")
        with open(payload, "wb") as f:
            f.write(blob[header_size:])
        elf = kernel_elf_tools().Elf32(payload, 1)
        old_code = elf.section(".oldcode")
        self.assertIsNotNone(old_code, "mkpatch --diff wrote no .oldcode section")
        self.assertEqual(old_code["size"], 12)
        blob[header_size + old_code["offset"] + 8] ^= 1          # the first target's hash
        struct.pack_into("<I", blob, 20, zlib.crc32(bytes(blob[header_size:])))
        bad = os.path.join(self.tmp, "other_code.kpatch")
        with open(bad, "wb") as f:
            f.write(blob)
        code, answer, err = ctl(self.sock, "load", bad)
        self.assertNotEqual(code, 0, f"{answer}\n{err}")
        self.assertRegex(answer["error"] or "", r"module: target 0: _ZN6corral12_GLOBAL__N_18cmd_peekEiPPc\.part\.0 is "
                                               r"not the code the module was made for \(its \d+ bytes hash to 0x")
        self.assertEqual(lib.parse_modules(self.ok("modules")), [])

    def test_verify_proves_a_module_in_qemu(self):
        code, out, report = mkpatch("peek-null-page", "--verify", "--rounds", "2", name="verified-peek")
        self.assertEqual(code, 0, out)
        for line in ("mkpatch: verify: applied verified_peek to corral::(anonymous namespace)::cmd_peek with int3; "
                     "the probe's 1 command(s) print what it expects",
                     "mkpatch: verify: applied and reverted 2 times under 'load 8 600', unloaded; text verify: clean",
                     "mkpatch: verify: a fresh boot of the patched tree prints the same for every probe command"):
            self.assertIn(line, out)
        self.assertEqual(report["verified"]["rounds"], 2)
        self.assertTrue(os.path.isfile(module_path("verified-peek")))

    def test_verify_refuses_a_module_whose_probe_fails(self):
        probe = os.path.join(self.tmp, "wrong.probe")
        with open(probe, "w") as f:
            f.write("$ peek 0 16\nerror: peek: not what the fix prints\n")
        code, out, report = mkpatch("peek-null-page", "--verify", "--probe", probe, name="unproven-peek")
        self.assertEqual(code, 2, out)
        self.assertIn("mkpatch: refused: verify: with the module applied, `peek 0 16` printed no line with "
                      "'error: peek: not what the fix prints' (it printed error: peek: 0 is in the null page)", out)
        self.assertFalse(os.path.exists(module_path("unproven-peek")), "an unproven module was left behind")
        self.assertNotIn("module", report)

    def check_live(self, case):
        steps = probe(case)
        code, out, report = mkpatch(case)
        self.assertEqual(code, 0, out)
        name = case.replace("-", "_")[:31]
        self.assertEqual(self.probe_shows(steps), [False] * len(steps), f"{case}: the fix shows before the patch")
        loaded = self.ok("load", module_path(case))
        self.assertTrue(loaded[-1].startswith(f"loaded {name}:"), loaded)
        try:
            applied = self.ok("apply", name)[0]
            self.assertTrue(applied.startswith(f"applied {name}"), applied)
            self.assertIn(f"with {report['strategy']}", applied)
            self.assertEqual(self.probe_shows(steps), [True] * len(steps), f"{case}: the fix does not show")
        finally:
            ctl(self.sock, "revert", name)
            ctl(self.sock, "unload", name)
        self.assertEqual(self.probe_shows(steps), [False] * len(steps), f"{case}: the fix shows after the revert")
        verify = self.shell("text verify")
        self.assertTrue(verify[-1].startswith("text verify: clean"), verify)


def add_live_tests():
    for case in cases():
        if probe(case) is not None:
            setattr(DiffLive, "test_" + case.replace("-", "_"), lambda self, c=case: self.check_live(c))


add_live_tests()


@unittest.skipIf(live_skip_reason(), live_skip_reason())
class DiffVerify(unittest.TestCase):
    """make test-diff: mkpatch --diff --verify for every case with a probe (two boots and three rounds each)."""

    def check_verify(self, case):
        code, out, report = mkpatch(case, "--verify", name="verify-" + case)
        self.assertEqual(code, 0, out)
        self.assertIn("mkpatch: verify: a fresh boot of the patched tree prints the same for every probe command", out)
        self.assertEqual(report["verified"]["rounds"], 3)


for _case in cases():
    if probe(_case) is not None:
        setattr(DiffVerify, "test_" + _case.replace("-", "_"), lambda self, c=_case: self.check_verify(c))


def load_tests(loader, tests, pattern):
    if os.environ.get("CORRAL_DIFF_VERIFY") == "1":        # make test-diff
        return loader.loadTestsFromTestCase(DiffVerify)
    if not os.environ.get("CORRAL_DRIVER_UNIT_ONLY") and not os.environ.get("CORRAL_DRIVER_LIVE_ONLY"):
        suite = unittest.TestSuite()
        for case in (DiffCorpus, DiffLive):
            suite.addTests(loader.loadTestsFromTestCase(case))
        return suite
    return load_cases(loader, tests, (DiffCorpus,), (DiffLive,))


if __name__ == "__main__":
    unittest.main()
