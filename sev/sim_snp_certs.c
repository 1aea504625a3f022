/*
 * sim-snp: the certificate table the simulated secure processor hands out with an
 * extended report, as a host configures it for SNP_GET_EXT_REPORT on hardware (the
 * VCEK, then the ASK and ARK of its product), made from the simulated identity in
 * STATE_DIR/sim-snp/ (vcek.pem, cert_chain.pem = ASK then ARK).
 */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sev/sim_snp_priv.h"

/* DER of the certificates of a PEM file, in order; *n of them (at most max). */
static int pem_ders(const char *path, unsigned char *der[], int len[], int max, int *n, struct vg_err *err)
{
	uint8_t *pem = NULL;
	size_t pl = 0;
	*n = 0;
	int rc = vg_read_file(path, 1 << 18, &pem, &pl, err);
	if (rc)
		return rc;
	BIO *b = BIO_new_mem_buf(pem, (int)pl);
	X509 *x;
	while (b && *n < max && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		der[*n] = NULL;
		len[*n] = i2d_X509(x, &der[*n]);
		X509_free(x);
		if (len[*n] <= 0) {
			rc = vg_err_set(err, EBADMSG, "%s: certificate %d does not encode", path, *n);
			break;
		}
		(*n)++;
	}
	ERR_clear_error();
	BIO_free(b);
	free(pem);
	return rc;
}

int sev_sim_snp_cert_table(const struct sev_sim_snp *s, uint8_t **out, size_t *len, struct vg_err *err)
{
	*out = NULL;
	*len = 0;
	char path[4096 + 32];
	unsigned char *der[3] = { 0 };
	int dl[3] = { 0 }, n1 = 0, n2 = 0;
	snprintf(path, sizeof(path), "%s/vcek.pem", s->dir);
	int rc = pem_ders(path, der, dl, 1, &n1, err);
	if (!rc && n1 != 1)
		rc = vg_err_set(err, EBADMSG, "%s: no certificate", path);
	snprintf(path, sizeof(path), "%s/cert_chain.pem", s->dir);
	if (!rc)
		rc = pem_ders(path, der + 1, dl + 1, 2, &n2, err);
	if (!rc && n2 != 2)
		rc = vg_err_set(err, EBADMSG, "%s: expected the ASK and the ARK, found %d certificate(s)", path, n2);
	if (!rc) {
		struct sev_cert c[3] = { { SEV_CERT_VCEK, der[0], (size_t)dl[0] },
					 { SEV_CERT_ASK, der[1], (size_t)dl[1] },
					 { SEV_CERT_ARK, der[2], (size_t)dl[2] } };
		rc = sev_snp_cert_table_build(c, 3, out, len, err);
	}
	for (int i = 0; i < 3; i++)
		OPENSSL_free(der[i]);
	return rc;
}
