build-stress/arch/x86/safe_access.o: arch/x86/safe_access.cpp \
 arch/x86/safe_access.h arch/x86/sections.h arch/x86/trap.h
arch/x86/safe_access.h:
arch/x86/sections.h:
arch/x86/trap.h:
