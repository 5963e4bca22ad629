build-stress/patching/tests/race_test.o: patching/tests/race_test.cpp \
 arch/x86/cpu.h kernel/cpu.h kernel/config.h kernel/sched/thread.h \
 kernel/sched/wait_queue.h kernel/sync/spinlock.h kernel/smp.h \
 kernel/lib/result.h kernel/test/ktest.h kernel/time.h patching/corral.h
arch/x86/cpu.h:
kernel/cpu.h:
kernel/config.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/smp.h:
kernel/lib/result.h:
kernel/test/ktest.h:
kernel/time.h:
patching/corral.h:
