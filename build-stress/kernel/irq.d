build-stress/kernel/irq.o: kernel/irq.cpp kernel/irq.h arch/x86/trap.h \
 arch/x86/cpu.h arch/x86/interrupts.h kernel/config.h kernel/cpu.h \
 kernel/sched/scheduler.h
kernel/irq.h:
arch/x86/trap.h:
arch/x86/cpu.h:
arch/x86/interrupts.h:
kernel/config.h:
kernel/cpu.h:
kernel/sched/scheduler.h:
