build-stress/kernel/console/serial_input.o: \
 kernel/console/serial_input.cpp arch/x86/cpu.h arch/x86/trap.h \
 arch/x86/uart.h kernel/config.h kernel/console/console.h kernel/irq.h \
 kernel/sched/wait_queue.h kernel/sync/spinlock.h
arch/x86/cpu.h:
arch/x86/trap.h:
arch/x86/uart.h:
kernel/config.h:
kernel/console/console.h:
kernel/irq.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
