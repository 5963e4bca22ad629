build-stress/patching/tests/engine_test.o: patching/tests/engine_test.cpp \
 arch/x86/cpu.h arch/x86/paging.h kernel/lib/result.h arch/x86/trap.h \
 kernel/cpu.h kernel/config.h kernel/lib/format.h kernel/lib/string.h \
 kernel/sched/thread.h kernel/sched/wait_queue.h kernel/sync/spinlock.h \
 kernel/symbols.h kernel/test/ktest.h patching/corral.h \
 patching/demo_targets.h patching/strategy.h patching/scan.h \
 patching/text_writer.h patching/transaction.h patching/x86_decode.h
arch/x86/cpu.h:
arch/x86/paging.h:
kernel/lib/result.h:
arch/x86/trap.h:
kernel/cpu.h:
kernel/config.h:
kernel/lib/format.h:
kernel/lib/string.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/symbols.h:
kernel/test/ktest.h:
patching/corral.h:
patching/demo_targets.h:
patching/strategy.h:
patching/scan.h:
patching/text_writer.h:
patching/transaction.h:
patching/x86_decode.h:
