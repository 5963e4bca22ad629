build-stress/arch/x86/acpi.o: arch/x86/acpi.cpp arch/x86/acpi.h \
 arch/x86/topology.h kernel/lib/result.h kernel/config.h
arch/x86/acpi.h:
arch/x86/topology.h:
kernel/lib/result.h:
kernel/config.h:
