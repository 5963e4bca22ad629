// The bad-module pack: every hand-made bad module of the host tests
// (tests/host/module_cases.cpp), with the exact error line each must get,
// and the fake kernel they were made for -- so that a ktest can feed each
// one through the kernel's real loader (patching/tests/module_test.cpp)
// and check the line and that nothing was kept.  tests/host/bad_module_pack
// writes it at build time; the kernel links it in as read-only data.
//
// Little-endian, every field 4-byte aligned; byte strings are padded with
// zeros to a multiple of 4 (their length field gives the real length):
//
//   char magic[8]  "CRLBADMP"
//   u32  version   PACK_VERSION
//   u32  build_id  the fake kernel's
//   u32  symbol_count, then per symbol:  char name[48]  u32 address  u32 size
//   u32  region_count, then per region:  u32 address  u32 length  bytes
//   u32  case_count, then per case:
//        char name[48]
//        u32  max_file_size  u32 max_sections  u32 max_relocations  u32 max_image_size
//        u32  error_length   bytes (the exact error line, no newline)
//        u32  file_length    bytes (the .kpatch file)
#pragma once
#include <stdint.h>

namespace corral::module::pack {

constexpr char MAGIC[8] = {'C', 'R', 'L', 'B', 'A', 'D', 'M', 'P'};
constexpr uint32_t PACK_VERSION = 1;
constexpr uint32_t NAME_SIZE = 48;

constexpr uint32_t padded(uint32_t length) { return (length + 3) & ~3u; }

}  // namespace corral::module::pack
