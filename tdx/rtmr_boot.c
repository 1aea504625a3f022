/*
 * TDX measured direct boot: the events TDVF and the Linux EFI stub extend into
 * RTMR1 and RTMR2 when the kernel, initrd and command line come through fw_cfg
 * (tdx.h section 2). Each rule names the edk2 (tianocore/edk2, OvmfPkg and
 * SecurityPkg) or Linux (drivers/firmware/efi/libstub) file and function it is
 * taken from. The flow in edk2:
 *
 *   PlatformBootManagerLib/BdsPlatform.c PlatformBootManagerAfterConsole
 *     -> PlatformBootManagerLib/QemuKernel.c TryRunningQemuKernel:
 *        1. X86QemuLoadImageLib QemuLoadKernelImage: gBS->LoadImage of the file
 *           "kernel" of QemuKernelLoaderFsDxe (fw_cfg setup || kernel blobs); the
 *           security handler (DxeTpm2MeasureBootLib) measures the PE image;
 *           then LoadOptions are built from the fw_cfg command line and initrd size
 *        2. EfiSignalEventReadyToBoot -> TdTcg2Dxe OnReadyToBoot (first attempt)
 *        3. QemuStartKernelImage -> the Linux EFI stub: load options and initrd
 *           measured (Linux 6.9+ through EFI_CC_MEASUREMENT_PROTOCOL), then
 *           ExitBootServices -> TdTcg2Dxe OnExitBootServices
 *
 * PCR -> CC MR index -> RTMR: OvmfPkg/IntelTdx/TdxMeasurementLib/
 * TdxMeasurementCommon.c TdxMeasurementMapPcrToMrIndex (UEFI 2.10, 38.4.1):
 * PCR 1,7 -> MR 1 = RTMR0; PCR 2-6 -> MR 2 = RTMR1; PCR 8-15 -> MR 3 = RTMR2.
 * Every event is extended as SHA-384 of its data (TdxMeasurementHashAndExtendToRtmr,
 * TDG.MR.RTMR.EXTEND).
 */
#include "tdx/tdx.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tdx_rtmr_extend(uint8_t rtmr[TDX_MRTD_LEN], const uint8_t digest[TDX_MRTD_LEN], struct vg_err *err)
{
	uint8_t buf[2 * TDX_MRTD_LEN];
	unsigned int len = 0;
	memcpy(buf, rtmr, TDX_MRTD_LEN);
	memcpy(buf + TDX_MRTD_LEN, digest, TDX_MRTD_LEN);
	if (!EVP_Digest(buf, sizeof(buf), rtmr, &len, EVP_sha384(), NULL) || len != TDX_MRTD_LEN)
		return vg_err_set(err, EIO, "SHA-384 failed");
	return 0;
}

int tdx_edk2_tag_parse(const char *s, unsigned *out, struct vg_err *err)
{
	const char *p = s;
	if (!strncmp(p, "edk2-", 5))
		p += 5;
	if (!strncmp(p, "stable", 6))
		p += 6;
	bool digits = strlen(p) == 6;
	for (size_t i = 0; digits && i < 6; i++)
		digits = p[i] >= '0' && p[i] <= '9';
	unsigned v = 0;
	for (size_t i = 0; digits && i < 6; i++)
		v = v * 10 + (unsigned)(p[i] - '0');
	if (!digits || v % 100 < 1 || v % 100 > 12)
		return vg_err_set(err, EINVAL, "'%s' is not an edk2 stable tag (stableYYYYMM, e.g. stable202508)", s);
	if (v < TDX_EDK2_FIRST)
		return vg_err_set(err, ENOTSUP, "edk2 %u: TDVF measures into RTMRs from edk2-stable%u on (TdTcg2Dxe); "
				  "older builds are not modelled", v, TDX_EDK2_FIRST);
	*out = v;
	return 0;
}

static const uint8_t separator[4] = {0, 0, 0, 0};
static const char calling[] = "Calling EFI Application from Boot Option";
static const char ebs_invocation[] = "Exit Boot Services Invocation";
static const char ebs_success[] = "Exit Boot Services Returned with Success";
/* TCG_PCClientTaggedEvent {u32 id, u32 size, data}: the stub's ids and strings
 * (libstub/efistub.h INITRD_EVENT_TAG_ID, LOAD_OPTIONS_EVENT_TAG_ID). */
static const uint8_t tag_load_options[] = {0xed, 0x22, 0x3b, 0x8f, 26, 0, 0, 0, 'L', 'O', 'A', 'D', 'E', 'D', '_',
					   'I', 'M', 'A', 'G', 'E', ':', ':', 'L', 'o', 'a', 'd', 'O', 'p', 't',
					   'i', 'o', 'n', 's', 0};
static const uint8_t tag_initrd[] = {0xec, 0x22, 0x3b, 0x8f, 13, 0, 0, 0, 'L', 'i', 'n', 'u', 'x', ' ',
				     'i', 'n', 'i', 't', 'r', 'd', 0};

static int sha384(const void *p, size_t n, uint8_t out[TDX_MRTD_LEN], struct vg_err *err)
{
	unsigned int len = 0;
	if (!EVP_Digest(p, n, out, &len, EVP_sha384(), NULL) || len != TDX_MRTD_LEN)
		return vg_err_set(err, EIO, "SHA-384 failed");
	return 0;
}

static struct tdx_boot_event *add(struct tdx_boot_prediction *p, unsigned rtmr, unsigned pcr, uint32_t type,
				  const char *type_name, const char *what, const char *by, const char *source)
{
	struct tdx_boot_event *e = &p->ev[p->n++];
	*e = (struct tdx_boot_event){.rtmr = rtmr, .pcr = pcr, .type = type, .type_name = type_name,
				     .what = what, .by = by, .source = source};
	return e;
}

static int add_data(struct tdx_boot_prediction *p, unsigned rtmr, unsigned pcr, uint32_t type, const char *type_name,
		    const char *what, const char *by, const char *source, const void *data, size_t len,
		    const void *logged, size_t logged_len, struct vg_err *err)
{
	struct tdx_boot_event *e = add(p, rtmr, pcr, type, type_name, what, by, source);
	e->data = logged;
	e->data_len = logged_len;
	return sha384(data, len, e->digest, err);
}

/* The kernel release from the bzImage header ("HdrS", kernel_version at 0x20e:
 * offset of a NUL-terminated string, minus 0x200), or "" (Linux boot protocol,
 * Documentation/arch/x86/boot.rst). */
static void kernel_version(const uint8_t *k, size_t len, char *out, size_t cap)
{
	out[0] = 0;
	struct vg_reader r;
	uint32_t magic;
	uint16_t off;
	vg_rd_init(&r, k, len);
	if (vg_rd_seek(&r, 0x202) || vg_rd_le32(&r, &magic) || magic != 0x53726448u || vg_rd_seek(&r, 0x20e) ||
	    vg_rd_le16(&r, &off) || off == 0)
		return;
	size_t at = (size_t)off + 0x200, i = 0;
	while (at + i < len && i + 1 < cap && k[at + i] >= 0x20 && k[at + i] < 0x7f && k[at + i] != ' ') {
		out[i] = (char)k[at + i];
		i++;
	}
	out[i] = 0;
}

/* 1: the stub measures through the CC protocol (Linux 6.9, "efi/libstub: Measure
 * into CC protocol if TCG2 protocol is absent"), 0: older, -1: unknown. */
static int stub_cc(const char *version)
{
	unsigned maj, min;
	if (sscanf(version, "%u.%u", &maj, &min) != 2)
		return -1;
	return maj > 6 || (maj == 6 && min >= 9);
}

/*
 * LoadOptions as X86QemuLoadImageLib QemuLoadKernelImage builds them: the fw_cfg
 * command line (always NUL-terminated; CommandLineSize = strlen + 1), "initrd=initrd"
 * when the fw_cfg initrd is not empty, printed with UnicodeSPrintAsciiFormat
 * ("%a": each byte widened to a CHAR16) into LoadOptionsSize bytes including the
 * UTF-16 NUL. edk2-stable202508 and later (commit "Prefix initrd=initrd in
 * cmdline"): "initrd=initrd " then the command line; before: the command line
 * then " initrd=initrd". Empty command line and no initrd: no LoadOptions.
 */
static int load_options(const char *cmdline, bool initrd, bool initrd_first, uint8_t **out, size_t *out_len,
			struct vg_err *err)
{
	const char *cmd = cmdline ? cmdline : "";
	const char *pre = initrd && initrd_first ? "initrd=initrd " : "";
	const char *post = initrd && !initrd_first ? " initrd=initrd" : "";
	size_t chars = strlen(pre) + strlen(cmd) + strlen(post);
	*out = NULL;
	*out_len = 0;
	if (chars == 0)
		return 0;
	uint8_t *u = calloc(chars + 1, 2);
	if (!u)
		return vg_err_set(err, ENOMEM, "out of memory");
	size_t i = 0;
	for (const char *parts[3] = {pre, cmd, post}, **q = parts; q < parts + 3; q++)
		for (const char *c = *q; *c; c++, i++)
			u[2 * i] = (uint8_t)*c; /* high byte 0 */
	*out = u;
	*out_len = (chars + 1) * 2;
	return 0;
}

static int predict(const struct tdx_boot_inputs *in, struct tdx_boot_prediction *p, struct vg_err *err)
{
	unsigned edk2 = in->edk2 ? in->edk2 : TDX_EDK2_DEFAULT;
	if (edk2 < TDX_EDK2_FIRST)
		return vg_err_set(err, ENOTSUP, "edk2 %u: not modelled (TdTcg2Dxe appears in edk2-stable%u)", edk2,
				  TDX_EDK2_FIRST);
	/* OnReadyToBoot's separator: MeasureSeparatorEvent (1) meant RTMR1 under the first
	 * mapping (RTMR index), RTMR0 after "Fix the mapping error between PCR index and MR
	 * index" (stable202302), and CC_MR_INDEX_2_RTMR1 again after "Fix the
	 * SeparatorEvent issue in RTMRs" (stable202411). */
	p->separator_in_rtmr1 = edk2 < TDX_EDK2_SEP_RTMR0 || edk2 >= TDX_EDK2_SEP_RTMR1;
	p->initrd_first = edk2 >= TDX_EDK2_INITRD_FIRST;
	uint8_t digest[TDX_MRTD_LEN];
	size_t dl = 0;
	int rc = fw_pe_authenticode(in->kernel, in->kernel_len, "SHA384", digest, &dl, &p->pe, err);
	if (rc)
		return vg_err_prefix(err, "kernel: TDVF would not load it as an EFI image but through its legacy "
				     "loader, which measures nothing (X86QemuLoadImageLib QemuLoadLegacyImage)");
	if (p->pe.subsystem != FW_PE_SUBSYSTEM_EFI_APPLICATION)
		return vg_err_set(err, EINVAL, "kernel: PE subsystem %u is not an EFI application (10): "
				  "DxeTpm2MeasureBootLib would measure it as a driver into another PCR", p->pe.subsystem);
	kernel_version(in->kernel, in->kernel_len, p->kernel_version, sizeof(p->kernel_version));
	p->stub_cc = stub_cc(p->kernel_version);

	/* RTMR1 (PCR 4 and 5) */
	struct tdx_boot_event *e = add(p, 1, 4, TDX_EV_EFI_BOOT_SERVICES_APPLICATION, "EV_EFI_BOOT_SERVICES_APPLICATION",
				       "kernel PE/COFF Authenticode SHA-384", "TDVF",
				       "SecurityPkg/Library/DxeTpm2MeasureBootLib/DxeTpm2MeasureBootLib.c "
				       "Tcg2MeasurePeImage (EFI application: PCR 4, PE_COFF_IMAGE) -> "
				       "OvmfPkg/Tcg/TdTcg2Dxe/MeasureBootPeCoff.c MeasurePeImageAndExtend");
	memcpy(e->digest, digest, TDX_MRTD_LEN);
	if ((rc = add_data(p, 1, 4, TDX_EV_EFI_ACTION, "EV_EFI_ACTION", calling, "TDVF",
			   "OvmfPkg/Tcg/TdTcg2Dxe/TdTcg2Dxe.c OnReadyToBoot (TdMeasureAction, first boot attempt)",
			   calling, strlen(calling), calling, strlen(calling), err)))
		return rc;
	if (p->separator_in_rtmr1 &&
	    (rc = add_data(p, 1, 4, TDX_EV_SEPARATOR, "EV_SEPARATOR", "separator 00000000", "TDVF",
			   "OvmfPkg/Tcg/TdTcg2Dxe/TdTcg2Dxe.c OnReadyToBoot (MeasureSeparatorEvent (CC_MR_INDEX_2_RTMR1))",
			   separator, 4, separator, 4, err)))
		return rc;
	/* RTMR2 (PCR 9): the stub, in efi_pe_entry/efi_stub_entry order: load options
	 * (efi_convert_cmdline) before the initrd (efi_load_initrd). */
	bool initrd = in->initrd && in->initrd_len;
	if ((rc = load_options(in->cmdline, initrd, p->initrd_first, &p->load_options, &p->load_options_len, err)))
		return rc;
	if (p->load_options &&
	    (rc = add_data(p, 2, 9, TDX_EV_EVENT_TAG, "EV_EVENT_TAG", "LoadOptions (UTF-16LE with its NUL)",
			   "Linux EFI stub",
			   "drivers/firmware/efi/libstub/efi-stub-helper.c efi_convert_cmdline "
			   "(efi_measure_tagged_event LOAD_OPTIONS_EVENT_TAG_ID, PCR 9); LoadOptions from "
			   "OvmfPkg/Library/X86QemuLoadImageLib/X86QemuLoadImageLib.c QemuLoadKernelImage",
			   p->load_options, p->load_options_len, tag_load_options, sizeof(tag_load_options), err)))
		return rc;
	if (initrd &&
	    (rc = add_data(p, 2, 9, TDX_EV_EVENT_TAG, "EV_EVENT_TAG", "initrd", "Linux EFI stub",
			   "drivers/firmware/efi/libstub/efi-stub-helper.c efi_load_initrd (LoadFile2 of "
			   "LINUX_EFI_INITRD_MEDIA_GUID from OvmfPkg/QemuKernelLoaderFsDxe QemuKernelInitrdLoadFile2; "
			   "efi_measure_tagged_event INITRD_EVENT_TAG_ID, PCR 9)",
			   in->initrd, in->initrd_len, tag_initrd, sizeof(tag_initrd), err)))
		return rc;
	/* back to RTMR1 (PCR 5) when the stub calls ExitBootServices */
	if ((rc = add_data(p, 1, 5, TDX_EV_EFI_ACTION, "EV_EFI_ACTION", ebs_invocation, "TDVF",
			   "OvmfPkg/Tcg/TdTcg2Dxe/TdTcg2Dxe.c OnExitBootServices", ebs_invocation,
			   strlen(ebs_invocation), ebs_invocation, strlen(ebs_invocation), err)) ||
	    (rc = add_data(p, 1, 5, TDX_EV_EFI_ACTION, "EV_EFI_ACTION", ebs_success, "TDVF",
			   "OvmfPkg/Tcg/TdTcg2Dxe/TdTcg2Dxe.c OnExitBootServices", ebs_success, strlen(ebs_success),
			   ebs_success, strlen(ebs_success), err)))
		return rc;
	for (size_t i = 0; i < p->n; i++)
		if ((rc = tdx_rtmr_extend(p->ev[i].rtmr == 1 ? p->rtmr1 : p->rtmr2, p->ev[i].digest, err)))
			return rc;
	return 0;
}

int tdx_boot_predict(const struct tdx_boot_inputs *in, struct tdx_boot_prediction *p, struct vg_err *err)
{
	memset(p, 0, sizeof(*p));
	int rc = predict(in, p, err);
	if (rc)
		tdx_boot_prediction_free(p);
	return rc;
}

void tdx_boot_prediction_free(struct tdx_boot_prediction *p)
{
	free(p->load_options);
	p->load_options = NULL;
}
