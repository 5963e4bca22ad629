build-stress/kernel/sync/spinlock.o: kernel/sync/spinlock.cpp \
 kernel/sync/spinlock.h arch/x86/cpu.h arch/x86/sections.h kernel/cpu.h \
 kernel/config.h kernel/panic.h kernel/sync/cross_cpu.h
kernel/sync/spinlock.h:
arch/x86/cpu.h:
arch/x86/sections.h:
kernel/cpu.h:
kernel/config.h:
kernel/panic.h:
kernel/sync/cross_cpu.h:
