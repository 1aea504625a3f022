/* Fuzz target: the TDX DCAP quote parser, then full verification (PCK chain
 * parsing, QE report and quote signatures) of whatever parses. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attest/attest.h"
#include "tdx/tdx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tdx_quote q;
	if (tdx_quote_parse(data, size, &q, NULL) == 0) {
		/* Every view must lie inside the input. */
		const uint8_t *end = data + size;
		if (q.signed_data + q.signed_len > end || q.pck_chain + q.pck_chain_len > end ||
		    q.qe_auth + q.qe_auth_len > end || q.cert_region + q.cert_region_len > end ||
		    q.qe_report_raw + TDX_SGX_REPORT_BODY_SIZE > end)
			__builtin_trap();
		uint8_t buf[800];
		size_t n = tdx_quote_serialize_signed(&q, buf, sizeof(buf));
		if (n != q.signed_len || memcmp(buf, q.signed_data, n))
			__builtin_trap();
		struct att_result res;
		struct att_tdx_input in = {0};
		att_result_init(&res);
		att_tdx_verify(data, size, &in, NULL, &res);
		json_decref(att_result_json(&res));
		att_result_free(&res);
	}
	return 0;
}
