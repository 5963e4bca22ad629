build-stress/patching/corral.o: patching/corral.cpp patching/corral.h \
 kernel/config.h kernel/lib/result.h arch/x86/cpu.h arch/x86/lapic.h \
 arch/x86/sections.h arch/x86/trap.h kernel/console/console.h \
 kernel/cpu.h kernel/lib/string.h kernel/panic.h kernel/smp.h \
 kernel/sched/scheduler.h kernel/sched/thread.h kernel/sched/wait_queue.h \
 kernel/sync/spinlock.h kernel/sync/cross_cpu.h kernel/time.h \
 patching/text_writer.h
patching/corral.h:
kernel/config.h:
kernel/lib/result.h:
arch/x86/cpu.h:
arch/x86/lapic.h:
arch/x86/sections.h:
arch/x86/trap.h:
kernel/console/console.h:
kernel/cpu.h:
kernel/lib/string.h:
kernel/panic.h:
kernel/smp.h:
kernel/sched/scheduler.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/sync/cross_cpu.h:
kernel/time.h:
patching/text_writer.h:
