build-stress/patching/torn.o: patching/torn.cpp patching/torn.h \
 arch/x86/safe_access.h arch/x86/sections.h arch/x86/trap.h \
 kernel/console/console.h kernel/lib/string.h kernel/lib/result.h \
 kernel/sched/thread.h kernel/sched/wait_queue.h kernel/sync/spinlock.h \
 kernel/symbols.h
patching/torn.h:
arch/x86/safe_access.h:
arch/x86/sections.h:
arch/x86/trap.h:
kernel/console/console.h:
kernel/lib/string.h:
kernel/lib/result.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/symbols.h:
