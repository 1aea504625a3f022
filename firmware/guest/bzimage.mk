# The bzImage test guest (firmware/guest/bzimage/): a freestanding "kernel" with a
# Linux setup header and 64-bit entry, for the direct-boot path (vigil-vmm --kernel),
# linked with the guest runtime's rt.c. Built with the guests' compiler and flags.
BZGUEST_OBJS := $(BUILD)/guest/obj/bzimage/head.S.o $(BUILD)/guest/obj/bzimage/bzguest.c.o \
	$(BUILD)/guest/obj/rt/rt.c.o
EXTRA_TARGETS += $(BUILD)/guest/bzguest.bzImage

$(BUILD)/guest/bzguest.elf: $(BZGUEST_OBJS) firmware/guest/bzimage/bzguest.ld
	$(GUEST_CC) $(GUEST_CFLAGS) -nostdlib -static -no-pie -Wl,-T,firmware/guest/bzimage/bzguest.ld \
		-Wl,--build-id=none -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments -Wl,--gc-sections -o $@ $(BZGUEST_OBJS)

$(BUILD)/guest/bzguest.bzImage: $(BUILD)/guest/bzguest.elf
	$(GUEST_OBJCOPY) -O binary $< $@
