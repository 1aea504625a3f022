/* SNP launch digest (PAGE_INFO chaining) and the digest of a whole launch plan. */
#include "sev/sev.h"

#include <stdlib.h>
#include <string.h>

#include "sev/digest_priv.h"

#define PAGE 4096u

const char *sev_snp_page_type_name(unsigned type)
{
	static const char *const names[] = {"?", "NORMAL", "VMSA", "ZERO", "UNMEASURED", "SECRETS", "CPUID"};
	return type >= 1 && type <= 6 ? names[type] : "unknown";
}

void sev_snp_digest_init(struct sev_snp_digest *d, const uint8_t *seed)
{
	if (seed)
		memcpy(d->ld, seed, sizeof(d->ld));
	else
		memset(d->ld, 0, sizeof(d->ld));
}

/* One PAGE_INFO hashed into the digest (ctx may be NULL: one-shot). */
static int chain(EVP_MD_CTX *ctx, struct sev_snp_digest *d, uint64_t gpa, unsigned type, const uint8_t *hash)
{
	uint8_t pi[sizeof(struct sev_snp_page_info)] = {0};
	memcpy(pi + offsetof(struct sev_snp_page_info, digest_cur), d->ld, 48);
	if (hash)
		memcpy(pi + offsetof(struct sev_snp_page_info, contents), hash, 48);
	vg_put_le16(pi + offsetof(struct sev_snp_page_info, length), sizeof(pi));
	pi[offsetof(struct sev_snp_page_info, page_type)] = (uint8_t)type;
	/* imi_page 0, VMPL1-3 permissions 0: a plain launch */
	vg_put_le64(pi + offsetof(struct sev_snp_page_info, gpa), gpa);
	if (ctx)
		return sev_sha384_ctx(ctx, pi, sizeof(pi), d->ld);
	unsigned int len = 0;
	const EVP_MD *md = sev_md_sha384();
	return md && EVP_Digest(pi, sizeof(pi), d->ld, &len, md, NULL) ? 0 : -EIO;
}

static bool has_contents(unsigned type) { return type == SEV_SNP_PAGE_NORMAL || type == SEV_SNP_PAGE_VMSA; }

void sev_snp_digest_update_hashed(struct sev_snp_digest *d, uint64_t gpa, unsigned page_type,
				  const uint8_t contents_hash[48])
{
	chain(NULL, d, gpa, page_type, contents_hash);
}

int sev_snp_digest_update_page(struct sev_snp_digest *d, uint64_t gpa, unsigned page_type,
			       const uint8_t *contents, struct vg_err *err)
{
	return sev_snp_digest_update_pages(d, gpa, page_type, contents, PAGE, err);
}

int sev_snp_digest_update_pages(struct sev_snp_digest *d, uint64_t gpa, unsigned page_type,
				const uint8_t *contents, size_t len, struct vg_err *err)
{
	if (page_type < SEV_SNP_PAGE_NORMAL || page_type > SEV_SNP_PAGE_CPUID)
		return vg_err_set(err, EINVAL, "SNP launch digest: unknown page type %u", page_type);
	if (gpa % PAGE || len % PAGE || len == 0)
		return vg_err_set(err, EINVAL, "SNP launch digest: 0x%llx+0x%zx is not whole 4 KiB pages",
				  (unsigned long long)gpa, len);
	if (has_contents(page_type) && !contents)
		return vg_err_set(err, EINVAL, "SNP launch digest: a %s page needs its contents",
				  sev_snp_page_type_name(page_type));
	size_t npages = len / PAGE;
	uint8_t (*hashes)[48] = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = ctx ? 0 : -ENOMEM;
	if (!rc && has_contents(page_type)) {
		hashes = malloc(npages * 48);
		rc = hashes ? sev_sha384_pages(contents, npages, hashes) : -ENOMEM;
	}
	for (size_t i = 0; !rc && i < npages; i++)
		rc = chain(ctx, d, gpa + i * PAGE, page_type, hashes ? hashes[i] : NULL);
	free(hashes);
	EVP_MD_CTX_free(ctx);
	return rc ? vg_err_set(err, -rc, "SNP launch digest: hashing failed") : 0;
}

/* The prediction's sink: every step hashed into the digest (the seed stands for the
 * firmware image). */
struct digest_sink {
	struct sev_snp_digest d;
	const uint8_t *seed;
	uint8_t bsp_hash[48], ap_hash[48];
	uint8_t (*after)[SEV_DIGEST_MAX];
};

static int digest_step(void *ctx, size_t i, const struct sev_launch_step *s, struct vg_err *err)
{
	struct digest_sink *k = ctx;
	int rc = 0;
	if (s->kind == SEV_STEP_IMAGE && k->seed)
		; /* the seed stands for the firmware pages */
	else if (s->kind == SEV_STEP_VMSA)
		sev_snp_digest_update_hashed(&k->d, s->gpa, s->page_type, s->vcpu == 0 ? k->bsp_hash : k->ap_hash);
	else
		rc = sev_snp_digest_update_pages(&k->d, s->gpa, s->page_type, s->data, s->len, err);
	if (!rc && k->after)
		memcpy(k->after[i], k->d.ld, 48);
	return rc;
}

static int snp_plan_digest(const struct sev_launch_plan *p, const uint8_t *seed, uint8_t *out,
			   uint8_t (*after)[SEV_DIGEST_MAX], struct vg_err *err)
{
	struct digest_sink k = { .seed = seed, .after = after };
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = ctx ? 0 : -ENOMEM;
	sev_snp_digest_init(&k.d, seed);
	if (!rc)
		rc = sev_sha384_ctx(ctx, p->vmsa_bsp, PAGE, k.bsp_hash);
	if (!rc)
		rc = sev_sha384_ctx(ctx, p->vmsa_ap, PAGE, k.ap_hash);
	EVP_MD_CTX_free(ctx);
	if (rc)
		return vg_err_set(err, -rc, "SNP launch digest: hashing failed");
	struct sev_plan_sink sink = { .ctx = &k, .step = digest_step };
	if ((rc = sev_launch_plan_walk(p, &sink, err)))
		return rc;
	memcpy(out, k.d.ld, 48);
	return 0;
}

static int sev_plan_digest(const struct sev_launch_plan *p, uint8_t *out, uint8_t (*after)[SEV_DIGEST_MAX],
			   struct vg_err *err)
{
	const EVP_MD *md = sev_md_sha256();
	EVP_MD_CTX *all = EVP_MD_CTX_new();
	unsigned int len = 0;
	int ok = md && all && EVP_DigestInit_ex2(all, md, NULL);
	for (size_t i = 0; ok && i < p->n; i++) {
		const struct sev_launch_step *s = &p->steps[i];
		if (!s->data) {
			EVP_MD_CTX_free(all);
			return vg_err_set(err, EINVAL, "%s: SEV launch data missing", s->name);
		}
		ok = EVP_DigestUpdate(all, s->data, s->len);
		if (ok && after) {
			memset(after[i], 0, SEV_DIGEST_MAX);
			ok = EVP_Digest(s->data, s->len, after[i], &len, md, NULL);
		}
	}
	ok = ok && EVP_DigestFinal_ex(all, out, &len) && len == 32;
	EVP_MD_CTX_free(all);
	return ok ? 0 : vg_err_set(err, EIO, "SEV launch digest: SHA-256 failed");
}

int sev_launch_digest(const struct sev_launch_plan *p, const uint8_t *seed, uint8_t out[SEV_DIGEST_MAX],
		      size_t *out_len, uint8_t (*after)[SEV_DIGEST_MAX], struct vg_err *err)
{
	memset(out, 0, SEV_DIGEST_MAX);
	if (p->mode == SEV_MODE_SNP) {
		*out_len = SEV_SNP_DIGEST_LEN;
		return snp_plan_digest(p, seed, out, after, err);
	}
	if (seed)
		return vg_err_set(err, EINVAL, "a precomputed firmware digest only applies to SNP");
	*out_len = 32;
	return sev_plan_digest(p, out, after, err);
}
