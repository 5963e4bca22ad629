build-stress/kernel/test/memory_test.o: kernel/test/memory_test.cpp \
 arch/x86/paging.h kernel/lib/result.h arch/x86/safe_access.h \
 kernel/heap.h kernel/heap_arena.h kernel/mm/memory.h kernel/multiboot.h \
 kernel/test/ktest.h
arch/x86/paging.h:
kernel/lib/result.h:
arch/x86/safe_access.h:
kernel/heap.h:
kernel/heap_arena.h:
kernel/mm/memory.h:
kernel/multiboot.h:
kernel/test/ktest.h:
