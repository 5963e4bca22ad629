// Spinlock with a name and an owner CPU (xv6), an RAII guard (SerenityOS),
// and deadlock detection: spinning far too long panics naming the holder.
// A lock made `fair` is a ticket lock: CPUs get it in the order they asked,
// so one CPU hammering the console cannot starve another.  The default is
// unfair test-and-set, on purpose: under QEMU (8 vCPUs on 2 host threads) a
// ticket lock hands the lock to the next waiter even while that waiter's
// vCPU is not running, and everyone waits for it -- the reason paravirtual
// spinlocks exist.  The counter ktests went from seconds to minutes.
#pragma once
#include <stdint.h>

namespace corral {

class Spinlock {
public:
    constexpr explicit Spinlock(const char* name, bool fair = false) : name_(name), fair_(fair) {}

    // Disables interrupts on this CPU for as long as the lock is held, so an
    // interrupt handler on the same CPU can never spin on it forever.  While
    // it spins it keeps answering other CPUs (see spinlock.cpp).
    void lock();
    void unlock();
    [[nodiscard]] bool try_lock();
    bool holding() const;        // held by this CPU
    const char* name() const { return name_; }
    int owner_cpu() const { return owner_cpu_; }
    uintptr_t owner_pc() const { return owner_pc_; }

private:
    // Low half: the ticket being served; high half: the next ticket to hand out.
    volatile uint32_t tickets_ = 0;
    bool acquire_if_free();
    bool looks_free() const;
    const char* name_;
    bool fair_;
    volatile int owner_cpu_ = -1;
    volatile uintptr_t owner_pc_ = 0;
};

// The guards are [[nodiscard]] and cannot be copied: `SpinlockGuard{lock};`
// (a temporary: locked and unlocked on the spot) does not compile.
class SpinlockGuard {
public:
    [[nodiscard]] explicit SpinlockGuard(Spinlock& lock) : lock_(lock) { lock_.lock(); }
    ~SpinlockGuard() { lock_.unlock(); }
    SpinlockGuard(const SpinlockGuard&) = delete;
    SpinlockGuard& operator=(const SpinlockGuard&) = delete;

private:
    Spinlock& lock_;
};

// Interrupts off on this CPU for a scope (nests with spinlocks).
class InterruptGuard {
public:
    [[nodiscard]] InterruptGuard();
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;
};

// At the first line of a function whose comment says "Under X": X is held
// (a Spinlock by this CPU, a Mutex by this thread), or the kernel panics
// naming the function and the lock.
#define ASSERT_HOLDING(lock) \
    do { if (!(lock).holding()) ::corral::lock_not_held(__func__, (lock).name()); } while (0)
void lock_not_held(const char* function, const char* lock);
// ktests: a failed ASSERT_HOLDING is counted and returns instead of panicking.
void lock_assertions_caught_for_tests(bool catch_them);
uint32_t lock_assertions_caught();

}  // namespace corral
