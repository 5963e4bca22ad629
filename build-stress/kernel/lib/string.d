build-stress/kernel/lib/string.o: kernel/lib/string.cpp \
 kernel/lib/string.h kernel/lib/result.h
kernel/lib/string.h:
kernel/lib/result.h:
