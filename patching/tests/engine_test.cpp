// The patching engine's parts: corral, text writer, planners, transactions.
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/trap.h"
#include "kernel/cpu.h"
#include "kernel/lib/format.h"
#include "kernel/lib/string.h"
#include "kernel/mm/stacks.h"
#include "kernel/sched/thread.h"
#include "kernel/sched/wait_queue.h"
#include "kernel/symbols.h"
#include "kernel/test/ktest.h"
#include "kernel/time.h"
#include "patching/corral.h"
#include "patching/demo_targets.h"
#include "patching/farjmp.h"
#include "patching/strategy.h"
#include "patching/text_writer.h"
#include "patching/transaction.h"
#include "patching/scan.h"
#include "patching/x86_decode.h"

namespace corral {
namespace {

bool bytes_are(uintptr_t address, const uint8_t* want, int n) {
    for (int i = 0; i < n; i++)
        if (reinterpret_cast<const uint8_t*>(address)[i] != want[i]) return false;
    return true;
}

struct ParkProbe { int cpus_seen_parked; bool nested_refused; };

Result<void> probe_work(void* ctx, const CorralReport& report) {
    auto* p = static_cast<ParkProbe*>(ctx);
    for (int c = 0; c < report.cpus; c++)
        if (report.parked_frame[c]) p->cpus_seen_parked++;
    p->nested_refused = corral_all_cpus(probe_work, ctx).is_error();
    return Ok{};
}

KTEST(corral, parks_every_other_cpu_and_refuses_nesting) {
    ParkProbe p{0, false};
    CorralReport report{};
    uint64_t before = corral_count();
    KREQUIRE(corral_all_cpus(probe_work, &p, &report).is_ok());
    KEXPECT_EQ(p.cpus_seen_parked, cpu_count() - 1);
    KEXPECT_EQ(report.missing_mask, 0u);
    KEXPECT_EQ(report.parked_mask, (cpu_count() == 32 ? 0xffffffffu : (1u << cpu_count()) - 1));
    KEXPECT(p.nested_refused);
    KEXPECT_EQ(corral_count(), before + 1);
}

volatile bool deaf_stop = false;
volatile bool deaf_ready = false;
void deaf_cpu(void*) {
    arch::cli();   // this CPU will not take the corral's IPI
    deaf_ready = true;
    while (!deaf_stop) arch::cpu_relax();
    arch::sti();
}

// While alive, the last CPU ignores interrupts (and so the corral's IPIs),
// and corrals give up after 300 ms.
class DeafCpu {
public:
    DeafCpu() : saved_(corral_timeout_us()) {
        deaf_stop = false;
        deaf_ready = false;
        thread_ = thread_create("deaf", deaf_cpu, nullptr, 1u << (cpu_count() - 1));
        while (!deaf_ready) thread_yield();
        corral_set_timeout_us(300000);
    }
    ~DeafCpu() {
        corral_set_timeout_us(saved_);
        deaf_stop = true;
        thread_join(thread_);
    }

private:
    uint64_t saved_;
    Thread* thread_;
};

bool work_ran = false;
Result<void> must_not_run(void*, const CorralReport&) {
    work_ran = true;
    return Ok{};
}

// Negative control: a CPU that never answers must abort the corral with
// nothing written and a report naming it -- not hang, not patch anyway.
KTEST(corral, deaf_cpu_aborts_with_nothing_written) {
    if (cpu_count() < 2) { t.skip("needs a second CPU to play deaf"); return; }
    const int deaf = cpu_count() - 1;
    work_ran = false;
    CorralReport report{};
    Result<void> r = make_error("not run");
    {
        DeafCpu deaf_cpu_for_a_while;
        r = corral_all_cpus(must_not_run, nullptr, &report);
    }
    KEXPECT(r.is_error());
    KEXPECT(!work_ran);
    // The deaf CPU must be named.  On an overloaded host another vCPU may
    // also miss a short timeout; that is a report, not a test failure.
    KEXPECT(report.missing_mask & (1u << deaf));
    KEXPECT(str_contains(r.error(), "never answered"));
    ParkProbe again{0, false};
    KEXPECT(corral_all_cpus(probe_work, &again).is_ok());   // and the next corral works again
    KEXPECT_EQ(again.cpus_seen_parked, cpu_count() - 1);
}

// The int3 protocol with a CPU that never answers a sync: it must roll the
// site back (nothing half-written) and say so.
KTEST(patching, int3_rolls_back_when_a_cpu_is_deaf) {
    if (cpu_count() < 2) { t.skip("needs a second CPU to play deaf"); return; }
    PatchRecord* f = patch_find("fentry");
    KREQUIRE(f);
    const uint8_t nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
    Result<void> r = make_error("not run");
    {
        DeafCpu deaf_cpu_for_a_while;
        r = patch_apply(f);
    }
    KEXPECT(r.is_error() && str_contains(r.error(), "rolled back"));
    KEXPECT(bytes_are(f->target, nop5, 5));
    KEXPECT(f->state != PatchState::Applied);
    KEXPECT_EQ(demo_fentry_counter(3), 17);
}

KTEST(text_writer, text_stays_read_only_and_alias_goes_away) {
    PatchRecord* hot = patch_find("hot");
    KREQUIRE(hot);
    KREQUIRE(patch_apply(hot).is_ok());
    KEXPECT_EQ(arch::lookup_pte(uint32_t(hot->target)) & arch::PTE_WRITABLE, 0u);
    KEXPECT_EQ(arch::lookup_pte(uint32_t(text_alias_base())), 0u);
    KREQUIRE(patch_revert(hot).is_ok());
    KEXPECT(text_write(uintptr_t(&deaf_stop), reinterpret_cast<const uint8_t*>("x"), 1).is_error());   // not text
}

KTEST(patching, hotpatch_writes_e9_in_padding_and_eb_f9_at_entry) {
    PatchRecord* hot = patch_find("hot");
    KREQUIRE(hot);
    const uint8_t original[2] = {0x8b, 0xff}, short_jmp[2] = {0xeb, 0xf9};
    KEXPECT(bytes_are(hot->target, original, 2));
    KEXPECT_EQ(demo_hot_counter(10), 31);
    KREQUIRE(patch_apply(hot).is_ok());
    KEXPECT(bytes_are(hot->target, short_jmp, 2));
    KEXPECT_EQ(reinterpret_cast<const uint8_t*>(hot->target)[-5], 0xe9);
    KEXPECT_EQ(demo_hot_counter(10), 31 + DEMO_V2_OFFSET);
    KREQUIRE(patch_revert(hot).is_ok());
    KEXPECT(bytes_are(hot->target, original, 2));
    // The padding keeps its (now unreachable) jmp: a thread that took the
    // short jmp just before the revert must still find a whole jmp there.
    KEXPECT_EQ(reinterpret_cast<const uint8_t*>(hot->target)[-5], 0xe9);
    KEXPECT_EQ(demo_hot_counter(10), 31);
}

KTEST(patching, far_jmp_writes_ea_abs32_sel16) {
    PatchRecord* seed = patch_find("seed");
    KREQUIRE(seed);
    const uint8_t seed_bytes[13] = {0x8b, 0xff, 0x53, 0x50, 0x53, 0x51, 0x52, 0x5a, 0x59, 0x5b, 0x58, 0x5b, 0xc3};
    KEXPECT(bytes_are(seed->target, seed_bytes, 13));   // the seed's function, byte for byte
    const uint32_t calls = seed_example_v2_calls;
    KREQUIRE(patch_apply(seed, find_strategy("corral-scan")).is_ok());
    const uint32_t to = uint32_t(uintptr_t(&seed_landing));
    const uint8_t jmp[7] = {0xea, uint8_t(to), uint8_t(to >> 8), uint8_t(to >> 16), uint8_t(to >> 24), 0x08, 0x00};
    KEXPECT(bytes_are(seed->target, jmp, 7));
    seed_example();
    KEXPECT_EQ(seed_example_v2_calls, calls + 1);
    KREQUIRE(patch_revert(seed).is_ok());
    KEXPECT(bytes_are(seed->target, seed_bytes, 13));
    seed_example();
    KEXPECT_EQ(seed_example_v2_calls, calls + 1);
}

KTEST(patching, int3_turns_the_entry_nop_into_a_jmp) {
    PatchRecord* f = patch_find("fentry");
    KREQUIRE(f);
    const uint8_t nop5[5] = {0x0f, 0x1f, 0x44, 0x00, 0x00};
    KEXPECT(bytes_are(f->target, nop5, 5));
    KREQUIRE(patch_apply(f).is_ok());
    KEXPECT_EQ(reinterpret_cast<const uint8_t*>(f->target)[0], 0xe9);
    KEXPECT_EQ(demo_fentry_counter(3), 17 + DEMO_V2_OFFSET);
    KREQUIRE(patch_revert(f).is_ok());
    KEXPECT(bytes_are(f->target, nop5, 5));
    KEXPECT_EQ(demo_fentry_counter(3), 17);
}

KTEST(patching, stacked_patches_revert_in_order) {
    PatchRecord* v2 = patch_find("hot");
    PatchRecord* v3 = patch_find("hot-v3");
    KREQUIRE(v2 && v3);
    KREQUIRE(patch_apply(v2).is_ok());
    KREQUIRE(patch_apply(v3).is_ok());
    KEXPECT_EQ(demo_hot_counter(1), 4 + 2 * DEMO_V2_OFFSET);
    Result<void> wrong_order = patch_revert(v2);
    KEXPECT(wrong_order.is_error() && str_contains(wrong_order.error(), "stacked under hot-v3"));
    KREQUIRE(patch_revert(v3).is_ok());
    KEXPECT_EQ(demo_hot_counter(1), 4 + DEMO_V2_OFFSET);   // the earlier patch is back
    KREQUIRE(patch_revert(v2).is_ok());
    KEXPECT_EQ(demo_hot_counter(1), 4);
}

}  // namespace
}  // namespace corral

// A function whose v2 sleeps inside itself (on a gate), and a v3.
corral::Semaphore stack_test_gate(0);
extern "C" __attribute__((noipa)) int stack_test_fn(int x) { return x + 1; }
extern "C" __attribute__((noipa)) int stack_test_fn_v2(int x) {
    stack_test_gate.down();
    return x + 2;
}
extern "C" __attribute__((noipa)) int stack_test_fn_v3(int x) { return x + 3; }

namespace corral {
namespace {

volatile int stack_test_result = 0;
void stack_test_caller(void*) { stack_test_result = stack_test_fn(0); }

bool is_blocked(void* t) {
    auto* th = static_cast<Thread*>(t);
    return th->state == ThreadState::Blocked && !th->on_cpu;
}

// stop-check stacking v3 on v2 must wait for a thread inside v2: that is
// the code running at the function now, though it is not the function's
// own body (patchtorture's contract pairs caught a thread in v2 of `outer`
// meeting v3 of `inner`).  With the back-off cut to three tries, the stack
// is refused naming the thread in v2; once it leaves, the stack goes on.
KTEST(patching, stop_check_stacking_waits_for_a_thread_in_the_patch_below) {
    PatchRecord* v2 = patch_find("stack-test.v2");
    PatchRecord* v3 = patch_find("stack-test.v3");
    if (!v2) {
        Result<PatchRecord*> a = patch_define("stack-test.v2", "stack_test_fn", uintptr_t(&stack_test_fn_v2), "stop-check");
        Result<PatchRecord*> b = patch_define("stack-test.v3", "stack_test_fn", uintptr_t(&stack_test_fn_v3), "stop-check");
        KREQUIRE(a.is_ok() && b.is_ok());
        v2 = a.value();
        v3 = b.value();
    }
    KREQUIRE(patch_apply(v2).is_ok());
    Thread* caller = thread_create("stack-caller", stack_test_caller, nullptr);
    const uint64_t end = now_us() + 5000000;
    while (!is_blocked(caller) && now_us() < end) thread_sleep_ms(1);
    KREQUIRE(is_blocked(caller));
    far_jmp_set_max_deferrals(3);
    Result<void> stacked = patch_apply(v3);
    far_jmp_set_max_deferrals(0);
    KEXPECT(stacked.is_error());
    if (stacked.is_error()) KEXPECT(str_contains(stacked.error(), "stack_test_fn_v2"));
    stack_test_gate.up();
    thread_join(caller);
    KEXPECT_EQ(stack_test_result, 2);
    if (stacked.is_error()) KEXPECT(patch_apply(v3).is_ok());
    KEXPECT_EQ(stack_test_fn(0), 3);
    KEXPECT(patch_revert(v3).is_ok());
    KEXPECT(patch_revert(v2).is_ok());
    KEXPECT_EQ(stack_test_fn(0), 1);
}

KTEST(patching, revert_refuses_when_text_changed_underneath) {
    PatchRecord* hot = patch_find("hot");
    KREQUIRE(hot);
    KREQUIRE(patch_apply(hot).is_ok());
    const uint8_t meddle[2] = {0x8b, 0xff};
    KREQUIRE(text_write(hot->target, meddle, 2).is_ok());   // someone else changed the entry
    Result<void> r = patch_revert(hot);
    KEXPECT(r.is_error() && str_contains(r.error(), "changed underneath"));
    const uint8_t ours[2] = {0xeb, 0xf9};
    KREQUIRE(text_write(hot->target, ours, 2).is_ok());
    KEXPECT(patch_revert(hot).is_ok());
}

KTEST(patching, batch_is_one_corral) {
    PatchRecord* list[2] = {patch_find("hot"), patch_find("seed")};
    KREQUIRE(list[0] && list[1]);
    const uint64_t before = corral_count();
    KREQUIRE(patch_apply_batch(list, 2, find_strategy("hotpatch")).is_ok());
    KEXPECT_EQ(corral_count(), before + 1);
    KEXPECT_EQ(demo_hot_counter(2), 7 + DEMO_V2_OFFSET);
    KREQUIRE(patch_revert_batch(list, 2).is_ok());
    KEXPECT_EQ(corral_count(), before + 2);   // the revert too
    KEXPECT_EQ(demo_hot_counter(2), 7);
}

KTEST(patching, int3_batch_shares_three_sync_rounds) {
    PatchRecord* list[2] = {patch_find("fentry"), patch_find("square")};
    KREQUIRE(list[0] && list[1]);
    const uint64_t before = sync_count();
    KREQUIRE(patch_apply_batch(list, 2, nullptr).is_ok());
    KEXPECT_EQ(sync_count(), before + 3);   // not 3 per site
    KEXPECT_EQ(demo_fentry_counter(1), 7 + DEMO_V2_OFFSET);
    KEXPECT_EQ(demo_fentry_square(4), 16 + DEMO_V2_OFFSET);
    KREQUIRE(patch_revert_batch(list, 2).is_ok());
    KEXPECT_EQ(sync_count(), before + 6);
    KEXPECT_EQ(demo_fentry_square(4), 16);
}

KTEST(patching, batch_revert_takes_each_function_once) {
    PatchRecord* hot = patch_find("hot");
    PatchRecord* v3 = patch_find("hot-v3");
    KREQUIRE(hot && v3);
    KREQUIRE(patch_apply(hot).is_ok());
    KREQUIRE(patch_apply(v3).is_ok());
    PatchRecord* both[2] = {v3, hot};
    Result<void> r = patch_revert_batch(both, 2);
    KEXPECT(r.is_error() && str_contains(r.error(), "one patch per function"));
    KEXPECT_EQ(demo_hot_counter(2), 7 + 2 * DEMO_V2_OFFSET);   // nothing written
    KEXPECT(patch_revert(v3).is_ok());
    KEXPECT(patch_revert(hot).is_ok());
    KEXPECT_EQ(demo_hot_counter(2), 7);
}

struct Sleeper { volatile bool asleep; };
[[gnu::noinline]] void sleep_inside_marker(void* arg) {
    static_cast<Sleeper*>(arg)->asleep = true;
    thread_sleep_ms(300);
    asm volatile("" ::: "memory");   // keep the frame: the return address into here matters
}

Result<void> scan_for_marker(void* ctx, const CorralReport&) {
    auto* hits = static_cast<bool*>(ctx);
    Result<Symbol> fn = symbol_by_name("sleep_inside_marker");
    if (fn.is_error()) return fn.error_value();
    const uintptr_t start = fn.value().address, end = start + fn.value().size;
    ScanHit hit{};
    hits[0] = scan_saved_contexts(start, end, ScanMode::Function, &hit);
    hits[1] = scan_saved_contexts(start + 1, start + 5, ScanMode::Range, &hit);   // its 5-byte NOP: nobody there
    return Ok{};
}

// Function mode sees a thread whose return address points into the
// function (it called out and sleeps); range mode looks only at the bytes.
KTEST(scan, function_mode_sees_return_addresses) {
    Sleeper s{false};
    Thread* th = thread_create("sleeper", sleep_inside_marker, &s);
    while (!s.asleep) thread_yield();
    thread_sleep_ms(20);
    bool hits[2] = {false, true};
    KREQUIRE(corral_all_cpus(scan_for_marker, hits).is_ok());
    thread_join(th);
    KEXPECT(hits[0]);
    KEXPECT(!hits[1]);
}

// A saved context or trap-frame chain that leads into unmapped memory (a
// broken corral -- a negative control -- lets threads run, return from traps
// and exit under the scan) costs the scan that thread, not the kernel: the
// loads are fault-tolerant.  Here both point into a stack's guard page.
KTEST(scan, survives_saved_pointers_into_unmapped_memory) {
    Result<uint8_t*> stack = stack_alloc();
    KREQUIRE(stack.is_ok());
    const uintptr_t unmapped = uintptr_t(stack.value()) - 64;
    KREQUIRE(is_stack_guard(unmapped));
    Thread ghost{};
    str_copy(ghost.name, "ghost", sizeof ghost.name);
    ghost.state = ThreadState::Sleeping;
    ghost.context = reinterpret_cast<Context*>(unmapped);
    ghost.frames = reinterpret_cast<arch::TrapFrame*>(unmapped);
    const CodeRange everything{0, ~uintptr_t(0)};
    ScanHit hit{};
    KEXPECT(!scan_one_thread(&ghost, &everything, 1, &hit));
    stack_free(stack.value());
}

// A thread interrupted on a function's first instruction has its caller's
// return address on top of its stack, not in the EBP chain: the scan must
// count it (else a thread inside old `outer`, stopped on entry to a
// function `outer` calls, looks clear of `outer`).  Stopped in the middle
// of a function, the same word may be anything stale, and must not count
// (a tick's klp handler leaves return addresses below a busy thread's
// stack, and they once kept the reaper from switching).  A ghost thread
// whose one trap frame has the word right above it.
KTEST(scan, a_return_address_on_top_of_a_frameless_stack_counts_only_at_an_entry) {
    struct {
        arch::TrapFrame frame;
        uint32_t stack[2];
    } stopped{};
    const uintptr_t outer = uintptr_t(&demo_fentry_square);
    const size_t outer_size = symbol_size_at(outer);
    KREQUIRE(outer_size > 8);
    KREQUIRE(stopped.frame.interrupted_esp() == uint32_t(uintptr_t(&stopped.stack[0])));
    stopped.stack[0] = uint32_t(outer + 8);   // a return address into `outer`
    stopped.frame.ebp = 0;                    // the caller's chain: nothing more
    Thread ghost{};
    str_copy(ghost.name, "ghost", sizeof ghost.name);
    ghost.state = ThreadState::Ready;
    ghost.frames = &stopped.frame;
    const CodeRange range{outer, outer + outer_size};
    stopped.frame.eip = uint32_t(uintptr_t(&demo_fentry_counter));   // on a function's first instruction
    KEXPECT(scan_one_thread(&ghost, &range, 1, nullptr));
    // Past the prologue (the fentry NOP, push ebp, mov ebp,esp): the frame
    // is made, and the word on top is no return address.
    const auto* code = reinterpret_cast<const uint8_t*>(&demo_fentry_counter);
    KREQUIRE(code[0] == 0x0f && code[5] == 0x55 && code[6] == 0x89 && code[7] == 0xe5);
    stopped.frame.eip = uint32_t(uintptr_t(code + 8));
    KEXPECT(!scan_one_thread(&ghost, &range, 1, nullptr));
    stopped.frame.eip = uint32_t(uintptr_t(code + 6));   // between the push and the mov: [esp + 4]
    stopped.stack[1] = stopped.stack[0];
    stopped.stack[0] = 0;                                 // the pushed ebp
    KEXPECT(scan_one_thread(&ghost, &range, 1, nullptr));
}

KTEST(patching, planner_refuses_what_it_must) {
    Result<PatchRecord*> trap = patch_define("bad-trap", "trap_dispatch", uintptr_t(&demo_hot_counter_v2), "naive");
    KREQUIRE(trap.is_ok());
    Result<void> r = patch_apply(trap.value());
    KEXPECT(r.is_error() && str_contains(r.error(), "not patchable"));
    // The text writer and the lock it takes are code the patcher runs too.
    const char* patcher_code[] = {"corral::text_write", "corral::Spinlock::lock", "corral::scan_saved_contexts"};
    for (const char* fn : patcher_code) {
        char name[32];
        format(name, sizeof name, "bad-%s", fn + 8);
        Result<PatchRecord*> d = patch_define(name, fn, uintptr_t(&demo_hot_counter_v2), "corral-scan");
        KREQUIRE(d.is_ok());
        Result<void> refused = patch_apply(d.value());
        if (!refused.is_error() || !str_contains(refused.error(), "not patchable"))
            t.fail(__FILE__, __LINE__, "patching %s was not refused", fn);
    }
    KEXPECT(patch_define("bad-sym", "no_such_function", 0, "naive").is_error());
    KEXPECT(patch_define("bad-strategy", "seed_example", 0, "yolo").is_error());
    // hotpatch needs the 8b ff layout; int3 needs an fentry site.
    Result<void> no_layout = patch_apply(patch_find("fentry"), find_strategy("hotpatch"));
    KEXPECT(no_layout.is_error() && str_contains(no_layout.error(), "no hotpatch layout"));
    Result<void> no_site = patch_apply(patch_find("seed"), find_strategy("int3"));
    KEXPECT(no_site.is_error() && str_contains(no_site.error(), "no fentry site"));
    KEXPECT(patch_find("fentry")->state != PatchState::Applied);
}

KTEST(patching, decoder_agrees_with_the_seed_layout) {
    auto* seed = reinterpret_cast<const uint8_t*>(&seed_example);
    KEXPECT(check_boundaries(seed, 13, 0, 7).is_ok());    // the far jmp covers whole instructions
    KEXPECT(check_boundaries(seed, 13, 0, 2).is_ok());    // the hotpatch entry: mov edi,edi
    KEXPECT(check_boundaries(seed, 13, 1, 2).is_error()); // starts inside mov edi,edi
}

}  // namespace
}  // namespace corral
