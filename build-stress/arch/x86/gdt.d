build-stress/arch/x86/gdt.o: arch/x86/gdt.cpp arch/x86/gdt.h \
 arch/x86/cpu.h kernel/config.h kernel/panic.h
arch/x86/gdt.h:
arch/x86/cpu.h:
kernel/config.h:
kernel/panic.h:
