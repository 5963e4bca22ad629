build-stress/patching/strategy_int3.o: patching/strategy_int3.cpp \
 arch/x86/cpu.h arch/x86/sections.h arch/x86/trap.h \
 kernel/sched/wait_queue.h kernel/sync/spinlock.h patching/corral.h \
 kernel/config.h kernel/lib/result.h patching/farjmp.h \
 patching/strategy.h patching/scan.h patching/text_writer.h
arch/x86/cpu.h:
arch/x86/sections.h:
arch/x86/trap.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
patching/corral.h:
kernel/config.h:
kernel/lib/result.h:
patching/farjmp.h:
patching/strategy.h:
patching/scan.h:
patching/text_writer.h:
