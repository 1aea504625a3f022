# Freestanding guest programs: every firmware/guest/<name>.c, linked with the
# runtime in firmware/guest/rt/, becomes a flat firmware image
# $(BUILD)/guest/<name>.bin that ends at 4 GiB (reset vector 0xFFFFFFF0).
# Own compiler and flags: never the sanitizer, fuzzer or clang settings of
# the host build.
GUEST_CC      := gcc
GUEST_OBJCOPY := objcopy
GUEST_DIR     := firmware/guest
GUEST_CFLAGS  := -std=gnu11 -m64 -O2 -g0 -Wall -Wextra -Werror -ffreestanding -fno-builtin -nostdlib \
	-fno-pic -fno-pie -mcmodel=large -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none -fno-strict-aliasing \
	-I$(GUEST_DIR)/rt -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_DIR)/rt/guest.ld -Wl,--build-id=none \
	-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -Wl,--gc-sections

GUEST_SRCS    := $(sort $(wildcard $(GUEST_DIR)/*.c))
GUEST_RT_SRCS := $(sort $(wildcard $(GUEST_DIR)/rt/*.c $(GUEST_DIR)/rt/*.S))
GUEST_RT_OBJS := $(patsubst $(GUEST_DIR)/%,$(BUILD)/guest/obj/%.o,$(GUEST_RT_SRCS))
GUEST_BINS    := $(patsubst $(GUEST_DIR)/%.c,$(BUILD)/guest/%.bin,$(GUEST_SRCS))
EXTRA_TARGETS += $(GUEST_BINS)

.PHONY: guests
guests: $(GUEST_BINS)

$(BUILD)/guest/obj/%.c.o: $(GUEST_DIR)/%.c
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -ffunction-sections -fdata-sections -c -o $@ $<

$(BUILD)/guest/obj/%.S.o: $(GUEST_DIR)/%.S
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(BUILD)/guest/%.elf: $(BUILD)/guest/obj/%.c.o $(GUEST_RT_OBJS) $(GUEST_DIR)/rt/guest.ld
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_RT_OBJS)

$(BUILD)/guest/%.bin: $(BUILD)/guest/%.elf
	$(GUEST_OBJCOPY) -O binary --gap-fill 0xff $< $@

.SECONDARY: $(patsubst %.bin,%.elf,$(GUEST_BINS))

-include $(shell find $(BUILD)/guest/obj -name '*.d' 2>/dev/null)
