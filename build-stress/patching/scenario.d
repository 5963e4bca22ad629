build-stress/patching/scenario.o: patching/scenario.cpp \
 patching/scenario.h kernel/lib/result.h kernel/console/console.h \
 kernel/cpu.h kernel/config.h kernel/lib/format.h kernel/lib/string.h \
 kernel/panic.h kernel/sched/thread.h kernel/sched/wait_queue.h \
 kernel/sync/spinlock.h kernel/symbols.h kernel/time.h \
 patching/demo_targets.h patching/hold.h patching/strategy.h \
 patching/scan.h patching/torn.h patching/transaction.h
patching/scenario.h:
kernel/lib/result.h:
kernel/console/console.h:
kernel/cpu.h:
kernel/config.h:
kernel/lib/format.h:
kernel/lib/string.h:
kernel/panic.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/symbols.h:
kernel/time.h:
patching/demo_targets.h:
patching/hold.h:
patching/strategy.h:
patching/scan.h:
patching/torn.h:
patching/transaction.h:
