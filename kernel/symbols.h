// The kernel's own symbol table (.ksyms), generated after a first link by
// scripts/gen-symbols, so backtraces are symbolized under QEMU -kernel and
// GRUB alike (neither hands the kernel its ELF symbols reliably).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral {

struct Symbol {
    const char* name;     // demangled, without the parameter list
    uintptr_t address;
    size_t size;
    char type;            // nm's letter: T t W (code), D d B b R r (data)
};

struct SymbolHit {
    Symbol symbol;
    size_t offset;        // address - symbol.address
};

// The symbol containing `address`, if any.
bool symbol_for_address(uintptr_t address, SymbolHit* hit);
// By the name the linker knows (mangled for C++: _ZN6corral7kprintfEPKcz),
// as a patch module's undefined symbols name what they need.
bool symbol_by_linkage_name(const char* linkage, Symbol* out);
// Exact name, or the last `::` component (`sym kmain`, `sym Spinlock::lock`).
Result<Symbol> symbol_by_name(const char* name);
size_t symbol_count();
Symbol symbol_at(size_t index);
// Names for code outside the kernel's table (patching's loaded modules):
// fills `buf` and returns true when it knows `address`.
void symbols_set_outside_kernel(bool (*name)(uintptr_t address, char* buf, size_t size));
// "name+0x1c" (or the bare hex address) into `buf`.
void symbolize(uintptr_t address, char* buf, size_t size);
// The same for a return address: looked up at address-1, because a call
// that never returns can be a function's last instruction, and its return
// address then names the next function.
void symbolize_return(uintptr_t address, char* buf, size_t size);

}  // namespace corral
