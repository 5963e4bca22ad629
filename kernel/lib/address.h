// One grammar for every address a user types (the shell's sym, peek, dis):
//
//   0x1a2b  |  6699  |  symbol  |  symbol+n  |  symbol-n      (n: 0x.. or decimal)
//
// Symbols may be qualified (corral::kmain, corral::demo_hot_counter).
// Anything past 0xffffffff is refused with one wording, whether it is a
// number, a symbol plus an offset, or a range that runs past 4 GiB.
// Pure: symbols are looked up through a callback, so the host tests run it.
#pragma once
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {

using SymbolLookup = bool (*)(const char* name, uint32_t* address, void* ctx);

Result<uint32_t> parse_address(const char* text, SymbolLookup lookup, void* ctx);
// [start, start + count) must end at or below 4 GiB (count >= 1).
Result<void> check_address_range(uint32_t start, uint32_t count);

}  // namespace corral
