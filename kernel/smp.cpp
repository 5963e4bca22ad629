#include "kernel/smp.h"

#include "arch/x86/cpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/interrupts.h"
#include "arch/x86/lapic.h"
#include "arch/x86/paging.h"
#include "arch/x86/safe_access.h"
#include "arch/x86/sections.h"
#include "arch/x86/topology.h"
#include "arch/x86/trap.h"
#include "kernel/boot_clock.h"
#include "kernel/config.h"
#include "kernel/console/console.h"
#include "kernel/cpu.h"
#include "kernel/heap.h"
#include "kernel/irq.h"
#include "kernel/lib/format.h"
#include "kernel/mm/memory.h"
#include "kernel/mm/stacks.h"
#include "kernel/panic.h"
#include "kernel/sched/scheduler.h"
#include "kernel/sched/thread.h"
#include "kernel/shell.h"
#include "kernel/symbols.h"
#include "kernel/sync/cross_cpu.h"
#include "kernel/sync/spinlock.h"
#include "kernel/time.h"

extern "C" const uint8_t ap_trampoline_start[], ap_trampoline_end[], ap_trampoline_params[];

namespace corral {
namespace {

constexpr uint32_t TRAMPOLINE_BASE = 0x8000;     // must match arch/x86/trampoline.asm
constexpr uint64_t AP_START_TIMEOUT_US = 5000000;  // generous: 8 vCPUs on 2 host cores under TCG

struct TrampolineParams { uint32_t cr3, stack, entry, cpu_index; };

arch::Topology topology;
bool apic_mode = false;

// Discovery runs before paging is on, so every physical address below
// 4 GiB is simply a pointer (page 0 included: the BIOS data area is there).
const uint8_t* read_physical(void*, uint64_t phys, size_t len) {
    if (phys + len > 0x100000000ull) return nullptr;
    return reinterpret_cast<const uint8_t*>(uintptr_t(phys));
}

Result<arch::Topology> discovered = make_error("smp: discovery did not run");

bool timer_interrupt(arch::TrapFrame*) {
    sched_timer_tick();
    return true;
}

// A panicking CPU stops the others with an NMI so its report stays readable.
// An NMI gets through whatever the CPU is doing -- parked in a corral,
// waiting for a shootdown, interrupts off -- so this wait needs nobody's
// cooperation; it is bounded all the same, and says who stopped.
constexpr uint64_t STOP_WAIT_US = 1000000;
constexpr uint64_t SAMPLE_WAIT_US = 1000000;
volatile bool stopping = false;
volatile int stopped = 0;
volatile uint32_t nmis_taken[config::MAX_CPUS];
CpuSample samples[config::MAX_CPUS];
volatile bool sample_wanted[config::MAX_CPUS];

// Where the NMI found this CPU: its EIP and the return addresses above it.
NOT_PATCHABLE void take_sample(const arch::TrapFrame* frame) {
    CpuSample& s = samples[cpu_index()];
    s.eips[0] = frame->eip;
    s.count = 1;
    uint32_t ebp = frame->ebp;
    while (s.count < CpuSample::MAX && ebp && !(ebp & 3)) {
        uint32_t next, ret;
        if (safe_read_u32(reinterpret_cast<const void*>(ebp), &next) != 0 ||
            safe_read_u32(reinterpret_cast<const void*>(ebp + 4), &ret) != 0 || !ret)
            break;
        s.eips[s.count++] = ret;
        if (next <= ebp) break;
        ebp = next;
    }
    s.interrupts_were_on = frame->eflags & arch::EFLAGS_IF;
    s.lapic = arch::lapic_state();
}

bool nmi(arch::TrapFrame* frame) {
    if (!stopping) {
        if (sample_wanted[cpu_index()]) {
            take_sample(frame);
            __atomic_store_n(&sample_wanted[cpu_index()], false, __ATOMIC_RELEASE);
        }
        nmis_taken[cpu_index()] = nmis_taken[cpu_index()] + 1;   // e.g. a test's NMI while parked
        return true;
    }
    __atomic_add_fetch(&stopped, 1, __ATOMIC_ACQ_REL);
    arch::halt_forever();
}
bool all_stopped(void* others) { return stopped >= int(uintptr_t(others)); }
StoppedCpus stop_other_cpus() {
    stopping = true;
    const int others = apic_mode ? cpu_count() - 1 : 0;
    if (others <= 0) return {0, 0};
    arch::ipi_send_nmi_all_but_self();
    wait_until(all_stopped, reinterpret_cast<void*>(uintptr_t(others)), STOP_WAIT_US);
    return {stopped, others};
}

// TLB shootdown requests: one slot per sending CPU, so two CPUs can shoot
// down at once and a sender holds no lock while it waits (a lock held there
// would stop a corral from parking it).  A slot's `pending` has a bit for
// every CPU that has not yet dropped `va`; the sender writes `va` first and
// does not touch it again until `pending` is empty.  One request covers a
// range of pages (a whole stack), so freeing one costs one round of IPIs.
struct ShootdownRequest {
    volatile uintptr_t va;
    volatile uint32_t pages;
    volatile uint32_t pending;
};
ShootdownRequest shootdowns[config::MAX_CPUS];
volatile uint64_t shootdowns_done = 0;
constexpr uint64_t SHOOTDOWN_REPORT_US = 1000000;   // a slow CPU is named once a second

NOT_PATCHABLE bool shootdown_pending() {
    const uint32_t me = 1u << cpu_index();
    for (int c = 0; c < cpu_count(); c++)
        if (__atomic_load_n(&shootdowns[c].pending, __ATOMIC_ACQUIRE) & me) return true;
    return false;
}

NOT_PATCHABLE void serve_shootdowns(arch::TrapFrame*) {
    const uint32_t me = 1u << cpu_index();
    for (int c = 0; c < cpu_count(); c++) {
        ShootdownRequest& r = shootdowns[c];
        if (!(__atomic_load_n(&r.pending, __ATOMIC_ACQUIRE) & me)) continue;
        for (uint32_t p = 0; p < r.pages; p++) arch::invlpg(r.va + p * arch::PAGE_SIZE);
        __atomic_and_fetch(&r.pending, ~me, __ATOMIC_ACQ_REL);
    }
}

NOT_PATCHABLE bool tlb_shootdown_ipi(arch::TrapFrame* frame) {
    serve_shootdowns(frame);
    return true;
}

uint32_t wait_us(uint32_t us) {
    udelay(us);
    return us;
}

extern "C" [[noreturn]] void ap_main(int index) {
    Cpu* c = &cpus[index];
    c->self = c;
    arch::gdt_init_cpu(index, c);
    arch::idt_load(index);
    arch::gdt_update_double_fault_cr3(index, arch::read_cr3());
    arch::lapic_init_this_cpu();
    arch::lapic_timer_start(SCHED_HZ);
    c->lapic_id = arch::lapic_id();
    char mark[8];
    format(mark, sizeof mark, "ap%d", index);
    boot_mark(mark);
    __atomic_store_n(&c->online, true, __ATOMIC_RELEASE);
    sched_start_ap();
}

bool cpu_is_online(void* index) { return __atomic_load_n(&cpus[uintptr_t(index)].online, __ATOMIC_ACQUIRE); }

// INIT, 10 ms, SIPI, 200 us, SIPI (Intel MP spec 1.4 B.4), then wait.
bool start_ap(int index, uint32_t apic_id) {
    Cpu* c = &cpus[index];
    c->index = index;
    c->lapic_id = apic_id;
    Result<uint8_t*> allocated = stack_alloc();   // the AP's boot flow becomes its idle thread
    if (allocated.is_error()) return false;
    uint8_t* stack = allocated.value();
    auto* params = reinterpret_cast<TrampolineParams*>(
        TRAMPOLINE_BASE + uintptr_t(ap_trampoline_params - ap_trampoline_start));
    *params = TrampolineParams{arch::kernel_page_directory(), uint32_t(uintptr_t(stack + config::KERNEL_STACK_SIZE)),
                               uint32_t(uintptr_t(&ap_main)), uint32_t(index)};
    arch::ipi_send_init(apic_id);
    udelay(10000);
    const uint8_t page = uint8_t(TRAMPOLINE_BASE >> 12);
    arch::ipi_send_startup(apic_id, page);
    udelay(200);
    if (!cpu_is_online(reinterpret_cast<void*>(uintptr_t(index)))) arch::ipi_send_startup(apic_id, page);
    return wait_until(cpu_is_online, reinterpret_cast<void*>(uintptr_t(index)), AP_START_TIMEOUT_US);
}

void start_all_aps() {
    const uint8_t* src = ap_trampoline_start;
    auto* dst = reinterpret_cast<uint8_t*>(uintptr_t(TRAMPOLINE_BASE));
    for (size_t i = 0; i < size_t(ap_trampoline_end - ap_trampoline_start); i++) dst[i] = src[i];
    int next_index = 1;
    for (int i = 0; i < topology.cpu_count; i++) {
        uint32_t id = topology.apic_ids[i];
        if (id == cpus[0].lapic_id) continue;
        if (next_index >= config::MAX_CPUS) break;
        if (start_ap(next_index, id)) {
            cpu_set_count(++next_index);
        } else {
            kprintf("smp: CPU with APIC id %u did not start within %llu ms; continuing without it\n", id,
                    (unsigned long long)(AP_START_TIMEOUT_US / 1000));
        }
    }
}

}  // namespace

void smp_discover() { discovered = arch::discover_topology(arch::PhysicalMemory{read_physical, nullptr}); }

bool smp_apic_mode() { return apic_mode; }
int smp_expected_cpus() {
    if (!apic_mode) return 1;
    return topology.cpu_count < config::MAX_CPUS ? topology.cpu_count : config::MAX_CPUS;
}

void smp_route_isa_irq(int irq) {
    if (!apic_mode) return;
    arch::IrqOverride r = arch::isa_irq_route(topology, uint8_t(irq));
    arch::ioapic_route(r.gsi, arch::VECTOR_IRQ_BASE + irq, cpus[0].lapic_id, r.active_low, r.level_triggered);
}

NOT_PATCHABLE uint32_t smp_others_mask() {
    const uint32_t all = cpu_count() >= 32 ? 0xffffffffu : (1u << cpu_count()) - 1;
    return all & ~(1u << cpu_index());
}

NOT_PATCHABLE void smp_send_ipi(uint32_t mask, int vector) {
    if (mask == smp_others_mask()) arch::ipi_send_all_but_self(vector);
    else
        for (uint32_t m = mask; m; m &= m - 1) arch::ipi_send(cpus[__builtin_ctz(m)].lapic_id, vector);
}

// Never gives up: a CPU that kept a stale mapping of a freed stack could
// write into the frame's next owner, so there is no safe way to go on
// without every answer.  A slow CPU is reported once a second instead.
NOT_PATCHABLE Result<void> tlb_shootdown_range(uintptr_t va, uint32_t pages) {
    for (uint32_t p = 0; p < pages; p++) arch::invlpg(va + p * arch::PAGE_SIZE);
    if (!apic_mode || cpu_count() < 2) return Ok{};
    InterruptGuard no_preemption;   // our slot must not be reused by another thread on this CPU
    ShootdownRequest& r = shootdowns[cpu_index()];
    r.va = va;
    r.pages = pages;
    __atomic_store_n(&r.pending, smp_others_mask(), __ATOMIC_RELEASE);
    arch::ipi_send_all_but_self(arch::VECTOR_IPI_TLB_SHOOTDOWN);
    const uint64_t start = now_us();
    uint64_t next_report = start + SHOOTDOWN_REPORT_US;
    while (__atomic_load_n(&r.pending, __ATOMIC_ACQUIRE)) {
        cross_cpu_relax();   // may park us in another CPU's corral for a while
        const uint64_t now = now_us();
        if (now < next_report) continue;
        next_report = now + SHOOTDOWN_REPORT_US;
        // Read again: the answer may have come while we were parked.
        const uint32_t missing = __atomic_load_n(&r.pending, __ATOMIC_ACQUIRE);
        if (!missing) break;
        kprintf("tlb shootdown of %#zx: still waiting for cpu %d after %llu ms\n", va, __builtin_ctz(missing),
                (unsigned long long)((now - start) / 1000));
        smp_print_sample(__builtin_ctz(missing));
        // An IPI stays requested in a deaf CPU's APIC until it listens, so
        // one should be enough; a second costs nothing and leaves nothing
        // to a single delivery (a long patchtorture run once saw a CPU idle,
        // interrupts on, that had not answered for minutes).
        for (uint32_t m = missing; m; m &= m - 1) arch::ipi_send(cpus[__builtin_ctz(m)].lapic_id, arch::VECTOR_IPI_TLB_SHOOTDOWN);
    }
    shootdowns_done = shootdowns_done + 1;
    return Ok{};
}

Result<void> tlb_shootdown(uintptr_t va) { return tlb_shootdown_range(va, 1); }

uint64_t tlb_shootdown_count() { return shootdowns_done; }
uint32_t smp_nmis_taken(int cpu) { return nmis_taken[cpu]; }

bool sample_taken(void* cpu) { return !__atomic_load_n(&sample_wanted[uintptr_t(cpu)], __ATOMIC_ACQUIRE); }

Result<CpuSample> smp_sample_cpu(int cpu) {
    if (!apic_mode || cpu < 0 || cpu >= cpu_count() || cpu == cpu_index())
        return make_error("cannot sample cpu %d from cpu %d", cpu, cpu_index());
    __atomic_store_n(&sample_wanted[cpu], true, __ATOMIC_RELEASE);
    arch::ipi_send_nmi(cpus[cpu].lapic_id);
    if (!cross_cpu_wait_until(sample_taken, reinterpret_cast<void*>(uintptr_t(cpu)), SAMPLE_WAIT_US)) {
        sample_wanted[cpu] = false;
        return make_error("cpu %d did not take the NMI within %llu ms", cpu,
                          (unsigned long long)(SAMPLE_WAIT_US / 1000));
    }
    return samples[cpu];
}

void smp_print_sample(int cpu) {
    Result<CpuSample> s = smp_sample_cpu(cpu);
    if (s.is_error()) {
        kprintf("  cpu %d: %s\n", cpu, s.error());
        return;
    }
    kprintf("  cpu %d, interrupts %s, at:", cpu, s.value().interrupts_were_on ? "on" : "off");
    for (int i = 0; i < s.value().count; i++) {
        char where[64];
        symbolize(s.value().eips[i], where, sizeof where);
        kprintf("%s %s", i ? " <-" : "", where);
    }
    const arch::LapicState& l = s.value().lapic;
    char serving[8] = "none", requested[8] = "none";
    if (l.in_service >= 0) format(serving, sizeof serving, "%#x", l.in_service);
    if (l.requested >= 0) format(requested, sizeof requested, "%#x", l.requested);
    kprintf("; lapic in service %s, requested %s, ppr %#x\n", serving, requested, l.ppr);
}

bool tlb_shootdown_waiting_for(int cpu) {
    for (int c = 0; c < cpu_count(); c++)
        if (__atomic_load_n(&shootdowns[c].pending, __ATOMIC_ACQUIRE) & (1u << cpu)) return true;
    return false;
}

Result<void> unmap_page_everywhere(uintptr_t va) { return unmap_pages_everywhere(va, 1); }

Result<void> unmap_pages_everywhere(uintptr_t va, uint32_t pages) {
    for (uint32_t p = 0; p < pages; p++) arch::unmap_page(uint32_t(va + p * arch::PAGE_SIZE));
    return tlb_shootdown_range(va, pages);
}

void smp_init() {
    arch::register_trap_handler(arch::VECTOR_NMI, nmi);
    arch::register_trap_handler(arch::VECTOR_IPI_TLB_SHOOTDOWN, tlb_shootdown_ipi);
    cross_cpu_register(CrossCpuServer{"tlb-shootdown", shootdown_pending, serve_shootdowns});
    panic_set_stop_others(stop_other_cpus);
    const Result<arch::Topology>& t = discovered;
    if (t.is_error()) {
        kprintf("smp: %s; running on the boot CPU only, with the PIC\n", t.error());
        return;
    }
    topology = t.value();
    if (topology.source && topology.fallback_reason[0]) kprintf("smp: ACPI unusable (%s)\n", topology.fallback_reason);
    if (topology.cpus_ignored) kprintf("smp: ignoring %d CPUs beyond the limit of %d\n", topology.cpus_ignored, config::MAX_CPUS);
    if (topology.ioapic_count == 0) {
        kprintf("smp: %s lists no IOAPIC; running on the boot CPU only, with the PIC\n", topology.source);
        return;
    }
    Result<void> r = arch::lapic_init_bsp(topology.lapic_phys);
    if (r.is_ok()) r = arch::ioapic_init(topology.ioapics[0].phys, topology.ioapics[0].gsi_base);
    if (r.is_error()) {
        kprintf("smp: %s; running on the boot CPU only\n", r.error());
        return;
    }
    cpus[0].lapic_id = arch::lapic_id();
    // Device IRQs now come through the IOAPIC, the tick from each LAPIC.
    arch::cli();
    arch::pic_disable();
    arch::set_lapic_eoi(arch::lapic_eoi);
    apic_mode = true;
    irq_use_ioapic(smp_route_isa_irq);
    arch::register_trap_handler(arch::VECTOR_LAPIC_TIMER, timer_interrupt);
    arch::lapic_timer_calibrate(wait_us);
    arch::lapic_timer_start(SCHED_HZ);
    arch::sti();
    kprintf("smp: %s: %d CPUs, LAPIC at %#x, IOAPIC at %#x; timer %u ticks/ms\n", topology.source,
            topology.cpu_count, topology.lapic_phys, topology.ioapics[0].phys, arch::lapic_timer_ticks_per_ms());
    start_all_aps();
}

namespace {

int cmd_cpus(int argc, char**) {
    if (argc != 1) return shell_error("usage: cpus");
    kprintf("cpu apic   ticks   switches  queue  current\n");
    for (int i = 0; i < cpu_count(); i++) {
        const Cpu& c = cpus[i];
        kprintf("%3d %4u %7llu %10llu %6d  %s\n", i, c.lapic_id, (unsigned long long)c.ticks,
                (unsigned long long)c.context_switches, sched_queue_length(i), c.current ? c.current->name : "-");
    }
    return 0;
}
SHELL_COMMAND("cpus", "cpus", "each CPU: APIC id, timer ticks, switches, run queue, current thread", cmd_cpus);

}  // namespace
}  // namespace corral
