build-stress/patching/tests/scenario_test.o: \
 patching/tests/scenario_test.cpp kernel/test/ktest.h patching/scenario.h \
 kernel/lib/result.h
kernel/test/ktest.h:
patching/scenario.h:
kernel/lib/result.h:
