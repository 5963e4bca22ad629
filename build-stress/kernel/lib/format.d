build-stress/kernel/lib/format.o: kernel/lib/format.cpp \
 kernel/lib/format.h kernel/lib/result.h
kernel/lib/format.h:
kernel/lib/result.h:
