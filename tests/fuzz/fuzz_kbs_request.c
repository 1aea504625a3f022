/* Fuzz target: vigil-attestd's request parsers. The first byte picks the parser,
 * the rest is the untrusted input: KBS Request and Attestation bodies, the
 * evidence encodings (SNP report + certificate table, TDX quote + CCEL), the
 * Cookie and Authorization headers, resource paths and init-data. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attestd/attestd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1u << 20))
		return 0;
	uint8_t sel = data[0];
	data++, size--;
	char *z = malloc(size + 1); /* NUL-terminated copy for header parsers */
	if (!z)
		return 0;
	memcpy(z, data, size);
	z[size] = 0;
	struct vg_err e = {0};
	switch (sel % 6) {
	case 0: {
		struct ad_auth_req a;
		ad_parse_auth(data, size, &a, &e);
		break;
	}
	case 1:
	case 2: {
		struct ad_attest_req r;
		if (ad_parse_attest(data, size, &r, &e) == 0) {
			struct ad_evidence ev;
			if (ad_parse_evidence(sel % 6 == 1 ? "snp" : "tdx", r.primary, &ev, &e) == 0)
				ad_evidence_free(&ev);
			if (r.init_format) {
				uint8_t d[48];
				att_init_data_digest(r.init_format, r.init_body, 48, d, NULL, &e);
			}
			ad_attest_req_free(&r);
		}
		break;
	}
	case 3: {
		char id[40];
		ad_parse_cookie(z, id, &e);
		break;
	}
	case 4: {
		const char *t;
		size_t n;
		ad_parse_bearer(z, &t, &n, &e);
		char out[256];
		ad_parse_resource_path(z, out, &e);
		break;
	}
	case 5: {
		/* primary_evidence given directly (object or JSON-in-a-string) */
		json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
		if (j) {
			struct ad_evidence ev;
			for (int i = 0; i < 2; i++)
				if (ad_parse_evidence(i ? "tdx" : "snp", j, &ev, &e) == 0)
					ad_evidence_free(&ev);
			json_decref(j);
		}
		uint8_t d[48];
		att_init_data_digest("toml", z, 32, d, NULL, &e);
		att_init_data_digest("json", z, 48, d, NULL, &e);
		break;
	}
	}
	free(z);
	return 0;
}
