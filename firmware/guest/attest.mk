# The attest guest (firmware/guest/attest.c, issue 6) carries OVMF-style firmware
# tables (SEV metadata, SEV-ES reset block, TDVF metadata, GUIDed footer) that must
# end 32 bytes before 4 GiB, where firmware looks for them: 4 GiB - 0x20 - 256 bytes.
$(BUILD)/guest/attest.elf: GUEST_LDFLAGS += -Wl,--section-start=.ovmf_table=0xFFFFFEE0
