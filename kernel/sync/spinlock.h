// Spinlock with a name and an owner CPU (xv6), an RAII guard (SerenityOS),
// and deadlock detection: spinning far too long panics naming the holder.
#pragma once
#include <stdint.h>

namespace corral {

class Spinlock {
public:
    constexpr explicit Spinlock(const char* name) : name_(name) {}

    // Disables interrupts on this CPU for as long as the lock is held, so an
    // interrupt handler on the same CPU can never spin on it forever.
    void lock();
    void unlock();
    [[nodiscard]] bool try_lock();
    bool holding() const;        // held by this CPU
    const char* name() const { return name_; }
    int owner_cpu() const { return owner_cpu_; }
    uintptr_t owner_pc() const { return owner_pc_; }

private:
    volatile uint32_t locked_ = 0;
    const char* name_;
    volatile int owner_cpu_ = -1;
    volatile uintptr_t owner_pc_ = 0;
};

class SpinlockGuard {
public:
    explicit SpinlockGuard(Spinlock& lock) : lock_(lock) { lock_.lock(); }
    ~SpinlockGuard() { lock_.unlock(); }
    SpinlockGuard(const SpinlockGuard&) = delete;
    SpinlockGuard& operator=(const SpinlockGuard&) = delete;

private:
    Spinlock& lock_;
};

// Interrupts off on this CPU for a scope (nests with spinlocks).
class InterruptGuard {
public:
    InterruptGuard();
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;
};

#define ASSERT_HOLDING(lock) \
    do { if (!(lock).holding()) ::corral::panic("%s: lock '%s' not held", __func__, (lock).name()); } while (0)

}  // namespace corral
