"""mkpatch --diff FIX.patch --verify: the module's proof run before it ships (docs/patch-from-diff.md §7).

  1. the running kernel's ELF boots in QEMU (-smp 4, tcg) with `load` keeping
     every CPU busy, and the module is loaded;
  2. it is applied with its strategy, the probe (FIX.probe: `$ CMD` lines,
     each followed by lines its output must have) is run, and it is reverted;
  3. it is applied and reverted again, `--rounds` times in all, still under
     load, running the probe's commands while it is applied;
  4. the module is unloaded and `text verify` must find the text clean;
  5. the patched tree's own kernel (built by mkpatch) boots fresh, and each
     probe command must print what it printed under the module (numbers
     aside: free frames, addresses and times differ between boots).
Any step that fails refuses the module: it is removed, and one line says why."""
import json
import os
import re
import subprocess
import sys
import tempfile

from mkpatch_compare_lib import Refusal

HERE = os.path.dirname(os.path.abspath(__file__))
CTL = os.path.join(HERE, "corralctl")
LOAD = "load 8 600"


def read_probe(path):
    """[(command, [expected lines])] from a probe file; '#' lines are comments."""
    steps = []
    with open(path) as f:
        for n, line in enumerate(f, start=1):
            line = line.rstrip("\n")
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif line.strip() and not line.startswith("#"):
                if not steps:
                    raise ValueError(f"{path}:{n}: an expected line before any `$ ` command")
                steps[-1][1].append(line)
    if not steps:
        raise ValueError(f"{path}: no `$ ` command")
    return steps


class Kernel:
    """One QEMU, driven through scripts/corralctl."""

    def __init__(self, tmp, label, elf, cpus):
        self.sock = os.path.join(tmp, label + ".sock")
        self.label = label
        self.call("boot", "--cpus", str(cpus), "--accel", "tcg", "--kernel", elf, timeout=180)

    def call(self, *args, timeout=180, check=True):
        # The kernel's answer may take long on a loaded host (a klp transition waits for every thread).
        patience = ["--timeout", str(timeout - 30)] if args[0] not in ("boot", "stop") else []
        p = subprocess.run([sys.executable, CTL, "--socket", self.sock, "--json", *patience, *args],
                           capture_output=True, text=True, timeout=timeout)
        try:
            out = json.loads(p.stdout)
        except ValueError:
            raise Refusal("verify", f"corralctl {args[0]} ({self.label}) gave no answer: {(p.stdout + p.stderr).strip()}")
        if check and p.returncode != 0:
            raise Refusal("verify", f"{self.label}: corralctl {' '.join(args[:2])}: {out.get('error') or p.stderr.strip()}")
        lines = out["output"]
        return lines + [out["error"]] if out.get("error") and out["error"] not in lines else lines

    def shell(self, command):
        return self.call("shell", command, check=False)

    def stop(self):
        if os.path.exists(self.sock + ".pid"):
            subprocess.run([sys.executable, CTL, "--socket", self.sock, "stop"], capture_output=True, timeout=60)


def masked(lines):
    return [re.sub(r"(0x)?[0-9a-fA-F]*[0-9][0-9a-fA-F]*", "N", ln) for ln in lines]


def verify(module, name, strategy, probe, running_elf, patched_elf, rounds, say):
    steps = read_probe(probe)
    with tempfile.TemporaryDirectory(prefix="mkpatch-verify-") as tmp:
        base = Kernel(tmp, "running kernel", running_elf, 4)
        try:
            base.call("shell", LOAD)
            base.call("load", module)
            seen = None
            for round_ in range(1, rounds + 1):
                applied = base.call("apply", name, strategy)[0]
                outputs = [base.shell(cmd) for cmd, _ in steps]
                if round_ == 1:
                    for (cmd, wanted), out in zip(steps, outputs):
                        for want in wanted:
                            if not any(want in ln for ln in out):
                                raise Refusal("verify", f"with the module applied, `{cmd}` printed no line with "
                                                        f"{want!r} (it printed {' | '.join(out) or 'nothing'})")
                    seen = outputs
                    say(f"mkpatch: verify: {applied}; the probe's {len(steps)} command(s) print what it expects")
                base.call("revert", name)
            base.call("unload", name)
            clean = base.shell("text verify")
            if not clean or not clean[-1].startswith("text verify: clean"):
                raise Refusal("verify", f"after the last revert: {' | '.join(clean)}")
            say(f"mkpatch: verify: applied and reverted {rounds} times under '{LOAD}', unloaded; {clean[-1]}")
        finally:
            base.stop()
        fresh = Kernel(tmp, "patched kernel", patched_elf, 4)
        try:
            for (cmd, _), under_module in zip(steps, seen):
                out = fresh.shell(cmd)
                if masked(out) != masked(under_module):
                    raise Refusal("verify", f"`{cmd}` prints {' | '.join(out)!r} on the patched tree's own kernel, "
                                            f"{' | '.join(under_module)!r} under the module")
        finally:
            fresh.stop()
        say("mkpatch: verify: a fresh boot of the patched tree prints the same for every probe command")
