build-stress/patching/patching.o: patching/patching.cpp \
 patching/patching.h patching/corral.h kernel/config.h \
 kernel/lib/result.h patching/hold.h kernel/sched/wait_queue.h \
 kernel/sync/spinlock.h patching/text_writer.h patching/torn.h \
 patching/transaction.h patching/strategy.h patching/scan.h
patching/patching.h:
patching/corral.h:
kernel/config.h:
kernel/lib/result.h:
patching/hold.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
patching/text_writer.h:
patching/torn.h:
patching/transaction.h:
patching/strategy.h:
patching/scan.h:
