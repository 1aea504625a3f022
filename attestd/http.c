/*
 * HTTP front end: libevent evhttp, TLS through bufferevent_openssl.
 *
 * One listening socket shared by cfg.threads worker threads, each with its own
 * event base, evhttp, listener and worker (database connection, verifier
 * caches). Requests are handled synchronously in the worker's thread.
 *
 * Bounds: headers (evhttp max headers), bodies (evhttp hard cap plus a per
 * endpoint limit answered with RFC 7807 413), a read/write timeout per
 * connection (a silent or slow client is dropped after cfg.timeout_seconds),
 * and open connections: when cfg.max_connections are open, the listeners are
 * disabled so new clients wait in the kernel backlog instead of being reset.
 * libevent 2.1 has no connection-close hook for server connections, so the
 * open count is taken from the process's own descriptors (sockets whose local
 * port is ours) at each accept and every 100 ms while disabled.
 *
 * Access model: see docs/attestd.md ("Socket access model").
 */
#include "attestd/attestd.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

struct wthread {
	struct ad_service *svc;
	struct ad_worker w;
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *lis;
	struct event *tick;
	pthread_t th;
	bool disabled, draining;
	struct timespec drain_start;
	time_t last_purge;
};

static SSL_CTX *g_ssl;
static int g_fd = -1;
static int g_family;
static uint16_t g_port;
static atomic_bool g_full;

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Open connections: our process's sockets whose local port is the service's. */
static int count_conns(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd == g_fd || fd == dirfd(d))
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl))
			continue;
		uint16_t port = 0;
		if (ss.ss_family == AF_INET)
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		else
			continue;
		if (port == g_port)
			n++;
	}
	closedir(d);
	return n;
}

static struct bufferevent *bevcb(struct event_base *base, void *arg)
{
	struct wthread *t = arg;
	/* The new connection is already accepted: it is in the count. */
	if (count_conns() >= t->svc->cfg.max_connections) {
		atomic_store(&g_full, true);
		if (!t->disabled) {
			evconnlistener_disable(t->lis);
			t->disabled = true;
		}
	}
	if (g_ssl) {
		SSL *ssl = SSL_new(g_ssl);
		if (!ssl)
			return NULL;
		return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	}
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static void gencb(struct evhttp_request *r, void *arg)
{
	struct wthread *t = arg;
	double t0 = mono();
	struct ad_req q = {0};
	struct ad_resp resp = {0};
	char *path = NULL;
	switch (evhttp_request_get_command(r)) {
	case EVHTTP_REQ_GET: q.method = AD_GET; break;
	case EVHTTP_REQ_POST: q.method = AD_POST; break;
	case EVHTTP_REQ_DELETE: q.method = AD_DELETE; break;
	case EVHTTP_REQ_PUT: q.method = AD_PUT; break;
	default: q.method = AD_OTHER; break;
	}
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r);
	const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
	size_t plen = 0;
	path = raw ? evhttp_uridecode(raw, 0, &plen) : NULL;
	struct evkeyvalq *hin = evhttp_request_get_input_headers(r);
	struct evbuffer *in = evhttp_request_get_input_buffer(r);
	size_t blen = evbuffer_get_length(in);
	char peer[80] = "";
	struct evhttp_connection *conn = evhttp_request_get_connection(r);
	if (conn) {
		char *addr = NULL;
		ev_uint16_t port = 0;
		evhttp_connection_get_peer(conn, &addr, &port);
		snprintf(peer, sizeof(peer), "%s:%u", addr ? addr : "?", port);
	}
	q.peer = peer;
	if (!path || strlen(path) != plen) {
		resp.ep = AD_EP_OTHER;
		ad_resp_error(&resp, 400, "SerdeError", "the request path is not valid");
	} else {
		q.path = path;
		q.query = evhttp_uri_get_query(uri);
		q.cookie = evhttp_find_header(hin, "Cookie");
		q.authorization = evhttp_find_header(hin, "Authorization");
		q.content_type = evhttp_find_header(hin, "Content-Type");
		long limit = t->svc->cfg.max_body;
		if (strstr(path, "policy"))
			limit *= 2;
		if ((long)blen > limit) {
			resp.ep = AD_EP_OTHER;
			ad_resp_error(&resp, 413, "PayloadTooLarge", "request body of %zu bytes, at most %ld", blen, limit);
		} else {
			q.body = blen ? evbuffer_pullup(in, -1) : NULL;
			q.body_len = blen;
			ad_handle(&t->w, &q, &resp);
		}
	}
	struct evkeyvalq *hout = evhttp_request_get_output_headers(r);
	evhttp_add_header(hout, "Content-Type", resp.content_type ? resp.content_type : "application/json");
	evhttp_add_header(hout, "Cache-Control", "no-store");
	if (resp.set_cookie[0])
		evhttp_add_header(hout, "Set-Cookie", resp.set_cookie);
	if (resp.status == 503)
		evhttp_add_header(hout, "Retry-After", "1");
	struct evbuffer *out = evbuffer_new();
	if (out && resp.body.len)
		evbuffer_add(out, resp.body.data, resp.body.len);
	int status = resp.status ? resp.status : 500;
	evhttp_send_reply(r, status, reason(status), out);
	if (out)
		evbuffer_free(out);
	double dt = mono() - t0;
	ad_metrics_request(resp.ep, status, dt);
	if (vg_log_get_level() >= VG_LOG_DEBUG)
		ad_log(VG_LOG_DEBUG, "request",
		       json_pack("{s:s,s:s,s:i,s:f,s:s}", "peer", peer, "path", path ? path : "?", "status", status, "seconds",
				 dt, "thread", t->w.index ? "1+" : "0"));
	ad_resp_free(&resp);
	free(path);
}

static void tickcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct wthread *t = arg;
	struct ad_service *s = t->svc;
	if (atomic_load(&s->stopping)) {
		if (!t->draining) {
			t->draining = true;
			evconnlistener_disable(t->lis);
			clock_gettime(CLOCK_MONOTONIC, &t->drain_start);
			return;
		}
		/* Requests are answered synchronously; a grace period lets requests whose
		 * bytes are still arriving complete, then the loop ends. */
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t->drain_start.tv_sec >= 1)
			event_base_loopexit(t->base, NULL);
		return;
	}
	if (t->disabled || atomic_load(&g_full)) {
		if (count_conns() < s->cfg.max_connections) {
			atomic_store(&g_full, false);
			if (t->disabled) {
				evconnlistener_enable(t->lis);
				t->disabled = false;
			}
		} else if (!t->disabled) {
			evconnlistener_disable(t->lis);
			t->disabled = true;
		}
	}
	if (t->w.index != 0)
		return;
	struct vg_err e = {0};
	if (atomic_exchange(&s->reload, false)) {
		if (ad_policy_reload(s, &t->w.db, &e))
			ad_logf(VG_LOG_ERROR, "policy.reload_failed", "SIGHUP: %s; the previous policy stays in force", e.msg);
	}
	time_t now = time(NULL);
	if (now - t->last_purge >= 5) {
		t->last_purge = now;
		int64_t live = 0;
		if (!t->w.db.ops->session_purge(t->w.db.s, now, NULL, NULL) &&
		    !t->w.db.ops->session_count(t->w.db.s, now, &live, NULL)) {
			atomic_store(&s->live_sessions, live);
			ad_metrics_sessions(live);
		}
	}
}

static void *thread_main(void *arg)
{
	struct wthread *t = arg;
	event_base_dispatch(t->base);
	return NULL;
}

static void wthread_free(struct wthread *t)
{
	if (t->tick)
		event_free(t->tick);
	if (t->http)
		evhttp_free(t->http); /* frees the bound listener too */
	if (t->base)
		event_base_free(t->base);
	ad_worker_free(&t->w);
}

static int wthread_init(struct wthread *t, struct ad_service *s, int index, struct vg_err *err)
{
	memset(t, 0, sizeof(*t));
	t->svc = s;
	int rc = ad_worker_init(&t->w, s, index, err);
	if (rc)
		return rc;
	t->base = event_base_new();
	t->http = t->base ? evhttp_new(t->base) : NULL;
	if (!t->http)
		return vg_err_set(err, ENOMEM, "libevent: cannot create the HTTP server");
	const struct ad_config *c = &s->cfg;
	evhttp_set_max_headers_size(t->http, c->max_headers);
	/* Hard cap; endpoint limits below it are answered with RFC 7807 413. */
	evhttp_set_max_body_size(t->http, c->max_body * 2 + 65536);
	evhttp_set_timeout(t->http, c->timeout_seconds);
	evhttp_set_allowed_methods(t->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE | EVHTTP_REQ_PUT);
	evhttp_set_gencb(t->http, gencb, t);
	evhttp_set_bevcb(t->http, bevcb, t);
	t->lis = evconnlistener_new(t->base, NULL, NULL, LEV_OPT_REUSEABLE, 0, g_fd);
	if (!t->lis || !evhttp_bind_listener(t->http, t->lis))
		return vg_err_set(err, EIO, "libevent: cannot listen");
	t->tick = event_new(t->base, -1, EV_PERSIST, tickcb, t);
	struct timeval tv = {0, 100000};
	if (!t->tick || event_add(t->tick, &tv))
		return vg_err_set(err, ENOMEM, "libevent: timer");
	return 0;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return a->s6_addr[12] == 127;
	}
	return false;
}

static int open_listener(const struct ad_config *c, struct vg_err *err)
{
	char host[256], port[16];
	const char *colon = strrchr(c->listen, ':');
	if (!colon || colon == c->listen || strlen(colon + 1) >= sizeof(port))
		return vg_err_set(err, EINVAL, "--listen %s: want HOST:PORT", c->listen);
	size_t hl = (size_t)(colon - c->listen);
	const char *h = c->listen;
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']')
		h++, hl -= 2;
	if (hl >= sizeof(host))
		return vg_err_set(err, EINVAL, "--listen: host too long");
	memcpy(host, h, hl);
	host[hl] = 0;
	snprintf(port, sizeof(port), "%s", colon + 1);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *ai = NULL;
	int gr = getaddrinfo(host, port, &hints, &ai);
	if (gr)
		return vg_err_set(err, EINVAL, "--listen %s: %s", c->listen, gai_strerror(gr));
	bool tls = c->tls_cert[0];
	if (!tls && !is_loopback(ai->ai_addr) && !c->allow_plain_http) {
		freeaddrinfo(ai);
		return vg_err_set(err, EPERM,
				  "--listen %s is not a loopback address: give --tls-cert/--tls-key (or, knowingly, "
				  "--allow-plain-http)",
				  c->listen);
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1024)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return vg_err_set(err, e, "--listen %s: %s", c->listen, strerror(e));
	}
	g_family = ai->ai_family;
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	g_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					       : ((struct sockaddr_in6 *)&ss)->sin6_port);
	g_fd = fd;
	return 0;
}

static int tls_init(const struct ad_config *c, struct vg_err *err)
{
	if (!c->tls_cert[0])
		return 0;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return vg_err_set(err, ENOMEM, "TLS: cannot create a context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
		SSL_CTX_free(ctx);
		return vg_err_set(err, EINVAL, "--tls-cert %s: cannot load the certificate chain", c->tls_cert);
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		SSL_CTX_free(ctx);
		return vg_err_set(err, EINVAL, "--tls-key %s: cannot load the key, or it does not match --tls-cert",
				  c->tls_key);
	}
	g_ssl = ctx;
	return 0;
}

int ad_serve(struct ad_service *s, struct vg_err *err)
{
	const struct ad_config *c = &s->cfg;
	int rc = tls_init(c, err);
	if (rc)
		return rc;
	if ((rc = open_listener(c, err)))
		return rc;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	ad_log(VG_LOG_INFO, "listening",
	       json_pack("{s:s,s:i,s:s,s:i,s:I,s:s}", "listen", c->listen, "port", g_port, "tls",
			 g_ssl ? "TLS 1.2+ (1.3 preferred)" : "off (loopback)", "threads", c->threads, "policy_version",
			 (json_int_t)s->policy->version, "kbs_protocol", AD_KBS_VERSION));
	int n = c->threads;
	struct wthread *ts = calloc((size_t)n, sizeof(*ts));
	if (!ts)
		return vg_err_set(err, ENOMEM, "out of memory");
	int started = 0;
	for (int i = 0; i < n && !rc; i++) {
		rc = wthread_init(&ts[i], s, i, err);
		if (!rc && pthread_create(&ts[i].th, NULL, thread_main, &ts[i]))
			rc = vg_err_set(err, EAGAIN, "cannot start worker thread");
		if (!rc)
			started++;
		else
			wthread_free(&ts[i]);
	}
	if (!rc) {
		for (;;) {
			int sig = 0;
			if (sigwait(&set, &sig))
				continue;
			if (sig == SIGHUP) {
				ad_logf(VG_LOG_INFO, "signal", "SIGHUP: reloading the policy from %s", c->policy);
				atomic_store(&s->reload, true);
				continue;
			}
			ad_logf(VG_LOG_INFO, "signal", "%s: draining and stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			break;
		}
	}
	atomic_store(&s->stopping, true);
	for (int i = 0; i < started; i++) {
		pthread_join(ts[i].th, NULL);
		wthread_free(&ts[i]);
	}
	free(ts);
	close(g_fd);
	g_fd = -1;
	if (g_ssl)
		SSL_CTX_free(g_ssl);
	g_ssl = NULL;
	if (!rc)
		ad_logf(VG_LOG_INFO, "stopped", "all workers stopped");
	return rc;
}
