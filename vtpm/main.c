/*
 * vigil-tpm: a TPM 2.0 (libtpms) with encrypted state, served over swtpm's
 * socket protocols; a drop-in for `swtpm socket --tpm2`.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "vtpm/vtpm.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vigil-tpm --state DIR --key-file FILE [--port P] [options]\n"
		"\n"
		"Serves a TPM 2.0 (libtpms) over swtpm's protocols: the control channel\n"
		"on a UNIX socket (DIR/ctrl.sock, mode 0600, only this user: the peer's\n"
		"uid is checked), with CMD_SET_DATAFD for QEMU's tpm-emulator backend;\n"
		"TPM commands also on 127.0.0.1:P with --port. The state in DIR is\n"
		"encrypted with AES-256-GCM under the 32-byte key in FILE.\n"
		"\n"
		"  --port P            TCP data port (open to every local user)\n"
		"  --bind ADDR         IPv4 address to listen on (default 127.0.0.1)\n"
		"  --ctrl-unix PATH    control socket path (default DIR/ctrl.sock)\n"
		"  --ctrl-tcp          also a control channel on TCP port P+1, for tpm2-tools'\n"
		"                      swtpm TCTI: open to every local user, so it serves only\n"
		"                      unprivileged commands (locality, capabilities, cancel)\n"
		"  --allow-migration   let decrypted state blobs out and in (QEMU migration\n"
		"                      asks for them); without it only sealed blobs move\n"
		"  --idle-timeout S    close TCP connections idle for S seconds (default 60)\n"
		"  --command-timeout S a request must arrive whole, and its answer be taken,\n"
		"                      within S seconds (default 5)\n"
		"  --state DIR         state directory (created if missing)\n"
		"  --key-file FILE     state key: 32 raw bytes or 64 hex digits\n"
		"  --ek-ca DIR         on first start, provision RSA and ECC EKs with\n"
		"                      certificates from the CA in DIR (created if absent)\n"
		"  --startup-clear     send TPM2_Startup(CLEAR) after each power-on\n"
		"  --resume            resume the volatile state saved by the last stop\n"
		"  --pid-file FILE     write the process id to FILE\n"
		"  -v, --verbose       log control commands\n"
		"  --help, --version\n"
		"\n"
		"SIGTERM or SIGINT (or CMD_SHUTDOWN) saves the volatile state and exits 0.\n"
		"Exit: 0 clean stop, 1 state refused (tampered, truncated, wrong key,\n"
		"unknown version, not a regular file), 2 usage or I/O error (also: the\n"
		"state directory is locked by another vigil-tpm, full or read-only).\n");
}

int main(int argc, char **argv)
{
	enum { OPT_PORT = 256, OPT_BIND, OPT_CTRL_UNIX, OPT_STATE, OPT_KEY, OPT_EK_CA, OPT_STARTUP, OPT_RESUME,
	       OPT_PID, OPT_HELP, OPT_VERSION, OPT_CTRL_TCP, OPT_MIGRATION, OPT_IDLE, OPT_CMD_TIMEOUT };
	static const struct option opts[] = {
		{"port", required_argument, NULL, OPT_PORT},
		{"bind", required_argument, NULL, OPT_BIND},
		{"ctrl-unix", required_argument, NULL, OPT_CTRL_UNIX},
		{"ctrl-tcp", no_argument, NULL, OPT_CTRL_TCP},
		{"allow-migration", no_argument, NULL, OPT_MIGRATION},
		{"idle-timeout", required_argument, NULL, OPT_IDLE},
		{"command-timeout", required_argument, NULL, OPT_CMD_TIMEOUT},
		{"state", required_argument, NULL, OPT_STATE},
		{"key-file", required_argument, NULL, OPT_KEY},
		{"ek-ca", required_argument, NULL, OPT_EK_CA},
		{"startup-clear", no_argument, NULL, OPT_STARTUP},
		{"resume", no_argument, NULL, OPT_RESUME},
		{"pid-file", required_argument, NULL, OPT_PID},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	struct vtpm_config cfg = {0};
	struct vtpm_server_config scfg = {0};
	const char *pid_file = NULL;
	struct vg_err err = {0};
	uint64_t port = 0;
	int c;

	vg_log_init("vigil-tpm", VG_LOG_INFO);
	/* Keys and TPM secrets stay out of core dumps, and other processes of
	 * this user cannot ptrace us (the key page is MADV_DONTDUMP as well). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case OPT_PORT:
			if (vg_parse_u64(optarg, 65534, &port, &err) || port == 0) {
				fprintf(stderr, "vigil-tpm: --port: %s\n", err.code ? err.msg : "must be 1..65534");
				return VG_EXIT_USAGE;
			}
			scfg.port = (uint16_t)port;
			break;
		case OPT_BIND: scfg.bind_addr = optarg; break;
		case OPT_CTRL_UNIX: scfg.ctrl_unix = optarg; break;
		case OPT_CTRL_TCP: scfg.ctrl_tcp = true; break;
		case OPT_MIGRATION: scfg.allow_migration = true; break;
		case OPT_IDLE:
		case OPT_CMD_TIMEOUT: {
			uint64_t sec = 0;
			if (vg_parse_u64(optarg, 86400, &sec, &err) || sec == 0) {
				fprintf(stderr, "vigil-tpm: --%s: %s\n", c == OPT_IDLE ? "idle-timeout" : "command-timeout",
					err.code ? err.msg : "must be 1..86400 seconds");
				return VG_EXIT_USAGE;
			}
			*(c == OPT_IDLE ? &scfg.idle_timeout_ms : &scfg.cmd_timeout_ms) = (unsigned)sec * 1000u;
			break;
		}
		case OPT_STATE: cfg.state_dir = optarg; break;
		case OPT_KEY: cfg.key_file = optarg; break;
		case OPT_EK_CA: cfg.ek_ca_dir = optarg; break;
		case OPT_STARTUP: scfg.startup_clear = true; break;
		case OPT_RESUME: cfg.resume = true; break;
		case OPT_PID: pid_file = optarg; break;
		case 'v': vg_log_set_level(VG_LOG_DEBUG); break;
		case OPT_HELP: usage(stdout); return VG_EXIT_OK;
		case OPT_VERSION: printf("vigil-tpm %s\n", VG_VERSION); return VG_EXIT_OK;
		default:
			fprintf(stderr, "vigil-tpm: unknown or incomplete option \"%s\" (see --help)\n", argv[optind - 1]);
			return VG_EXIT_USAGE;
		}
	}
	if (optind != argc || !cfg.state_dir || !cfg.key_file) {
		fprintf(stderr, "vigil-tpm: --state and --key-file are required (see --help)\n");
		return VG_EXIT_USAGE;
	}
	scfg.state_dir = cfg.state_dir;
	/* Every flag is validated, and the TCP ports bound, before the state
	 * directory is touched. */
	struct vtpm_server *srv = NULL;
	if (vtpm_server_open(&scfg, &srv, &err)) {
		fprintf(stderr, "vigil-tpm: %s\n", err.msg);
		return VG_EXIT_USAGE;
	}
	if (scfg.ctrl_tcp)
		vg_warn("--ctrl-tcp: the control channel on TCP port %u is open to every local user; it serves "
			"only unprivileged commands (locality, capabilities, cancel), the rest stays on %s",
			scfg.port + 1u, vtpm_server_ctrl_path(srv));

	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct vtpm *t = NULL;
	int rc = vtpm_open(&cfg, &t, &err);
	if (rc) {
		fprintf(stderr, "vigil-tpm: %s\n", err.msg);
		vtpm_server_free(srv);
		return rc == -EBADMSG || rc == -EKEYREJECTED ? VG_EXIT_REJECTED : VG_EXIT_USAGE;
	}
	if (pid_file) {
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		if (vg_write_file_atomic(pid_file, pid, (size_t)n, 0644, &err)) {
			fprintf(stderr, "vigil-tpm: %s\n", err.msg);
			vtpm_close(t);
			vtpm_server_free(srv);
			return VG_EXIT_USAGE;
		}
	}
	if (scfg.port)
		vg_info("serving TPM 2.0 on %s:%u, control on unix:%s%s", scfg.bind_addr ? scfg.bind_addr : "127.0.0.1",
			scfg.port, vtpm_server_ctrl_path(srv), scfg.ctrl_tcp ? " and TCP port+1" : "");
	else
		vg_info("serving TPM 2.0 control channel on unix:%s", vtpm_server_ctrl_path(srv));
	rc = vtpm_server_run(srv, t, &g_stop, &err);
	vtpm_server_free(srv);
	vtpm_close(t);
	if (pid_file)
		unlink(pid_file);
	if (rc) {
		fprintf(stderr, "vigil-tpm: %s\n", err.msg);
		return VG_EXIT_USAGE;
	}
	vg_info("state saved, exiting");
	return VG_EXIT_OK;
}
