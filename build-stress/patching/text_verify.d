build-stress/patching/text_verify.o: patching/text_verify.cpp \
 patching/text_verify.h kernel/console/console.h kernel/panic.h \
 kernel/shell.h kernel/lib/result.h kernel/lib/string.h \
 patching/text_writer.h patching/transaction.h patching/strategy.h \
 patching/scan.h
patching/text_verify.h:
kernel/console/console.h:
kernel/panic.h:
kernel/shell.h:
kernel/lib/result.h:
kernel/lib/string.h:
patching/text_writer.h:
patching/transaction.h:
patching/strategy.h:
patching/scan.h:
