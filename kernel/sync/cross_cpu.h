// Cross-CPU requests, and waits that keep answering them.
//
// A CPU that waits for other CPUs (a corral's gather, an int3 sync round, a
// TLB shootdown, a spinlock another CPU holds) must go on answering what the
// others ask of *it*, or two CPUs each waiting for the other deadlock: a
// shootdown waiting for a CPU that is gathering a corral and waiting for the
// shootdown's sender.
//
// We poll, the way Linux's smp_call_function_many() runs its own queue while
// it waits and stop_machine's multi_cpu_stop() loop keeps acking: every wait
// loop calls cross_cpu_serve(), which runs each registered server whose
// request is pending for this CPU.  Enabling interrupts instead would not do:
// most of these waits run with interrupts off on purpose (a spinlock holder,
// the corral's owner, a trap handler), and an interrupts-on wait can be
// preempted halfway through a protocol.  The IPI still goes out: it wakes a
// halted CPU and reaches code that is not waiting; its handler calls the same
// server, so serving twice is harmless (each server checks its own state).
#pragma once
#include <stdint.h>

namespace corral {
namespace arch { struct TrapFrame; }

struct CrossCpuServer {
    const char* name;
    bool (*pending)();                        // a request for this CPU is waiting (cheap, no side effects)
    void (*serve)(arch::TrapFrame* where);    // answers it; `where` describes the interrupted code
};

// Servers are registered at init, before the APs start.
void cross_cpu_register(const CrossCpuServer& server);

// Answers every request pending for this CPU.  Called from wait loops: the
// frame handed to the servers is made up on the spot (the caller's EIP and
// EBP) and linked into the current thread's frame chain while they run, so
// the patcher's scan sees where this thread was.
void cross_cpu_serve();

// One turn of a wait loop: pause, then serve.
void cross_cpu_relax();

// wait_until() that serves while it waits.
bool cross_cpu_wait_until(bool (*done)(void*), void* ctx, uint64_t timeout_us);

// The trap frame a poll makes up has this vector (no real trap has it).
constexpr uint32_t VECTOR_POLL = 0xffffffffu;

}  // namespace corral
