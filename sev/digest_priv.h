/* Private to sev/digest*.c: SHA-384/SHA-256 helpers over OpenSSL EVP. */
#ifndef VIGIL_SEV_DIGEST_PRIV_H
#define VIGIL_SEV_DIGEST_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* The fetched SHA-384 / SHA-256 implementations (fetched once, never freed). */
const EVP_MD *sev_md_sha384(void);
const EVP_MD *sev_md_sha256(void);
/* One-shot SHA-384 with a caller-kept context (reused across calls). */
int sev_sha384_ctx(EVP_MD_CTX *ctx, const void *p, size_t n, uint8_t out[48]);
/* SHA-384 of each of npages consecutive 4 KiB pages into out[i], on up to
 * all online cores when there are enough pages to be worth it. */
int sev_sha384_pages(const uint8_t *data, size_t npages, uint8_t (*out)[48]);

#endif
