build-stress/kernel/heap.o: kernel/heap.cpp kernel/heap.h \
 kernel/heap_arena.h kernel/lib/result.h kernel/panic.h \
 kernel/sync/spinlock.h
kernel/heap.h:
kernel/heap_arena.h:
kernel/lib/result.h:
kernel/panic.h:
kernel/sync/spinlock.h:
