build-stress/patching/strategy_corral_scan.o: \
 patching/strategy_corral_scan.cpp patching/farjmp.h patching/strategy.h \
 kernel/lib/result.h patching/scan.h
patching/farjmp.h:
patching/strategy.h:
kernel/lib/result.h:
patching/scan.h:
