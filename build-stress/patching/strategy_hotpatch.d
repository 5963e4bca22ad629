build-stress/patching/strategy_hotpatch.o: patching/strategy_hotpatch.cpp \
 patching/corral.h kernel/config.h kernel/lib/result.h patching/farjmp.h \
 patching/strategy.h patching/scan.h
patching/corral.h:
kernel/config.h:
kernel/lib/result.h:
patching/farjmp.h:
patching/strategy.h:
patching/scan.h:
