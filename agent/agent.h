/*
 * agent/: vigil-agent, the guest's client of vigil-attestd (Trustee KBS protocol 0.4.0)
 * and its evidence providers. The one public header of this directory. Prefix: ag_.
 *
 *   providers   tsm      Linux configfs-tsm (/sys/kernel/config/tsm/report), SNP and TDX guests
 *               sim-snp  a real vigil-vmm launch of the attest guest on the simulated platforms:
 *               sim-tdx  the agent runs beside the VM (docs/platforms.md, docs/agent.md)
 *   encodings   SNP {"attestation_report": b64(1184 bytes), "cert_chain": [{"type", "data"}]}
 *               TDX {"quote": b64, "cc_eventlog": b64 | null}
 *   client      auth -> fresh P-256 key -> REPORT_DATA -> evidence [-> init-data check]
 *               -> attest [+ init-data] -> resource -> JWE
 *
 * Functions return 0 or -errno and fill struct vg_err with one line. -EACCES means the
 * service (or the platform) refused; anything else is usage, I/O or network.
 */
#ifndef VIGIL_AGENT_H
#define VIGIL_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/common.h"
#include "sev/sev.h"

#define AG_REPORT_DATA_LEN 64
#define AG_SNP_REPORT_LEN 1184
#define AG_EVIDENCE_MAX (64u * 1024)   /* outblob / quote bound (kernel: 32 KiB) */
#define AG_AUXBLOB_MAX (64u * 1024)    /* SNP certificate table bound */

/* ------------------------------------------------------------------ encodings */
/* {"attestation_report": b64, "cert_chain": [{"type","data"}...]} from a report and the
 * entries of its certificate table (sev_snp_cert_table_parse; types other than
 * vcek/vlek/ask/ark are left out). The report must be 1184 bytes. */
json_t *ag_snp_evidence_json(const uint8_t *report, size_t len, const struct sev_cert *certs, size_t n,
			     struct vg_err *err);
/* {"quote": b64, "cc_eventlog": b64 or null}. */
json_t *ag_tdx_evidence_json(const uint8_t *quote, size_t len, const uint8_t *ccel, size_t ccel_len,
			     struct vg_err *err);
/* {"primary_evidence": primary (reference stolen), "additional_evidence": ""}. */
json_t *ag_tee_evidence_json(json_t *primary);

/* ------------------------------------------------------------------ providers */
enum ag_tee { AG_TEE_AUTO = 0, AG_TEE_TSM, AG_TEE_SIM_SNP, AG_TEE_SIM_TDX };
int ag_tee_parse(const char *s, enum ag_tee *out, struct vg_err *err);
const char *ag_tee_name(enum ag_tee t);

#define AG_VMM_ARGS_MAX 16
struct ag_provider_opts {
	enum ag_tee tee;
	/* tsm */
	const char *tsm_root;   /* default /sys/kernel/config/tsm (the "report" directory below it) */
	const char *ccel_path;  /* TDX CC event log; default /sys/firmware/acpi/tables/data/CCEL; "none" */
	int privlevel;          /* SNP VMPL for configfs-tsm privlevel; -1 = leave the kernel default */
	/* sim-snp / sim-tdx */
	const char *vm_config;  /* vm.json of the launch, or NULL */
	const char *vmm_path;   /* default: vigil-vmm beside the agent binary */
	const char *firmware;   /* default: vm.json "firmware", else ../guest/attest.bin beside the agent */
	const char *state_dir;  /* default: vm.json "state_dir", else the VMM's default */
	unsigned timeout_s;     /* VMM run bound (default 120) */
	const char *vmm_args[AG_VMM_ARGS_MAX]; /* extra vigil-vmm arguments (--vmm-arg) */
	size_t n_vmm_args;
};

/* Evidence bound to report_data: *tee = "snp" or "tdx" (the KBS tee name), *primary = the
 * encoding above. Checks the evidence carries exactly this REPORT_DATA. */
int ag_evidence_get(const struct ag_provider_opts *o, const uint8_t report_data[AG_REPORT_DATA_LEN],
		    const char **tee, json_t **primary, struct vg_err *err);
/* The provider `auto` resolves to: --tee if given, a sim platform named in vm.json, tsm when
 * its report directory exists; -ENODEV with the reason otherwise. */
int ag_provider_resolve(const struct ag_provider_opts *o, enum ag_tee *out, struct vg_err *err);

/* configfs-tsm: one report instance (mkdir, write inblob [privlevel], read outblob, auxblob,
 * provider, check generation, rmdir); retried when another writer changed the instance. */
struct ag_tsm_report {
	char provider[32]; /* "sev_guest", "tdx_guest", ... */
	uint8_t *outblob;
	size_t outblob_len;
	uint8_t *auxblob; /* NULL when the attribute is absent or empty */
	size_t auxblob_len;
	unsigned attempts; /* how many generations it took */
};
#define AG_TSM_ATTEMPTS 3
int ag_tsm_report(const char *tsm_root, const uint8_t *inblob, size_t inblob_len, int privlevel,
		  struct ag_tsm_report *out, struct vg_err *err);
void ag_tsm_report_free(struct ag_tsm_report *r);
/* The provider name alone (a report instance made and removed), to pick the KBS tee name
 * before the challenge exists. tsm_root NULL = /sys/kernel/config/tsm. */
int ag_tsm_provider(const char *tsm_root, char out[32], struct vg_err *err);
/* Test seam: a directory tree imitating configfs has no kernel behind it; a fixture plays
 * the kernel at these points (after mkdir: attributes appear; after a write of `attr`:
 * generation advances, outblob is generated; before rmdir: attributes vanish). */
enum ag_tsm_event { AG_TSM_MKDIR, AG_TSM_WRITE, AG_TSM_RMDIR };
extern void (*ag_tsm_hook)(enum ag_tsm_event ev, const char *entry_dir, const char *attr, void *ctx);
extern void *ag_tsm_hook_ctx;

/* The simulated providers: runs vigil-vmm with the attest guest and REPORT_DATA as its
 * challenge, reads the evidence from its serial output; on sim-snp the guest makes an
 * extended request, and the certificate table (VCEK, ASK, ARK) the simulated secure
 * processor returns after the report travels as the evidence's cert_chain. */
int ag_sim_evidence(const struct ag_provider_opts *o, bool snp, const uint8_t report_data[AG_REPORT_DATA_LEN],
		    json_t **primary, struct vg_err *err);
/* The bytes of block NAME ("EVIDENCE", "CERTTABLE") in the attest guest's serial output:
 * hex lines (at most 64 digits) between NAME-BEGIN and NAME-END, CR tolerated; malloc'd. */
int ag_serial_block(const char *serial, size_t len, const char *name, uint8_t **out, size_t *out_len,
		   struct vg_err *err);

/* ------------------------------------------------------------------ init-data */
/* Trustee's init-data document (kbs/docs/initdata.md), sent with the attestation as
 * {"format": "toml"|"json", "body": text}; its digest (att_init_data_digest, the service's
 * rule) is bound to the launch as SNP HOST_DATA / TDX MRCONFIGID. */
struct ag_init_data {
	char format[8];      /* "toml" or "json" */
	char *body;          /* the document, NUL-terminated UTF-8 text without NUL bytes */
	size_t md_len;       /* the digest's own length: 32, 48 or 64 (the algorithm it names) */
	uint8_t snp[32];     /* the HOST_DATA it needs: the digest, truncated to 32 bytes */
	uint8_t tdx[48];     /* the MRCONFIGID: the digest, zero-padded or truncated to 48 bytes */
};
/* The format: `format` ("toml"/"json") when given, else from the name's extension
 * (.toml/.json); anything else -EINVAL (a usage error). *out is a static string. */
int ag_init_data_format(const char *path, const char *format, const char **out, struct vg_err *err);
/* A document from bytes: non-empty, at most ATT_INIT_DATA_MAX, no NUL, UTF-8, and its digest
 * computable (a known algorithm; JSON: an object). -EINVAL/-EFBIG with the reason. */
int ag_init_data_parse(const char *format, const uint8_t *buf, size_t len, struct ag_init_data *out,
		       struct vg_err *err);
/* ag_init_data_format + a bounded read of path + ag_init_data_parse. */
int ag_init_data_load(const char *path, const char *format, struct ag_init_data *out, struct vg_err *err);
void ag_init_data_free(struct ag_init_data *d);
/* The launch field init-data binds, from a primary_evidence object of tee "snp"/"tdx":
 * HOST_DATA (32 bytes) or MRCONFIGID (48); *name names it. */
int ag_evidence_launch_field(const char *tee, const json_t *primary, uint8_t out[48], size_t *len,
			     const char **name, struct vg_err *err);
/* The evidence's launch field is exactly d's digest (the comparison vigil-attestd's policy
 * makes); else -EACCES "init-data digest X does not match HOST_DATA Y: ...". */
int ag_init_data_check(const struct ag_init_data *d, const char *tee, const json_t *primary, struct vg_err *err);
/* {"format", "body"}: the Attestation's "init-data" member. */
json_t *ag_init_data_json(const struct ag_init_data *d);

/* ------------------------------------------------------------------ KBS client */
struct ag_client_opts {
	const char *url;     /* http://host:port or https://...; no path beyond "/" */
	const char *cacert;  /* PEM bundle for https, or NULL for the system store */
	long timeout_s;      /* per request (default 30) */
	const struct ag_provider_opts *provider;
	const struct ag_init_data *init_data; /* sent as "init-data" when not NULL */
	bool no_init_data_check; /* send it even when the evidence is not bound to it */
};
#define AG_RESPONSE_MAX (1u << 20)
/* The attestation part of the flow: auth, key, evidence, attest. On success *token is the
 * EAR JWT (malloc'd), *key the session's private key (EVP_PKEY *), *cookie the session. */
struct ag_session;
int ag_session_attest(const struct ag_client_opts *o, struct ag_session **s, struct vg_err *err);
const char *ag_session_token(const struct ag_session *s);
/* GET /kbs/v0/resource/<path> with the session; decrypts the JWE. The secret is malloc'd:
 * the caller cleanses it (vg_secure_zero) and frees it. */
int ag_session_resource(struct ag_session *s, const char *path, uint8_t **secret, size_t *len,
			struct vg_err *err);
void ag_session_free(struct ag_session *s); /* cleanses the private key */
/* A resource path is three non-empty segments of [A-Za-z0-9._-] (no "..", no "/"). */
int ag_resource_path_check(const char *path, struct vg_err *err);
/* One line from an RFC 7807 body: "detail (type)", or the HTTP status when it is not one. */
void ag_problem_message(long status, const char *body, size_t len, char *out, size_t cap);

/* ------------------------------------------------------------------ output */
/* Creates path with mode 0600 and exactly these bytes: written to a temporary file in the
 * same directory (O_EXCL), fsync'd, then linked into place, so the name never shows a
 * partial secret; an existing file is never replaced (-EEXIST). "-" = stdout. */
int ag_write_secret(const char *path, const uint8_t *data, size_t len, struct vg_err *err);

#endif /* VIGIL_AGENT_H */
