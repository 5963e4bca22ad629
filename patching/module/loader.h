// Loading patch modules into the running kernel (docs/module-format.md).
//
// module_load() hands the file to the validator first: nothing is
// allocated or written unless every check passed.  Then it maps the
// module's code and data into a slot of their own (above the kernel stacks),
// copies the sections, applies the relocations, makes the code pages
// read-only, and defines the module's patches: one patch named like the
// module, or, for several targets, members `<module>.0`, `<module>.1`, ...
// and a multi-function patch named like the module.  Applying and
// reverting them is the transaction layer's business, as for built-in patches.
//
// module_unload() refuses while any of its patches is applied or in a klp
// transition, while a hotpatch jmp left in some padding still leads into
// the module (it tries the padding cleanup first), or while any thread has
// a saved EIP or return address in the module's code (a function-mode scan
// inside a corral).  Otherwise it forgets the patches and gives back every
// page and frame.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/lib/result.h"

namespace corral::module {

constexpr int MAX_MODULES = 16;
constexpr uint32_t MAX_MODULE_FILE = 256 * 1024;

struct LoadedModule {
    char name[32];
    int targets;
    uintptr_t code, data;            // where they live
    uint32_t code_size, data_size;   // as the module asked
    uint32_t code_pages, data_pages;
};

Result<const LoadedModule*> module_load(const uint8_t* bytes, size_t size);
// The same, validated against `facts` instead of the running kernel's
// (ktests: the host tests' hand-made bad modules, made for a fake kernel,
// through this loader).  Everything after validation is module_load's.
struct KernelFacts;
Result<const LoadedModule*> module_load_with(const uint8_t* bytes, size_t size, const KernelFacts& facts);
Result<void> module_unload(const char* name);
// Every loaded module, in load order; false when `index` is past the end.
bool module_at(int index, LoadedModule* out);
void loader_init();   // backtraces and `patch list` name module code "[module]+0x1c"
// The modules the boot loader put beside the kernel (QEMU -initrd a,b;
// GRUB `module` lines): loaded, or refused with one line each.
void load_boot_modules();
// The module whose code holds `address` (nullptr: none): for reports.
const LoadedModule* module_containing(uintptr_t address);

}  // namespace corral::module
