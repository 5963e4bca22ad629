build-stress/kernel/shell.o: kernel/shell.cpp kernel/shell.h \
 kernel/lib/result.h kernel/config.h kernel/console/console.h \
 kernel/lib/format.h kernel/lib/string.h kernel/line_editor.h
kernel/shell.h:
kernel/lib/result.h:
kernel/config.h:
kernel/console/console.h:
kernel/lib/format.h:
kernel/lib/string.h:
kernel/line_editor.h:
