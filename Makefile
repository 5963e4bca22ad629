# Corral build.  `make` builds build/corral.elf; see README.md for the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := all

CPUS   ?= 4
ACCEL  ?= tcg
APPEND ?=
# make run SERIAL=unix:/tmp/corral.sock: the serial console on a socket
# (scripts/corralctl --socket /tmp/corral.sock ...), the QEMU monitor on stdio.
SERIAL ?=
BENCH_ARGS ?=
B      := build
comma  := ,

CXX  := g++
NASM := nasm
LD   := ld

# Freestanding i386 C++20 (docs/design.md §2).  Every function gets the fentry
# layout (one 5-byte NOP at entry, listed in __mcount_loc) for the int3
# strategy; HOTPATCHABLE functions opt out of it for the hotpatch layout.
# For patches made from a diff (scripts/mkpatch --diff, docs/patch-from-diff.md):
# one section per function and per object, so every call and every address
# is a relocation the two builds can be compared by; -flive-patching=inline-clone,
# so no unchanged caller depends on a callee's body except by inlining or
# cloning it (which changes the caller's own bytes); no hot/cold split, so a
# function is one piece with one entry.
CXXFLAGS := -m32 -std=c++20 -ffreestanding -fno-exceptions -fno-rtti -fno-pic -fno-pie \
            -fno-omit-frame-pointer -mno-sse -mno-mmx -mno-80387 -fno-stack-protector \
            -fno-asynchronous-unwind-tables -fno-strict-aliasing \
            -pg -mfentry -mnop-mcount -mrecord-mcount \
            -ffunction-sections -fdata-sections -flive-patching=inline-clone -fno-reorder-blocks-and-partition \
            -O2 -g -Wall -Wextra -Werror -I. -MMD -MP
NASMFLAGS := -f elf32 -g -F dwarf
LDFLAGS := -m elf_i386 -T linker.ld --orphan-handling=error -nostdlib -z noexecstack
LIBGCC := $(shell $(CXX) -m32 -print-libgcc-file-name 2>/dev/null)

CXX_SRCS := $(shell find arch kernel patching -name '*.cpp' 2>/dev/null | sort)
# The course kit's own ktests (labs/<nn>-<name>/*_test.cpp, docs/teaching.md): in every kernel.
CXX_SRCS += $(shell find labs -name '*_test.cpp' 2>/dev/null | sort)
ASM_SRCS := $(shell find boot arch patching -name '*.asm' 2>/dev/null | sort)
# ...and the host tests' hand-made bad modules, for the ktest that loads
# each through the real loader (patching/module/bad_module_pack.h).
OBJS := $(CXX_SRCS:%.cpp=$(B)/%.o) $(ASM_SRCS:%.asm=$(B)/%.asm.o) $(B)/bad_module_pack.o

# The post-link verifier (a host program): every declared patch site has
# its layout, or the build fails naming the function.
VERIFY_LAYOUT := $(B)/host-tools/verify-layout
VERIFY_SRCS := $(wildcard scripts/host/*.cpp) patching/x86_decode.cpp kernel/lib/format.cpp kernel/lib/string.cpp

# Bytes reserved in the kernel for the link-time hash of .text
# (patching/text_verify.h says the same).
TEXT_HASH_RESERVED := 20480

QEMU := qemu-system-i386
QEMU_ACCEL_tcg   := -accel tcg,thread=single   # spelled out: a bare -accel tcg is multi-threaded for i386 on QEMU 7.2
QEMU_ACCEL_mttcg := -accel tcg,thread=multi
QEMU_ACCEL_kvm   := -accel kvm
# ACCEL=kvm only where hardware KVM really works (this project's CI machines
# have a /dev/kvm that cannot run a 32-bit paging guest).
CHECK_ACCEL = case "$(ACCEL)" in tcg|mttcg) ;; kvm) [ -w /dev/kvm ] && grep -qE 'vmx|svm' /proc/cpuinfo || \
  { echo "ACCEL=kvm: no hardware KVM here (/dev/kvm missing, or the CPU lacks vmx/svm); use ACCEL=tcg or mttcg"; exit 2; } ;; \
  *) echo "ACCEL=$(ACCEL): unknown (tcg, mttcg or kvm)"; exit 2 ;; esac
# CPUS and ACCEL are checked before QEMU starts: QEMU's own complaint about
# a bad -smp would otherwise end in an exit status make cannot tell apart.
CHECK_CPUS = case "$(CPUS)" in ''|*[!0-9]*) echo "CPUS=$(CPUS): not a number (1..16)"; exit 2 ;; esac; \
  [ "$(CPUS)" -ge 1 ] && [ "$(CPUS)" -le 16 ] || { echo "CPUS=$(CPUS): must be 1..16 (the kernel uses at most 16)"; exit 2; }
CHECK_ARGS = $(CHECK_CPUS); $(CHECK_ACCEL)
# QEMU's exit status after the kernel powers off through isa-debug-exit
# (arch/x86/power.h): 33 success, 35 failure.  0 is a user quitting (Ctrl-A X),
# anything else is QEMU's own failure.
KERNEL_OK := 33
KERNEL_FAILED := 35
QEMU_STATUS = case $$status in $(KERNEL_OK)) ;; \
  $(KERNEL_FAILED)) echo "$@: the kernel reported failure (QEMU exit $$status)"; exit 1 ;; \
  *) echo "$@: QEMU failed or was stopped (exit $$status), not the kernel's answer"; exit 1 ;; esac
QEMU_FLAGS := -smp $(CPUS) -m 128M $(QEMU_ACCEL_$(ACCEL)) -display none \
              -device isa-debug-exit,iobase=0xf4,iosize=0x04

.PHONY: all iso run print-run run-iso test test-bochs test-diff stress bench host-test demo debug print-debug deps clean grade handout test-labs
all: $(B)/corral.elf $(B)/compile_commands.json

$(B)/%.o: %.cpp Makefile
	@mkdir -p $(dir $@)
	@echo "  CXX   $<"
	@$(CXX) $(CXXFLAGS) -c $< -o $@

$(B)/%.asm.o: %.asm Makefile
	@mkdir -p $(dir $@)
	@echo "  NASM  $<"
	@$(NASM) $(NASMFLAGS) $< -o $@

# Two links: the first gives the addresses for the symbol table (.ksyms),
# the second adds it.  .ksyms is the last section, so no other symbol moves;
# the comparison below proves that on every build.
$(B)/ksyms-empty.bin:
	@mkdir -p $(B)
	@printf 'KSYM\0\0\0\0\x0c\0\0\0' > $@

$(B)/%.ksyms.o: $(B)/%.bin
	@objcopy -I binary -O elf32-i386 -B i386 --strip-all \
	  --rename-section .data=.ksyms,alloc,load,readonly,data,contents $< $@

# Read-only data, named bad_module_pack_start/_end whatever $(B) is.
$(B)/bad_module_pack.o: $(B)/bad_module_pack.bin
	@cd $(dir $<) && objcopy -I binary -O elf32-i386 -B i386 \
	  --rename-section .data=.rodata.bad_module_pack,alloc,load,readonly,data,contents \
	  --redefine-sym _binary_bad_module_pack_bin_start=bad_module_pack_start \
	  --redefine-sym _binary_bad_module_pack_bin_end=bad_module_pack_end \
	  --strip-symbol _binary_bad_module_pack_bin_size $(notdir $<) $(notdir $@)

$(B)/corral.pass1.elf: $(OBJS) $(B)/ksyms-empty.ksyms.o linker.ld
	@echo "  LD    $@"
	@$(LD) $(LDFLAGS) -o $@ $(OBJS) $(B)/ksyms-empty.ksyms.o $(LIBGCC)

$(B)/ksyms.bin: $(B)/corral.pass1.elf scripts/gen-symbols
	@echo "  SYMS  $@"
	@scripts/gen-symbols $< $@

$(B)/corral.elf: $(OBJS) $(B)/ksyms.ksyms.o linker.ld $(VERIFY_LAYOUT) scripts/gen-texthash
	@echo "  LD    $@"
	@$(LD) $(LDFLAGS) -o $@ $(OBJS) $(B)/ksyms.ksyms.o $(LIBGCC)
	@cmp -s <(nm $(B)/corral.pass1.elf | grep -v -e __ksyms -e __kernel_end) <(nm $@ | grep -v -e __ksyms -e __kernel_end) || \
	  { echo "error: symbols moved between the two links (is .ksyms still last?)"; rm -f $@; exit 1; }
	@scripts/gen-texthash $@ $(B)/texthash.bin $(TEXT_HASH_RESERVED) && \
	  objcopy --update-section .texthash=$(B)/texthash.bin $@ || { echo "error: could not record the hash of .text"; rm -f $@; exit 1; }
	@grub-file --is-x86-multiboot $@ || { echo "error: $@ is not a multiboot kernel"; rm -f $@; exit 1; }
	@$(VERIFY_LAYOUT) $@ || { echo "error: patch-site layouts are broken (see above)"; rm -f $@; exit 1; }

$(VERIFY_LAYOUT): $(VERIFY_SRCS) $(wildcard scripts/host/*.h) patching/x86_decode.h
	@mkdir -p $(dir $@)
	@echo "  HOSTCXX $@"
	@g++ -std=c++20 -O2 -Wall -Wextra -I. -o $@ $(VERIFY_SRCS)

$(B)/compile_commands.json: Makefile $(CXX_SRCS)
	@mkdir -p $(B)
	@python3 scripts/gen-compile-commands "$(CXX) $(CXXFLAGS)" $(CXX_SRCS) > $@

iso: deps-iso $(B)/corral.iso
$(B)/corral.iso: $(B)/corral.elf boot/grub.cfg
	@rm -rf $(B)/isodir && mkdir -p $(B)/isodir/boot/grub
	cp $(B)/corral.elf $(B)/isodir/boot/corral.elf
	cp boot/grub.cfg $(B)/isodir/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(B)/isodir 2>$(B)/grub-mkrescue.log || { cat $(B)/grub-mkrescue.log; exit 1; }

# A GRUB ISO whose menu entry boots the kernel with a command line:
# $(call ktest_iso,<dir>,<kernel arguments>[,<patch modules>]) as the recipe
# of an ISO target; each module becomes a GRUB `module` line after `multiboot`.
define ktest_iso
	@rm -rf $(B)/$(1) && mkdir -p $(B)/$(1)/boot/grub
	cp $(B)/corral.elf $(B)/$(1)/boot/corral.elf
	$(foreach m,$(3),cp $(B)/patches/$(m).kpatch $(B)/$(1)/boot/$(m).kpatch;)
	sed 's|multiboot /boot/corral.elf|multiboot /boot/corral.elf $(2)$(foreach m,$(3),\n    module /boot/$(m).kpatch $(m).kpatch)|' \
	    boot/grub.cfg > $(B)/$(1)/boot/grub/grub.cfg
	grub-mkrescue -o $@ $(B)/$(1) 2>$(B)/grub-mkrescue.log || { cat $(B)/grub-mkrescue.log; exit 1; }
endef

# The same ISO booting straight into a ktest run: proves the GRUB path in
# `make test` (GRUB passes the arguments and two patch modules, the kernel
# finds its tests and applies the modules; a module that fails to apply
# fails the boot).
ISO_TEST_MODULES := mem_report square_pair
$(B)/corral-test.iso: $(B)/corral.elf boot/grub.cfg $(ISO_TEST_MODULES:%=$(B)/patches/%.kpatch)
	$(call ktest_iso,isodir-test,patch=mem_report$(comma)square_pair:klp test=boot.*$(comma)symbols.*$(comma)smp.* exit,$(ISO_TEST_MODULES))

# The same ISO for Bochs, running every ktest (scripts/bochs-test ends
# Bochs after the summary line: it has no isa-debug-exit).
$(B)/corral-bochs.iso: $(B)/corral.elf boot/grub.cfg
	$(call ktest_iso,isodir-bochs,test=* exit)

# Every ktest under Bochs at 1, 2 and 4 CPUs (not part of `make test`: slow).
test-bochs: deps-bochs
	@$(MAKE) --no-print-directory all $(B)/corral-bochs.iso
	@scripts/bochs-test

# Installs the missing packages of a layer (scripts/install-deps says which
# target needs what; a no-op when everything is present).
deps:
	@scripts/install-deps run
deps-%:
	@scripts/install-deps $*

# The kernel with its serial console on this terminal (Ctrl-A X quits QEMU).
RUN_SERIAL = $(if $(SERIAL),-serial $(SERIAL)$(comma)server=on$(comma)wait=off -monitor none,-serial mon:stdio)
RUN_QEMU = $(strip $(QEMU) $(QEMU_FLAGS)) -kernel $(B)/corral.elf -append "$(APPEND)" $(RUN_SERIAL)
run: deps
	@$(CHECK_ARGS)
	@$(MAKE) --no-print-directory all
	@# Quitting the shell (Ctrl-A X, status 0) is fine too; with APPEND='... exit' the kernel's answer counts.
	@case "$(SERIAL)" in ''|unix:*) ;; *) echo "SERIAL=$(SERIAL): want unix:<path> (or nothing: stdio)"; exit 2 ;; esac
	@# With SERIAL the terminal is not QEMU's at all (no monitor on stdio, stdin
	@# closed): `make run SERIAL=... &` keeps running in the background instead of
	@# being stopped by the shell for reading the terminal.
	@echo '$(RUN_QEMU)'
	@$(RUN_QEMU) $(if $(SERIAL),</dev/null); \
	  status=$$?; [ $$status -eq 0 ] || { $(QEMU_STATUS); }

# The line make run prints first (tests/driver/test_doc_quotes.py checks the README's copy).
print-run:
	@echo '$(RUN_QEMU)'

# The seed's failures and the safe strategies, narrated, every scenario
# with every strategy, then QEMU exits (non-zero if any cell surprised).
demo: deps
	@$(CHECK_ARGS)
	@$(MAKE) --no-print-directory all
	$(QEMU) $(QEMU_FLAGS) -kernel $(B)/corral.elf -append "demo=all exit" -serial stdio; \
	  status=$$?; $(QEMU_STATUS)

run-iso: iso
	@$(CHECK_ARGS)
	$(QEMU) $(QEMU_FLAGS) -cdrom $(B)/corral.iso -serial mon:stdio

test: deps-test
	@$(MAKE) -j2 --no-print-directory all
	@$(MAKE) --no-print-directory iso $(B)/corral-test.iso
	@scripts/run-tests

# mkpatch --diff --verify for every case of tests/diff with a probe: each module
# proven in QEMU (docs/patch-from-diff.md).
test-diff: deps-test
	@$(MAKE) -j2 --no-print-directory all
	@CORRAL_DIFF_VERIFY=1 python3 -m unittest discover -s tests/driver -p test_corralctl_diff.py -v

# patchtorture: every safe strategy for 10^6 flips at -smp 4 and 10^5 at
# -smp 8, and the negative controls (README: how long it takes).
stress: deps
	@$(MAKE) -j2 --no-print-directory all
	@scripts/stress

# The benchmarks at 1, 2, 4 and 8 CPUs, one QEMU at a time: build/bench/results.json
# and SVG plots beside it.  BENCH_ARGS goes to scripts/bench (e.g. '--cpus 4 --only corral').
bench: deps-bench
	@$(MAKE) -j2 --no-print-directory all
	@scripts/bench $(BENCH_ARGS)

host-test: deps-test
	cmake -S tests/host -B $(B)/host -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build $(B)/host -j2
	ctest --test-dir $(B)/host --output-on-failure

# QEMU waits for gdb; gdb connects, breaks at kmain and shows source lines
# (docs/debugging.md).  scripts/gdb/debug picks a free port for the gdb stub,
# so two at once never collide; SERIAL=unix:<path> as for make run, else the
# serial console goes to $(B)/debug-serial.log.  GDB_ARGS='-batch -x f.gdb':
# more of gdb's arguments (after scripts/gdbinit).
GDB_ARGS ?=
DEBUG_CMD = $(strip scripts/gdb/debug $(if $(SERIAL),--serial $(SERIAL)) --kernel $(B)/corral.elf \
  -- $(QEMU) $(QEMU_FLAGS)) -append "$(APPEND)"
debug: export CORRAL_GDB_ARGS = $(GDB_ARGS)
debug: deps-debug
	@$(CHECK_ARGS)
	@case "$(SERIAL)" in ''|unix:*) ;; *) echo "SERIAL=$(SERIAL): want unix:<path> (or nothing: build/debug-serial.log)"; exit 2 ;; esac
	@$(MAKE) --no-print-directory all
	@$(DEBUG_CMD)

# The command make debug runs (tests/driver/test_qemu_gdb.py runs it as it is).
print-debug:
	@echo '$(DEBUG_CMD)'

# The course kit (labs/, docs/teaching.md): make grade LAB=corral [CHECK=<check>] [SEED=<n>] [REF=1]
# [RESULTS=<file.json>]; make handout LAB=corral OUT=<dir>; make test-labs.
LAB ?=
CHECK ?=
SEED ?=
REF ?=
RESULTS ?=
OUT ?=
grade: deps
	@[ -n "$(LAB)" ] || { echo "make grade LAB=<name>: one of: $$(scripts/lab list | sed -n 's/^[0-9]*-\([^:]*\):.*/\1/p' | tr '\n' ' ')"; exit 2; }
	@scripts/lab grade $(LAB) $(if $(CHECK),--check $(CHECK)) $(if $(SEED),--seed $(SEED)) $(if $(REF),--ref) $(if $(RESULTS),--results $(RESULTS))
handout:
	@[ -n "$(LAB)" ] && [ -n "$(OUT)" ] || { echo "usage: make handout LAB=<name> OUT=<dir>"; exit 2; }
	@scripts/lab handout $(LAB) $(OUT)
test-labs: deps
	@scripts/lab test

clean:
	rm -rf $(B)

-include $(OBJS:.o=.d)

# Patch modules: make patches, make fuzz, make fuzz-short (docs/module-format.md).
include mk/module.mk
