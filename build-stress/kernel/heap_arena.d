build-stress/kernel/heap_arena.o: kernel/heap_arena.cpp \
 kernel/heap_arena.h kernel/lib/result.h
kernel/heap_arena.h:
kernel/lib/result.h:
