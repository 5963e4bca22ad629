build-stress/patching/hold.o: patching/hold.cpp patching/hold.h \
 kernel/sched/wait_queue.h kernel/sync/spinlock.h arch/x86/cpu.h \
 arch/x86/sections.h arch/x86/trap.h kernel/cpu.h kernel/config.h \
 kernel/panic.h kernel/time.h
patching/hold.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
arch/x86/cpu.h:
arch/x86/sections.h:
arch/x86/trap.h:
kernel/cpu.h:
kernel/config.h:
kernel/panic.h:
kernel/time.h:
