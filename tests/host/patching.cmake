# The patcher's host-side pieces, included from CMakeLists.txt:
#   corral_patching     the x86 decoder (same sources as the kernel) + ELF32 reader
#   verify-layout       the post-link layout verifier `make` runs on build/corral.elf
#   corral_patching_tests  decoder cases, the decoder-vs-objdump check on the
#                       real kernel, and verify-layout on crafted fixtures
add_library(corral_patching STATIC
    ${CORRAL_ROOT}/patching/x86_decode.cpp
    ${CORRAL_ROOT}/patching/x86_format.cpp
    ${CORRAL_ROOT}/scripts/host/elf32.cpp
)
target_link_libraries(corral_patching PUBLIC corral_pure)

add_executable(verify-layout ${CORRAL_ROOT}/scripts/host/verify_layout.cpp)
target_link_libraries(verify-layout PRIVATE corral_patching)

add_executable(corral_patching_tests
    ${CMAKE_CURRENT_LIST_DIR}/decode_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/decode_objdump_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/verify_layout_test.cpp
)
target_link_libraries(corral_patching_tests PRIVATE corral_patching GTest::gtest_main)
add_dependencies(corral_patching_tests verify-layout)
target_compile_definitions(corral_patching_tests PRIVATE
    # Skipped (with a message) until `make` has built the kernel.
    CORRAL_KERNEL_ELF="${CMAKE_CURRENT_LIST_DIR}/../../build/corral.elf"
    CORRAL_SOURCE_ROOT="${CORRAL_ROOT}"
    VERIFY_LAYOUT_PATH="$<TARGET_FILE:verify-layout>"
)

gtest_discover_tests(corral_patching_tests DISCOVERY_TIMEOUT 30)

# patchtorture's seeded patch plan (pure logic).
add_executable(corral_plan_tests
    ${CORRAL_ROOT}/patching/torture/plan.cpp
    ${CMAKE_CURRENT_LIST_DIR}/plan_test.cpp
)
target_include_directories(corral_plan_tests PRIVATE ${CORRAL_ROOT})
target_link_libraries(corral_plan_tests PRIVATE corral_pure GTest::gtest_main)
gtest_discover_tests(corral_plan_tests DISCOVERY_TIMEOUT 30)
