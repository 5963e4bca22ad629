build-stress/arch/x86/power.o: arch/x86/power.cpp arch/x86/power.h \
 arch/x86/cpu.h
arch/x86/power.h:
arch/x86/cpu.h:
