build-stress/kernel/smp.o: kernel/smp.cpp kernel/smp.h \
 kernel/lib/result.h arch/x86/cpu.h arch/x86/gdt.h arch/x86/interrupts.h \
 arch/x86/lapic.h arch/x86/paging.h arch/x86/safe_access.h \
 arch/x86/sections.h arch/x86/topology.h arch/x86/trap.h kernel/config.h \
 kernel/console/console.h kernel/cpu.h kernel/heap.h kernel/heap_arena.h \
 kernel/irq.h kernel/mm/memory.h kernel/multiboot.h kernel/mm/stacks.h \
 kernel/panic.h kernel/sched/scheduler.h kernel/sched/thread.h \
 kernel/sched/wait_queue.h kernel/sync/spinlock.h kernel/shell.h \
 kernel/symbols.h kernel/sync/cross_cpu.h kernel/time.h
kernel/smp.h:
kernel/lib/result.h:
arch/x86/cpu.h:
arch/x86/gdt.h:
arch/x86/interrupts.h:
arch/x86/lapic.h:
arch/x86/paging.h:
arch/x86/safe_access.h:
arch/x86/sections.h:
arch/x86/topology.h:
arch/x86/trap.h:
kernel/config.h:
kernel/console/console.h:
kernel/cpu.h:
kernel/heap.h:
kernel/heap_arena.h:
kernel/irq.h:
kernel/mm/memory.h:
kernel/multiboot.h:
kernel/mm/stacks.h:
kernel/panic.h:
kernel/sched/scheduler.h:
kernel/sched/thread.h:
kernel/sched/wait_queue.h:
kernel/sync/spinlock.h:
kernel/shell.h:
kernel/symbols.h:
kernel/sync/cross_cpu.h:
kernel/time.h:
