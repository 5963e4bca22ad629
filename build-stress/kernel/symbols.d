build-stress/kernel/symbols.o: kernel/symbols.cpp kernel/symbols.h \
 kernel/lib/result.h kernel/lib/format.h kernel/lib/string.h
kernel/symbols.h:
kernel/lib/result.h:
kernel/lib/format.h:
kernel/lib/string.h:
