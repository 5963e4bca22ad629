build-stress/kernel/sched/thread.o: kernel/sched/thread.cpp \
 kernel/sched/thread.h kernel/sched/wait_queue.h kernel/sync/spinlock.h \
 arch/x86/cpu.h arch/x86/sections.h arch/x86/trap.h kernel/config.h \
 kernel/cpu.h kernel/heap.h kernel/heap_arena.h kernel/lib/result.h \
 kernel/lib/format.h kernel/lib/string.h kernel/mm/stacks.h \
 kernel/panic.h kernel/sched/scheduler.h
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
arch/x86/cpu.h:
arch/x86/sections.h:
arch/x86/trap.h:
kernel/config.h:
kernel/cpu.h:
kernel/heap.h:
kernel/heap_arena.h:
kernel/lib/result.h:
kernel/lib/format.h:
kernel/lib/string.h:
kernel/mm/stacks.h:
kernel/panic.h:
kernel/sched/scheduler.h:
