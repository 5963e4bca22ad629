build-stress/arch/x86/lapic.o: arch/x86/lapic.cpp arch/x86/lapic.h \
 kernel/lib/result.h arch/x86/cpu.h arch/x86/paging.h arch/x86/sections.h
arch/x86/lapic.h:
kernel/lib/result.h:
arch/x86/cpu.h:
arch/x86/paging.h:
arch/x86/sections.h:
