build-stress/kernel/sched/sched_commands.o: \
 kernel/sched/sched_commands.cpp arch/x86/trap.h kernel/console/console.h \
 arch/x86/cpu.h kernel/cpu.h kernel/config.h kernel/lib/string.h \
 kernel/lib/result.h kernel/time.h kernel/lib/format.h \
 kernel/sched/thread.h kernel/sched/wait_queue.h kernel/sync/spinlock.h \
 kernel/shell.h kernel/symbols.h
arch/x86/trap.h:
kernel/console/console.h:
arch/x86/cpu.h:
kernel/cpu.h:
kernel/config.h:
kernel/lib/string.h:
kernel/lib/result.h:
kernel/time.h:
kernel/lib/format.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/shell.h:
kernel/symbols.h:
