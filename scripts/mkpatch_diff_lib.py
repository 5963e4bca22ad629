"""mkpatch --diff FIX.patch: a live patch module made from a source diff (docs/patch-from-diff.md).

The steps, each of which can stop the run with one line:
  1. the diff's files: an assembly source, the linker script, the build
     rules or tools, the boot path are refused before anything is built;
  2. the base tree (the work tree's files, copied to build/mkpatch/base/tree)
     is built with the kernel's own Makefile; its build-id must be
     build/corral.elf's, or the diff is not against the kernel that runs.
     The base build is kept and reused while the tree is the same;
  3. a copy of the base (objects included, so only what the diff touches is
     compiled again) gets the diff with zero fuzz, and `#line` directives
     after every hunk that adds or removes lines, so code below it keeps its
     line numbers (__LINE__ in an assertion is not a change);
  4. every object that differs is compared function by function
     (scripts/mkpatch_compare_lib.py), changed data is refused;
  5. the changed functions are checked (NOT_PATCHABLE, the patching
     engine's files, a patchable entry, a name the module format can hold),
     the strategy chosen, and the module written by mkpatch's packager.
Exit status: 0 module written, 3 no change, 2 refused, 1 error."""
import argparse
import difflib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess

import mkpatch_verify_lib
from mkpatch_compare_lib import STB_LOCAL, KernelSymbols, ModuleBuilder, Obj, Refusal, SHF_EXECINSTR, compare

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
EXIT_WRITTEN, EXIT_ERROR, EXIT_REFUSED, EXIT_NO_CHANGE = 0, 1, 2, 3
# Files of the patching engine: code that runs while a patch is applied, or decides how.
ENGINE_KEEP = ("patching/demo_targets.cpp", "patching/scenario.cpp", "patching/tests/", "patching/bench/",
               "patching/patch_commands.cpp")
HOTPATCH_LAYOUT = bytes([0xCC] * 5 + [0x8B, 0xFF])
FENTRY_NOP = bytes([0x0F, 0x1F, 0x44, 0x00, 0x00])
MAX_NAME = 47


def say(line):
    print(line, flush=True)


class Failure(Exception):
    """An error (exit 1): the tool could not do its work."""


def run(cmd, log, cwd=None):
    with open(log, "w") as f:
        p = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return p.returncode


def diff_files(text):
    """The paths a unified diff touches (-p1: a/ and b/ dropped), each with 'new', 'deleted' or 'changed'."""
    files, old = {}, None
    for line in text.splitlines():
        if line.startswith("--- "):
            old = line[4:].split("\t")[0].strip()
        elif line.startswith("+++ ") and old is not None:
            new = line[4:].split("\t")[0].strip()
            strip = lambda p: p.split("/", 1)[1] if "/" in p else p
            if new == "/dev/null":
                files[strip(old)] = "deleted"
            else:
                files[strip(new)] = "new" if old == "/dev/null" else "changed"
            old = None
    return files


def refuse_paths(files):
    for path in sorted(files):
        base = os.path.basename(path)
        if re.search(r"\.(asm|S|s|inc)$", path):
            yield Refusal(path, "an assembly source changed: mkpatch compares compiled C++ functions only")
        elif base == "linker.ld" or path.endswith(".ld"):
            yield Refusal(path, "the linker script changed: it lays out the whole kernel image")
        elif base == "Makefile" or path.startswith("mk/"):
            yield Refusal(path, "the build rules changed: base and patched must be built with identical flags")
        elif path.startswith("scripts/gen-") or path.startswith("scripts/host/"):
            yield Refusal(path, "a build tool changed: the kernel it makes is not the running one")
        elif path.startswith("boot/"):
            yield Refusal(path, "the boot path changed: it ran once, at boot")


# What the kernel's build reads (the Makefile's sources, its tools, the bad-module pack's sources): the
# base tree is these files, so a change to the docs or the tests does not rebuild it.
BUILD_INPUTS = ("Makefile", "linker.ld", "mk/", "arch/", "boot/", "kernel/", "patching/", "labs/", "scripts/gen-",
                "scripts/host/", "tests/host/")


def tree_files():
    """The build's inputs: git's files (tracked, or untracked and not ignored) in a checkout; in a copy of
    the tree that is no checkout of its own (the tests' snapshot), every file below it but build/."""
    if os.path.exists(os.path.join(ROOT, ".git")):
        out = subprocess.run(["git", "-C", ROOT, "ls-files", "-c", "-o", "--exclude-standard", "-z"],
                             capture_output=True, check=True).stdout.decode()
        paths = out.split("\0")
    else:
        paths = [os.path.relpath(os.path.join(d, n), ROOT) for d, _, names in os.walk(ROOT) for n in names]
    return sorted(p for p in paths if p.startswith(BUILD_INPUTS) and os.path.isfile(os.path.join(ROOT, p)))


def base_build(work, jobs):
    """build/mkpatch/base/tree: the work tree's files, built; reused while they and the compiler are the same.
    Two mkpatch runs at once take turns here (a lock file), and then share the build."""
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "base.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return locked_base_build(work, jobs)


def locked_base_build(work, jobs):
    files = tree_files()
    h = hashlib.sha256(subprocess.run(["g++", "--version"], capture_output=True).stdout)
    for p in files:
        h.update(p.encode() + b"\0")
        with open(os.path.join(ROOT, p), "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    key = h.hexdigest()
    base = os.path.join(work, "base")
    tree = os.path.join(base, "tree")
    elf = os.path.join(tree, "build", "corral.elf")
    try:
        with open(os.path.join(base, "key")) as f:
            if f.read().strip() == key and os.path.isfile(elf):
                return tree
    except OSError:
        pass
    shutil.rmtree(base, ignore_errors=True)
    for p in files:
        os.makedirs(os.path.dirname(os.path.join(tree, p)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, p), os.path.join(tree, p))
    say(f"mkpatch: building the base tree ({len(files)} files) in {os.path.relpath(tree, ROOT)}")
    log = os.path.join(base, "build.log")
    if run(["make", "--no-print-directory", f"-j{jobs}", "build/corral.elf"], log, cwd=tree) != 0:
        raise Failure(f"the base tree does not build (log: {os.path.relpath(log, ROOT)})")
    with open(os.path.join(base, "key"), "w") as f:
        f.write(key + "\n")
    return tree


def code_lines(lines):
    """For each line: may a preprocessor directive stand before it (not in a comment, a string or a macro)?"""
    ok, in_comment = [], False
    for i, line in enumerate(lines):
        ok.append(not in_comment and not (i and lines[i - 1].rstrip("\n").endswith("\\")))
        j, quote = 0, None
        while j < len(line):
            c = line[j]
            if in_comment:
                if line.startswith("*/", j):
                    in_comment, j = False, j + 1
            elif quote:
                if c == "\\":
                    j += 1
                elif c == quote:
                    quote = None
            elif line.startswith("//", j):
                break
            elif line.startswith("/*", j):
                in_comment, j = True, j + 1
            elif c in "\"'":
                quote = c
            j += 1
    ok.append(not in_comment)
    return ok


def keep_line_numbers(base_path, patched_path):
    """#line after each hunk that shifts lines, so the code below it keeps the base's line numbers."""
    with open(base_path, errors="surrogateescape") as f:
        a = f.readlines()
    with open(patched_path, errors="surrogateescape") as f:
        b = f.readlines()
    ok = code_lines(b)
    inserts, shift = [], 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal" or j2 - i2 == shift:
            continue
        shift = j2 - i2
        i, j = i2, j2
        while j < len(b) and not ok[j]:
            i, j = i + 1, j + 1
        if j < len(b):
            inserts.append((j, i + 1))
    for j, line in reversed(inserts):
        b.insert(j, f"#line {line}\n")
    if inserts:
        with open(patched_path, "w", errors="surrogateescape") as f:
            f.writelines(b)
    return len(inserts)


def objects(tree):
    out = {}
    build = os.path.join(tree, "build")
    for d, _, names in os.walk(build):
        for n in names:
            rel = os.path.relpath(os.path.join(d, n), build)
            if n.endswith(".o") and not n.endswith(".ksyms.o") and n != "bad_module_pack.o" \
                    and not rel.startswith(("patches/", "host", "tools/")):
                out[rel] = os.path.join(d, n)
    return out


def same_file(a, b):
    with open(a, "rb") as f, open(b, "rb") as g:
        return f.read() == g.read()


def only_called_from(base, old, changed_keys):
    """True when every reference to `old` in its object is from code of a changed function."""
    for shndx, rows in base.relocs.items():
        sec = base.section(shndx)
        for offset, rtype, sym in rows:
            if sym["shndx"] != old["shndx"]:
                continue
            location = sym["value"] + base.inplace(shndx, offset) + (4 if rtype == 2 else 0)
            target = sym if sym["type"] == 2 else base.named_at(sym["shndx"], location)
            if target is None or target["index"] != old["index"]:
                continue
            user = base.named_at(shndx, offset) if sec["flags"] & SHF_EXECINSTR else None
            if user is None or base.key(user) not in changed_keys:
                return False
    return True


def entry_layout(kernel, name):
    found = kernel.functions.get(name, [])
    if len(found) != 1:
        return None, len(found)
    address = found[0]["value"]
    if kernel.bytes_at(address, 5) == FENTRY_NOP:
        return "int3", 1
    if kernel.bytes_at(address - 5, 7) == HOTPATCH_LAYOUT:
        return "hotpatch", 1
    return None, 1


def is_engine(source):
    return source.startswith("patching/") and not source.startswith(ENGINE_KEEP)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="mkpatch --diff", description="make a live patch module from a source diff "
                                 "(docs/patch-from-diff.md); exit 0 written, 3 no change, 2 refused, 1 error")
    ap.add_argument("--diff", required=True, metavar="FIX.patch", help="a unified diff against the kernel's tree (-p1)")
    ap.add_argument("--strategy", choices=("naive", "corral", "corral-scan", "hotpatch", "int3", "stop-check", "klp"))
    ap.add_argument("--name", help="the module's name (default: the diff's file name)")
    ap.add_argument("-o", "--out", help="the .kpatch to write (default build/mkpatch/<name>.kpatch)")
    ap.add_argument("--report", help="write what was found (changed, new, refused, the strategy) as JSON")
    ap.add_argument("--kernel", default=os.path.join(ROOT, "build", "corral.elf"), help="the running kernel's ELF")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "build", "mkpatch"), help="where the trees are built")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--verify", action="store_true", help="prove the module in QEMU before it ships (its probe: "
                    "--probe, default FIX.probe beside the diff); a module that fails is removed and refused")
    ap.add_argument("--probe", help="the probe file for --verify: `$ CMD` lines, each followed by lines it must print")
    ap.add_argument("--rounds", type=int, default=3, help="--verify applies and reverts the module this many times")
    return ap.parse_args(argv)


def main(argv, mk):
    args = parse_args(argv)
    name = args.name or re.sub(r"[^A-Za-z0-9_]", "_", re.sub(r"\.(patch|diff)$", "", os.path.basename(args.diff)))[:31]
    report = {"diff": args.diff, "name": name, "changed": [], "new": [], "refused": [], "strategy": None}
    try:
        code = make_module(args, mk, name, report)
    except Refusal as r:
        report["refused"].append({"symbol": r.symbol, "reason": r.reason})
        code = EXIT_REFUSED
    except (Failure, SystemExit) as e:
        say(str(e) if str(e).startswith("mkpatch:") else f"mkpatch: error: {e}")
        report["error"] = str(e)
        code = EXIT_ERROR
    for r in report["refused"]:
        say(f"mkpatch: refused: {r['symbol']}: {r['reason']}")
    report["exit"] = code
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    return code


def make_module(args, mk, name, report):
    if not os.path.isfile(args.diff):
        raise Failure(f"{args.diff}: no such file")
    with open(args.diff, errors="replace") as f:
        text = f.read()
    files = diff_files(text)
    if not files:
        raise Failure(f"{args.diff}: not a unified diff (no ---/+++ lines)")
    report["files"] = files
    refusals = list(refuse_paths(files))
    if refusals:
        report["refused"] = [{"symbol": r.symbol, "reason": r.reason} for r in refusals]
        return EXIT_REFUSED
    if not shutil.which("patch"):
        raise Failure("the `patch` program is missing (scripts/install-deps test installs it)")
    patch = ["patch", "-p1", "--fuzz=0", "--batch", "--forward", "--no-backup-if-mismatch", "-r", "-", "-i",
             os.path.abspath(args.diff), "-d"]
    dry = subprocess.run(patch + [ROOT, "--dry-run"], capture_output=True, text=True)   # the base tree's files
    if dry.returncode != 0:
        why = next((ln for ln in dry.stdout.splitlines() if "FAILED" in ln or "Reversed" in ln or "can't find" in ln),
                   dry.stdout.strip().splitlines()[-1] if dry.stdout.strip() else dry.stderr.strip())
        raise Refusal(os.path.basename(args.diff), f"does not apply with zero fuzz to the running kernel's tree ({why})")
    # A copy: the one checked is the one --verify boots, whatever `make` does to build/ meanwhile.
    os.makedirs(args.workdir, exist_ok=True)
    args.running = os.path.join(args.workdir, f"{name}.running.elf")
    shutil.copy(args.kernel, args.running)
    running = mk.Kernel(args.running)
    base = base_build(args.workdir, args.jobs)
    kernel = mk.Kernel(os.path.join(base, "build", "corral.elf"))
    report["build_id"] = f"{kernel.build_id:#010x}"
    if kernel.build_id != running.build_id:
        raise Refusal(os.path.relpath(args.kernel, ROOT), f"the tree builds build-id {kernel.build_id:#010x}, the "
                      f"running kernel is {running.build_id:#010x}: make the diff against the sources of the kernel "
                      "that runs (or rebuild it with make)")
    work = os.path.join(args.workdir, name)
    tree = os.path.join(work, "tree")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    subprocess.run(["cp", "-a", base, tree], check=True)
    for p, how in files.items():     # a file the build does not read (the docs) still takes its part of the diff
        if how != "new" and not os.path.exists(os.path.join(tree, p)):
            os.makedirs(os.path.dirname(os.path.join(tree, p)) or tree, exist_ok=True)
            shutil.copy2(os.path.join(ROOT, p), os.path.join(tree, p))
    subprocess.run(patch + [tree], check=True, capture_output=True)
    shifted = sum(keep_line_numbers(os.path.join(base, p), os.path.join(tree, p)) for p, how in files.items()
                  if how == "changed" and re.search(r"\.(cpp|h|hpp|cc)$", p) and os.path.isfile(os.path.join(tree, p)))
    report["line_directives"] = shifted
    log = os.path.join(work, "build.log")
    if run(["make", "--no-print-directory", f"-j{args.jobs}", "build/corral.elf"], log, cwd=tree) != 0:
        with open(log, errors="replace") as f:
            first = next((ln.strip() for ln in f if "error" in ln), "see the log")
        raise Failure(f"the patched tree does not build: {first} (log: {os.path.relpath(log, ROOT)})")
    return compare_and_write(args, mk, name, report, kernel, base, tree)


def compare_and_write(args, mk, name, report, kernel, base, tree):
    before, after = objects(base), objects(tree)
    pairs = []
    for rel in sorted(after):
        if rel in before and same_file(before[rel], after[rel]):
            continue
        source = re.sub(r"\.o$", ".cpp", rel)
        patched = Obj(mk, after[rel], source)
        old = Obj(mk, before[rel], source) if rel in before else None
        changed, new = compare(old, patched)
        pairs.append((old, patched, changed, new))
    symbols = KernelSymbols(kernel)
    builder = ModuleBuilder(symbols)
    targets, seen, layouts = [], set(), {}
    for old_obj, obj, changed, _ in pairs:
        keys = {old_obj.key(o) for o, _ in changed}
        builder.changed |= {(id(obj), k) for k in keys}
        for o, n in changed:
            entry = {"name": o["name"], "file": obj.source}
            report["changed"].append(entry)
            if o["name"] in seen:
                continue
            seen.add(o["name"])
            section = old_obj.section(o["shndx"])["name"]
            if section.startswith(".text.not_patchable"):
                raise Refusal(o["name"], "NOT_PATCHABLE: code the patcher itself runs while it patches")
            if is_engine(obj.source):
                raise Refusal(o["name"], f"in {obj.source}, the patching engine: a patch must not change the code "
                                         "that applies it")
            layout, count = entry_layout(kernel, o["name"])
            if layout is None and o["bind"] == STB_LOCAL and only_called_from(old_obj, o, keys):
                entry["patched"] = False        # reached only through changed callers, which the module replaces
                continue
            if count > 1:
                raise Refusal(o["name"], f"defined {count} times in the kernel; a module names its target by "
                                         "linkage name alone")
            if layout is None:
                raise Refusal(o["name"], "no patchable entry (neither the fentry NOP nor the hotpatch layout)")
            if len(o["name"].encode()) > MAX_NAME:
                raise Refusal(o["name"], f"its linkage name has {len(o['name'].encode())} bytes; the module format "
                                         f"holds {MAX_NAME}")
            entry["patched"], entry["layout"] = True, layout
            layouts[o["name"]] = layout
            targets.append((obj, n, o["name"]))
    if not targets:
        say("mkpatch: no change: the diff changes no function of the running kernel")
        return EXIT_NO_CHANGE
    if len(targets) > 8:
        raise Refusal(os.path.basename(args.diff), f"{len(targets)} functions to patch; a module holds at most 8")
    strategy, why = choose_strategy(args.strategy, layouts)
    report["strategy"], report["strategy_reason"] = strategy, why
    bases = {id(obj): old for old, obj, _, _ in pairs}
    def old_code(fn):
        sym = kernel.function(fn)
        return sym["size"], mk.fnv1a(kernel.bytes_at(sym["value"], sym["size"]))
    blob = builder.build(targets, bases, strategy, old_code)
    report["new"] = sorted(set(builder.included) - {n["name"] for _, n, _ in targets})
    obj_path = os.path.join(args.workdir, name, name + ".o")
    with open(obj_path, "wb") as f:
        f.write(blob)
    out = args.out or os.path.join(args.workdir, name + ".kpatch")
    for t in report["changed"]:
        say(f"mkpatch: changed {t['name']} ({t['file']})" + ("" if t.get("patched", True) else
                                                              ": carried, reached only through changed callers"))
    for n in report["new"]:
        say(f"mkpatch: new {n}")
    say(f"mkpatch: strategy {strategy}: {why}")
    say(mk.package(kernel, mk.Elf32(obj_path, mk.ET_REL), name, out))
    report["module"] = out
    if args.verify:
        probe = args.probe or re.sub(r"\.(patch|diff)$", "", args.diff) + ".probe"
        try:
            if not os.path.isfile(probe):
                raise Failure(f"--verify needs a probe: no {probe} (--probe FILE)")
            try:
                mkpatch_verify_lib.verify(out, name, strategy, probe, args.running,
                                          os.path.join(tree, "build", "corral.elf"), args.rounds, say)
            except ValueError as e:         # a probe file that is not one
                raise Failure(str(e))
        except BaseException:
            os.remove(out)          # not proven: not shipped
            report.pop("module")
            raise
        report["verified"] = {"probe": probe, "rounds": args.rounds}
    return EXIT_WRITTEN


def choose_strategy(asked, layouts):
    if asked:
        need = {"int3": "int3", "klp": "int3", "hotpatch": "hotpatch"}.get(asked)
        for fn, layout in sorted(layouts.items()):
            if need and layout != need:
                raise Refusal(fn, f"--strategy {asked} needs the {'fentry NOP' if need == 'int3' else 'hotpatch layout'}"
                                  f" at its entry; it has the {layout} layout")
        return asked, "asked for with --strategy"
    if len(layouts) == 1:
        layout = next(iter(layouts.values()))
        return layout, f"one function, with the {'fentry NOP' if layout == 'int3' else 'hotpatch layout'} at its entry"
    if all(v == "int3" for v in layouts.values()):
        return "klp", f"{len(layouts)} functions: switched together per thread (consistency model)"
    return "stop-check", f"{len(layouts)} functions, not all with the fentry NOP: switched together in one corral"
