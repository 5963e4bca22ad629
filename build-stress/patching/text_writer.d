build-stress/patching/text_writer.o: patching/text_writer.cpp \
 patching/text_writer.h kernel/lib/result.h arch/x86/cpu.h \
 arch/x86/paging.h arch/x86/sections.h kernel/panic.h \
 kernel/sync/spinlock.h
patching/text_writer.h:
kernel/lib/result.h:
arch/x86/cpu.h:
arch/x86/paging.h:
arch/x86/sections.h:
kernel/panic.h:
kernel/sync/spinlock.h:
