build-stress/kernel/time.o: kernel/time.cpp kernel/time.h arch/x86/cpu.h \
 arch/x86/interrupts.h arch/x86/sections.h
kernel/time.h:
arch/x86/cpu.h:
arch/x86/interrupts.h:
arch/x86/sections.h:
