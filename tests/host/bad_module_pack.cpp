// bad_module_pack PATH: writes the bad-module pack
// (patching/module/bad_module_pack.h) to PATH; built and run at build time
// by mk/module.mk.  Exits non-zero, writing nothing, if a case's error is
// not the validator's (write_bad_module_pack() checks every one).
#include <stdio.h>

#include <stdexcept>

#include "tests/host/module_cases.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: bad_module_pack PATH\n");
        return 2;
    }
    std::vector<uint8_t> pack;
    size_t cases = 0;
    try {
        pack = corral::module::testing::write_bad_module_pack(&cases);
    } catch (const std::runtime_error& e) {
        fprintf(stderr, "%s\n", e.what());
        return 1;
    }
    FILE* f = fopen(argv[1], "wb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    const bool written = fwrite(pack.data(), 1, pack.size(), f) == pack.size();
    if (fclose(f) != 0 || !written) {
        fprintf(stderr, "bad_module_pack: cannot write %s\n", argv[1]);
        remove(argv[1]);
        return 1;
    }
    printf("bad_module_pack: %zu cases, %zu bytes -> %s\n", cases, pack.size(), argv[1]);
    return 0;
}
