build-stress/kernel/test/shell_test.o: kernel/test/shell_test.cpp \
 arch/x86/cpu.h kernel/console/console.h kernel/lib/string.h \
 kernel/lib/result.h kernel/line_editor.h kernel/config.h kernel/shell.h \
 kernel/sync/spinlock.h kernel/test/ktest.h
arch/x86/cpu.h:
kernel/console/console.h:
kernel/lib/string.h:
kernel/lib/result.h:
kernel/line_editor.h:
kernel/config.h:
kernel/shell.h:
kernel/sync/spinlock.h:
kernel/test/ktest.h:
