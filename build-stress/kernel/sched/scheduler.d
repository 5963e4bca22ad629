build-stress/kernel/sched/scheduler.o: kernel/sched/scheduler.cpp \
 kernel/sched/scheduler.h kernel/sync/cross_cpu.h arch/x86/cpu.h \
 arch/x86/lapic.h kernel/lib/result.h arch/x86/trap.h kernel/cpu.h \
 kernel/config.h kernel/panic.h kernel/sched/thread.h \
 kernel/sched/wait_queue.h kernel/sync/spinlock.h arch/x86/sections.h
kernel/sched/scheduler.h:
kernel/sync/cross_cpu.h:
arch/x86/cpu.h:
arch/x86/lapic.h:
kernel/lib/result.h:
arch/x86/trap.h:
kernel/cpu.h:
kernel/config.h:
kernel/panic.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
arch/x86/sections.h:
