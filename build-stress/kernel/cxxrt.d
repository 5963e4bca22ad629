build-stress/kernel/cxxrt.o: kernel/cxxrt.cpp arch/x86/cpu.h \
 kernel/panic.h
arch/x86/cpu.h:
kernel/panic.h:
