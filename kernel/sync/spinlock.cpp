#include "kernel/sync/spinlock.h"

#include "arch/x86/cpu.h"
#include "arch/x86/sections.h"
#include "kernel/cpu.h"
#include "kernel/panic.h"
#include "kernel/sync/cross_cpu.h"

namespace corral {

// About a minute of spinning under TCG with 8 vCPUs on 2 host cores; no
// correct critical section in Corral is anywhere near that long.
static constexpr uint64_t SPIN_LIMIT = 1ull << 31;

// Spinning:
// - From an interrupts-on context (thread code), an unfair lock spins with
//   interrupts on and turns them off only to take the lock: the spinner
//   answers IPIs and the tick as usual.
// - With interrupts already off (nested locks, trap handlers) and for a fair
//   lock (a preempted ticket holder would stall every waiter behind it), the
//   spin serves the cross-CPU requests aimed at this CPU (cross_cpu.h): a
//   TLB shootdown or a corral waiting for us gets its answer.
NOT_PATCHABLE void Spinlock::lock() {
    if (holding()) panic("spinlock '%s': recursive acquire on cpu %d", name_, cpu_index());
    uint64_t spins = 0;
    if (!fair_ && arch::interrupts_enabled()) {
        for (;;) {
            push_cli();
            if (acquire_if_free()) break;
            pop_cli();
            while (!looks_free() && ++spins < SPIN_LIMIT) arch::cpu_relax();
            if (spins >= SPIN_LIMIT) break;
        }
        if (spins >= SPIN_LIMIT) push_cli();
    } else if (fair_) {
        push_cli();
        // A ticket is a place in the lock: count it as held, so that no
        // corral parks us while the lock may be handed to us.
        this_cpu()->spinlocks_held++;
        this_cpu()->newest_lock = name_;
        const uint16_t mine = uint16_t(__atomic_fetch_add(&tickets_, 1u << 16, __ATOMIC_RELAXED) >> 16);
        while (uint16_t(__atomic_load_n(&tickets_, __ATOMIC_ACQUIRE)) != mine) {
            cross_cpu_relax();
            if (++spins == SPIN_LIMIT) break;
        }
        this_cpu()->spinlocks_held--;
    } else {
        push_cli();
        while (!acquire_if_free() && ++spins < SPIN_LIMIT) cross_cpu_relax();
    }
    if (spins >= SPIN_LIMIT)
        panic("spinlock '%s': deadlock? cpu %d spun %llu times; held by cpu %d since pc %p", name_, cpu_index(),
              (unsigned long long)spins, owner_cpu_, (void*)owner_pc_);
    owner_cpu_ = cpu_index();
    owner_pc_ = uintptr_t(__builtin_return_address(0));
    this_cpu()->spinlocks_held++;
    this_cpu()->newest_lock = name_;
}

NOT_PATCHABLE bool Spinlock::looks_free() const {
    const uint32_t t = __atomic_load_n(&tickets_, __ATOMIC_RELAXED);
    return uint16_t(t) == uint16_t(t >> 16);
}

// Takes the next ticket only if it is served at once: free, nobody waiting.
NOT_PATCHABLE bool Spinlock::acquire_if_free() {
    uint32_t t = __atomic_load_n(&tickets_, __ATOMIC_RELAXED);
    return uint16_t(t) == uint16_t(t >> 16) &&
           __atomic_compare_exchange_n(&tickets_, &t, t + (1u << 16), false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

NOT_PATCHABLE bool Spinlock::try_lock() {
    push_cli();
    if (!acquire_if_free()) {
        pop_cli();
        return false;
    }
    owner_cpu_ = cpu_index();
    owner_pc_ = uintptr_t(__builtin_return_address(0));
    this_cpu()->spinlocks_held++;
    this_cpu()->newest_lock = name_;
    return true;
}

NOT_PATCHABLE void Spinlock::unlock() {
    if (!holding()) panic("spinlock '%s': released by cpu %d but held by cpu %d", name_, cpu_index(), owner_cpu_);
    owner_cpu_ = -1;
    owner_pc_ = 0;
    this_cpu()->spinlocks_held--;
    // Serve the next ticket: only the low half changes (the holder alone
    // writes it, so a plain increment of that half is enough).
    const uint32_t t = __atomic_load_n(&tickets_, __ATOMIC_RELAXED);
    const uint16_t next_served = uint16_t(uint16_t(t) + 1);
    uint32_t expected = t;
    while (!__atomic_compare_exchange_n(&tickets_, &expected, (expected & 0xffff0000u) | next_served, false,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
    }
    pop_cli();
}

NOT_PATCHABLE bool Spinlock::holding() const {
    push_cli();
    uint32_t t = tickets_;
    bool r = uint16_t(t) != uint16_t(t >> 16) && owner_cpu_ == cpu_index();
    pop_cli();
    return r;
}

InterruptGuard::InterruptGuard() { push_cli(); }
InterruptGuard::~InterruptGuard() { pop_cli(); }

namespace {
volatile bool catch_lock_assertions = false;
volatile uint32_t lock_assertions = 0;
}  // namespace

void lock_not_held(const char* function, const char* lock) {
    if (!catch_lock_assertions) panic("%s: lock '%s' not held", function, lock);
    __atomic_add_fetch(&lock_assertions, 1, __ATOMIC_RELAXED);
}
void lock_assertions_caught_for_tests(bool catch_them) { catch_lock_assertions = catch_them; }
uint32_t lock_assertions_caught() { return lock_assertions; }

}  // namespace corral
