build-stress/patching/tests/smoke_test.o: patching/tests/smoke_test.cpp \
 kernel/cpu.h kernel/config.h kernel/heap.h kernel/heap_arena.h \
 kernel/lib/result.h kernel/sched/thread.h kernel/sched/wait_queue.h \
 kernel/sync/spinlock.h kernel/test/ktest.h patching/demo_targets.h \
 patching/hold.h patching/strategy.h patching/scan.h patching/torn.h \
 patching/transaction.h
kernel/cpu.h:
kernel/config.h:
kernel/heap.h:
kernel/heap_arena.h:
kernel/lib/result.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/test/ktest.h:
patching/demo_targets.h:
patching/hold.h:
patching/strategy.h:
patching/scan.h:
patching/torn.h:
patching/transaction.h:
