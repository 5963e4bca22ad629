build-stress/arch/x86/paging.o: arch/x86/paging.cpp arch/x86/paging.h \
 kernel/lib/result.h arch/x86/cpu.h arch/x86/sections.h
arch/x86/paging.h:
kernel/lib/result.h:
arch/x86/cpu.h:
arch/x86/sections.h:
