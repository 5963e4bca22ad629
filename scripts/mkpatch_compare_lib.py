"""mkpatch --diff, part 2: two builds' objects compared function by function,
and the relocatable object holding what changed (docs/patch-from-diff.md).

A function's signature is its bytes with every relocated word zeroed, plus
what each relocation means: a symbol by its name (with GCC's clone numbers,
`.constprop.3`, made `.N`) and the offset from it, a string literal by its
characters, anonymous data (a jump table) by its own signature.  Addresses
never count, so code that only moved compares equal.

The module object keeps, of the patched build, the changed functions and
what they need that the running kernel does not have (new functions, new
objects, the string and jump-table sections they use); every other
reference becomes an undefined symbol the loader resolves by linkage name,
or, for a name the kernel has more than once (a static function in two
files), an absolute symbol at the address the base build gave it, found
through the file that defines it."""
import re
import struct

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_MERGE, SHF_STRINGS, SHF_GROUP = 0x1, 0x2, 0x4, 0x10, 0x20, 0x200
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS, SHT_REL = 1, 2, 3, 8, 9
STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, STT_FILE = 0, 1, 2, 3, 4
STB_LOCAL, STB_GLOBAL = 0, 1
SHN_UNDEF, SHN_ABS = 0, 0xFFF1
R_386_32, R_386_PC32 = 1, 2
DECL_MAGIC = 0x31445043            # patches/patch.h


class Refusal(Exception):
    """What mkpatch will not patch: one line naming the symbol and the reason."""

    def __init__(self, symbol, reason):
        super().__init__(f"{symbol}: {reason}")
        self.symbol, self.reason = symbol, reason


def canon(name):
    """A symbol's name without GCC's numbering of clones and static locals."""
    return re.sub(r"\.\d+", ".N", name)


def known_data_section(name):
    return re.match(r"\.(rodata|data|bss)(\.|$)", name) is not None


class Obj:
    """One compiled object: its functions and data objects by canonical name, its relocations."""

    def __init__(self, mk, path, source):
        self.path, self.source = path, source
        self.elf = mk.Elf32(path, mk.ET_REL)
        e = self.elf
        self.relocs = {}        # section index -> sorted [(offset, type, symbol)]
        for s in e.sections:
            if s["type"] == SHT_REL:
                rows = []
                for at in range(s["offset"], s["offset"] + s["size"], 8):
                    offset, info = struct.unpack_from("<II", e.data, at)
                    rows.append((offset, info & 0xFF, e.symbols[info >> 8]))
                self.relocs.setdefault(s["info"], []).extend(sorted(rows, key=lambda r: r[0]))
        self.named = {}         # section index -> [symbol] (functions and objects with a size)
        self.funcs, self.objects = {}, {}
        for sym in e.symbols:
            if sym["type"] not in (STT_FUNC, STT_OBJECT) or sym["shndx"] in (SHN_UNDEF, SHN_ABS) or sym["shndx"] >= 0xFF00:
                continue
            self.named.setdefault(sym["shndx"], []).append(sym)
            table = self.funcs if sym["type"] == STT_FUNC else self.objects
            table.setdefault(canon(sym["name"]), []).append(sym)
        # Two symbols with one canonical name (foo.part.0 and foo.part.1): by their own names.
        for table in (self.funcs, self.objects):
            for key in [k for k, v in table.items() if len(v) > 1]:
                for sym in table.pop(key):
                    table[sym["name"]] = [sym]
        self.funcs = {k: v[0] for k, v in self.funcs.items()}
        self.objects = {k: v[0] for k, v in self.objects.items()}
        self.keys = {sym["index"]: k for table in (self.funcs, self.objects) for k, sym in table.items()}
        self.section_sigs = {}

    def key(self, sym):
        return self.keys[sym["index"]]

    def section(self, index):
        return self.elf.sections[index]

    def named_at(self, shndx, location):
        for sym in self.named.get(shndx, ()):
            if sym["value"] <= location < sym["value"] + max(sym["size"], 1):
                return sym
        return None

    def relocs_in(self, shndx, start, end):
        return [r for r in self.relocs.get(shndx, ()) if start <= r[0] < end]

    def inplace(self, shndx, offset):
        sec = self.section(shndx)
        return struct.unpack_from("<i", self.elf.data, sec["offset"] + offset)[0]

    def cstring(self, shndx, offset):
        data = self.elf.bytes_of(self.section(shndx))
        return data[offset:data.index(b"\0", offset) if b"\0" in data[offset:] else len(data)]

    def signature(self, shndx, start, end, depth=0):
        """The bytes of [start, end) of a section with relocated words zeroed, and what each relocation means."""
        sec = self.section(shndx)
        if sec["type"] == SHT_NOBITS:
            return ("nobits", end - start)
        data = bytearray(self.elf.bytes_of(sec)[start:end])
        refs = []
        for offset, rtype, sym in self.relocs_in(shndx, start, end):
            addend = self.inplace(shndx, offset)
            data[offset - start:offset - start + 4] = bytes(4)
            refs.append((offset - start, rtype, self.describe(sym, addend, rtype, depth)))
        return bytes(data), tuple(refs)

    def describe(self, sym, addend, rtype, depth):
        delta = 4 if rtype == R_386_PC32 else 0      # a rel32 field ends its instruction: the target is 4 further
        if sym["shndx"] == SHN_UNDEF:
            return ("ext", sym["name"], addend + delta)
        if sym["shndx"] == SHN_ABS:
            return ("abs", sym["value"] + addend)
        if sym["type"] != STT_SECTION and sym["type"] in (STT_FUNC, STT_OBJECT):
            return ("sym", self.key(sym), addend + delta)
        location = sym["value"] + addend
        named = self.named_at(sym["shndx"], location + delta)
        if named is not None:
            return ("sym", self.key(named), location - named["value"] + delta)
        sec = self.section(sym["shndx"])
        if sec["flags"] & SHF_MERGE and sec["flags"] & SHF_STRINGS:
            return ("str", self.cstring(sym["shndx"], location))
        if depth > 2:
            return ("anon", canon(sec["name"]), location)
        if sym["shndx"] not in self.section_sigs:
            self.section_sigs[sym["shndx"]] = None                 # a cycle compares as equal
            self.section_sigs[sym["shndx"]] = self.signature(sym["shndx"], 0, sec["size"], depth + 1)
        return ("anon", canon(sec["name"]), location, self.section_sigs[sym["shndx"]])

    def symbol_signature(self, sym):
        return self.signature(sym["shndx"], sym["value"], sym["value"] + sym["size"])

    def other_sections(self):
        """Allocated sections that hold neither code nor ordinary data (.shell_commands, .ktests, .init_array ...)."""
        out = {}
        for i, s in enumerate(self.elf.sections):
            if not s["flags"] & SHF_ALLOC or s["flags"] & SHF_EXECINSTR or s["type"] == SHT_REL:
                continue
            if known_data_section(s["name"]) or s["name"] == "__mcount_loc":
                continue
            out.setdefault(s["name"], []).append(self.signature(i, 0, s["size"]))
        return out


def compare(base, patched):
    """(changed functions as (base symbol, patched symbol), new functions); refuses changed data."""
    changed, new = [], []
    for key, sym in sorted(patched.funcs.items()):
        old = base.funcs.get(key) if base else None
        if old is None:
            new.append(sym)
        elif base.symbol_signature(old) != patched.symbol_signature(sym):
            changed.append((old, sym))
    if base is None:
        return changed, new
    for key, sym in sorted(patched.objects.items()):
        old = base.objects.get(key)
        if old is None:
            continue
        section = patched.section(sym["shndx"])
        if old["size"] != sym["size"]:
            raise Refusal(old["name"], f"size changed from {old['size']} to {sym['size']} bytes (the layout of a "
                                       "global or static object: the running kernel's copy cannot grow)")
        if base.symbol_signature(old) != patched.symbol_signature(sym):
            if sym["name"].startswith("_ZTV"):
                raise Refusal(old["name"], "vtable changed (a new or reordered virtual function)")
            what = "global or static variable" if section["flags"] & SHF_WRITE else "constant"
            raise Refusal(old["name"], f"initializer of a {what} changed (the running kernel's copy is not re-initialized)")
    before, after = base.other_sections(), patched.other_sections()
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            raise Refusal(name, "unknown section changed (mkpatch cannot carry it into a module)")
    return changed, new


class KernelSymbols:
    """The running kernel's symbols (the base build's ELF): linkage name -> [(address, is_global, file)]."""

    def __init__(self, kernel):
        self.by_name, file = {}, None
        for sym in kernel.elf.symbols:
            if sym["type"] == STT_FILE:
                file = sym["name"]
                continue
            if sym["shndx"] == SHN_UNDEF or sym["type"] == STT_SECTION or not sym["name"]:
                continue
            self.by_name.setdefault(sym["name"], []).append((sym["value"], sym["bind"] != STB_LOCAL, file))

    def count(self, name):
        return len(self.by_name.get(name, ()))

    def address(self, name, source):
        """The one definition of `name` seen from `source` (its own file's first, else the global one)."""
        found = self.by_name.get(name, ())
        mine = [a for a, _, f in found if f and source.endswith(f)] or [a for a, g, _ in found if g]
        if len(mine) != 1:
            raise Refusal(name, f"cannot tell which of its {len(found)} definitions in the kernel {source} means")
        return mine[0]


class ModuleWriter:
    """An ELF32 i386 relocatable object, written from scratch: sections, symbols, REL relocations."""

    def __init__(self):
        self.sections = [None]          # [name, type, flags, data, align, relocs [(offset, type, symbol index)]]
        self.locals = [(b"", 0, 0, 0, 0)]   # (name, value, size, info, shndx)
        self.globals = []
        self.undef, self.absolute = {}, {}

    def add_section(self, name, stype, flags, data, align):
        self.sections.append([name, stype, flags & ~(SHF_GROUP | SHF_MERGE | SHF_STRINGS), bytearray(data), align, []])
        index = len(self.sections) - 1
        self.locals.append((b"", 0, 0, STT_SECTION, index))
        return index, len(self.locals) - 1

    def add_local(self, name, value, size, stype, shndx):
        self.locals.append((name.encode(), value, size, stype, shndx))
        return len(self.locals) - 1

    def undefined(self, name):
        if name not in self.undef:
            self.globals.append((name.encode(), 0, 0, (STB_GLOBAL << 4) | STT_NOTYPE, SHN_UNDEF))
            self.undef[name] = len(self.globals) - 1
        return ("g", self.undef[name])

    def absolute_symbol(self, label, address):
        if label not in self.absolute:
            self.absolute[label] = self.add_local(label, address, 0, STT_NOTYPE, SHN_ABS)
        return ("l", self.absolute[label])

    def write(self):
        strtab, shstrtab = bytearray(b"\0"), bytearray(b"\0")

        def string(table, text):
            at = len(table)
            table.extend(text + b"\0")
            return at

        def index(ref):
            kind, i = ref
            return i if kind == "l" else len(self.locals) + i
        symtab = bytearray()
        for name, value, size, info, shndx in self.locals + self.globals:
            symtab += struct.pack("<IIIBBH", string(strtab, name) if name else 0, value, size, info, 0, shndx)
        sections = list(self.sections[1:])
        out_sections = []       # (name, type, flags, data, link, info, align, entsize)
        for i, (name, stype, flags, data, align, relocs) in enumerate(sections, start=1):
            out_sections.append((name, stype, flags, bytes(data), 0, 0, align, 0))
        symtab_index = len(sections) + 1 + sum(1 for s in sections if s[5])
        for i, (name, _, _, _, _, relocs) in enumerate(sections, start=1):
            if relocs:
                body = b"".join(struct.pack("<II", off, (index(ref) << 8) | rtype) for off, rtype, ref in relocs)
                out_sections.append((".rel" + name, SHT_REL, 0x40, body, symtab_index, i, 4, 8))
        out_sections.append((".symtab", SHT_SYMTAB, 0, bytes(symtab), symtab_index + 1, len(self.locals), 4, 16))
        out_sections.append((".strtab", SHT_STRTAB, 0, bytes(strtab), 0, 0, 1, 0))
        names = [string(shstrtab, s[0].encode()) for s in out_sections]
        shstr_name = string(shstrtab, b".shstrtab")
        out_sections.append((".shstrtab", SHT_STRTAB, 0, bytes(shstrtab), 0, 0, 1, 0))
        names.append(shstr_name)
        body, headers = bytearray(), [bytes(40)]
        offset = 52
        for (name, stype, flags, data, link, info, align, entsize), name_at in zip(out_sections, names):
            pad = (-(offset + len(body))) % max(align, 1)
            body += bytes(pad)
            at = offset + len(body)
            if stype != SHT_NOBITS:
                body += data
            headers.append(struct.pack("<10I", name_at, stype, flags, 0, at, len(data), link, info, align, entsize))
        body += bytes((-(offset + len(body))) % 4)
        shoff = offset + len(body)
        elf_header = struct.pack("<16sHHIIIIIHHHHHH", b"\x7fELF\x01\x01\x01" + bytes(9), 1, 3, 1, 0, 0, shoff, 0,
                                 52, 0, 0, 40, len(headers), len(headers) - 1)
        return elf_header + bytes(body) + b"".join(headers)


class ModuleBuilder:
    """The module object: the patched build's pieces a patch needs, each reference resolved."""

    def __init__(self, kernel_symbols):
        self.kernel = kernel_symbols
        self.w = ModuleWriter()
        self.pieces = {}        # (object, section, start) -> (section symbol ref, start)
        self.by_name = {}       # a global function's name -> its piece (one copy of an inline changed in several files)
        self.symbol_names = set()
        self.replacements = {}  # (object, symbol index) -> the replacement's name in the module
        self.changed = set()    # (object, canonical key) of every changed function
        self.pending = []
        self.included = []      # names of the functions the module carries

    def include(self, obj, sym=None, shndx=None):
        """A named function/object (sym) or a whole anonymous section (shndx); returns (section ref, start)."""
        if sym is not None:
            shndx, start, end = sym["shndx"], sym["value"], sym["value"] + sym["size"]
            shared = sym["name"] if sym["bind"] != STB_LOCAL else None
        else:
            start, end, shared = 0, obj.section(shndx)["size"], None
        if shared and shared in self.by_name:
            return self.by_name[shared]
        key = (id(obj), shndx, start)
        if key in self.pieces:
            return self.pieces[key]
        sec = obj.section(shndx)
        data = bytes(end - start) if sec["type"] == SHT_NOBITS else obj.elf.bytes_of(sec)[start:end]
        if sym is None:
            name = sec["name"]
        else:       # .text.<function>, .rodata.<object>, .data.<object>, .bss.<object>
            kind = "text" if sec["flags"] & SHF_EXECINSTR else sec["name"].lstrip(".").split(".")[0]
            name = f".{kind}.{sym['name']}"
        out, secsym = self.w.add_section(name, sec["type"], sec["flags"], data, sec["align"])
        piece = (("l", secsym), start)
        self.pieces[key] = piece
        if shared:
            self.by_name[shared] = piece
        if sym is not None:
            unique = sym["name"]
            while unique in self.symbol_names:
                unique += ".m"
            self.symbol_names.add(unique)
            self.w.add_local(unique, 0, sym["size"], STT_FUNC if sym["type"] == STT_FUNC else STT_OBJECT, out)
            self.replacements[(id(obj), sym["index"])] = unique
            if sym["type"] == STT_FUNC:
                self.included.append(sym["name"])
        self.pending.append((obj, shndx, start, end, out))
        return piece

    def wanted(self, obj, base, sym):
        """Does the module carry its own copy of this function or object of the patched build?"""
        old = (base.funcs if sym["type"] == STT_FUNC else base.objects).get(obj.key(sym)) if base else None
        if old is None:
            return True
        if sym["type"] == STT_FUNC and ((id(obj), obj.key(sym)) in self.changed or self.kernel.count(old["name"]) == 0):
            return True
        return False

    def kernel_ref(self, obj, name, addend):
        n = self.kernel.count(name)
        if n == 0:
            raise Refusal(name, f"used by the patch ({obj.source}) but not in the running kernel")
        if n == 1:
            return self.w.undefined(name), addend
        return self.w.absolute_symbol(f"{name}@{obj.source}", self.kernel.address(name, obj.source)), addend

    def resolve(self, obj, base, sym, inplace, rtype):
        delta = 4 if rtype == R_386_PC32 else 0
        if sym["shndx"] == SHN_UNDEF:
            return self.kernel_ref(obj, sym["name"], inplace)
        if sym["shndx"] == SHN_ABS:
            return self.w.absolute_symbol(sym["name"], sym["value"]), inplace
        location = sym["value"] + inplace
        target = sym if sym["type"] in (STT_FUNC, STT_OBJECT) else obj.named_at(sym["shndx"], location + delta)
        if target is None:
            ref, start = self.include(obj, shndx=sym["shndx"])
            return ref, location - start
        if self.wanted(obj, base, target):
            ref, start = self.include(obj, sym=target)
            return ref, location - target["value"]
        old = (base.funcs if target["type"] == STT_FUNC else base.objects)[obj.key(target)]
        return self.kernel_ref(obj, old["name"], location - target["value"])

    def drain(self, bases):
        while self.pending:
            obj, shndx, start, end, out = self.pending.pop(0)
            section = self.w.sections[out]
            for offset, rtype, sym in obj.relocs_in(shndx, start, end):
                ref, addend = self.resolve(obj, bases[id(obj)], sym, obj.inplace(shndx, offset), rtype)
                section[3][offset - start:offset - start + 4] = struct.pack("<i", addend)
                section[5].append((offset - start, rtype, ref))

    def build(self, targets, bases, strategy, old_code):
        """targets: [(patched object, patched symbol, kernel name)]; bases: id(patched object) -> base object;
        old_code(kernel name) -> (size, FNV-1a) of the running kernel's function, for the loader's .oldcode check."""
        replacement = []
        for obj, sym, kernel_name in targets:
            self.include(obj, sym=sym)
            replacement.append((kernel_name, self.replacements.get((id(obj), sym["index"]))))
        self.drain(bases)
        records, relocs, old = bytearray(), [], bytearray()
        for kernel_name, name in replacement:
            if name is None:            # an inline changed in several files: the first file's copy
                continue
            at = len(records)
            old += struct.pack("<III", at // 80, *old_code(kernel_name))
            records += struct.pack("<III48s16sI", DECL_MAGIC, 0, 0, kernel_name.encode(), strategy.encode(), 0)
            symbol = next(i for i, s in enumerate(self.w.locals) if s[0] == name.encode() and s[3] == STT_FUNC)
            relocs.append((at + 8, R_386_32, ("l", symbol)))
        out, _ = self.w.add_section(".corral_patch", SHT_PROGBITS, SHF_ALLOC, records, 4)
        self.w.sections[out][5] = relocs
        self.w.add_section(".oldcode", SHT_PROGBITS, 0, old, 4)      # not loaded: the loader compares it
        return self.w.write()
