# Vigil: one top-level make. Modules are discovered from their directories;
# a directory may add rules of its own in <dir>/*.mk (included below).
#
#   make            build libraries, binaries, guests
#   make test       install missing Debian packages, build, run every test
#   make demo       the main job, end to end
#   make sanitize   ASan+UBSan build and unit + integration tests
#   make fuzz       run every fuzz target for FUZZ_SECONDS (default 60)
#   make bench      benchmarks (ratios against baselines measured in the same run)

.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD   ?= build
CC      ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
VIGIL_VECTORS ?= $(abspath $(CURDIR)/../shared/vectors)
export VIGIL_VECTORS

# Libraries, in dependency order (lowest first). Each is every .c below its
# directory except main.c files and firmware/guest/ (freestanding guests).
LIB_MODULES := common firmware sev tdx vtpm vmm attest policy attestd agent

WARN    := -Wall -Wextra -Werror -Wformat=2 -Wno-unused-parameter
# Error messages are truncated on purpose (one bounded line); gcc warns on that.
ifneq ($(findstring clang,$(CC)),clang)
WARN    += -Wno-format-truncation
endif
OPT     ?= -O2
CFLAGS_BASE := -std=gnu11 -g $(OPT) $(WARN) -I. -D_GNU_SOURCE -fPIE -fstack-protector-strong \
	-fno-strict-aliasing -MMD -MP
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS_SAN := -fsanitize=address,undefined
else ifeq ($(SAN),fuzz)
CFLAGS_BASE += -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -DVIGIL_FUZZING
LDFLAGS_SAN := -fsanitize=address,undefined
else
CFLAGS_BASE += -D_FORTIFY_SOURCE=2
endif

# Unicorn (the emu accelerator) is loaded with dlopen at run time: headers only, never linked.
PKGS      := openssl libtpms libseccomp jansson libcbor libcurl libevent libevent_openssl sqlite3 libpq
# libcurl.pc adds the multiarch system include dir, which reorders <limits.h>: drop it.
PKG_CFLAGS := $(filter-out -I/usr/include/x86_64-linux-gnu,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lssl -lcrypto -ltpms -lseccomp -ljansson -lcbor -lcurl -levent_openssl -levent -lsqlite3 -lpq)
TEST_PKGS  := cmocka tss2-esys tss2-tcti-swtpm tss2-mu tss2-rc
TEST_LIBS  := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null || echo -lcmocka -ltss2-esys -ltss2-tcti-swtpm -ltss2-mu -ltss2-rc)

CFLAGS  := $(CFLAGS_BASE) $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS_SAN) $(EXTRA_LDFLAGS)
LDLIBS  := $(PKG_LIBS) -lpthread -lm -ldl

# ------------------------------------------------------------------ libraries
mod_srcs = $(sort $(filter-out %/main.c firmware/guest/%,$(shell find $(1) -name '*.c' 2>/dev/null)))
obj_of   = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

define add_lib
$(1)_SRCS := $$(call mod_srcs,$(1))
ifneq ($$($(1)_SRCS),)
LIBS += $(BUILD)/lib$(1).a
$(BUILD)/lib$(1).a: $$(call obj_of,$$($(1)_SRCS))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endif
endef
LIBS :=
$(foreach m,$(LIB_MODULES),$(eval $(call add_lib,$(m))))
LINK_LIBS = -Wl,--start-group $(LIBS) -Wl,--end-group

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# ------------------------------------------------------------------- binaries
# name := sources (a binary is built when its first source exists)
BIN_vigil      := $(sort $(wildcard cli/*.c))
BIN_vigil-vmm  := vmm/main.c
BIN_vigil-tpm  := vtpm/main.c
BIN_vigil-attestd := attestd/main.c
BIN_vigil-agent   := agent/main.c
BIN_NAMES := vigil vigil-vmm vigil-tpm vigil-attestd vigil-agent

define add_bin
ifneq ($$(wildcard $$(firstword $$(BIN_$(1)))),)
BINS += $(BUILD)/bin/$(1)
$(BUILD)/bin/$(1): $$(call obj_of,$$(BIN_$(1))) $$(LIBS)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$(call obj_of,$$(BIN_$(1))) $$(LINK_LIBS) $$(LDLIBS)
endif
endef
BINS :=
$(foreach b,$(BIN_NAMES),$(eval $(call add_bin,$(b))))

# ----------------------------------------------------------------- unit tests
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
UNIT_HELPERS := $(filter-out tests/unit/test_%,$(wildcard tests/unit/*.c))

$(BUILD)/tests/unit/%: $(BUILD)/obj/tests/unit/%.o $(call obj_of,$(UNIT_HELPERS)) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(call obj_of,$(UNIT_HELPERS)) $(LINK_LIBS) $(LDLIBS) $(TEST_LIBS)

# Integration tests may come with C helper programs: tests/integration/*.c.
ITEST_SRCS := $(sort $(filter-out tests/integration/kvm_shim.c,$(wildcard tests/integration/*.c)))
ITEST_BINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(ITEST_SRCS))
$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LINK_LIBS) $(LDLIBS) $(TEST_LIBS)

# The KVM shim (LD_PRELOAD into vigil-vmm; test_snp_protocol.sh): the model of
# tests/unit/kvm_model.c behind /dev/kvm and /dev/sev. Position-independent, linked with
# libcrypto only, with the few vigil sources it reuses (KVM's VMSA from the registers);
# never instrumented (it is preloaded ahead of the sanitizer runtime).
SHIM_SRCS := tests/integration/kvm_shim.c tests/unit/kvm_model.c sev/vmsa.c vmm/platform/sev_regs.c common/err.c
SHIM_CFLAGS := $(filter-out -fPIE -fsanitize=% -fno-sanitize-recover=all,$(CFLAGS)) -fPIC -fvisibility=hidden
SHIM := $(BUILD)/tests/kvm_shim.so
$(BUILD)/obj-pic/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SHIM_CFLAGS) -c -o $@ $<
$(SHIM): $(patsubst %.c,$(BUILD)/obj-pic/%.o,$(SHIM_SRCS))
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-z,relro,-z,now -o $@ $^ -lcrypto -ldl -lpthread

# Benchmarks may come with C programs: bench/*.c.
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(LINK_LIBS) $(LDLIBS) $(TEST_LIBS)

# ---------------------------------------------------------------- fragments
# Directory fragments add to EXTRA_TARGETS (built by `make`), or rules of their own.
EXTRA_TARGETS :=
include $(sort $(wildcard */*.mk */*/*.mk))

.PHONY: all libs bins unit-bins test deps unit integration fuzz-smoke fuzz fuzz-bins \
	sanitize bench demo clean help
all: $(LIBS) $(BINS) $(EXTRA_TARGETS) $(UNIT_BINS) $(ITEST_BINS) $(SHIM) $(BENCH_BINS)
libs: $(LIBS)
bins: $(BINS)
unit-bins: $(UNIT_BINS)

deps:
	@bash scripts/deps.sh

RESULTS := $(BUILD)/results

# T=name runs only tests whose name contains it (unit and integration).
unit: $(UNIT_BINS)
	@bash scripts/run-unit.sh $(RESULTS) '$(T)' $(UNIT_BINS)

integration: all
	@VIGIL_BUILD=$(abspath $(BUILD)) bash scripts/run-integration.sh $(RESULTS) '$(T)'

# ---------------------------------------------------------------- fuzzing
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60
ifeq ($(SAN),fuzz)
fuzz-bins: $(patsubst %,$(BUILD)/fuzz/%,$(FUZZ_NAMES))
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $< $(LINK_LIBS) $(LDLIBS)
else
fuzz-bins:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang SAN=fuzz OPT=-O1 fuzz-bins
endif
fuzz: fuzz-bins
	@bash scripts/run-fuzz.sh build-fuzz $(RESULTS) $(FUZZ_SECONDS) $(FUZZ_NAMES)
fuzz-smoke: fuzz-bins
	@bash scripts/run-fuzz.sh build-fuzz $(RESULTS) $${FUZZ_SMOKE_SECONDS:-4} $(FUZZ_NAMES)

# ------------------------------------------------------------------- suites
test: deps
	@rm -rf $(RESULTS)
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory fuzz-smoke
	@bash scripts/summary.sh $(RESULTS)

sanitize:
	@rm -rf build-san/results
	@$(MAKE) --no-print-directory BUILD=build-san SAN=1 OPT=-O1 all
	@$(MAKE) --no-print-directory BUILD=build-san SAN=1 OPT=-O1 unit
	@VIGIL_SANITIZE=1 $(MAKE) --no-print-directory BUILD=build-san SAN=1 OPT=-O1 integration
	@bash scripts/summary.sh build-san/results

bench: all
	@VIGIL_BUILD=$(abspath $(BUILD)) bash scripts/run-bench.sh

demo: deps all
	@VIGIL_BUILD=$(abspath $(BUILD)) bash scripts/demo.sh

clean:
	rm -rf build build-san build-fuzz

help:
	@sed -n '1,12p' Makefile

-include $(shell find $(BUILD)/obj $(BUILD)/obj-pic -name '*.d' 2>/dev/null)
