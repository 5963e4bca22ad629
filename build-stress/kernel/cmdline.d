build-stress/kernel/cmdline.o: kernel/cmdline.cpp kernel/cmdline.h \
 kernel/lib/result.h kernel/lib/string.h
kernel/cmdline.h:
kernel/lib/result.h:
kernel/lib/string.h:
