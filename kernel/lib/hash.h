// FNV-1a, 32 bits: the one small hash the kernel uses for digests and text
// checksums (not for anything an adversary chooses).  Header-only, so host
// tests and tools build it unchanged.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace corral {

constexpr uint32_t FNV1A_INIT = 2166136261u;

constexpr uint32_t fnv1a_step(uint32_t h, uint8_t byte) { return (h ^ byte) * 16777619u; }

inline uint32_t fnv1a(const uint8_t* bytes, size_t n, uint32_t h = FNV1A_INIT) {
    for (size_t i = 0; i < n; i++) h = fnv1a_step(h, bytes[i]);
    return h;
}

// A 32-bit word, least significant byte first.
constexpr uint32_t fnv1a_word(uint32_t h, uint32_t v) {
    for (int i = 0; i < 4; i++) h = fnv1a_step(h, uint8_t(v >> (8 * i)));
    return h;
}

}  // namespace corral
