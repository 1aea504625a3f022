/* SHA-384 of page contents, split across threads: the page hashes of a launch
 * are independent, only the PAGE_INFO chain is sequential. */
#include "sev/digest_priv.h"

#include <pthread.h>
#include <unistd.h>

#include "common/common.h"

#define PAGE 4096
#define MAX_THREADS 8
#define PAGES_PER_THREAD_MIN 64 /* below this a thread costs more than it saves */

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static EVP_MD *md384, *md256;
static size_t online_cpus = 1;

static void md_fetch(void)
{
	md384 = EVP_MD_fetch(NULL, "SHA384", NULL);
	md256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	long n = sysconf(_SC_NPROCESSORS_ONLN); /* reads sysfs: once, not per call */
	online_cpus = n > 0 ? (size_t)n : 1;
}

const EVP_MD *sev_md_sha384(void)
{
	pthread_once(&md_once, md_fetch);
	return md384;
}

const EVP_MD *sev_md_sha256(void)
{
	pthread_once(&md_once, md_fetch);
	return md256;
}

int sev_sha384_ctx(EVP_MD_CTX *ctx, const void *p, size_t n, uint8_t out[48])
{
	const EVP_MD *md = sev_md_sha384();
	unsigned int len = 0;
	if (!md || !EVP_DigestInit_ex2(ctx, md, NULL) || !EVP_DigestUpdate(ctx, p, n) ||
	    !EVP_DigestFinal_ex(ctx, out, &len) || len != 48)
		return -EIO;
	return 0;
}

struct job {
	const uint8_t *data;
	size_t first, count;
	uint8_t (*out)[48];
	int rc;
};

static void *hash_range(void *arg)
{
	struct job *j = arg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	j->rc = ctx ? 0 : -ENOMEM;
	for (size_t i = j->first; !j->rc && i < j->first + j->count; i++)
		j->rc = sev_sha384_ctx(ctx, j->data + i * PAGE, PAGE, j->out[i]);
	EVP_MD_CTX_free(ctx);
	return NULL;
}

int sev_sha384_pages(const uint8_t *data, size_t npages, uint8_t (*out)[48])
{
	if (!sev_md_sha384())
		return -EIO;
	size_t nthreads = VG_MIN(online_cpus, (size_t)MAX_THREADS);
	nthreads = VG_MIN(nthreads, npages / PAGES_PER_THREAD_MIN);
	if (nthreads < 1)
		nthreads = 1;
	struct job jobs[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	bool started[MAX_THREADS] = {false};
	size_t per = npages / nthreads, extra = npages % nthreads, first = 0;
	for (size_t t = 0; t < nthreads; t++) {
		jobs[t] = (struct job){.data = data, .first = first, .count = per + (t < extra), .out = out};
		first += jobs[t].count;
	}
	/* Workers take jobs 1.., this thread takes job 0; a worker that cannot
	 * start has its job done here. */
	for (size_t t = 1; t < nthreads; t++)
		started[t] = pthread_create(&tids[t], NULL, hash_range, &jobs[t]) == 0;
	hash_range(&jobs[0]);
	int rc = jobs[0].rc;
	for (size_t t = 1; t < nthreads; t++) {
		if (started[t])
			pthread_join(tids[t], NULL);
		else
			hash_range(&jobs[t]);
		if (!rc)
			rc = jobs[t].rc;
	}
	return rc;
}
