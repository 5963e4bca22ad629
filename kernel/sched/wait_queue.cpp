#include "kernel/sched/wait_queue.h"

#include "kernel/cpu.h"
#include "kernel/panic.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"

namespace corral {

void WaitQueue::wait(Spinlock* held) {
    push_cli();   // interrupts stay off from "Blocked" until schedule()
    Thread* t = current_thread();
    lock_.lock();
    t->state = ThreadState::Blocked;
    t->queue_next = nullptr;
    if (tail_) tail_->queue_next = t; else head_ = t;
    tail_ = t;
    lock_.unlock();
    if (held) held->unlock();
    schedule();
    pop_cli();
    if (held) held->lock();
}

void WaitQueue::wake_one() {
    Thread* t;
    {
        SpinlockGuard g(lock_);
        t = head_;
        if (!t) return;
        head_ = t->queue_next;
        if (!head_) tail_ = nullptr;
        t->queue_next = nullptr;
    }
    sched_wake(t);
}

void WaitQueue::wake_all() {
    Thread* list;
    {
        SpinlockGuard g(lock_);
        list = head_;
        head_ = tail_ = nullptr;
    }
    while (list) {
        Thread* t = list;
        list = t->queue_next;
        t->queue_next = nullptr;
        sched_wake(t);
    }
}

void Mutex::lock() {
    Thread* me = current_thread();
    SpinlockGuard g(guard_);
    if (owner_ == me) panic("mutex: %s locked twice by %s", guard_.name(), me->name);
    while (owner_) waiters_.wait(&guard_);
    owner_ = me;
}

void Mutex::unlock() {
    SpinlockGuard g(guard_);
    if (owner_ != current_thread()) panic("mutex: %s unlocked by a thread that does not hold it", guard_.name());
    owner_ = nullptr;
    waiters_.wake_one();
}

bool Mutex::holding() const { return owner_ == current_thread(); }

void Semaphore::down() {
    SpinlockGuard g(guard_);
    while (count_ <= 0) waiters_.wait(&guard_);
    count_ = count_ - 1;
}

void Semaphore::up() {
    SpinlockGuard g(guard_);
    count_ = count_ + 1;
    waiters_.wake_one();
}

}  // namespace corral
