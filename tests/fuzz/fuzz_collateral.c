/* Fuzz target: Intel collateral JSON. The signed-span scanner must agree with
 * jansson, and the TCB evaluation must survive any authenticated-looking
 * document. Input: TCB info JSON, optionally "\n--\n" then QE identity JSON. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attest/attest.h"

static const uint8_t default_qe[] =
	"{\"enclaveIdentity\":{\"id\":\"TD_QE\",\"version\":2,\"miscselect\":\"00000000\",\"miscselectMask\":\"FFFFFFFF\","
	"\"attributes\":\"11000000000000000000000000000000\",\"attributesMask\":\"FBFFFFFFFFFFFFFF0000000000000000\","
	"\"mrsigner\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"isvprodid\":2,"
	"\"tcbLevels\":[{\"tcb\":{\"isvsvn\":4},\"tcbDate\":\"2023-02-15T00:00:00Z\",\"tcbStatus\":\"UpToDate\"}]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off, n;
	const char *s = (const char *)data;
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "enclaveIdentity" : "tcbInfo";
		if (att_json_signed_span(s, size, key, &off, &n, NULL) == 0 && (off > size || n > size - off))
			__builtin_trap();
	}
	const uint8_t *qe = default_qe, *sep = memmem(data, size, "\n--\n", 4);
	size_t ti_len = size, qe_len = sizeof(default_qe) - 1;
	if (sep) {
		ti_len = (size_t)(sep - data);
		qe = sep + 4;
		qe_len = size - ti_len - 4;
	}
	static uint8_t qe_report[TDX_SGX_REPORT_BODY_SIZE];
	struct tdx_quote q;
	memset(&q, 0, sizeof(q));
	q.qe_report_raw = qe_report;
	qe_report[48] = 0x11;
	tdx_sgx_report_decode(qe_report, &q.qe_report);
	q.qe_report.isv_prod_id = 2;
	q.qe_report.isv_svn = 4;
	q.body.tee_tcb_svn[0] = 5;
	q.body.tee_tcb_svn[1] = 3;
	struct att_pck_ext pck;
	memset(&pck, 3, sizeof(pck));
	memset(pck.fmspc, 0, sizeof(pck.fmspc));
	memset(pck.pceid, 0, sizeof(pck.pceid));
	struct att_tcb_eval ev;
	if (att_tdx_tcb_evaluate_trusted(data, ti_len, qe, qe_len, &q, &pck, &ev, NULL) == 0)
		json_decref(ev.advisories);
	return 0;
}
