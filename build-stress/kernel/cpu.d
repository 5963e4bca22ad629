build-stress/kernel/cpu.o: kernel/cpu.cpp kernel/cpu.h kernel/config.h \
 arch/x86/cpu.h arch/x86/sections.h kernel/panic.h
kernel/cpu.h:
kernel/config.h:
arch/x86/cpu.h:
arch/x86/sections.h:
kernel/panic.h:
