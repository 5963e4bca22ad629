// Wait queues, and the sleeping locks built on them.
#pragma once
#include <stdint.h>

#include "kernel/sync/spinlock.h"

namespace corral {

struct Thread;

class WaitQueue {
public:
    // Blocks the current thread until woken.  If `held` is given it is
    // released only after the thread is on the queue, and retaken after
    // waking: no wakeup between the caller's check and the sleep is lost.
    void wait(Spinlock* held = nullptr);
    void wake_one();
    void wake_all();
    bool empty() const { return head_ == nullptr; }

private:
    Spinlock lock_{"waitqueue"};
    Thread* head_ = nullptr;
    Thread* tail_ = nullptr;
};

class Mutex {
public:
    explicit Mutex(const char* name) : guard_(name) {}
    void lock();
    void unlock();
    bool holding() const;   // by the calling thread
    const char* name() const { return guard_.name(); }

private:
    Spinlock guard_;
    Thread* owner_ = nullptr;
    WaitQueue waiters_;
};

class MutexGuard {   // as SpinlockGuard: [[nodiscard]], no copies
public:
    [[nodiscard]] explicit MutexGuard(Mutex& m) : m_(m) { m_.lock(); }
    ~MutexGuard() { m_.unlock(); }
    MutexGuard(const MutexGuard&) = delete;
    MutexGuard& operator=(const MutexGuard&) = delete;

private:
    Mutex& m_;
};

class Semaphore {
public:
    explicit Semaphore(int initial) : count_(initial) {}
    void down();
    void up();
    int count() const { return count_; }

private:
    Spinlock guard_{"semaphore"};
    volatile int count_;
    WaitQueue waiters_;
};

}  // namespace corral
