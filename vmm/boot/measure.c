/* Measured boot: each image the VMM loads is hashed (SHA-256) and recorded;
 * with a vTPM the digest is extended into its PCR and logged in the TCG event
 * log; --print-measurements prints the same list. */
#include "vmm/boot/boot.h"


#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PCR per image: firmware in PCR 0 (TCG PC Client); kernel, initrd (PCR 9)
 * and command line (PCR 8) as GRUB measures them, EV_IPL with a string. */
static const struct {
	unsigned pcr;
	uint32_t event_type;
	const char *name;
} kinds[] = {
	[VMM_IMAGE_FIRMWARE] = {0, VTPM_EV_POST_CODE, "firmware"},
	[VMM_IMAGE_KERNEL] = {9, VTPM_EV_IPL, "kernel"},
	[VMM_IMAGE_INITRD] = {9, VTPM_EV_IPL, "initrd"},
	[VMM_IMAGE_CMDLINE] = {8, VTPM_EV_IPL, "cmdline"},
	[VMM_IMAGE_BOOT_PARAMS] = {0, VTPM_EV_POST_CODE, "boot_params"},
	[VMM_IMAGE_ACPI] = {1, VTPM_EV_POST_CODE, "acpi"},
	[VMM_IMAGE_PAGE_TABLES] = {0, VTPM_EV_POST_CODE, "page_tables"},
	[VMM_IMAGE_EVENT_LOG] = {0, VTPM_EV_POST_CODE, "event_log"},
};

unsigned vmm_measure_pcr(enum vmm_image_kind kind) { return kinds[kind].pcr; }
const char *vmm_measure_name(enum vmm_image_kind kind) { return kinds[kind].name; }

int vmm_measure(struct vmm *vm, enum vmm_image_kind kind, const char *what, const void *data, size_t len)
{
	struct vmm_mboot *mb = vm->mboot;
	struct vmm_measurement *m;
	if (mb->n_meas >= VG_ARRAY_SIZE(mb->meas))
		return -ENOSPC;
	m = &mb->meas[mb->n_meas];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->pcr = kinds[kind].pcr;
	snprintf(m->what, sizeof(m->what), "%s", what ? what : "");
	unsigned dl = 0;
	if (!EVP_Digest(data, len, m->sha256, &dl, EVP_sha256(), NULL) || dl != 32)
		return -EIO;
	mb->n_meas++;
	if (mb->evlog_on) { /* the event data: "<kind>: <source>" and its NUL, as GRUB writes strings */
		char ev[256];
		int n = snprintf(ev, sizeof(ev), "%s: %s", kinds[kind].name, m->what);
		uint8_t dg[1][64] = {{0}};
		memcpy(dg[0], m->sha256, 32);
		if (vtpm_evlog_writer_add(&mb->evlog, m->pcr, kinds[kind].event_type, (const uint8_t(*)[64])dg, ev,
					  (size_t)VG_MIN(n, (int)sizeof(ev) - 1) + 1, NULL))
			return -EIO;
	}
	return 0;
}

/* Prints each measurement and the PCR values they produce when extended into
 * zeroed SHA-256 PCRs (PCR = SHA-256(PCR || digest)). */
void vmm_measurements_print(const struct vmm *vm, bool json)
{
	uint8_t pcrs[24][32];
	bool used[24] = {false};
	memset(pcrs, 0, sizeof(pcrs));
	char hex[65];
	if (json)
		printf("{\"measurements\":[");
	const struct vmm_measurement *m;
	for (unsigned i = 0; (m = vmm_measurement_at(vm, i)); i++) {
		vg_hex_encode(m->sha256, 32, hex);
		if (json) {
			printf("%s{\"pcr\":%u,\"type\":\"%s\",\"sha256\":\"%s\",\"source\":\"", i ? "," : "", m->pcr,
			       kinds[m->kind].name, hex);
			for (const char *p = m->what; *p; p++) /* paths: escape quotes, backslashes, controls */
				if (*p == '"' || *p == '\\')
					printf("\\%c", *p);
				else if ((unsigned char)*p < 0x20)
					printf("\\u%04x", (unsigned char)*p);
				else
					putchar(*p);
			printf("\"}");
		} else {
			printf("pcr%-2u sha256 %s %-8s %s\n", m->pcr, hex, kinds[m->kind].name, m->what);
		}
		uint8_t buf[64];
		unsigned dl;
		memcpy(buf, pcrs[m->pcr], 32);
		memcpy(buf + 32, m->sha256, 32);
		EVP_Digest(buf, 64, pcrs[m->pcr], &dl, EVP_sha256(), NULL);
		used[m->pcr] = true;
	}
	if (json)
		printf("],\"pcrs\":{");
	bool first = true;
	for (unsigned p = 0; p < 24; p++) {
		if (!used[p])
			continue;
		vg_hex_encode(pcrs[p], 32, hex);
		if (json)
			printf("%s\"%u\":\"%s\"", first ? "" : ",", p, hex);
		else
			printf("pcr%-2u = %s\n", p, hex);
		first = false;
	}
	if (json)
		printf("}}\n");
	fflush(stdout);
}

const struct vmm_measurement *vmm_measurement_at(const struct vmm *vm, unsigned i)
{
	return vm->mboot && i < vm->mboot->n_meas ? &vm->mboot->meas[i] : NULL;
}

int vmm_measurements_write_log(const struct vmm *vm, const char *path, struct vg_err *err)
{
	const struct vmm_mboot *mb = vm->mboot;
	if (!mb || !mb->evlog_on)
		return 0;
	return vg_write_file_atomic(path, mb->evlog.buf.data, mb->evlog.buf.len, 0644, err);
}

void vmm_measurements_free(struct vmm *vm)
{
	if (!vm->mboot)
		return;
	if (vm->mboot->evlog_on)
		vtpm_evlog_writer_free(&vm->mboot->evlog);
	free(vm->mboot);
	vm->mboot = NULL;
}
