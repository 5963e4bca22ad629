build-stress/kernel/multiboot.o: kernel/multiboot.cpp kernel/multiboot.h \
 kernel/lib/result.h kernel/lib/string.h
kernel/multiboot.h:
kernel/lib/result.h:
kernel/lib/string.h:
