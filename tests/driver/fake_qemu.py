#!/usr/bin/env python3
"""A stand-in for qemu-system-i386 (selected with CORRAL_QEMU_BINARY) so the
driver's streaming, early-kill and timeout logic is tested without a kernel.
The word `fake=<scenario>` in -append picks what it "boots"; it sleeps at
most 30 s, so a driver bug cannot leave it running for long."""
import sys
import time

BANNER = "Corral 0.0-fake booting"


def say(*lines, pause=0.0):
    for ln in lines:
        sys.stdout.write(ln + "\r\n")      # the real UART sends CRLF
        sys.stdout.flush()
        time.sleep(pause)


def main():
    argv = sys.argv[1:]
    append = argv[argv.index("-append") + 1] if "-append" in argv else ""
    scenario = next((w.split("=", 1)[1] for w in append.split() if w.startswith("fake=")), "pass")
    if scenario == "stderr":               # QEMU itself failed: exit 1, but no boot at all
        sys.stderr.write("qemu-system-i386: could not load kernel\n")
        sys.exit(1)
    say(BANNER, "smp: 1 CPUs online")
    if scenario == "pass":
        say("[ RUN  ] a.b", "[ PASS ] a.b", "ktest: 1 passed, 0 failed")
        sys.stdout.write("powering off (no newline)")
        sys.exit(33)                       # isa-debug-exit value 0x10: the kernel's success
    if scenario == "fail-exit":
        say("[ RUN  ] a.b", "[ FAIL ] a.b: nope", "ktest: 0 passed, 1 failed")
        sys.exit(35)
    if scenario == "reset":
        say("selftest: triple fault now", BANNER, "after the reset")
    elif scenario == "panic":
        say("PANIC: fake panic", "  backtrace:")
        time.sleep(1.0)                    # the backtrace arrives late; the driver must wait for it
        say("    #0 00100000 late_frame+0")
    time.sleep(30)                         # hang: only the driver's kill or timeout ends this


if __name__ == "__main__":
    main()
