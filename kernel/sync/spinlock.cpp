#include "kernel/sync/spinlock.h"

#include "arch/x86/cpu.h"
#include "kernel/cpu.h"
#include "kernel/panic.h"

namespace corral {

// About a minute of spinning under TCG with 8 vCPUs on 2 host cores; no
// correct critical section in Corral is anywhere near that long.
static constexpr uint64_t SPIN_LIMIT = 1ull << 31;

void Spinlock::lock() {
    push_cli();
    if (holding()) panic("spinlock '%s': recursive acquire on cpu %d", name_, cpu_index());
    uint64_t spins = 0;
    while (__atomic_exchange_n(&locked_, 1u, __ATOMIC_ACQUIRE) != 0) {
        while (locked_ != 0) {
            arch::cpu_relax();
            if (++spins == SPIN_LIMIT)
                panic("spinlock '%s': deadlock? cpu %d spun %llu times; held by cpu %d since pc %p", name_,
                      cpu_index(), (unsigned long long)spins, owner_cpu_, (void*)owner_pc_);
        }
    }
    owner_cpu_ = cpu_index();
    owner_pc_ = uintptr_t(__builtin_return_address(0));
}

bool Spinlock::try_lock() {
    push_cli();
    if (__atomic_exchange_n(&locked_, 1u, __ATOMIC_ACQUIRE) != 0) {
        pop_cli();
        return false;
    }
    owner_cpu_ = cpu_index();
    owner_pc_ = uintptr_t(__builtin_return_address(0));
    return true;
}

void Spinlock::unlock() {
    if (!holding()) panic("spinlock '%s': released by cpu %d but held by cpu %d", name_, cpu_index(), owner_cpu_);
    owner_cpu_ = -1;
    owner_pc_ = 0;
    __atomic_store_n(&locked_, 0u, __ATOMIC_RELEASE);
    pop_cli();
}

bool Spinlock::holding() const {
    push_cli();
    bool r = locked_ && owner_cpu_ == cpu_index();
    pop_cli();
    return r;
}

InterruptGuard::InterruptGuard() { push_cli(); }
InterruptGuard::~InterruptGuard() { pop_cli(); }

}  // namespace corral
