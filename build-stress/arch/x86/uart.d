build-stress/arch/x86/uart.o: arch/x86/uart.cpp arch/x86/uart.h \
 arch/x86/cpu.h
arch/x86/uart.h:
arch/x86/cpu.h:
