# Patch modules (docs/module-format.md), included by the Makefile after its
# own rules, so CXXFLAGS, LD and B are the kernel's.
#
#   make patches     every patches/<name>/*.cpp, compiled with the kernel's
#                    flags, linked into build/patches/<name>.o (ld -r) and
#                    packaged by scripts/mkpatch as build/patches/<name>.kpatch
#                    against build/corral.elf
#   make fuzz        the validator's libFuzzer target, 10^6 runs, seeded with
#                    the packaged examples (needs clang and libclang-rt-14-dev)
#   make fuzz-short  the same for FUZZ_SECONDS (15; make test runs 5)
#   $(B)/bad_module_pack.bin
#                    every hand-made bad module of the host tests with its
#                    error line (patching/module/bad_module_pack.h), written
#                    by a host program built from tests/host/

PATCH_NAMES := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard patches/*/*.cpp)))))
PATCH_KPATCHES := $(PATCH_NAMES:%=$(B)/patches/%.kpatch)
# -ffunction-sections: one section per function, so a replacement's section
# holds just it; -fno-common: a tentative definition would be a COMMON
# symbol, which the validator refuses.
PATCH_CXXFLAGS = $(CXXFLAGS) -fno-common -ffunction-sections

.PHONY: patches fuzz fuzz-short fuzz-seeds
patches: $(PATCH_KPATCHES)

# The more specific pattern wins over the Makefile's $(B)/%.o for these.
$(B)/patches/%.o: patches/%.cpp Makefile mk/module.mk
	@mkdir -p $(dir $@)
	@echo "  CXX   $<"
	@$(CXX) $(PATCH_CXXFLAGS) -c $< -o $@

# One module per directory: its objects linked into one relocatable object.
define PATCH_MODULE_RULE
$(B)/patches/$(1).o: $(patsubst %.cpp,$(B)/%.o,$(wildcard patches/$(1)/*.cpp))
	@echo "  LD -r $$@"
	@$(LD) -m elf_i386 -r -o $$@ $$^
endef
$(foreach name,$(PATCH_NAMES),$(eval $(call PATCH_MODULE_RULE,$(name))))

$(B)/patches/%.kpatch: $(B)/patches/%.o $(B)/corral.elf scripts/mkpatch scripts/gen-symbols
	@scripts/mkpatch --kernel $(B)/corral.elf --name $* --object $< --out $@

-include $(patsubst %.cpp,$(B)/%.d,$(wildcard patches/*/*.cpp))

# ---- the bad-module pack (host, g++; not the kernel's flags) ----
# The generator checks every case against the validator before it writes,
# so a stale pack fails the build instead of being linked in.
BAD_MODULE_PACK := $(B)/bad_module_pack.bin
BAD_MODULE_PACK_TOOL := $(B)/tools/bad_module_pack
BAD_MODULE_PACK_SRCS := tests/host/bad_module_pack.cpp tests/host/bad_module_pack_writer.cpp \
                        tests/host/module_cases.cpp tests/host/module_builder.cpp \
                        patching/module/module_format.cpp patching/module/module_elf.cpp \
                        kernel/lib/format.cpp kernel/lib/string.cpp

$(BAD_MODULE_PACK_TOOL): $(BAD_MODULE_PACK_SRCS) $(wildcard tests/host/*.h patching/module/*.h kernel/lib/*.h)
	@mkdir -p $(dir $@)
	@echo "  HOSTCXX $@"
	@g++ -std=c++20 -O1 -Wall -Wextra -Werror -I. -o $@ $(BAD_MODULE_PACK_SRCS)

$(BAD_MODULE_PACK): $(BAD_MODULE_PACK_TOOL)
	@$< $@ >/dev/null

# ---- the validator under libFuzzer (host, clang) ----
FUZZ_BIN := $(B)/fuzz/module_fuzz
FUZZ_SRCS := tests/fuzz/module_fuzz.cpp patching/module/module_format.cpp patching/module/module_elf.cpp \
             kernel/lib/format.cpp kernel/lib/string.cpp
FUZZ_FLAGS := -std=c++20 -g -O1 -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# Inputs up to 64 KiB: the examples are 4-11 KiB, and room to grow lets
# libFuzzer append sections and relocations.
FUZZ_RUN := -max_len=65536 -print_final_stats=1
FUZZ_CORPUS := $(B)/fuzz/corpus
FUZZ_SEEDS := $(B)/fuzz/seeds

$(FUZZ_BIN): $(FUZZ_SRCS) $(wildcard patching/module/*.h) kernel/lib/format.h kernel/lib/string.h kernel/lib/hash.h
	@command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (scripts/install-deps test installs it)"; exit 2; }
	@mkdir -p $(dir $@)
	@echo "  CLANG $@"
	@clang++ $(FUZZ_FLAGS) -o $@ $(FUZZ_SRCS)

# libFuzzer adds what it finds to the first directory only, so the seeds
# (fresh copies of the packaged examples) stay as they are in the second.
fuzz-seeds: patches
	@mkdir -p $(FUZZ_CORPUS) $(FUZZ_SEEDS)
	@cp $(PATCH_KPATCHES) $(FUZZ_SEEDS)/

fuzz: $(FUZZ_BIN) fuzz-seeds
	$(FUZZ_BIN) $(FUZZ_RUN) -runs=1000000 $(FUZZ_CORPUS) $(FUZZ_SEEDS)

FUZZ_SECONDS ?= 15
fuzz-short: $(FUZZ_BIN) fuzz-seeds
	$(FUZZ_BIN) $(FUZZ_RUN) -max_total_time=$(FUZZ_SECONDS) $(FUZZ_CORPUS) $(FUZZ_SEEDS)
