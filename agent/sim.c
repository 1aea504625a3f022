/*
 * The simulated evidence providers (sim-snp, sim-tdx). There is no guest kernel to ask:
 * the agent runs beside the VM, launches the attest guest with the real vigil-vmm on the
 * simulated platform with REPORT_DATA as its challenge (--guest-challenge), and reads the
 * evidence the guest printed on its serial port. The key pair therefore lives in this
 * process, not in the guest (docs/platforms.md).
 *
 * On sim-snp the attest guest makes an extended report request: the simulated secure
 * processor returns its certificate table (VCEK, ASK, ARK) after the report, as the
 * extended guest request does on hardware, and the guest prints it (CERTTABLE block).
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/internal.h"

extern char **environ;

#define SERIAL_MAX (4u << 20)

int ag_serial_block(const char *serial, size_t len, const char *name, uint8_t **out, size_t *out_len,
		   struct vg_err *err)
{
	*out = NULL;
	*out_len = 0;
	char begin[32], end[32];
	snprintf(begin, sizeof(begin), "%s-BEGIN", name);
	snprintf(end, sizeof(end), "%s-END", name);
	size_t bl = strlen(begin), el = strlen(end);
	struct vg_buf b = { 0 };
	bool in = false, done = false;
	size_t pos = 0;
	while (pos < len && !done) {
		const char *nl = memchr(serial + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (serial + pos)) : len - pos;
		const char *line = serial + pos;
		pos += ll + (nl ? 1 : 0);
		while (ll && line[ll - 1] == '\r')
			ll--;
		if (!in) {
			in = ll == bl && !memcmp(line, begin, bl);
			continue;
		}
		if (ll == el && !memcmp(line, end, el)) {
			done = true;
			break;
		}
		if (ll % 2 || ll > 128 || b.len + ll / 2 > AG_EVIDENCE_MAX) {
			vg_buf_free(&b);
			return vg_err_set(err, EBADMSG, "guest serial: malformed %s line (%zu characters)", name, ll);
		}
		char hex[129];
		uint8_t bytes[64];
		memcpy(hex, line, ll);
		hex[ll] = 0;
		if (vg_hex_decode(hex, bytes, ll / 2, err) || vg_buf_append(&b, bytes, ll / 2)) {
			vg_buf_free(&b);
			return vg_err_set(err, EBADMSG, "guest serial: %s line is not hex", name);
		}
	}
	if (!done || !b.len) {
		vg_buf_free(&b);
		return vg_err_set(err, EBADMSG, "guest serial: no complete %s-BEGIN..%s-END block", name, name);
	}
	*out = b.data;
	*out_len = b.len;
	return 0;
}

/* Directory of this executable (for the default VMM and guest paths). */
static int self_dir(char *out, size_t cap, struct vg_err *err)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return vg_err_set(err, errno ? errno : EIO, "/proc/self/exe: %s", strerror(errno));
	exe[n] = 0;
	snprintf(out, cap, "%s", dirname(exe));
	return 0;
}

struct launch {
	char vmm[PATH_MAX], firmware[PATH_MAX], state_dir[PATH_MAX];
	bool firmware_from_config, memory_from_config;
};

static int resolve_launch(const struct ag_provider_opts *o, struct launch *l, struct vg_err *err)
{
	memset(l, 0, sizeof(*l));
	char dir[PATH_MAX];
	int rc = self_dir(dir, sizeof(dir), err);
	if (rc)
		return rc;
	const char *cfg_state = NULL;
	json_t *cfg = NULL;
	if (o->vm_config) {
		json_error_t je;
		cfg = json_load_file(o->vm_config, JSON_REJECT_DUPLICATES, &je);
		if (!cfg)
			return vg_err_set(err, EINVAL, "%s: line %d: %s", o->vm_config, je.line, je.text);
		cfg_state = json_string_value(json_object_get(cfg, "state_dir"));
		l->firmware_from_config = json_is_string(json_object_get(cfg, "firmware"));
		l->memory_from_config = json_object_get(cfg, "memory_mib") != NULL;
	}
	snprintf(l->vmm, sizeof(l->vmm), "%s", o->vmm_path ? o->vmm_path : "");
	if (!o->vmm_path)
		snprintf(l->vmm, sizeof(l->vmm), "%.4000s/vigil-vmm", dir);
	if (o->firmware)
		snprintf(l->firmware, sizeof(l->firmware), "%s", o->firmware);
	else if (!l->firmware_from_config)
		snprintf(l->firmware, sizeof(l->firmware), "%.4000s/../guest/attest.bin", dir);
	/* The same default as vigil-vmm's, passed to it explicitly so both agree. */
	const char *home = getenv("HOME");
	if (o->state_dir)
		snprintf(l->state_dir, sizeof(l->state_dir), "%s", o->state_dir);
	else if (cfg_state)
		snprintf(l->state_dir, sizeof(l->state_dir), "%s", cfg_state);
	else if (geteuid() == 0)
		snprintf(l->state_dir, sizeof(l->state_dir), "/var/lib/vigil");
	else
		snprintf(l->state_dir, sizeof(l->state_dir), "%s/.local/state/vigil", home && *home ? home : "/tmp");
	json_decref(cfg);
	if (access(l->vmm, X_OK))
		return vg_err_set(err, ENOENT, "VMM %s: %s (--vmm PATH)", l->vmm, strerror(errno));
	if (l->firmware[0] && access(l->firmware, R_OK))
		return vg_err_set(err, ENOENT, "attest guest %s: %s (--firmware FILE)", l->firmware, strerror(errno));
	return 0;
}

/* Runs argv with stdout to /dev/null and stderr to errfile; kills it after timeout_s. */
static int run_bounded(char *const argv[], const char *errfile, unsigned timeout_s, int *status,
		       struct vg_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;
	int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return vg_err_set(err, rc, "starting %s: %s", argv[0], strerror(rc));
	struct timespec start, now, tick = { 0, 20 * 1000 * 1000 };
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return vg_err_set(err, errno, "waiting for %s: %s", argv[0], strerror(errno));
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return vg_err_set(err, ETIMEDOUT, "%s did not finish within %u s; stopped", argv[0], timeout_s);
		}
		nanosleep(&tick, NULL);
	}
}

static void last_line(const char *path, char *out, size_t cap)
{
	uint8_t *b = NULL;
	size_t n = 0;
	out[0] = 0;
	if (ag_read_bounded(path, SERIAL_MAX, &b, &n, NULL))
		return;
	while (n && (b[n - 1] == '\n' || b[n - 1] == '\r'))
		n--;
	size_t s = n;
	while (s && b[s - 1] != '\n')
		s--;
	snprintf(out, cap, "%.*s", (int)(n - s), (const char *)b + s);
	free(b);
}

int ag_sim_evidence(const struct ag_provider_opts *o, bool snp, const uint8_t report_data[AG_REPORT_DATA_LEN],
		    json_t **primary, struct vg_err *err)
{
	*primary = NULL;
	struct launch l;
	int rc = resolve_launch(o, &l, err);
	if (rc)
		return rc;
	char tmpl[] = "/tmp/vigil-agent.XXXXXX";
	if (!mkdtemp(tmpl))
		return vg_err_set(err, errno, "temporary directory: %s", strerror(errno));
	char serial[PATH_MAX], errfile[PATH_MAX], challenge[2 * AG_REPORT_DATA_LEN + 1];
	snprintf(serial, sizeof(serial), "%s/serial.txt", tmpl);
	snprintf(errfile, sizeof(errfile), "%s/vmm.err", tmpl);
	vg_hex_encode(report_data, AG_REPORT_DATA_LEN, challenge);

	char *argv[32 + AG_VMM_ARGS_MAX];
	size_t a = 0;
	argv[a++] = l.vmm;
	if (o->vm_config) {
		argv[a++] = "--config";
		argv[a++] = (char *)o->vm_config;
	}
	argv[a++] = "--platform";
	argv[a++] = snp ? "sim-snp" : "sim-tdx";
	argv[a++] = "--guest-challenge";
	argv[a++] = challenge;
	argv[a++] = "--state-dir";
	argv[a++] = l.state_dir;
	argv[a++] = "--serial";
	argv[a++] = serial;
	if (l.firmware[0]) {
		argv[a++] = "--firmware";
		argv[a++] = l.firmware;
	}
	if (!l.memory_from_config) {
		argv[a++] = "--memory-mib";
		argv[a++] = "16";
	}
	for (size_t i = 0; i < o->n_vmm_args && i < AG_VMM_ARGS_MAX; i++)
		argv[a++] = (char *)o->vmm_args[i];
	argv[a] = NULL;

	uint8_t *ser = NULL, *ev = NULL, *table = NULL;
	size_t ser_len = 0, ev_len = 0, table_len = 0;
	int status = 0;
	vg_debug("launching %s on %s", l.vmm, snp ? "sim-snp" : "sim-tdx");
	rc = run_bounded(argv, errfile, o->timeout_s ? o->timeout_s : 120, &status, err);
	if (rc)
		goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		char why[400];
		last_line(errfile, why, sizeof(why));
		if (!why[0])
			last_line(serial, why, sizeof(why));
		rc = vg_err_set(err, EIO, "vigil-vmm (%s) %s %d: %s", snp ? "sim-snp" : "sim-tdx",
				WIFEXITED(status) ? "exited" : "killed by signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), why[0] ? why : "no message");
		goto out;
	}
	if ((rc = ag_read_bounded(serial, SERIAL_MAX, &ser, &ser_len, err)) ||
	    (rc = ag_serial_block((const char *)ser, ser_len, "EVIDENCE", &ev, &ev_len, err)) ||
	    (rc = ag_evidence_check_binding(snp ? "snp" : "tdx", ev, ev_len, report_data, err)))
		goto out;
	if (snp) {
		struct sev_cert certs[SEV_CERT_TABLE_MAX];
		size_t n = 0;
		if ((rc = ag_serial_block((const char *)ser, ser_len, "CERTTABLE", &table, &table_len, err)) ||
		    (rc = sev_snp_cert_table_parse(table, table_len, certs, &n, err))) {
			vg_err_prefix(err, "sim-snp certificate table");
			goto out;
		}
		*primary = ag_snp_evidence_json(ev, ev_len, certs, n, err);
	} else {
		*primary = ag_tdx_evidence_json(ev, ev_len, NULL, 0, err); /* the attest guest has no CCEL */
	}
	rc = *primary ? 0 : -EBADMSG;
out:
	free(table);
	free(ser);
	free(ev);
	unlink(serial);
	unlink(errfile);
	rmdir(tmpl);
	return rc;
}
