# CPU and interrupt-controller discovery (arch/x86/acpi.cpp, mptable.cpp):
# pure parsers of firmware tables, tested against fake physical memory.
# Included from CMakeLists.txt, so it adds to the same library and binary.
target_sources(corral_pure PRIVATE
    ${CORRAL_ROOT}/arch/x86/acpi.cpp
    ${CORRAL_ROOT}/arch/x86/mptable.cpp
)
target_sources(corral_host_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/topology_test.cpp)
