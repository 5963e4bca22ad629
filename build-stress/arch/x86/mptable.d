build-stress/arch/x86/mptable.o: arch/x86/mptable.cpp arch/x86/mptable.h \
 arch/x86/topology.h kernel/lib/result.h arch/x86/acpi.h \
 kernel/lib/string.h
arch/x86/mptable.h:
arch/x86/topology.h:
kernel/lib/result.h:
arch/x86/acpi.h:
kernel/lib/string.h:
