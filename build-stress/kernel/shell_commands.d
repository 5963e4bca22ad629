build-stress/kernel/shell_commands.o: kernel/shell_commands.cpp \
 arch/x86/paging.h kernel/lib/result.h arch/x86/power.h \
 arch/x86/safe_access.h kernel/config.h kernel/console/console.h \
 kernel/heap.h kernel/heap_arena.h kernel/lib/string.h kernel/mm/memory.h \
 kernel/multiboot.h kernel/shell.h kernel/symbols.h
arch/x86/paging.h:
kernel/lib/result.h:
arch/x86/power.h:
arch/x86/safe_access.h:
kernel/config.h:
kernel/console/console.h:
kernel/heap.h:
kernel/heap_arena.h:
kernel/lib/string.h:
kernel/mm/memory.h:
kernel/multiboot.h:
kernel/shell.h:
kernel/symbols.h:
