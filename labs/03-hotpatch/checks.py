# The checks of lab 03 (hotpatch).  scripts/corral_lab_lib.py says what
# each kind does; labs/03-hotpatch/README.md says what each asks of your code.
import re

from corral_lab_lib import KtestCheck, ShellCheck, StressCheck, error_line, peek_bytes, symbol_address

TITLE = "hotpatch: the jmp in the padding and the one aligned 2-byte store at the entry"

TARGET, V2 = "corral::demo_hot_counter", "corral::demo_hot_counter_v2"
PEEK = f"peek {TARGET}-5 8"


def rel32(at: int, to: int):
    """The 4 bytes of a jmp rel32 at `at` that lands on `to`, little-endian."""
    return list(((to - (at + 5)) & 0xffffffff).to_bytes(4, "little"))


def bytes_at_the_symbol(transcript):
    """`peek` at the symbol's address after apply and after revert: the
    padding holds e9 and the displacement to v2 both times, the entry reads
    eb f9 while applied and 8b ff again after."""
    for cmd, lines in transcript:
        why = error_line(cmd, lines)
        if why:
            return why
    entry = symbol_address(transcript[0][1])
    v2 = symbol_address(transcript[1][1])
    if entry is None or v2 is None:
        return f"`sym` did not name {TARGET} and {V2}: {transcript[0][1][-1:]} {transcript[1][1][-1:]}"
    jmp = [0xe9] + rel32(entry - 5, v2)
    for (cmd, lines), entry_bytes, when in ((transcript[3], [0xeb, 0xf9], "after `patch apply hot hotpatch`"),
                                            (transcript[5], [0x8b, 0xff], "after `patch revert hot`")):
        at, got = peek_bytes(lines)
        if got is None or at != entry - 5:
            return f"`{cmd}` printed no bytes at {entry - 5:#x}: {lines[-1:]}"
        want = jmp + entry_bytes
        if got[:7] != want:
            return (f"{when}: {cmd[5:]} is {' '.join(f'{b:02x}' for b in got[:7])}, want "
                    f"{' '.join(f'{b:02x}' for b in want)} (the jmp to {V2} at {entry - 5:#x}, then the entry)")
    return None


def verify_summary(lines):
    """(ranges, bytes, unexplained) of a `text verify`, 'clean' as (0, 0, 0); None if it said neither."""
    for ln in lines:
        if ln.startswith("text verify: clean"):
            return (0, 0, 0)
        m = re.match(r"^text verify: (\d+) range\(s\), (\d+) byte\(s\) changed by patches; (\d+) chunk", ln)
        if m:
            return tuple(int(g) for g in m.groups())
    return None


def text_verify_clean(transcript):
    """`text verify` after `text cleanup` (clean), with hot applied (the 7
    bytes from entry-5 on, owned by hot), after its revert (the 5 bytes of
    the jmp left in the padding on purpose, nothing else) and after
    `text cleanup` again (clean)."""
    for cmd, lines in transcript:
        if cmd != "text verify":
            why = error_line(cmd, lines)
            if why:
                return why
    entry = symbol_address(transcript[0][1])
    if entry is None:
        return f"`sym {TARGET}` did not name it: {transcript[0][1][-1:]}"
    verifies = [(i, lines) for i, (cmd, lines) in enumerate(transcript) if cmd == "text verify"]
    wants = [((0, 0, 0), None, "after `text cleanup`"),
             ((1, 7, 0), "(applied)", "with hot applied"),
             ((1, 5, 0), "(reverted)", "after `patch revert hot`"),
             ((0, 0, 0), None, "after `text cleanup`, once hot was reverted")]
    for (i, lines), (want, state, when) in zip(verifies, wants):
        got = verify_summary(lines)
        if got != want:
            said = next((ln for ln in lines if ln.startswith("text verify")), lines[-1] if lines else "nothing")
            return f"`text verify` {when}: {said.strip()[:160]} (want {want[0]} range(s), {want[1]} byte(s), 0 other)"
        if state:
            start = f"{entry - 5:#x} +{want[1]}:"
            if not any(ln.strip().startswith(start) and f"patch 'hot' {state}" in ln for ln in lines):
                return f"`text verify` {when}: no range {start} owned by patch 'hot' {state}: {lines[:3]}"
    return None


CHECKS = [
    ShellCheck("bytes-at-the-symbol",
               [f"sym {TARGET}", f"sym {V2}", "patch apply hot hotpatch", PEEK, "patch revert hot", PEEK],
               bytes_at_the_symbol,
               why="peek: e9 <rel32 to v2> in the padding, eb f9 at the entry; after the revert 8b ff, the jmp kept"),
    KtestCheck("padding-before-entry", ["lab_hot.p*"],
               why="apply writes the jmp into the padding first, and only then the entry"),
    KtestCheck("one-aligned-store", ["lab_hot.o*"],
               why="the entry's 2 bytes change in one aligned 16-bit store (a watchpoint counts them); odd refused"),
    KtestCheck("revert-keeps-the-padding", ["lab_hot.r*", "patching.stacked_*"],
               why="revert writes only the entry; a stacked patch's revert puts the one below back"),
    KtestCheck("torn-and-preempted", ["scenario.torn_hotpatch", "scenario.preempted_hotpatch"],
               why="the torn and preempted scenarios pass with hotpatch"),
    KtestCheck("revert-under-load", ["smoke.h*"],   # smoke.hotpatch_under_load: the glob is short to share a boot
               why="apply and revert while every CPU calls the function: each call gets v1 or v2, nothing faults"),
    ShellCheck("text-verify-clean",
               [f"sym {TARGET}", "text cleanup", "text verify", "patch apply hot hotpatch", "text verify",
                "patch revert hot", "text verify", "text cleanup", "text verify"],
               text_verify_clean,
               why="text verify names exactly hot's bytes while applied, the padding's jmp after, then clean"),
    StressCheck("stress-hotpatch", "stress 600 hotpatch seed={seed} flips=20000", seeds=[1, 2, 3],
                why="patchtorture: hotpatch under load on every CPU, over fixed seeds"),
]
