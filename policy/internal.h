/* policy/ private: the validated in-memory form of a policy. Not a public header. */
#ifndef VIGIL_POLICY_INTERNAL_H
#define VIGIL_POLICY_INTERNAL_H

#include "policy/policy.h"

#define POL_NAME_MAX 128

/* n values of len bytes each, in document order. */
struct pol_hexset {
	size_t n, len;
	uint8_t *v;
};
static inline const uint8_t *pol_hexset_at(const struct pol_hexset *s, size_t i) { return s->v + i * s->len; }
bool pol_hexset_has(const struct pol_hexset *s, const uint8_t *val);

/* A 64-bit field compared under a mask: (actual & mask) == value. Bytes as in the evidence. */
struct pol_masked {
	bool present;
	uint8_t value[8], mask[8];
};

struct pol_snp_wl {
	bool present;
	struct pol_hexset measurement, host_data, id_key_digest, author_key_digest;
	bool has_family_id, has_image_id, has_min_guest_svn;
	uint8_t family_id[16], image_id[16];
	uint32_t min_guest_svn;
	unsigned vmpl_mask; /* bit n: VMPL n allowed */
	bool allow_debug, allow_migration_agent;
};

enum pol_tdx_mr { POL_MRTD, POL_RTMR0, POL_RTMR1, POL_RTMR2, POL_RTMR3, POL_MRCONFIGID, POL_MROWNER,
		  POL_MROWNERCONFIG, POL_TDX_NMR };
extern const char *const pol_tdx_mr_names[POL_TDX_NMR]; /* "mrtd", "rtmr0", ... */

struct pol_tdx_wl {
	bool present;
	struct pol_hexset mr[POL_TDX_NMR]; /* n == 0: not constrained (mrtd is required) */
	struct pol_masked td_attributes, xfam;
	bool allow_debug;
};

struct pol_workload {
	char name[POL_NAME_MAX];
	struct pol_snp_wl snp;
	struct pol_tdx_wl tdx;
};

/* SNP TCB components, in the order of the messages. */
enum pol_tcb_comp { POL_TCB_BL, POL_TCB_TEE, POL_TCB_SNP, POL_TCB_UCODE, POL_TCB_FMC, POL_TCB_NCOMP };
extern const char *const pol_tcb_comp_names[POL_TCB_NCOMP];

struct pol_tcb_min {
	bool present;
	bool has[POL_TCB_NCOMP];
	uint8_t v[POL_TCB_NCOMP];
};

struct pol_snp_plat {
	bool allow_smt;
	unsigned keys; /* 1 VCEK, 2 VLEK */
	bool has_minimum_tcb;
	struct pol_tcb_min min[4]; /* by enum sev_snp_product (Milan, Genoa, Turin) */
};

struct pol_tdx_accept {
	enum att_tcb_status status;
	char **advisories; /* NULL: any advisory accepted (only UpToDate / statuses without IDs) */
	size_t nadv;
	bool has_advisories;
	bool has_until;
	int64_t until;
	char until_text[32];
};

struct pol_tdx_plat {
	struct pol_tdx_accept *acc;
	size_t nacc;
	bool collateral_required;
};

struct pol_rule {
	char *glob;
	char **workloads;
	size_t nworkloads;
	bool any_workload; /* "*" */
	enum pol_status min_status;
	bool allow_simulated;
};

struct pol_policy {
	bool simulated;
	bool require_nonce;
	struct pol_workload *wl;
	size_t nwl;
	struct pol_snp_plat snp;
	struct pol_tdx_plat tdx;
	struct pol_rule *rules;
	size_t nrules;
	uint8_t digest[32];
	json_t *doc; /* the document as loaded (for the summary) */
};

/* Product index for a name ("Milan" -> SEV_SNP_PRODUCT_MILAN), or UNKNOWN. */
enum sev_snp_product pol_product_of(const char *name);
/* repository/type/tag: three non-empty segments of A-Z a-z 0-9 . _ - (and with glob,
 * the glob characters * ? [ ] !); a concrete path never contains "..". */
bool pol_resource_path_valid(const char *path, bool glob);
/* TDX TCB status by its QVL name; -1 if unknown. */
int pol_tcb_status_of(const char *name);

#endif
