build-stress/patching/demo_targets.o: patching/demo_targets.cpp \
 patching/demo_targets.h patching/layout.h arch/x86/sections.h
patching/demo_targets.h:
patching/layout.h:
arch/x86/sections.h:
