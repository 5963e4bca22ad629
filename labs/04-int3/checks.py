# The checks of lab 04 (int3).  scripts/corral_lab_lib.py says what each
# kind does; labs/04-int3/README.md says what each asks of your code.
from corral_lab_lib import KtestCheck, StressCheck

TITLE = "int3: text_poke_bp's three sync rounds for K sites and the #BP redirect"

# In this order, three boots run them all (each boot's test= holds at most 63 characters).
CHECKS = [
    KtestCheck("three-sync-rounds", ["lab_int3.three_*", "patching.int3_batch_*"],
               why="a batch of K sites takes 3 sync rounds in all (2 sites, and 6), on apply and on revert"),
    KtestCheck("rolls-back-when-deaf", ["patching.int3_rolls_*"],
               why="a CPU that never answers a sync: the site goes back to the NOP, the apply fails, nothing half-done"),
    KtestCheck("each-step-synced", ["lab_int3.each_*"],
               why="every site's cc before sync 1, its tail after sync 1, its first byte after sync 2, then sync 3"),
    KtestCheck("cc-lands-in-the-right-version", ["lab_int3.cc_*", "scenario.int3_released_*"],
               why="a CPU meeting the cc runs the version being written; a held thread released after each step"),
    KtestCheck("bytes-and-text-verify", ["patching.int3_turns_*", "text.verify_sees_*"],
               why="the NOP becomes e9 rel32 and back; text verify sees the 5 bytes, then nothing"),
    KtestCheck("calls-under-load", ["smoke.i*"],   # smoke.int3_under_load: the glob is short to share a boot
               why="apply and revert while every CPU calls the function: each call gets v1 or v2, nothing faults"),
    StressCheck("stress-int3-race", "stress 600 int3 seed={seed} flips=20000", seeds=[1, 2, 3],
                expect=[r"cc-redirects \d+ \(mid-batch [1-9]\d*\)"],
                why="patchtorture with int3 over fixed seeds: passes, and CPUs met a cc mid-batch (the race counter > 0)"),
]
