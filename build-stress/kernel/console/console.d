build-stress/kernel/console/console.o: kernel/console/console.cpp \
 kernel/console/console.h arch/x86/cpu.h arch/x86/uart.h \
 kernel/lib/format.h kernel/sync/spinlock.h
kernel/console/console.h:
arch/x86/cpu.h:
arch/x86/uart.h:
kernel/lib/format.h:
kernel/sync/spinlock.h:
