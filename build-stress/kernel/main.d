build-stress/kernel/main.o: kernel/main.cpp arch/x86/cpu.h arch/x86/gdt.h \
 arch/x86/power.h arch/x86/trap.h kernel/cmdline.h kernel/lib/result.h \
 kernel/config.h kernel/console/console.h kernel/cpu.h kernel/irq.h \
 kernel/lib/format.h kernel/lib/string.h kernel/mm/memory.h \
 kernel/multiboot.h kernel/panic.h kernel/sched/scheduler.h \
 kernel/sched/thread.h kernel/sched/wait_queue.h kernel/sync/spinlock.h \
 kernel/shell.h kernel/smp.h kernel/symbols.h kernel/test/ktest.h \
 kernel/time.h patching/patching.h
arch/x86/cpu.h:
arch/x86/gdt.h:
arch/x86/power.h:
arch/x86/trap.h:
kernel/cmdline.h:
kernel/lib/result.h:
kernel/config.h:
kernel/console/console.h:
kernel/cpu.h:
kernel/irq.h:
kernel/lib/format.h:
kernel/lib/string.h:
kernel/mm/memory.h:
kernel/multiboot.h:
kernel/panic.h:
kernel/sched/scheduler.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/shell.h:
kernel/smp.h:
kernel/symbols.h:
kernel/test/ktest.h:
kernel/time.h:
patching/patching.h:
