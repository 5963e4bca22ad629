build-stress/patching/torture/inject.o: patching/torture/inject.cpp \
 patching/torture/inject.h kernel/lib/result.h arch/x86/cpu.h \
 arch/x86/lapic.h arch/x86/sections.h kernel/cpu.h kernel/config.h \
 kernel/lib/format.h kernel/lib/string.h kernel/sched/scheduler.h \
 kernel/sched/thread.h kernel/sched/wait_queue.h kernel/sync/spinlock.h \
 kernel/time.h patching/corral.h
patching/torture/inject.h:
kernel/lib/result.h:
arch/x86/cpu.h:
arch/x86/lapic.h:
arch/x86/sections.h:
kernel/cpu.h:
kernel/config.h:
kernel/lib/format.h:
kernel/lib/string.h:
kernel/sched/scheduler.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/time.h:
patching/corral.h:
