# The checks of lab 01 (the corral).  scripts/corral_lab_lib.py says what
# each kind does; labs/01-corral/README.md says what each asks of your code.
from corral_lab_lib import KtestCheck, StaticCheck, StressCheck, objdump_function

TITLE = "the corral: ack, park, release, with a timeout and an abort"


def release_serializes(tree):
    """The parked CPU's way out of park() must drop the text alias and
    serialize (SDM 8.1.3).  Under QEMU's TCG nothing shows when it does
    not, so this one reads the compiled park()."""
    code = objdump_function(tree, "corral::(anonymous namespace)::park(unsigned int)")
    if code is None:
        return "no function corral::(anonymous namespace)::park(unsigned int) in build/corral.elf"
    if not any("cpuid" in ln for ln in code):
        return "park() never serializes (no cpuid: call arch::serialize() before it returns)"
    if not any("text_alias_flush_local" in ln for ln in code):
        return "park() never calls text_alias_flush_local(): a stale alias could stay in this CPU's TLB"
    return None


CHECKS = [
    KtestCheck("every-cpu-parked",
               ["corral.parks_*", "lab_corral.nothing_runs_*"],
               why="every other CPU answers and then runs nothing while the work runs"),
    KtestCheck("parked-cpus-halt",
               ["lab_corral.parked_cpus_halt_*", "park.every_mode_*"],
               why="park=halt: TPR raised (no tick while parked), sti;hlt, woken by the release IPI"),
    KtestCheck("abort-writes-nothing",
               ["corral.deaf_cpu_*", "fault.cpu_halted_*"],
               why="a CPU that never answers aborts the corral before the work runs"),
    KtestCheck("deaf-cpu-named", ["lab_corral.the_deaf_cpu_*"],
               expect=[r"^corral: cpu 3 did not answer: running 'deaf'"],
               why="the abort's report, error and console line name the CPU that did not answer"),
    KtestCheck("late-cpu-waited-for", ["fault.cpu_that_answers_late_*", "fault.nmi_while_parked_*"],
               why="a CPU that answers late is waited for; an NMI at a parked CPU changes nothing"),
    StaticCheck("release-serializes", release_serializes,
                why="a parked CPU flushes the alias and serializes before it returns (read from the binary)"),
    KtestCheck("no-deadlock-with-shootdown",
               ["race.tlb_*_corral", "race.corral_meets_corral_*", "race.int3_sync_*"],
               why="a corral meeting a TLB shootdown, another corral or a sync round: both finish"),
    StressCheck("stress-corral-scan", "stress 600 corral-scan seed={seed} flips=3000", seeds=[1, 2, 3],
                why="patchtorture: corral-scan under load on every CPU, over fixed seeds"),
]
