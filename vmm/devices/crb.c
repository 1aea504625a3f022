/* The TPM CRB device at 0xFED40000: the vtpm/ CRB register model on the MMIO
 * bus, backed by the vtpm/ TPM instance (libtpms).
 *
 * Threads: the CRB model runs on the vCPU that touches it; a command
 * (CTRL_START) is handed to the main loop, which runs libtpms and writes its
 * state files, and the vCPU waits for the answer. libtpms is thus only ever
 * used from one thread, and the vCPU seccomp filter needs no file access. */
#include "vmm/devices/devices.h"

#include "vtpm/vtpm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct vmm_crb_dev {
	struct vmm *vm;
	struct vtpm_crb *crb;
	struct vtpm *tpm;
	pthread_mutex_t dev_lock; /* the register model, one vCPU at a time */
	pthread_mutex_t lock;     /* the hand-over below */
	pthread_cond_t cond;
	int evfd;
	bool pending, done, stopped;
	uint8_t locality;
	const uint8_t *cmd;
	size_t cmd_len;
	uint8_t *rsp;
	size_t rsp_cap, *rsp_len;
	int rc;
};

/* vCPU side: hand the command to the main loop and wait. */
static int crb_exec(void *opaque, uint8_t locality, const uint8_t *cmd, size_t cmd_len, uint8_t *rsp,
		    size_t rsp_cap, size_t *rsp_len)
{
	struct vmm_crb_dev *d = opaque;
	pthread_mutex_lock(&d->lock);
	if (d->stopped) {
		pthread_mutex_unlock(&d->lock);
		return -ECANCELED;
	}
	d->locality = locality;
	d->cmd = cmd;
	d->cmd_len = cmd_len;
	d->rsp = rsp;
	d->rsp_cap = rsp_cap;
	d->rsp_len = rsp_len;
	d->pending = true;
	d->done = false;
	uint64_t one = 1;
	if (write(d->evfd, &one, sizeof(one)) != (ssize_t)sizeof(one)) {
		d->pending = false;
		pthread_mutex_unlock(&d->lock);
		return -EIO;
	}
	while (!d->done && !d->stopped)
		pthread_cond_wait(&d->cond, &d->lock);
	int rc = d->done ? d->rc : -ECANCELED;
	d->pending = false;
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static void crb_cancel(void *opaque)
{
	struct vmm_crb_dev *d = opaque;
	if (d->tpm)
		vtpm_cancel(d->tpm);
}

static uint64_t crb_read(void *opaque, uint64_t off, unsigned size)
{
	struct vmm_crb_dev *d = opaque;
	uint64_t v = 0;
	pthread_mutex_lock(&d->dev_lock);
	vtpm_crb_read(d->crb, off, size, &v);
	pthread_mutex_unlock(&d->dev_lock);
	return v;
}

static void crb_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct vmm_crb_dev *d = opaque;
	pthread_mutex_lock(&d->dev_lock);
	vtpm_crb_write(d->crb, off, size, value);
	pthread_mutex_unlock(&d->dev_lock);
}

static const struct vmm_dev_ops crb_ops = {.name = "tpm-crb", .read = crb_read, .write = crb_write};

static int crb_setup(struct vmm *vm, void **state, struct vg_err *err)
{
	if (!vm->cfg->vtpm)
		return 0;
	struct vmm_crb_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return vg_err_set(err, ENOMEM, "vTPM: out of memory");
	*state = d;
	d->vm = vm;
	d->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&d->dev_lock, NULL);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->crb = vtpm_crb_new(VMM_TPM_CRB_BASE, crb_exec, crb_cancel, d);
	if (!d->crb || d->evfd < 0)
		return vg_err_set(err, ENOMEM, "vTPM: cannot create the CRB device");
	return vmm_register_device(vm, VMM_SPACE_MMIO, VMM_TPM_CRB_BASE, VMM_TPM_CRB_SIZE, &crb_ops, d, err);
}

/* Power-on as the guest sees it: TPM2_Startup(CLEAR), then measured boot
 * extends what the loader recorded, in order (at start and after a reboot's
 * TPM reset, so the PCRs of every boot are the same). */
static int crb_power_on(struct vmm *vm, struct vmm_crb_dev *d, struct vg_err *err)
{
	int rc = vtpm_startup(d->tpm, true, err);
	static const uint16_t algs[1] = {VTPM_ALG_SHA256};
	const struct vmm_measurement *m;
	for (unsigned i = 0; !rc && (m = vmm_measurement_at(vm, i)); i++) {
		uint8_t dg[1][64];
		memset(dg, 0, sizeof(dg));
		memcpy(dg[0], m->sha256, 32);
		rc = vtpm_pcr_extend(d->tpm, m->pcr, algs, (const uint8_t(*)[64])dg, 1, err);
	}
	return rc;
}

static int crb_start(struct vmm *vm, void *state, struct vg_err *err)
{
	struct vmm_crb_dev *d = state;
	const struct vmm_config *c = vm->cfg;
	/* Opened after the jail is entered: paths as seen from inside it. */
	struct vtpm_config tc = {.state_dir = vmm_jail_path(c->chroot_dir, c->vtpm_state),
				 .key_file = vmm_jail_path(c->chroot_dir, c->vtpm_key_file),
				 /* never answer with more than the CRB data buffer holds */
				 .buffer_size = VTPM_CRB_BUFFER_SIZE};
	int rc = vtpm_open(&tc, &d->tpm, err);
	if (!rc)
		rc = crb_power_on(vm, d, err);
	if (rc)
		return vg_err_prefix(err, "vTPM");
	return 0;
}

/* A reboot (every vCPU paused, so no command is in flight): the CRB registers
 * to their reset values and a TPM reset as swtpm's CMD_INIT does (libtpms
 * terminated and powered on again: persistent state kept, PCRs and sessions
 * gone), then power-on as at start. */
static int crb_reset(struct vmm *vm, void *state, struct vg_err *err)
{
	struct vmm_crb_dev *d = state;
	pthread_mutex_lock(&d->dev_lock);
	vtpm_crb_reset(d->crb);
	pthread_mutex_unlock(&d->dev_lock);
	if (!d->tpm)
		return 0;
	int rc = vtpm_reset(d->tpm, err);
	if (!rc)
		rc = crb_power_on(vm, d, err);
	if (rc)
		return vg_err_prefix(err, "TPM reset");
	return 0;
}

static int crb_poll_fd(void *state) { return ((struct vmm_crb_dev *)state)->evfd; }

/* A command handed over by a vCPU: run it (before a stop, too: the vCPU
 * waits for its answer). */
static void crb_service(struct vmm *vm, void *state)
{
	struct vmm_crb_dev *d = state;
	uint64_t n;
	(void)vm;
	if (read(d->evfd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	pthread_mutex_lock(&d->lock);
	if (d->pending && !d->done) {
		struct vg_err err = {0};
		d->rc = d->tpm ? vtpm_execute(d->tpm, d->cmd, d->cmd_len, d->locality, d->rsp, d->rsp_cap, d->rsp_len,
					      &err)
			       : -ENODEV;
		if (d->rc)
			vg_warn("vTPM: command failed: %s", err.msg);
		d->done = true;
		pthread_cond_broadcast(&d->cond);
	}
	pthread_mutex_unlock(&d->lock);
}

static void crb_stop(struct vmm *vm, void *state)
{
	struct vmm_crb_dev *d = state;
	(void)vm;
	pthread_mutex_lock(&d->lock);
	d->stopped = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static int crb_save(struct vmm *vm, void *state, struct vg_err *err)
{
	struct vmm_crb_dev *d = state;
	(void)vm;
	if (!d->tpm)
		return 0;
	int rc = vtpm_shutdown(d->tpm, err);
	vtpm_close(d->tpm);
	d->tpm = NULL;
	return rc;
}

static void crb_teardown(struct vmm *vm, void *state)
{
	struct vmm_crb_dev *d = state;
	(void)vm;
	if (d->tpm)
		vtpm_close(d->tpm); /* not saved: the VM never ran or saving was done */
	vtpm_crb_free(d->crb);
	if (d->evfd >= 0)
		close(d->evfd);
	pthread_mutex_destroy(&d->dev_lock);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}

const struct vmm_device_ops vmm_crb_device = {
	.name = "vTPM",
	.setup = crb_setup,
	.start = crb_start,
	.poll_fd = crb_poll_fd,
	.service = crb_service,
	.stop = crb_stop,
	.reset = crb_reset,
	.save = crb_save,
	.teardown = crb_teardown,
};
