#include "kernel/heap.h"

#include "kernel/panic.h"
#include "kernel/sync/spinlock.h"

namespace corral {
namespace {
Spinlock heap_lock("heap");
HeapArena arena;
bool heap_ready = false;
}  // namespace

void heap_init(void* base, size_t size) {
    SpinlockGuard guard(heap_lock);
    arena.init(base, size);
    heap_ready = true;
}

void* kmalloc(size_t size, size_t align) {
    if (!heap_ready) panic("kmalloc(%zu) before heap_init", size);
    SpinlockGuard guard(heap_lock);
    return arena.alloc(size, align);
}

void kfree(void* p) {
    if (!p) return;
    Result<void> r = [&] {
        SpinlockGuard guard(heap_lock);
        return arena.free(p);
    }();
    if (r.is_error()) panic("kfree(%p): %s", p, r.error());
}

HeapStats heap_stats() {
    SpinlockGuard guard(heap_lock);
    return arena.stats();
}

}  // namespace corral

// The C++ allocation operators.  `new` that fails panics: kernel code that
// can cope with failure calls kmalloc and checks.
static void* checked_alloc(size_t size) {
    void* p = corral::kmalloc(size ? size : 1);
    if (!p) corral::panic("out of kernel heap allocating %zu bytes", size);
    return p;
}
void* operator new(size_t size) { return checked_alloc(size); }
void* operator new[](size_t size) { return checked_alloc(size); }
void operator delete(void* p) noexcept { corral::kfree(p); }
void operator delete[](void* p) noexcept { corral::kfree(p); }
void operator delete(void* p, size_t) noexcept { corral::kfree(p); }
void operator delete[](void* p, size_t) noexcept { corral::kfree(p); }
