# The fwcfg guest (firmware/guest/fwcfg.c) carries OVMF-style tables (SEV metadata with a
# KERNEL_HASHES section, TDVF metadata, the hashes table and SEV-ES reset entries, GUIDed
# footer) that must end 32 bytes before 4 GiB: 4 GiB - 0x20 - 288 bytes.
$(BUILD)/guest/fwcfg.elf: GUEST_LDFLAGS += -Wl,--section-start=.ovmf_table=0xFFFFFEC0
