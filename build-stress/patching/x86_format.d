build-stress/patching/x86_format.o: patching/x86_format.cpp \
 kernel/lib/format.h patching/x86_decode.h kernel/lib/result.h
kernel/lib/format.h:
patching/x86_decode.h:
kernel/lib/result.h:
