/*
 * GetQuote off the vCPU thread (tdx.h section 3): a worker thread with a small queue.
 * The vCPU thread only validates the guest's shared buffer and queues; the worker
 * talks to the quote service and writes the result into the buffer, status last
 * (GHCI 1.5 TDG.VP.VMCALL<GetQuote>: the TD polls the status, IN_FLIGHT until done).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tdx/quote_priv.h"

#define QUEUE 8

struct job {
	uint8_t *buf; /* host view of the guest's shared buffer */
	uint64_t size;
	uint8_t report[TDX_REPORT_SIZE];
};

struct tdx_quote_service {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job q[QUEUE];
	unsigned head, n, done;
	bool stop;
	tdx_quote_fn fn;
	void *fn_ctx;
	int (*thread_init)(void *ctx, struct vg_err *err);
	void *init_ctx;
	int init_rc;
	bool init_done;
};

static void complete(struct tdx_quote_service *s, struct job *j)
{
	uint8_t *q = NULL;
	size_t qlen = 0;
	struct vg_err e = { 0 };
	uint64_t status;
	uint32_t out_len = 0;
	if (s->fn(s->fn_ctx, j->report, sizeof(j->report), &q, &qlen, &e) < 0) {
		vg_warn("GetQuote: %s", e.msg);
		status = TDX_GET_QUOTE_SERVICE_UNAVAILABLE;
	} else if (qlen > j->size - TDX_GET_QUOTE_HDR_SIZE || qlen > UINT32_MAX) {
		status = TDX_GET_QUOTE_ERROR; /* the guest's buffer is too small */
	} else {
		memcpy(j->buf + TDX_GET_QUOTE_HDR_SIZE, q, qlen);
		out_len = (uint32_t)qlen;
		status = TDX_GET_QUOTE_SUCCESS;
	}
	free(q);
	vg_put_le32(j->buf + 20, out_len);
	uint8_t st[8];
	vg_put_le64(st, status);
	/* The status last: the guest reads the quote once it leaves IN_FLIGHT. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(j->buf + 8, st, 8);
}

static void *worker(void *arg)
{
	struct tdx_quote_service *s = arg;
	struct vg_err err = { 0 };
	int rc = s->thread_init ? s->thread_init(s->init_ctx, &err) : 0;
	pthread_mutex_lock(&s->lock);
	s->init_rc = rc;
	s->init_done = true;
	if (rc)
		vg_error("GetQuote worker: %s", err.msg);
	pthread_cond_broadcast(&s->cond);
	for (;;) {
		while (!s->n && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->stop)
			break;
		struct job j = s->q[s->head];
		s->head = (s->head + 1) % QUEUE;
		s->n--;
		pthread_mutex_unlock(&s->lock);
		complete(s, &j);
		pthread_mutex_lock(&s->lock);
		s->done++;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int tdx_quote_service_start(tdx_quote_fn fn, void *fn_ctx, int (*thread_init)(void *ctx, struct vg_err *err),
			    void *init_ctx, struct tdx_quote_service **out, struct vg_err *err)
{
	struct tdx_quote_service *s = calloc(1, sizeof(*s));
	if (!s)
		return vg_err_set(err, ENOMEM, "out of memory");
	s->fn = fn;
	s->fn_ctx = fn_ctx;
	s->thread_init = thread_init;
	s->init_ctx = init_ctx;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	int e = pthread_create(&s->thread, NULL, worker, s);
	if (e) {
		free(s);
		return vg_err_set(err, e, "GetQuote worker: pthread_create: %s", strerror(e));
	}
	pthread_mutex_lock(&s->lock);
	while (!s->init_done)
		pthread_cond_wait(&s->cond, &s->lock);
	int rc = s->init_rc;
	pthread_mutex_unlock(&s->lock);
	if (rc) {
		tdx_quote_service_stop(s);
		return vg_err_set(err, -rc, "GetQuote worker could not start its sandbox");
	}
	*out = s;
	return 0;
}

void tdx_quote_service_stop(struct tdx_quote_service *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

unsigned tdx_quote_service_done(struct tdx_quote_service *s)
{
	pthread_mutex_lock(&s->lock);
	unsigned d = s->done;
	pthread_mutex_unlock(&s->lock);
	return d;
}

/* On the vCPU thread: validate, mark IN_FLIGHT, queue. */
static void get_quote_async(struct kvm_cc_exit_tdx *t, tdx_gpa_fn gpa_fn, void *gpa_ctx, struct tdx_quote_service *s)
{
	uint64_t size;
	bool hdr_ok;
	uint8_t *buf = tdx_get_quote_buffer(t, gpa_fn, gpa_ctx, &size, &hdr_ok);
	if (!buf)
		return;
	uint64_t status;
	if (!hdr_ok) {
		status = TDX_GET_QUOTE_ERROR;
	} else if (!s) {
		status = TDX_GET_QUOTE_SERVICE_UNAVAILABLE;
	} else {
		pthread_mutex_lock(&s->lock);
		if (s->n == QUEUE) {
			pthread_mutex_unlock(&s->lock);
			t->get_quote.ret = KVM_CC_TDVMCALL_STATUS_RETRY; /* busy: the TD asks again */
			return;
		}
		struct job *j = &s->q[(s->head + s->n) % QUEUE];
		j->buf = buf;
		j->size = size;
		memcpy(j->report, buf + TDX_GET_QUOTE_HDR_SIZE, sizeof(j->report)); /* one read of guest memory */
		vg_put_le32(buf + 20, 0);
		vg_put_le64(buf + 8, TDX_GET_QUOTE_IN_FLIGHT);
		s->n++;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	vg_put_le32(buf + 20, 0);
	vg_put_le64(buf + 8, status);
}

int tdx_handle_exit_async(struct kvm_run *run, tdx_gpa_fn gpa_fn, void *gpa_ctx, struct tdx_quote_service *svc,
			  struct vg_err *err)
{
	if (run->exit_reason != KVM_EXIT_TDX)
		return 0;
	struct kvm_cc_exit_tdx *t = kvm_cc_run_exit(run);
	if (t->nr == KVM_CC_TDVMCALL_GET_QUOTE) {
		get_quote_async(t, gpa_fn, gpa_ctx, svc);
		return 1;
	}
	/* Everything else is answered on the vCPU thread. */
	return tdx_handle_exit(run, gpa_fn, gpa_ctx, NULL, NULL, err);
}
