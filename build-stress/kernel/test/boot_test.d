build-stress/kernel/test/boot_test.o: kernel/test/boot_test.cpp \
 arch/x86/cpu.h arch/x86/trap.h kernel/cmdline.h kernel/lib/result.h \
 kernel/irq.h kernel/lib/format.h kernel/lib/string.h kernel/multiboot.h \
 kernel/panic.h kernel/symbols.h kernel/test/ktest.h
arch/x86/cpu.h:
arch/x86/trap.h:
kernel/cmdline.h:
kernel/lib/result.h:
kernel/irq.h:
kernel/lib/format.h:
kernel/lib/string.h:
kernel/multiboot.h:
kernel/panic.h:
kernel/symbols.h:
kernel/test/ktest.h:
