build-stress/patching/transaction.o: patching/transaction.cpp \
 patching/transaction.h kernel/lib/result.h patching/strategy.h \
 patching/scan.h kernel/heap.h kernel/heap_arena.h arch/x86/sections.h \
 patching/corral.h kernel/config.h patching/text_writer.h kernel/panic.h \
 patching/demo_targets.h kernel/lib/string.h kernel/sched/wait_queue.h \
 kernel/sync/spinlock.h kernel/symbols.h patching/torn.h
patching/transaction.h:
kernel/lib/result.h:
patching/strategy.h:
patching/scan.h:
kernel/heap.h:
kernel/heap_arena.h:
arch/x86/sections.h:
patching/corral.h:
kernel/config.h:
patching/text_writer.h:
kernel/panic.h:
patching/demo_targets.h:
kernel/lib/string.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/symbols.h:
patching/torn.h:
