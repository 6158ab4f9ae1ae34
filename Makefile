# SPDX-License-Identifier: MIT
#
# vigil: top-level build. `make help` lists the targets.
#
# Every public target first runs `make deps` (installs missing Debian packages), then re-invokes
# make for the real work, so that what depends on installed packages (kernel headers found, tool
# paths) is evaluated after they are installed. All outputs go below $(O).

SHELL := /bin/bash
TOP := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
O ?= $(TOP)/build
V ?= 0
ifeq ($(V),0)
Q := @
MAKEFLAGS += --no-print-directory
else
Q :=
endif
export V

# The newest installed Debian headers of one series, standard amd64 flavour.
debian_kdir = $(lastword $(shell ls -d /usr/src/linux-headers-$(1)*-amd64 2>/dev/null | \
	grep -v -e '-rt-amd64$$' -e '-cloud-amd64$$' | sort -V))
DEBIAN_KDIRS := $(strip $(call debian_kdir,6.1.0-) $(call debian_kdir,6.12.))
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
krel_of = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(1)/include/generated/utsrelease.h)

ifdef KDIR
KDIRS := $(KDIR)
else ifneq ($(wildcard $(RUNNING_KDIR)/Makefile),)
KDIRS := $(RUNNING_KDIR)
else
KDIRS := $(DEBIAN_KDIRS)
KDIR_NOTE := no headers for the running kernel $(shell uname -r): building against the installed \
	Debian headers ($(notdir $(KDIRS))); set KDIR to choose
endif

# The kernels `make check` tests on, and the one `make demo` boots (the first).
CHECK_KDIRS := $(DEBIAN_KDIRS)
CHECK_KRELS = $(foreach k,$(CHECK_KDIRS),$(call krel_of,$(k)))
DEMO_KREL = $(firstword $(CHECK_KRELS))
BENCH_KERNELS ?= $(CHECK_KRELS)

LINUX_SOURCE := /usr/src/linux-source-6.1.tar.xz
LSRC := $(O)/linux-source
KSFT_DIR := $(LSRC)/tools/testing/selftests
CHECKPATCH := $(LSRC)/scripts/checkpatch.pl

VM_TESTS := $(patsubst tests/vm/%.c,$(O)/tests/vm/%,$(wildcard tests/vm/test_*.c tests/vm/bench_*.c))
VM_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -isystem $(KSFT_DIR) -I$(TOP)/kernel

PUBLIC := module tools unit fuzz check demo style
.PHONY: all help deps deps-build $(PUBLIC) $(addprefix _,$(PUBLIC)) vmtests clean bench _bench
.DEFAULT_GOAL := all

all: module tools

help:
	@echo "make deps     install missing Debian 12 packages (as root)"
	@echo "make module   build vigil.ko (KDIR=... for one kernel; default: the running kernel's"
	@echo "              headers, or every installed Debian 6.1/6.12 headers package)"
	@echo "make tools    build the vigil command and libvigil"
	@echo "make fuzz     build the libFuzzer harnesses (tests/fuzz/) with clang"
	@echo "make check    every test: unit, style, VM scenarios on 6.1 and 6.12"
	@echo "make demo     boot a VM with a software TPM and show vigil at work"
	@echo "make style    clang-format, checkpatch --strict, sparse, mandoc, cppcheck, clang-tidy"
	@echo "make bench    performance figures (VMs, several minutes) into docs/PERFORMANCE.md"
	@echo "options: O=DIR (outputs), V=1 (verbose), SANITIZE=address,undefined (userspace)"

deps:
	$(Q)$(TOP)/.ci/deps all
deps-build:
	$(Q)$(TOP)/.ci/deps build

# The sub-make gets SIGTERM when this make dies (even by SIGKILL), and passes it on the same way
# (tests/check, tests/vm/run): killing make never leaves a VM or swtpm behind.
module tools unit: deps-build
	$(Q)$(MAKE) -f $(TOP)/Makefile _$@
check demo style fuzz: deps
	$(Q)exec setpriv --pdeathsig TERM $(MAKE) -f $(TOP)/Makefile _$@

# Kbuild writes objects next to its sources, and one tree serves several kernels: each kernel
# gets its own directory of symlinks to the sources, $(O)/kmod/<release>.
define build_kmod
	$(Q)out=$(O)/kmod/$(call krel_of,$(1)) && mkdir -p $$out/kernel && \
	ln -sfn $(TOP)/Kbuild $$out/Kbuild && \
	for f in $(TOP)/kernel/*; do ln -sfn $$f $$out/kernel/; done && \
	find $$out/kernel -maxdepth 1 -xtype l -delete && \
	$(MAKE) -C $(1) M=$$out O= W=1 $(2)
endef

_module:
	$(if $(KDIR_NOTE),@echo "vigil: $(KDIR_NOTE)")
	$(if $(strip $(KDIRS)),,$(error no kernel headers found: install linux-headers-amd64 or set KDIR))
	$(foreach k,$(KDIRS),$(call build_kmod,$(k),modules)$(newline))

define newline


endef

_tools:
	$(Q)$(MAKE) -C $(TOP)/userspace O=$(O) all

_unit:
	$(Q)$(MAKE) -C $(TOP)/userspace O=$(O) unit

_fuzz:
	$(Q)$(MAKE) -C $(TOP)/userspace O=$(O) fuzz

# kselftest_harness.h and checkpatch.pl come from Debian's linux-source-6.1, at build time.
$(LSRC)/.stamp: $(LINUX_SOURCE)
	@echo "  EXTRACT $(notdir $(LINUX_SOURCE)) (kselftest headers, checkpatch)"
	$(Q)rm -rf $(LSRC) && mkdir -p $(LSRC)
	$(Q)tar -xJf $< -C $(LSRC) --strip-components=1 --wildcards \
		'*/tools/testing/selftests/kselftest.h' \
		'*/tools/testing/selftests/kselftest_harness.h' \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	$(Q)touch $@

$(O)/tests/vm/%: tests/vm/%.c tests/vm/vm_util.h $(LSRC)/.stamp kernel/uapi/vigil.h
	@echo "  CC      $@"
	$(Q)mkdir -p $(@D) && $(CC) $(VM_CFLAGS) -o $@ $< -ldl

$(O)/tests/vm/bench_true: tests/vm/bench_true.c
	@echo "  CC      $@"
	$(Q)mkdir -p $(@D) && $(CC) -static -nostdlib -O2 -o $@ $<

vmtests: $(VM_TESTS)

_check:
	$(Q)$(MAKE) -f $(TOP)/Makefile _module KDIR= KDIRS="$(CHECK_KDIRS)" KDIR_NOTE=
	$(Q)$(MAKE) -f $(TOP)/Makefile _tools _unit vmtests $(LSRC)/.stamp
	$(Q)O=$(O) VIGIL_KERNELS="$(CHECK_KRELS)" exec setpriv --pdeathsig TERM $(TOP)/tests/check

bench: deps
	$(Q)exec setpriv --pdeathsig TERM $(MAKE) -f $(TOP)/Makefile _bench

_bench:
	$(Q)$(MAKE) -f $(TOP)/Makefile _module KDIR= KDIRS="$(CHECK_KDIRS)" KDIR_NOTE=
	$(Q)$(MAKE) -f $(TOP)/Makefile vmtests $(O)/tests/vm/bench_true
	$(Q)O=$(O) BENCH_KERNELS="$(BENCH_KERNELS)" exec setpriv --pdeathsig TERM $(TOP)/tests/bench/run

_demo:
	$(Q)$(MAKE) -f $(TOP)/Makefile _module KDIR=$(firstword $(CHECK_KDIRS)) KDIR_NOTE=
	$(Q)$(MAKE) -f $(TOP)/Makefile _tools
	$(Q)O=$(O) exec setpriv --pdeathsig TERM $(TOP)/tests/vm/demo $(DEMO_KREL)

STYLE_CHECKS := format checkpatch sparse man lint
.PHONY: $(addprefix style-,$(STYLE_CHECKS))
_style: $(addprefix style-,$(STYLE_CHECKS))

C_SOURCES = $(shell git -C $(TOP) ls-files -co --exclude-standard '*.c' '*.h')
style-format:
	$(Q)cd $(TOP) && clang-format --dry-run --Werror $(C_SOURCES)

style-checkpatch: $(LSRC)/.stamp
	$(Q)cd $(TOP) && $(CHECKPATCH) --quiet --strict --no-tree --terse --show-types \
		-f kernel/*.[ch] kernel/uapi/*.h

# C=2 runs sparse on every file, built or not; W=1 adds the extra compiler warnings.
sparse_log = $(O)/kmod/sparse-$(call krel_of,$(1)).log
style-sparse:
	$(foreach k,$(CHECK_KDIRS),$(call build_kmod,$(k),C=2 modules) >$(call sparse_log,$(k)) 2>&1 || \
		{ cat $(call sparse_log,$(k)); exit 1; }$(newline)\
	$(Q)! grep -E '(warning|error):' $(call sparse_log,$(k))$(newline))

style-man:
	$(Q)mandoc -Tlint -W warning $(TOP)/docs/vigil.8

style-lint:
	$(Q)$(MAKE) -C $(TOP)/userspace O=$(O) lint

clean:
	$(Q)rm -rf $(O)
