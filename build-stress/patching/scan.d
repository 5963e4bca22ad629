build-stress/patching/scan.o: patching/scan.cpp patching/scan.h \
 arch/x86/cpu.h arch/x86/safe_access.h arch/x86/sections.h \
 arch/x86/trap.h kernel/cpu.h kernel/config.h kernel/lib/string.h \
 kernel/lib/result.h kernel/sched/thread.h kernel/sched/wait_queue.h \
 kernel/sync/spinlock.h patching/corral.h
patching/scan.h:
arch/x86/cpu.h:
arch/x86/safe_access.h:
arch/x86/sections.h:
arch/x86/trap.h:
kernel/cpu.h:
kernel/config.h:
kernel/lib/string.h:
kernel/lib/result.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
patching/corral.h:
