/* agent/ private: the HTTP transport of the KBS client (libcurl). Not a public header. */
#ifndef VIGIL_AGENT_HTTP_H
#define VIGIL_AGENT_HTTP_H

#include "agent/agent.h"

struct ag_http {
	void *curl;        /* CURL * */
	char base[2048];   /* the --url without trailing slashes */
	char cookie[400];  /* "kbs-session-id=..." once the service set it */
	struct vg_buf body; /* the last response body, NUL after len */
	bool too_big;
	char curl_err[256];
};
int ag_http_init(struct ag_http *h, const char *url, const char *cacert, long timeout_s, struct vg_err *err);
/* method "GET" or "POST" (body = JSON); *status = HTTP status; body in h->body. Network and
 * TLS failures, oversized responses: error. */
int ag_http_call(struct ag_http *h, const char *method, const char *path, const json_t *body, long *status,
		 struct vg_err *err);
void ag_http_free(struct ag_http *h);

#endif
