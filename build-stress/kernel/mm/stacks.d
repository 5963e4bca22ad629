build-stress/kernel/mm/stacks.o: kernel/mm/stacks.cpp kernel/mm/stacks.h \
 kernel/lib/result.h arch/x86/paging.h kernel/config.h kernel/mm/memory.h \
 kernel/multiboot.h kernel/panic.h kernel/smp.h kernel/sync/spinlock.h
kernel/mm/stacks.h:
kernel/lib/result.h:
arch/x86/paging.h:
kernel/config.h:
kernel/mm/memory.h:
kernel/multiboot.h:
kernel/panic.h:
kernel/smp.h:
kernel/sync/spinlock.h:
