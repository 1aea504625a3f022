/* Prometheus counters: requests by endpoint and status class, verdicts by
 * status, releases, denials, a request latency histogram, live sessions. */
#include "attestd/attestd.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const ep_names[AD_EP_COUNT] = {"auth", "attest", "resource", "admin", "jwks", "other"};
static const int codes[] = {200, 400, 401, 403, 404, 405, 413, 500, 503};
#define NCODES (sizeof(codes) / sizeof(codes[0]))
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static atomic_uint_fast64_t req[AD_EP_COUNT][NCODES + 1];
static atomic_uint_fast64_t hist[AD_EP_COUNT][NBUCKETS + 1];
static atomic_uint_fast64_t hist_sum_us[AD_EP_COUNT];
static atomic_uint_fast64_t verdicts[4];
static atomic_uint_fast64_t releases, denials;
static atomic_int_fast64_t sessions;

void ad_metrics_request(enum ad_ep ep, int status, double seconds)
{
	if ((unsigned)ep >= AD_EP_COUNT)
		ep = AD_EP_OTHER;
	size_t ci = NCODES;
	for (size_t i = 0; i < NCODES; i++)
		if (codes[i] == status)
			ci = i;
	atomic_fetch_add(&req[ep][ci], 1);
	size_t b = NBUCKETS;
	for (size_t i = 0; i < NBUCKETS; i++)
		if (seconds <= buckets[i]) {
			b = i;
			break;
		}
	atomic_fetch_add(&hist[ep][b], 1);
	atomic_fetch_add(&hist_sum_us[ep], (uint64_t)(seconds * 1e6));
}

void ad_metrics_verdict(enum pol_status st)
{
	int i = st == POL_AFFIRMING ? 0 : st == POL_WARNING ? 1 : st == POL_CONTRAINDICATED ? 2 : 3;
	atomic_fetch_add(&verdicts[i], 1);
}

void ad_metrics_release(void) { atomic_fetch_add(&releases, 1); }
void ad_metrics_denial(void) { atomic_fetch_add(&denials, 1); }
void ad_metrics_sessions(int64_t live) { atomic_store(&sessions, live); }

char *ad_metrics_text(void)
{
	struct vg_buf b = {0};
	vg_buf_printf(&b, "# HELP vigil_attestd_requests_total HTTP requests by endpoint and status code.\n"
			  "# TYPE vigil_attestd_requests_total counter\n");
	for (int e = 0; e < AD_EP_COUNT; e++)
		for (size_t c = 0; c <= NCODES; c++) {
			uint64_t v = atomic_load(&req[e][c]);
			if (!v)
				continue;
			char code[8];
			if (c < NCODES)
				snprintf(code, sizeof(code), "%d", codes[c]);
			else
				snprintf(code, sizeof(code), "other");
			vg_buf_printf(&b, "vigil_attestd_requests_total{endpoint=\"%s\",code=\"%s\"} %llu\n", ep_names[e],
				      code, (unsigned long long)v);
		}
	static const char *const vn[4] = {"affirming", "warning", "contraindicated", "none"};
	vg_buf_printf(&b, "# HELP vigil_attestd_verdicts_total Attestation verdicts by status.\n"
			  "# TYPE vigil_attestd_verdicts_total counter\n");
	for (int i = 0; i < 4; i++)
		vg_buf_printf(&b, "vigil_attestd_verdicts_total{status=\"%s\"} %llu\n", vn[i],
			      (unsigned long long)atomic_load(&verdicts[i]));
	vg_buf_printf(&b,
		      "# HELP vigil_attestd_releases_total Resources released (JWE sent).\n"
		      "# TYPE vigil_attestd_releases_total counter\nvigil_attestd_releases_total %llu\n"
		      "# HELP vigil_attestd_denials_total Resource requests denied (policy or missing).\n"
		      "# TYPE vigil_attestd_denials_total counter\nvigil_attestd_denials_total %llu\n"
		      "# HELP vigil_attestd_sessions Live sessions (last counted).\n"
		      "# TYPE vigil_attestd_sessions gauge\nvigil_attestd_sessions %lld\n",
		      (unsigned long long)atomic_load(&releases), (unsigned long long)atomic_load(&denials),
		      (long long)atomic_load(&sessions));
	vg_buf_printf(&b, "# HELP vigil_attestd_request_duration_seconds Request latency by endpoint.\n"
			  "# TYPE vigil_attestd_request_duration_seconds histogram\n");
	for (int e = 0; e < AD_EP_COUNT; e++) {
		uint64_t cum = 0;
		for (size_t i = 0; i <= NBUCKETS; i++) {
			cum += atomic_load(&hist[e][i]);
			if (i < NBUCKETS)
				vg_buf_printf(&b, "vigil_attestd_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n",
					      ep_names[e], buckets[i], (unsigned long long)cum);
			else
				vg_buf_printf(&b, "vigil_attestd_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n",
					      ep_names[e], (unsigned long long)cum);
		}
		vg_buf_printf(&b, "vigil_attestd_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n", ep_names[e],
			      (double)atomic_load(&hist_sum_us[e]) / 1e6);
		vg_buf_printf(&b, "vigil_attestd_request_duration_seconds_count{endpoint=\"%s\"} %llu\n", ep_names[e],
			      (unsigned long long)cum);
	}
	if (!b.data)
		return NULL;
	return (char *)b.data;
}
