# The checks of lab 05 (klp).  scripts/corral_lab_lib.py says what each
# kind does; labs/05-klp/README.md says what each asks of your code.
from corral_lab_lib import KtestCheck, StressCheck

TITLE = "klp: the per-thread transition: inspecting a switched-out thread, and the stub's choice"

# The race counters of a klp run's verdict, each above zero: a thread held
# back by old code on its stack, a transition that ran both versions side
# by side, and threads switched each way.
KLP_RACES = (r"held-back [1-9]\d*, both-universes [1-9]\d*, "
             r"switched asleep [1-9]\d* / running [1-9]\d* / at entry [1-9]\d*")

# In this order, two boots run the ktests (each boot's test= holds at most 63 characters).
CHECKS = [
    KtestCheck("contract", ["scenario.contract_klp*"],
               why="the contract scenario passes with klp; with a scan blind to trap frames it must fail"),
    KtestCheck("sleeper-blocks-the-switch", ["klp.nap_*", "klp.a_stuck_*"],
               why="a thread asleep inside an old function stays unswitched until it leaves; the report names it"),
    KtestCheck("held-while-inspected", ["klp.a_sleeper_*"],
               why="a sleeper a CPU picks to run during its inspection waits, is scanned, and is not switched inside"),
    KtestCheck("switch-at-entry", ["klp.a_thread_entering_*"],
               why="a thread entering a patched function with a clear stack switches there and runs the new version"),
    KtestCheck("turnaround", ["klp.a_turnaround_*"],
               why="a revert under way waits for a running thread's check; no switch lands in the wrong epoch"),
    KtestCheck("completes-under-load", ["klp.tr*"],   # klp.transition_completes_under_load_and_reverts
               why="a transition under load finishes, every call returns a whole version, and the revert does too"),
    StressCheck("stress-klp", "stress 600 klp seed={seed} flips=1000", seeds=[1, 2, 3],
                expect=[KLP_RACES],
                why="patchtorture with klp over fixed seeds: every contract call whole, and every race counter above zero"),
]
