build-stress/patching/torture/targets.o: patching/torture/targets.cpp \
 patching/torture/targets.h kernel/lib/format.h kernel/sched/thread.h \
 kernel/sched/wait_queue.h kernel/sync/spinlock.h patching/layout.h \
 arch/x86/sections.h
patching/torture/targets.h:
kernel/lib/format.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
patching/layout.h:
arch/x86/sections.h:
