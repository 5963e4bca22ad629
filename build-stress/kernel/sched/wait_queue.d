build-stress/kernel/sched/wait_queue.o: kernel/sched/wait_queue.cpp \
 kernel/sched/wait_queue.h kernel/sync/spinlock.h kernel/cpu.h \
 kernel/config.h kernel/panic.h kernel/sched/scheduler.h \
 kernel/sched/thread.h
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/cpu.h:
kernel/config.h:
kernel/panic.h:
kernel/sched/scheduler.h:
kernel/sched/thread.h:
