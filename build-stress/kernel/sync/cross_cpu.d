build-stress/kernel/sync/cross_cpu.o: kernel/sync/cross_cpu.cpp \
 kernel/sync/cross_cpu.h arch/x86/cpu.h arch/x86/gdt.h \
 arch/x86/sections.h arch/x86/trap.h kernel/cpu.h kernel/config.h \
 kernel/panic.h kernel/sched/thread.h kernel/sched/wait_queue.h \
 kernel/sync/spinlock.h kernel/time.h
kernel/sync/cross_cpu.h:
arch/x86/cpu.h:
arch/x86/gdt.h:
arch/x86/sections.h:
arch/x86/trap.h:
kernel/cpu.h:
kernel/config.h:
kernel/panic.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/time.h:
