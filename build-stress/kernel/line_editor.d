build-stress/kernel/line_editor.o: kernel/line_editor.cpp \
 kernel/line_editor.h kernel/config.h kernel/lib/string.h \
 kernel/lib/result.h
kernel/line_editor.h:
kernel/config.h:
kernel/lib/string.h:
kernel/lib/result.h:
