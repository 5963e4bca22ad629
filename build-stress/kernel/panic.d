build-stress/kernel/panic.o: kernel/panic.cpp kernel/panic.h \
 arch/x86/cpu.h arch/x86/power.h arch/x86/safe_access.h arch/x86/trap.h \
 kernel/config.h kernel/console/console.h kernel/cpu.h kernel/mm/stacks.h \
 kernel/lib/result.h kernel/symbols.h
kernel/panic.h:
arch/x86/cpu.h:
arch/x86/power.h:
arch/x86/safe_access.h:
arch/x86/trap.h:
kernel/config.h:
kernel/console/console.h:
kernel/cpu.h:
kernel/mm/stacks.h:
kernel/lib/result.h:
kernel/symbols.h:
