build-stress/kernel/test/ktest.o: kernel/test/ktest.cpp \
 kernel/test/ktest.h kernel/console/console.h kernel/lib/format.h \
 kernel/lib/string.h kernel/lib/result.h
kernel/test/ktest.h:
kernel/console/console.h:
kernel/lib/format.h:
kernel/lib/string.h:
kernel/lib/result.h:
