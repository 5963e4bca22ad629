build-stress/patching/strategy_corral.o: patching/strategy_corral.cpp \
 patching/farjmp.h patching/strategy.h kernel/lib/result.h \
 patching/scan.h
patching/farjmp.h:
patching/strategy.h:
kernel/lib/result.h:
patching/scan.h:
