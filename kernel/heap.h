// The kernel heap: one HeapArena (kernel/heap_arena.h) behind a spinlock,
// and the C++ allocation operators on top of it.
#pragma once
#include <stddef.h>

#include "kernel/heap_arena.h"

namespace corral {

void heap_init(void* base, size_t size);
void* kmalloc(size_t size, size_t align = 16);
// Panics on a double free or a foreign pointer: silently corrupting the heap
// would be worse.
void kfree(void* p);
HeapStats heap_stats();

}  // namespace corral

inline void* operator new(size_t, void* where) noexcept { return where; }
inline void* operator new[](size_t, void* where) noexcept { return where; }
