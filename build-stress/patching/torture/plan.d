build-stress/patching/torture/plan.o: patching/torture/plan.cpp \
 patching/torture/plan.h
patching/torture/plan.h:
