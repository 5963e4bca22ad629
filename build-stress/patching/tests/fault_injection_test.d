build-stress/patching/tests/fault_injection_test.o: \
 patching/tests/fault_injection_test.cpp arch/x86/cpu.h arch/x86/lapic.h \
 kernel/lib/result.h arch/x86/trap.h kernel/cpu.h kernel/config.h \
 kernel/lib/string.h kernel/sched/thread.h kernel/sched/wait_queue.h \
 kernel/sync/spinlock.h kernel/smp.h kernel/test/ktest.h kernel/time.h \
 patching/corral.h
arch/x86/cpu.h:
arch/x86/lapic.h:
kernel/lib/result.h:
arch/x86/trap.h:
kernel/cpu.h:
kernel/config.h:
kernel/lib/string.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/smp.h:
kernel/test/ktest.h:
kernel/time.h:
patching/corral.h:
