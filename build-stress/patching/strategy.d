build-stress/patching/strategy.o: patching/strategy.cpp \
 patching/strategy.h kernel/lib/result.h patching/scan.h \
 kernel/lib/string.h patching/text_writer.h
patching/strategy.h:
kernel/lib/result.h:
patching/scan.h:
kernel/lib/string.h:
patching/text_writer.h:
