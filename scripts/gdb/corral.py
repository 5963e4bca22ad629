"""gdb commands that read Corral's own data structures (sourced by scripts/gdbinit).

  corral-cpus              each CPU: LAPIC id, current thread, where the vCPU is, its part in a corral
  corral-threads           every thread: state, CPU, saved EIP, trap-frame chain (symbolized)
  corral-patches [all]     each patch: state, strategy, target, bytes now against the ELF's
  corral-bytes SYM [N]     the hotpatch padding before SYM and N bytes of its entry, annotated

They only read memory (through gdb's stub), never call kernel code, so they
work at any stop, a breakpoint inside a corral included.  The names come from
the kernel's debug info (build/corral.elf); the structures they read are in
kernel/cpu.h, kernel/sched/thread.h, arch/x86/trap.h, patching/corral.cpp,
patching/transaction.h and patching/text_writer.cpp.  docs/debugging.md shows
them at work."""
import os
import re
import struct

import gdb

PADDING = 5                                   # patching/layout.h: HOTPATCH_PADDING_LENGTH
FENTRY_NOP = bytes([0x0f, 0x1f, 0x44, 0x00, 0x00])   # patching/layout.h: FENTRY_NOP
PHASES = ["idle", "prepare", "parked", "release", "abort", "sync"]   # patching/corral.cpp: Phase
# arch/x86/idt.cpp: exception_name() for the vectors past the 32 exceptions
# (those are read from the kernel's own exception_names table).
VECTOR_NAMES = {32: "PIT timer", 36: "serial", 0x40: "timer", 0xe0: "reschedule IPI", 0xe1: "klp check IPI",
                0xf1: "TLB shootdown IPI", 0xf2: "corral/sync IPI", 0xf3: "ping IPI", 0xff: "spurious",
                0xffffffff: "poll"}
MAX_FRAMES = 64                               # as the kernel's `threads` command
MAX_THREADS = 4096                            # a list longer than this is not a list


class Refused(Exception):
    """A clear answer for the user instead of a traceback."""


# ---------------------------------------------------------------- the ELF on disk

class Elf:
    """The allocated sections of the ELF gdb loaded, read from the file: the
    bytes the linker produced (before any patch) and which ranges are code."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        self.mtime = os.stat(path).st_mtime
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 1:
            raise Refused(f"{path} is not a 32-bit ELF file")
        shoff, = struct.unpack_from("<I", d, 0x20)
        shentsize, shnum = struct.unpack_from("<HH", d, 0x2e)
        self.sections = []   # (address, size, file offset or None for NOBITS, executable)
        for i in range(shnum):
            _, sh_type, flags, addr, offset, size = struct.unpack_from("<IIIIII", d, shoff + i * shentsize)
            if flags & 2 and size:   # SHF_ALLOC
                self.sections.append((addr, size, None if sh_type == 8 else offset, bool(flags & 4)))

    def read(self, address, length):
        """The ELF's bytes at [address, address+length), or None where it has none."""
        out = []
        for a in range(address, address + length):
            b = None
            for start, size, offset, _ in self.sections:
                if start <= a < start + size and offset is not None:
                    b = self.data[offset + a - start]
                    break
            out.append(b)
        return out

    def is_code(self, address):
        return any(start <= address < start + size for start, size, _, x in self.sections if x)


_elf = None


def elf():
    global _elf
    path = gdb.current_progspace().filename
    if not path:
        raise Refused("no kernel loaded: `file build/corral.elf` first")
    if _elf is None or _elf.path != path:
        _elf = Elf(path)
    elif os.stat(path).st_mtime != _elf.mtime:
        gdb.write(f"note: {path} changed on disk since it was read (a rebuild?); "
                  "its symbols and bytes may not be the running kernel's\n")
        _elf = Elf(path)
    return _elf


# ---------------------------------------------------------------- reading the target

def inferior():
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0 or not inf.threads():
        raise Refused("not connected to a kernel: `make debug` connects by itself; "
                      "elsewhere `target remote localhost:PORT`")
    if any(t.is_running() for t in inf.threads()):
        raise Refused("the kernel is running: stop it first (Ctrl-C, or a breakpoint), then ask again")
    return inf


def vcpu_pcs():
    """{QEMU cpu index: pc} for every vCPU (gdb's thread N is QEMU's CPU#N-1)."""
    inf = inferior()
    before = gdb.selected_thread()
    level = gdb.selected_frame().level()
    pcs = {}
    try:
        for t in inf.threads():
            t.switch()
            index = (t.ptid[1] or t.num) - 1
            pcs[index] = int(gdb.parse_and_eval("$pc")) & 0xffffffff
    finally:
        if before is not None:
            before.switch()
            if level:
                gdb.execute(f"frame {level}", to_string=True)   # the user's `up` is kept
    return pcs


def require_kernel():
    """Refuses when no vCPU is in the kernel's code (stopped at reset, in the
    BIOS, before the loader copied the kernel in)."""
    pcs = vcpu_pcs()
    e = elf()
    if not any(e.is_code(pc) for pc in pcs.values()):
        where = ", ".join(f"cpu {i} at {pc:#x}" for i, pc in sorted(pcs.items()))
        raise Refused(f"not stopped in the kernel ({where}: outside {e.path}'s code; the firmware or the "
                      "loader is still running): `break kmain`, `continue`, then ask again")
    return pcs


def static_var(name, source):
    """The variable `name` defined in the file `source` (a name in an anonymous
    namespace may be defined in several files: records, for one)."""
    for s in gdb.lookup_static_symbols(name):
        if s.symtab is not None and s.symtab.filename.endswith(source):
            return s.value()
    s = gdb.lookup_global_symbol(name)
    if s is not None:
        return s.value()
    raise Refused(f"no symbol {name} (from {source}) in {gdb.current_progspace().filename}: "
                  "not this kernel, or built without -g?")


def read_bytes(address, length):
    """Live bytes from the target; None for each one that cannot be read."""
    inf = gdb.selected_inferior()
    try:
        return list(inf.read_memory(address, length).tobytes())
    except gdb.MemoryError:
        out = []
        for a in range(address, address + length):
            try:
                out.append(inf.read_memory(a, 1).tobytes()[0])
            except gdb.MemoryError:
                out.append(None)
        return out


def c_string(pointer, limit=64):
    p = int(pointer) & 0xffffffff
    if p == 0:
        return None
    raw = read_bytes(p, limit)
    if None in raw:
        raw = raw[:raw.index(None)]
    return bytes(raw).split(b"\0")[0].decode("latin-1")


def char_array(value):
    value.fetch_lazy()   # one read for the array (none when its struct was read already)
    first, last = value.type.range()
    raw = bytes(int(value[i]) & 0xff for i in range(first, last + 1))
    return raw.split(b"\0")[0].decode("latin-1")


def u32(value):
    return int(value) & 0xffffffff


def enum_name(value):
    return str(value).split("::")[-1].lower()


def hexbytes(bs):
    return " ".join("??" if b is None else f"{b:02x}" for b in bs)


# ---------------------------------------------------------------- symbols

def _strip_parameters(name):
    """corral::f(int, char**) -> corral::f; leaves corral::(anonymous namespace)::g alone."""
    if not name.endswith(")"):
        return name
    depth = 0
    for i in range(len(name) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(name[i], 0)
        if depth == 0:
            return name[:i] if i > 0 else name
    return name


def symbol_at(address):
    """(name, offset) of the ELF symbol containing address, or None."""
    try:
        out = gdb.execute(f"info symbol {address:#x}", to_string=True).strip()
    except gdb.error:
        return None
    m = re.match(r"(.*?)(?: \+ (\d+))? in section \S+", out)
    if not m:
        return None
    name = m.group(1)
    clone = re.search(r" \[clone ([^\]]+)\]$", name)
    if clone:
        name = name[:clone.start()]
    return _strip_parameters(name) + (clone.group(1) if clone else ""), int(m.group(2) or 0)


def symbolize(address):
    """`name+0x12` as the kernel prints it, or the bare address."""
    hit = symbol_at(address)
    if hit is None:
        return f"{address:#x}"
    name, offset = hit
    return f"{name}+{offset:#x}" if offset else name


def resolve(text):
    """A symbol (corral::demo_hot_counter, seed_example) or an address ->
    (address of the ELF symbol's first byte, its name).  gdb's idea of a
    function's address is its debug info's low_pc, which for a hotpatchable
    function lies after the hook prologue; the ELF symbol is the entry."""
    text = text.strip()
    try:
        address = int(text, 0)
    except ValueError:
        address = None
        for expression in (f"&'{text}'", text):
            try:
                address = int(gdb.parse_and_eval(expression).cast(gdb.lookup_type("unsigned long"))) & 0xffffffff
                break
            except gdb.error:
                continue
        if address is None:
            raise Refused(f"no symbol '{text}' in {gdb.current_progspace().filename} "
                          "(C++ names need their namespace: corral::demo_hot_counter)")
    hit = symbol_at(address)
    if hit is None:
        return address, f"{address:#x}"
    return address - hit[1], hit[0]


def vector_name(vector):
    if vector < 32:
        try:
            names = static_var("corral::arch::(anonymous namespace)::exception_names", "arch/x86/idt.cpp")
            return c_string(names[vector]) or "?"
        except (Refused, gdb.error):
            return "exception"
    if vector in VECTOR_NAMES:
        return VECTOR_NAMES[vector]
    return "device IRQ" if 32 <= vector < 48 else "interrupt"


# ---------------------------------------------------------------- corral-cpus

def cpu_rows():
    """The online CPUs of corral::cpus (kernel/cpu.h)."""
    cpus = static_var("corral::cpus", "kernel/cpu.cpp")
    first, last = cpus.type.range()
    return [cpus[i] for i in range(first, last + 1) if bool(cpus[i]["online"])]


def thread_label(pointer):
    p = u32(pointer)
    if p == 0:
        return "-"
    t = pointer.dereference()
    return f"#{int(t['id'])} {char_array(t['name'])}"


def corral_role(rv, index, gen, phase):
    """What CPU `index` is doing in the corral's round (patching/corral.cpp: Rendezvous)."""
    if phase == "idle":
        return "not in a corral"
    if int(rv["owner"]) == index:
        return f"owner: runs the round (phase {phase})"
    if not (u32(rv["want"]) >> index) & 1:
        return f"left out of the round (phase {phase})"
    arrived, departed = u32(rv["arrived"][index]), u32(rv["departed"][index])
    if phase == "sync":
        return "answered the sync round" if arrived == gen else "sync round: not answered yet"
    if arrived != gen:
        return "asked to park, not answered yet" if phase == "prepare" else f"not parked (phase {phase})"
    if departed == gen:
        return "released: left the park"
    if phase in ("release", "abort"):
        return f"{'released' if phase == 'release' else 'aborted'}, still on its way out of the park"
    how = "halted" if u32(rv["halted"][index]) == gen else "spinning"
    frame = u32(rv["frames"][index])
    at = ""
    if frame:
        f = rv["frames"][index].dereference()
        at = f", interrupted at {symbolize(u32(f['eip']))} (vector {u32(f['vector']):#x})"
    return f"PARKED ({how}{at})"


def corral_cpus():
    pcs = require_kernel()
    rows = cpu_rows()
    if not rows:
        gdb.write("corral-cpus: no CPU is online yet (corral::cpus[].online): the kernel has not set up "
                  "its CPUs; continue past smp_init\n")
        return
    rv = static_var("corral::(anonymous namespace)::rv", "patching/corral.cpp")
    state = u32(rv["state"])
    gen, phase = state >> 3, PHASES[state & 7] if (state & 7) < len(PHASES) else f"?{state & 7}"
    online = int(static_var("corral::online_cpus", "kernel/cpu.cpp"))
    round_text = "no corral" if phase == "idle" else \
        f"a round is on: generation {gen}, phase {phase}, owner cpu {int(rv['owner'])}, want mask {u32(rv['want']):#x}"
    gdb.write(f"corral-cpus: {online} CPUs online; {round_text}\n")
    gdb.write(f"{'cpu':>3} {'lapic':>5}  {'current thread':<22} {'vCPU is at':<44} corral\n")
    for c in rows:
        index, lapic = int(c["index"]), u32(c["lapic_id"])
        current = thread_label(c["current"])
        if u32(c["current"]) and u32(c["current"]) == u32(c["idle"]):
            current += " (idle)"
        # QEMU numbers its vCPUs by APIC id (its default topology).
        pc = pcs.get(lapic)
        where = symbolize(pc) if pc is not None else "?"
        role = corral_role(rv, index, gen, phase)
        notes = []
        if int(c["spinlocks_held"]):
            lock = c_string(c["newest_lock"])
            notes.append(f"holds {int(c['spinlocks_held'])} spinlock(s)" + (f", newest '{lock}'" if lock else ""))
        if u32(c["held_at"]):
            notes.append(f"held at a breakpoint at {symbolize(u32(c['held_at'].dereference()['eip']))}")
        gdb.write(f"{index:>3} {lapic:>5}  {current:<22} {where:<44} {role}"
                  + ("; " + "; ".join(notes) if notes else "") + "\n")


# ---------------------------------------------------------------- corral-threads

def threads():
    head = static_var("corral::(anonymous namespace)::all_threads", "kernel/sched/thread.cpp")
    out, seen = [], set()
    t = head
    while u32(t) and u32(t) not in seen and len(out) < MAX_THREADS:
        seen.add(u32(t))
        out.append(t.dereference())
        t = t.dereference()["all_next"]
    return out


def trap_frames(thread):
    frames = []
    f = thread["frames"]
    while u32(f) and len(frames) < MAX_FRAMES:
        frames.append(f.dereference())
        f = f.dereference()["prev"]
    return frames


def corral_threads():
    pcs = require_kernel()
    ts = threads()
    if not ts:
        gdb.write("corral-threads: no thread registered yet (all_threads is empty): continue past sched_init\n")
        return
    on_cpu = {}
    for c in cpu_rows():
        if u32(c["current"]):
            on_cpu[u32(c["current"])] = (int(c["index"]), pcs.get(u32(c["lapic_id"])))
    gdb.write(f"corral-threads: {len(ts)} threads (all_threads)\n")
    gdb.write(f"{'id':>4} {'name':<14} {'state':<9} {'cpu':>3}  saved eip\n")
    for t in ts:
        state = enum_name(t["state"])
        running = state == "running" and bool(t["on_cpu"])
        address = u32(t.address)
        if running and address in on_cpu:
            index, pc = on_cpu[address]
            where = f"(running on cpu {index}" + (f": vCPU at {symbolize(pc)})" if pc is not None else ")")
        elif running:
            where = "(running)"
        elif u32(t["context"]):
            where = symbolize(u32(t["context"].dereference()["eip"]))
        else:
            where = "-"
        gdb.write(f"{int(t['id']):>4} {char_array(t['name']):<14} {state:<9} {int(t['cpu']):>3}  {where}\n")
        for f in trap_frames(t):
            vector = u32(f["vector"])
            gdb.write(f"       trap frame: vector {vector} ({vector_name(vector)}) at {symbolize(u32(f['eip']))}\n")


# ---------------------------------------------------------------- corral-patches

def journal():
    """The text writer's journal (patching/text_writer.cpp): {address: the ELF's byte}."""
    entries = static_var("corral::(anonymous namespace)::journal", "patching/text_writer.cpp")
    count = int(static_var("corral::(anonymous namespace)::journal_count", "patching/text_writer.cpp"))
    first, last = entries.type.range()
    count = max(0, min(count, last - first + 1))
    return {u32(entries[i]["address"]): int(entries[i]["original"]) & 0xff for i in range(count)}


def strategy_name(pointer):
    """A Strategy's name without calling name(): a FarJmpStrategy keeps it in
    name_; the others are one object each, named <name>_strategy."""
    p = u32(pointer)
    if p == 0:
        return "-"
    try:
        if str(pointer.dereference().dynamic_type).endswith("FarJmpStrategy"):
            name = c_string(pointer.dereference().cast(gdb.lookup_type("corral::FarJmpStrategy"))["name_"])
            if name:
                return name
    except gdb.error:
        pass
    hit = symbol_at(p)
    if hit and hit[0].endswith("_strategy"):
        return hit[0].split("::")[-1][:-len("_strategy")].replace("_", "-")
    return symbolize(p)


def is_machine_patch(name):
    # patching/patch_commands.cpp: listed only by `patch list all`
    return name.startswith("torture_") or name.startswith("bench_")


def site_range(target, original):
    """The bytes a patch of `target` can change: the padding too when the
    function has the hotpatch layout (8b ff at its entry in the ELF)."""
    if original[:2] == [0x8b, 0xff]:
        return target - PADDING, PADDING + 5
    return target, 5


def corral_patches(show_all):
    require_kernel()
    head = static_var("corral::(anonymous namespace)::records", "patching/transaction.cpp")
    known = journal()
    e = elf()
    records, seen, r = [], set(), head
    while u32(r) and u32(r) not in seen and len(records) < MAX_THREADS:
        seen.add(u32(r))
        records.append(r.dereference())
        r = r.dereference()["next"]
    if not records:
        gdb.write("corral-patches: no patch defined yet (patching_init has not run)\n")
        return
    names = {u32(rec.address): char_array(rec["name"]) for rec in records}
    hidden = [rec for rec in records if not show_all and is_machine_patch(char_array(rec["name"]))]
    gdb.write(f"corral-patches: {len(records)} patches; text journal: {len(known)} byte(s) ever written\n")
    for rec in records:
        name = char_array(rec["name"])
        if not show_all and is_machine_patch(name):
            continue
        state = enum_name(rec["state"])
        target = u32(rec["target"])
        if state == "defined":
            strategy = f"default {strategy_name(rec['default_strategy'])}"
        else:
            strategy = f"by {strategy_name(rec['applied']['strategy'])}"
        line = f"{name:<22} {state:<8} {strategy:<20} {char_array(rec['target_name'])} ({target:#x}) -> " \
               f"{symbolize(u32(rec['replacement']))}"
        if state == "applied" and u32(rec["stacked_on"]):
            line += f", over {names.get(u32(rec['stacked_on']), '?')}"
        gdb.write(line + "\n")
        start, length = site_range(target, e.read(target, 2))
        now = read_bytes(start, length)
        from_elf = e.read(start, length)
        original = [known.get(a, from_elf[i]) for i, a in enumerate(range(start, start + length))]
        changed = sum(1 for a, b in zip(now, original) if a != b)
        gdb.write(f"    {start:#x} +{length}: now {hexbytes(now)}   ELF {hexbytes(original)}   "
                  + (f"{changed} byte(s) differ" if changed else "as the ELF") + "\n")
        mismatch = [a for i, a in enumerate(range(start, start + length)) if a in known and known[a] != from_elf[i]]
        if mismatch:
            gdb.write(f"    note: the kernel's journal and {e.path} disagree at {mismatch[0]:#x}: "
                      "the file is not the running kernel's\n")
        for i in range(int(rec["applied"]["edit_count"]) if state != "defined" else 0):
            edit = rec["applied"]["edits"][i]
            n = int(edit["length"])
            gdb.write(f"    edit {i}: {u32(edit['address']):#x} +{n}: old {hexbytes([int(edit['old_bytes'][j]) & 0xff for j in range(n)])}"
                      f" new {hexbytes([int(edit['new_bytes'][j]) & 0xff for j in range(n)])}"
                      + (" (one aligned 16-bit store)" if bool(edit["atomic16"]) else "") + "\n")
    if hidden:
        applied = sum(1 for rec in hidden if enum_name(rec["state"]) == "applied")
        gdb.write(f"(and {len(hidden)} patchtorture and benchmark patches, {applied} applied: corral-patches all)\n")


# ---------------------------------------------------------------- corral-bytes

def rel32_target(bs, at, length=5):
    displacement = struct.unpack("<i", bytes(bs[1:5]))[0]
    return (at + length + displacement) & 0xffffffff


def describe_padding(bs, at):
    if None in bs:
        return "unreadable"
    if all(b == 0xcc for b in bs):
        return "int3 x5: the hotpatch padding, nothing written into it"
    if bs[0] == 0xe9:
        return f"jmp rel32 -> {symbolize(rel32_target(bs, at))}: a hotpatch's jmp (it stays after a revert)"
    return None


def describe_entry(bs, at):
    """The patch-site view of the first bytes of a function: (length, note) or None."""
    if None in bs[:2]:
        return None
    if bs[:2] == [0x8b, 0xff]:
        return 2, "mov edi,edi: the hotpatch entry (a 2-byte NOP a hotpatch turns into jmp short -7)"
    if bs[:2] == [0xeb, 0xf9]:
        return 2, f"jmp short -7 -> {at - PADDING:#x}, the padding's jmp rel32 (hotpatch applied)"
    if bytes(bs[:5]) == FENTRY_NOP:
        return 5, "nopl 0x0(%eax,%eax,1): the fentry NOP (-mfentry), the site int3, klp and stop-check patch"
    if bs[0] == 0xe9 and None not in bs[:5]:
        return 5, f"jmp rel32 -> {symbolize(rel32_target(bs, at))} (a patch's far jmp)"
    if bs[0] == 0xcc:
        return 1, "int3: a text_poke_bp in progress (or a debugger's breakpoint)"
    return None


def disassemble(address, end):
    arch = gdb.selected_frame().architecture()
    out = []
    while address < end:
        insn = arch.disassemble(address)[0]
        out.append((insn["addr"], insn["length"], insn["asm"]))
        address += insn["length"]
    return out


def corral_bytes(argument):
    words = gdb.string_to_argv(argument)
    if not words or len(words) > 2:
        raise Refused("usage: corral-bytes SYMBOL|ADDRESS [N]  (N bytes of the entry, 16 if not given)")
    try:
        n = int(words[1], 0) if len(words) == 2 else 16
    except ValueError:
        raise Refused(f"corral-bytes: N must be a number of bytes, not '{words[1]}'")
    if not 1 <= n <= 256:
        raise Refused("corral-bytes: N must be 1..256")
    inferior()
    address, name = resolve(words[0])
    e = elf()
    pad = read_bytes(address - PADDING, PADDING)
    pad_elf = e.read(address - PADDING, PADDING)
    gdb.write(f"{name} at {address:#x}\n")

    def line(at, bs, ref, note):
        differs = [b for b in ref if b is not None] and bs != ref
        gdb.write(f"  {at:#010x}  {hexbytes(bs):<24} {note}" + (f"  [ELF: {hexbytes(ref)}]" if differs else "") + "\n")

    padding = describe_padding(pad, address - PADDING)
    line(address - PADDING, pad, pad_elf, "padding: " + padding if padding else
         "before: no hotpatch padding (the end of the function before, or alignment)")
    body = read_bytes(address, n)
    body_elf = e.read(address, n)
    at = address
    site = describe_entry(body, address)
    if site:
        length, note = site
        length = min(length, n)
        line(at, body[:length], body_elf[:length], "entry: " + note)
        at += length
    try:
        for insn_at, length, asm in disassemble(at, address + n):
            i = insn_at - address
            line(insn_at, body[i:i + length] if i + length <= n else read_bytes(insn_at, length),
                 body_elf[i:i + length] if i + length <= n else e.read(insn_at, length), asm)
    except gdb.MemoryError as err:
        gdb.write(f"  (cannot disassemble further: {err})\n")


# ---------------------------------------------------------------- the commands

class CorralPrefix(gdb.Command):
    """Corral's gdb commands: corral-cpus, corral-threads, corral-patches, corral-bytes.
They read the kernel's data structures (never call kernel code); see docs/debugging.md."""

    def __init__(self):
        super().__init__("corral", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        gdb.write(self.__doc__ + "\n")


class _Command(gdb.Command):
    def __init__(self, name, fn):
        super().__init__(name, gdb.COMMAND_USER)
        self.fn = fn
        self.name = name

    def invoke(self, argument, from_tty):
        try:
            self.fn(argument)
        except Refused as e:
            raise gdb.GdbError(f"{self.name}: {e}")
        except gdb.MemoryError as e:
            raise gdb.GdbError(f"{self.name}: cannot read the kernel's memory ({e}): is paging set up "
                               "and this the ELF the kernel was booted from?")
        except gdb.error as e:
            if "while the target is running" in str(e):
                raise gdb.GdbError(f"{self.name}: the kernel is running: stop it first (Ctrl-C, or a breakpoint), "
                                   "then ask again")
            raise gdb.GdbError(f"{self.name}: {e}")


def _no_arguments(name, fn):
    def run(argument):
        if argument.strip():
            raise Refused(f"takes no arguments (`help {name}`)")
        fn()
    return run


class CorralCpus(_Command):
    """Each online CPU: its index, LAPIC id, current thread (id and name), where
its vCPU is stopped, and its part in a corral (owner, PARKED halted/spinning with
the frame it parked in, asked and not answered, released) from patching/corral.cpp's
round state.  Usage: corral-cpus"""

    def __init__(self):
        super().__init__("corral-cpus", _no_arguments("corral-cpus", corral_cpus))


class CorralThreads(_Command):
    """Every thread of all_threads (kernel/sched/thread.cpp): id, name, state, CPU,
the EIP its saved Context resumes at (symbolized; running threads show where
their vCPU is), then its trap-frame chain (Thread::frames), newest first, each
frame's vector and EIP.  Usage: corral-threads"""

    def __init__(self):
        super().__init__("corral-threads", _no_arguments("corral-threads", corral_threads))


class CorralPatches(_Command):
    """Each patch the transaction layer knows (patching/transaction.cpp): name,
state, strategy, target and replacement, the bytes at the site now against the
ELF's (the text writer's journal, else build/corral.elf), and the applied edits.
patchtorture's and the benchmarks' patches only with `all`.  Usage: corral-patches [all]"""

    def __init__(self):
        def run(argument):
            if argument.strip() not in ("", "all"):
                raise Refused("usage: corral-patches [all]")
            corral_patches(argument.strip() == "all")
        super().__init__("corral-patches", run)


class CorralBytes(_Command):
    """The 5 bytes of hotpatch padding before SYMBOL and N bytes of its entry
(16 if not given), annotated: int3 padding or a jmp rel32 in it, mov edi,edi,
jmp short -7, the fentry NOP, a patch's jmp rel32 with its destination; then
gdb's disassembly.  Bytes that differ from the ELF show the ELF's too.
Usage: corral-bytes SYMBOL|ADDRESS [N]"""

    def __init__(self):
        super().__init__("corral-bytes", corral_bytes)


CorralPrefix()
CorralCpus()
CorralThreads()
CorralPatches()
CorralBytes()
