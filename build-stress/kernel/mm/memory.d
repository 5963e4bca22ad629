build-stress/kernel/mm/memory.o: kernel/mm/memory.cpp kernel/mm/memory.h \
 kernel/lib/result.h kernel/multiboot.h arch/x86/paging.h kernel/config.h \
 kernel/console/console.h kernel/heap.h kernel/heap_arena.h \
 kernel/mm/frame_bitmap.h kernel/sync/spinlock.h
kernel/mm/memory.h:
kernel/lib/result.h:
kernel/multiboot.h:
arch/x86/paging.h:
kernel/config.h:
kernel/console/console.h:
kernel/heap.h:
kernel/heap_arena.h:
kernel/mm/frame_bitmap.h:
kernel/sync/spinlock.h:
