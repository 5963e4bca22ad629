// The hand-made bad modules (module_cases.cpp), one per validator check,
// and the bad-module pack made of them (patching/module/bad_module_pack.h).
// The host tests run every case (ModuleChecks in module_format_test.cpp);
// the pack carries them to the kernel's ktests.  Both need no gtest.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "tests/host/module_builder.h"

namespace corral::module::testing {

// The header and target checks, then the ELF checks.
extern const BadCase HEADER_CASES[];
extern const size_t HEADER_CASE_COUNT;
extern const BadCase ELF_CASES[];
extern const size_t ELF_CASE_COUNT;

// The pack, for FakeKernel: its build-id, symbols and memory, then every
// case whose edit returns an error (one that returns "" is a module the
// validator must accept, so not a bad one).  Each case is made as
// ModuleChecks makes it and validated again; throws std::runtime_error,
// naming the case, if the validator's error is not the expected one (or a
// name or line does not fit the format), so no stale pack is ever written.
// `case_count`, if given, is set to the number of cases packed.
std::vector<uint8_t> write_bad_module_pack(size_t* case_count = nullptr);

}  // namespace corral::module::testing
