build-stress/arch/x86/pic.o: arch/x86/pic.cpp arch/x86/cpu.h \
 arch/x86/interrupts.h arch/x86/sections.h arch/x86/trap.h
arch/x86/cpu.h:
arch/x86/interrupts.h:
arch/x86/sections.h:
arch/x86/trap.h:
