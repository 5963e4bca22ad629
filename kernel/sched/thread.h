// Kernel threads.  Each thread keeps what the patcher's scan needs to find
// every saved EIP (docs/design.md §2): its switch context and its chain of trap
// frames, newest first.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/sched/wait_queue.h"
#include "kernel/sync/spinlock.h"

namespace corral {
namespace arch { struct TrapFrame; }

// What switch_context (arch/x86/switch.asm) leaves on a switched-out
// thread's stack; Thread::context points at it.
struct Context {
    uint32_t edi, esi, ebx, ebp, eip;
};

enum class ThreadState : uint32_t { Ready, Running, Blocked, Sleeping, Dead };
const char* thread_state_name(ThreadState s);

constexpr uint32_t AFFINITY_ANY = 0xffffffffu;

struct Thread {
    int id;
    char name[24];
    volatile ThreadState state;
    volatile int cpu;                 // the CPU it runs on or is queued for
    volatile uint32_t affinity;       // bit n: may run on CPU n
    Context* context;                 // valid while switched out
    arch::TrapFrame* frames;          // newest trap frame on its stack
    uint8_t* stack;                   // lowest address (nullptr: boot stack)
    size_t stack_size;
    volatile bool on_cpu;             // still running or switching out somewhere
    bool is_idle;
    volatile bool detached;           // nobody joins it: the reaper frees it
    int slice_ticks;                  // timer ticks left before preemption
    volatile int preempt_off;         // > 0: never preempted (it still takes interrupts)
    void (*entry)(void*);
    void* arg;
    int exit_code;
    uint64_t wake_tick;               // while sleeping
    uint32_t cpus_seen;               // bitmask of CPUs it has run on (tests, `threads`)
    uint64_t switches_in;
    // Owned by the patcher's per-thread consistency model (patching/klp):
    // which version of a patch in transition this thread runs, and a flag
    // that keeps it from being switched in while the patcher inspects it.
    volatile uint32_t patch_universe;
    volatile uint32_t patch_checking;
    // How and where it was last switched (a report of a broken contract
    // names them): "running", "asleep", "at entry", "by itself", ...
    const char* volatile patch_switched_how;
    volatile uintptr_t patch_switched_at;   // the EIP the check found it at (0: not known)
    Thread* queue_next;               // run queue, wait queue or sleep list
    Thread* all_next;                 // every thread, for the scan and `threads`
    Spinlock join_lock{"join"};       // orders "Dead" against a joiner's check
    WaitQueue exited;                 // join() waits here
};

// The patch_universe every new thread starts with (patching/klp: a new
// thread has no old function on its stack, so it starts where a transition
// goes, once it may).  A thread takes it as it joins the thread list, under
// the list's lock: so it is either among the threads that
// thread_set_patch_universes sets, or starts with the value set there.
void thread_set_initial_patch_universe(uint32_t universe);
// Every thread's patch_universe, and the one new threads start with, at once.
void thread_set_patch_universes(uint32_t every_thread, uint32_t new_threads);

// Creates a thread and makes it runnable.  `affinity` is a CPU bitmask.
Thread* thread_create(const char* name, void (*entry)(void*), void* arg, uint32_t affinity = AFFINITY_ANY);
[[noreturn]] void thread_exit(int code);
// Waits for `t` to exit, frees it, returns its exit code.
int thread_join(Thread* t);
// Nobody will join `t`: once it exits, the reaper thread frees it.
void thread_detach(Thread* t);
void reaper_start();
// Threads that exist: running, waiting, or dead and not yet freed.
int thread_count();
// The reaper has detached threads left to free (tests: memory counts are
// only stable once it has none).
bool reaper_busy();
void thread_yield();
void thread_sleep_ms(uint32_t ms);
void thread_set_affinity(Thread* t, uint32_t affinity);
Thread* current_thread();

// Every thread, under the thread-list lock (the scan, `threads`).
void for_each_thread(void (*fn)(Thread* t, void* ctx), void* ctx);

}  // namespace corral
