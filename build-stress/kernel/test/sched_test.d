build-stress/kernel/test/sched_test.o: kernel/test/sched_test.cpp \
 arch/x86/cpu.h arch/x86/paging.h kernel/lib/result.h \
 arch/x86/safe_access.h kernel/mm/memory.h kernel/multiboot.h \
 kernel/mm/stacks.h kernel/cpu.h kernel/config.h kernel/heap.h \
 kernel/heap_arena.h kernel/lib/string.h kernel/sched/scheduler.h \
 kernel/sched/thread.h kernel/sched/wait_queue.h kernel/sync/spinlock.h \
 kernel/smp.h kernel/test/ktest.h kernel/time.h
arch/x86/cpu.h:
arch/x86/paging.h:
kernel/lib/result.h:
arch/x86/safe_access.h:
kernel/mm/memory.h:
kernel/multiboot.h:
kernel/mm/stacks.h:
kernel/cpu.h:
kernel/config.h:
kernel/heap.h:
kernel/heap_arena.h:
kernel/lib/string.h:
kernel/sched/scheduler.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/smp.h:
kernel/test/ktest.h:
kernel/time.h:
