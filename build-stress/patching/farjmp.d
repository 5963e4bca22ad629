build-stress/patching/farjmp.o: patching/farjmp.cpp patching/farjmp.h \
 patching/strategy.h kernel/lib/result.h patching/scan.h arch/x86/cpu.h \
 arch/x86/gdt.h arch/x86/sections.h arch/x86/trap.h kernel/cpu.h \
 kernel/config.h kernel/lib/string.h kernel/sched/thread.h \
 kernel/sched/wait_queue.h kernel/sync/spinlock.h kernel/symbols.h \
 patching/corral.h patching/text_writer.h patching/x86_decode.h
patching/farjmp.h:
patching/strategy.h:
kernel/lib/result.h:
patching/scan.h:
arch/x86/cpu.h:
arch/x86/gdt.h:
arch/x86/sections.h:
arch/x86/trap.h:
kernel/cpu.h:
kernel/config.h:
kernel/lib/string.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/symbols.h:
patching/corral.h:
patching/text_writer.h:
patching/x86_decode.h:
