build-stress/patching/torture/torture.o: patching/torture/torture.cpp \
 patching/torture/torture.h patching/corral.h kernel/config.h \
 kernel/lib/result.h arch/x86/cpu.h arch/x86/sections.h arch/x86/trap.h \
 kernel/console/console.h kernel/cpu.h kernel/lib/format.h \
 kernel/lib/string.h kernel/sched/scheduler.h kernel/sched/thread.h \
 kernel/sched/wait_queue.h kernel/sync/spinlock.h kernel/shell.h \
 kernel/smp.h kernel/symbols.h kernel/time.h patching/farjmp.h \
 patching/strategy.h patching/scan.h patching/hold.h \
 patching/text_verify.h patching/torn.h patching/torture/inject.h \
 patching/torture/plan.h patching/torture/targets.h \
 patching/transaction.h
patching/torture/torture.h:
patching/corral.h:
kernel/config.h:
kernel/lib/result.h:
arch/x86/cpu.h:
arch/x86/sections.h:
arch/x86/trap.h:
kernel/console/console.h:
kernel/cpu.h:
kernel/lib/format.h:
kernel/lib/string.h:
kernel/sched/scheduler.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/shell.h:
kernel/smp.h:
kernel/symbols.h:
kernel/time.h:
patching/farjmp.h:
patching/strategy.h:
patching/scan.h:
patching/hold.h:
patching/text_verify.h:
patching/torn.h:
patching/torture/inject.h:
patching/torture/plan.h:
patching/torture/targets.h:
patching/transaction.h:
