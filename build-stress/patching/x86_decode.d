build-stress/patching/x86_decode.o: patching/x86_decode.cpp \
 patching/x86_decode.h kernel/lib/result.h kernel/lib/format.h
patching/x86_decode.h:
kernel/lib/result.h:
kernel/lib/format.h:
