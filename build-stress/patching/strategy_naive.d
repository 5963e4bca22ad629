build-stress/patching/strategy_naive.o: patching/strategy_naive.cpp \
 patching/farjmp.h patching/strategy.h kernel/lib/result.h \
 patching/scan.h
patching/farjmp.h:
patching/strategy.h:
kernel/lib/result.h:
patching/scan.h:
