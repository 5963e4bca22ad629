build-stress/arch/x86/idt.o: arch/x86/idt.cpp arch/x86/gdt.h \
 arch/x86/interrupts.h arch/x86/safe_access.h arch/x86/sections.h \
 arch/x86/trap.h kernel/config.h kernel/panic.h
arch/x86/gdt.h:
arch/x86/interrupts.h:
arch/x86/safe_access.h:
arch/x86/sections.h:
arch/x86/trap.h:
kernel/config.h:
kernel/panic.h:
