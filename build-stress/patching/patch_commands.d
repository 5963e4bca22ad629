build-stress/patching/patch_commands.o: patching/patch_commands.cpp \
 kernel/console/console.h kernel/panic.h patching/corral.h \
 kernel/config.h kernel/lib/result.h kernel/lib/string.h kernel/shell.h \
 kernel/symbols.h patching/scenario.h patching/strategy.h patching/scan.h \
 patching/text_writer.h patching/transaction.h patching/x86_decode.h
kernel/console/console.h:
kernel/panic.h:
patching/corral.h:
kernel/config.h:
kernel/lib/result.h:
kernel/lib/string.h:
kernel/shell.h:
kernel/symbols.h:
patching/scenario.h:
patching/strategy.h:
patching/scan.h:
patching/text_writer.h:
patching/transaction.h:
patching/x86_decode.h:
