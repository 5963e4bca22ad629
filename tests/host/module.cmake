# Patch modules (patching/module/), included from CMakeLists.txt:
#   corral_module        the .kpatch validator, the same sources the kernel links
#   corral_module_tests  a hand-made good module and one hand-made bad module
#                        per check (exact one-line errors; module_cases.cpp),
#                        the bad-module pack the kernel's ktests get made of
#                        them (mk/module.mk builds bad_module_pack.cpp with
#                        the same sources), then the example patches of
#                        patches/ as `make patches` packaged them, validated
#                        against build/corral.elf
add_library(corral_module STATIC
    ${CORRAL_ROOT}/patching/module/module_format.cpp
    ${CORRAL_ROOT}/patching/module/module_elf.cpp
)
target_link_libraries(corral_module PUBLIC corral_pure)

add_executable(corral_module_tests
    ${CMAKE_CURRENT_LIST_DIR}/module_builder.cpp
    ${CMAKE_CURRENT_LIST_DIR}/module_cases.cpp
    ${CMAKE_CURRENT_LIST_DIR}/bad_module_pack_writer.cpp
    ${CMAKE_CURRENT_LIST_DIR}/module_format_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/bad_module_pack_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/module_examples_test.cpp
)
# corral_patching brings the host ELF32 reader, which plays the kernel for the examples.
target_link_libraries(corral_module_tests PRIVATE corral_module corral_patching GTest::gtest_main)
set(CORRAL_PATCHES_DIR ${CORRAL_ROOT}/build/patches)
target_compile_definitions(corral_module_tests PRIVATE
    CORRAL_KERNEL_ELF="${CORRAL_ROOT}/build/corral.elf"
    CORRAL_PATCHES_DIR="${CORRAL_PATCHES_DIR}"
)
file(GLOB CORRAL_KPATCHES ${CORRAL_PATCHES_DIR}/*.kpatch)
if(NOT CORRAL_KPATCHES)
    message(STATUS "module tests: no ${CORRAL_PATCHES_DIR}/*.kpatch yet; the example-module tests will be "
                   "skipped (run `make patches`, then `make host-test`)")
endif()

gtest_discover_tests(corral_module_tests DISCOVERY_TIMEOUT 30)
