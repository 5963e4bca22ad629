# The checks of lab 02 (the scan).  scripts/corral_lab_lib.py says what
# each kind does; labs/02-scan/README.md says what each asks of your code.
from corral_lab_lib import KtestCheck, StressCheck

TITLE = "the scan: switch contexts, trap-frame chains and frame-pointer chains"

# In this order, three boots run the ktests (each boot's test= holds at most 63 characters).
CHECKS = [
    KtestCheck("preempted", ["scenario.preempted_corral_scan"],
               why="corral-scan defers for a thread switched out inside its #DB handler (the EIP in a trap frame)"),
    KtestCheck("interrupted", ["scenario.interrupted_corral_scan"],
               why="corral-scan defers for a thread interrupted at the address, under the corral's own IPI frame"),
    KtestCheck("nested-interrupts", ["lab_scan.n*"],
               why="the EIP in the oldest of three nested trap frames, or two frames up an EBP chain above one"),
    KtestCheck("switch-context", ["lab_scan.s*", "scan.function_mode_*"],
               why="a switched-out thread: its context's EIP and the return addresses above its saved ebp"),
    KtestCheck("stale-context", ["lab_scan.r*"],
               why="a thread on a CPU is read from its trap frames, not its stale context (unless klp holds it)"),
    KtestCheck("frameless-return-slot", ["scan.a_*"],
               why="stopped at a function's entry, the return address on top of the stack counts; elsewhere not"),
    KtestCheck("held-sleeper-scanned", ["klp.a_sleeper_*"],
               why="a sleeper klp holds while a CPU waits to run it is read from its context, whatever on_cpu says"),
    KtestCheck("bad-pointers", ["scan.su*"],   # scan.survives_saved_pointers_into_unmapped_memory
               why="a context and a frame chain that point into unmapped memory cost the scan that thread, nothing more"),
    StressCheck("stress-corral-scan", "stress 600 corral-scan seed={seed} flips=3000", seeds=[1, 2],
                expect=[r"deferrals [1-9]\d*"],
                why="patchtorture: corral-scan under load over fixed seeds; the scan must find threads and defer"),
]
