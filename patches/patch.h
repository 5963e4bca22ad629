// What a patch module's source includes to say which kernel functions it
// replaces (docs/module-format.md).
//
//   CORRAL_PATCH(target, replacement, "int3");
//       `target` is a kernel function the patch can name in C++ (external
//       linkage, declared by a kernel header or by hand); the compiler checks
//       that `replacement` has exactly its type.
//   CORRAL_PATCH_NAMED("corral::(anonymous namespace)::cmd_mem", replacement, "int3");
//       for a target with internal linkage, which no other file can name:
//       the kernel symbol's name as `sym` prints it (or its linkage name).
//
// Each use emits one fixed-size PatchDeclaration into the section
// .corral_patch.  scripts/mkpatch reads those records (and the relocations
// that name `target` and `replacement`) to write the .kpatch header; the
// loader never loads the section (the validator leaves it out of the layout).
#pragma once
#include <stdint.h>

namespace corral::patchmod {

constexpr uint32_t DECLARATION_MAGIC = 0x31445043;   // "CPD1" little-endian
constexpr int DECLARATION_SIZE = 80;

struct PatchDeclaration {
    uint32_t magic;
    const void* target;        // relocation against the kernel symbol, or null (named target)
    const void* replacement;   // relocation against the replacement in this object
    char target_name[48];      // only for CORRAL_PATCH_NAMED; else empty
    char strategy[16];         // naive corral corral-scan hotpatch int3 stop-check klp
    uint32_t reserved;
};
static_assert(sizeof(PatchDeclaration) == DECLARATION_SIZE, "mkpatch reads 80-byte records");

constexpr bool same_text(const char* a, const char* b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

// A typo in the strategy fails the compile, not the packaging.
constexpr bool known_strategy(const char* s) {
    return same_text(s, "naive") || same_text(s, "corral") || same_text(s, "corral-scan") ||
           same_text(s, "hotpatch") || same_text(s, "int3") || same_text(s, "stop-check") ||
           same_text(s, "klp");
}

}  // namespace corral::patchmod

#define CORRAL_PATCH_CONCAT2(a, b) a##b
#define CORRAL_PATCH_CONCAT(a, b) CORRAL_PATCH_CONCAT2(a, b)
#define CORRAL_PATCH_RECORD(target_ptr, name, replacement, strategy)                                      \
    static_assert(::corral::patchmod::known_strategy(strategy),                                           \
                  "strategy must be one of: naive corral corral-scan hotpatch int3 stop-check klp");        \
    [[gnu::used, gnu::section(".corral_patch")]] static const ::corral::patchmod::PatchDeclaration       \
        CORRAL_PATCH_CONCAT(corral_patch_declaration_, __COUNTER__) = {                                   \
            ::corral::patchmod::DECLARATION_MAGIC, target_ptr, (const void*)&replacement, name, strategy, 0}

// The replacement must be a drop-in: same parameters, same return type.
#define CORRAL_PATCH(target, replacement, strategy)                                                       \
    static_assert(__is_same(decltype(&target), decltype(&replacement)),                                   \
                  "the replacement must have exactly the target's type");                                 \
    CORRAL_PATCH_RECORD((const void*)&target, "", replacement, strategy)

#define CORRAL_PATCH_NAMED(target_name, replacement, strategy) \
    CORRAL_PATCH_RECORD(nullptr, target_name, replacement, strategy)
