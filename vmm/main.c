/* vigil-vmm: starts a guest on KVM. See docs/vmm.md. */
#include "vmm/vmm.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vigil-vmm [--config vm.json] [options]\n"
		"Starts a guest on KVM and exits with its status.\n\n"
		"  --config FILE          vm.json (keys as the long options, with _ for -)\n"
		"  --firmware FILE        flat firmware image, mapped to end at 4 GiB\n"
		"  --kernel FILE          Linux bzImage (64-bit boot protocol)\n"
		"  --initrd FILE          initial ramdisk (with --kernel)\n"
		"  --cmdline TEXT         kernel command line (with --kernel)\n"
		"  --vcpus N              vCPUs (1-%d, default 1)\n"
		"  --memory-mib N         guest RAM in MiB (default 128)\n"
		"  --hugepages            back guest RAM with huge pages\n"
		"  --serial stdout|none|FILE  COM1 output (default stdout)\n"
		"  --vtpm                 serve a vTPM (CRB at 0xFED40000)\n"
		"  --vtpm-state DIR       vTPM persistent state directory (implies --vtpm)\n"
		"  --vtpm-key-file FILE   key encrypting the vTPM state\n"
		"  --platform NAME        launch platform: %s (default none)\n"
		"  --accel kvm|emu|auto   accelerator (default auto: kvm when /dev/kvm opens, else emu,\n"
		"                         a software CPU for our own guests; docs/vmm.md)\n"
		"  --max-reboots N        a guest reset reboots the VM (platform none); more than N\n"
		"                         reboots within 60 s stop it, exit 1 (default 100; 0: no limit)\n"
		"  --state-dir DIR        identities of the simulated platforms (default\n"
		"                         /var/lib/vigil as root, else ~/.local/state/vigil)\n"
		"  --guest-challenge HEX  128 hex digits the guest-request device offers the guest\n"
		"                         as its nonce (the attest guest's REPORT_DATA); sim-snp, sim-tdx\n"
		"SNP launch inputs (snp, sim-snp; vm.json object \"snp\"):\n"
		"  --snp-policy N         guest policy (default 0x30000)\n"
		"  --guest-features N     SEV_FEATURES of the VMSAs (default 0x1, SNPActive)\n"
		"  --host-data HEX        HOST_DATA, 64 hex digits (default zeros)\n"
		"  --vcpu-type NAME       vCPU model measured into the VMSAs, sim-snp (default EPYC-v4)\n"
		"  --id-block FILE, --id-auth FILE  ID block (96 bytes) and ID auth (4096 bytes)\n"
		"  --author-key           the ID auth carries an author key\n"
		"TDX launch inputs (tdx, sim-tdx; vm.json object \"tdx\"):\n"
		"  --tdx-attributes N     TD ATTRIBUTES (default 0x10000000, SEPT_VE_DISABLE)\n"
		"  --xfam N               XFAM (default 0x7)\n"
		"  --mrconfigid HEX, --mrowner HEX, --mrownerconfig HEX  96 hex digits each\n"
		"  --qgs-socket PATH      quote-generation service for GetQuote (tdx)\n"
		"Firmware configuration (with --firmware; vm.json array \"fw_cfg\"):\n"
		"  --fw-cfg [name=]opt/NAME,string=TEXT | [name=]opt/NAME,file=PATH\n"
		"                         a named fw_cfg item for the firmware, as QEMU's -fw_cfg\n"
		"                         (e.g. opt/ovmf/X-PciMmio64Mb); repeatable, \",,\" is a comma\n"
		"Sandbox and actions:\n"
		"  --chroot DIR           jail the VMM in DIR before the guest runs\n"
		"  --user USER[:GROUP]    run as USER after setup\n"
		"  --no-sandbox           no seccomp, privileges kept (debugging only)\n"
		"  --print-measurements   print what measured boot records, do not run\n"
		"  --launch-only          run the whole launch on sim-snp / sim-tdx, print the launch\n"
		"                         measurement (SNP MEASUREMENT, TDX MRTD) the simulated\n"
		"                         platform computed, and stop without running a vCPU\n"
		"  --json                 with --print-measurements or --launch-only: JSON output\n"
		"  --event-log FILE       with --print-measurements and a vTPM: write the TCG event log\n"
		"  --check-kvm            check /dev/kvm and its capabilities (with --platform, that\n"
		"                         platform's probe too), then exit\n"
		"  --dump-acpi DIR        write the ACPI tables a Linux guest gets to DIR, then exit\n"
		"  -v, --verbose          log more (repeat for debug)\n"
		"  --help, --version\n\n"
		"Exit status: the value the guest writes to the debug-exit port 0x501, 0 on a\n"
		"clean shutdown, a confidential guest's reset or an operator's SIGTERM/SIGINT, 1 when\n"
		"the guest crashed (triple fault) or reset more than --max-reboots allows, 2 on a\n"
		"usage, configuration or host error.\n",
		VMM_MAX_VCPUS, vmm_platform_names());
}

enum {
	OPT_CONFIG = 256, OPT_LAUNCH_ONLY, OPT_NO_SANDBOX, OPT_PRINT, OPT_JSON, OPT_CHECK, OPT_VERSION, OPT_HUGE, OPT_VTPM, OPT_DUMP_ACPI, OPT_EVENT_LOG,
	OPT_SET, /* OPT_SET + i: the i-th flag of vmm_config_flag_at */
};

#define MAX_SET_FLAGS 64

/* Before the config file and the flags: the environment variables the first
 * simulated-platform scripts used. Kept as lowest-priority defaults only
 * (docs/platforms.md); vm.json and the flags override them. */
static int env_defaults(struct vmm_config *cfg, struct vg_err *err)
{
	static const struct { const char *env, *key; } envs[] = {
		{"VIGIL_STATE_DIR", "state_dir"},
		{"VIGIL_GUEST_CHALLENGE", "guest_challenge"},
	};
	for (size_t i = 0; i < VG_ARRAY_SIZE(envs); i++) {
		const char *v = getenv(envs[i].env);
		if (v && *v && vmm_config_set(cfg, envs[i].key, v, err))
			return vg_err_prefix(err, "environment %s", envs[i].env);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option fixed[] = {
		{"config", required_argument, NULL, OPT_CONFIG},
		{"hugepages", no_argument, NULL, OPT_HUGE},
		{"vtpm", no_argument, NULL, OPT_VTPM},
		{"no-sandbox", no_argument, NULL, OPT_NO_SANDBOX},
		{"print-measurements", no_argument, NULL, OPT_PRINT},
		{"launch-only", no_argument, NULL, OPT_LAUNCH_ONLY},
		{"json", no_argument, NULL, OPT_JSON},
		{"check-kvm", no_argument, NULL, OPT_CHECK},
		{"dump-acpi", required_argument, NULL, OPT_DUMP_ACPI},
		{"event-log", required_argument, NULL, OPT_EVENT_LOG},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
	};
	/* The settings' flags come from the configuration's key table. */
	struct option opts[VG_ARRAY_SIZE(fixed) + MAX_SET_FLAGS + 1];
	struct vmm_config_flag set_flags[MAX_SET_FLAGS];
	size_t n_opts = 0, n_set = 0;
	for (size_t i = 0; i < VG_ARRAY_SIZE(fixed); i++)
		opts[n_opts++] = fixed[i];
	while (n_set < MAX_SET_FLAGS && vmm_config_flag_at(n_set, &set_flags[n_set])) {
		opts[n_opts++] = (struct option){set_flags[n_set].flag,
						 set_flags[n_set].boolean ? no_argument : required_argument, NULL,
						 OPT_SET + (int)n_set};
		n_set++;
	}
	opts[n_opts] = (struct option){0};
	vg_log_init("vigil-vmm", VG_LOG_WARN);
	/* No openssl.cnf: nothing in it concerns the VMM, and loading it costs time and memory. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	struct vmm_config cfg;
	vmm_config_init(&cfg);
	struct vg_err err = {0};
	const char *config_path = NULL, *dump_acpi = NULL, *event_log = NULL;
	bool check = false, no_sandbox = false, huge = false, vtpm = false, print = false, json = false, launch_only = false;
	int verbose = 0, c;
	if (env_defaults(&cfg, &err)) {
		fprintf(stderr, "vigil-vmm: %s\n", err.msg);
		vmm_config_free(&cfg);
		return VG_EXIT_USAGE;
	}
	/* Pass 1: the config file; flags given on the command line override it. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1)
		if (c == OPT_CONFIG)
			config_path = optarg;
	if (config_path && vmm_config_load_file(&cfg, config_path, &err)) {
		fprintf(stderr, "vigil-vmm: %s\n", err.msg);
		vmm_config_free(&cfg);
		return VG_EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG: break;
		case OPT_NO_SANDBOX: no_sandbox = true; break;
		case OPT_PRINT: print = true; break;
		case OPT_LAUNCH_ONLY: launch_only = true; break;
		case OPT_JSON: json = true; break;
		case OPT_CHECK: check = true; break;
		case OPT_HUGE: huge = true; break;
		case OPT_VTPM: vtpm = true; break;
		case OPT_DUMP_ACPI: dump_acpi = optarg; break;
		case OPT_EVENT_LOG: event_log = optarg; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); vmm_config_free(&cfg); return VG_EXIT_OK;
		case OPT_VERSION: printf("vigil-vmm %s\n", VG_VERSION); vmm_config_free(&cfg); return VG_EXIT_OK;
		default:
			if (c >= OPT_SET && c < OPT_SET + (int)n_set) {
				const struct vmm_config_flag *f = &set_flags[c - OPT_SET];
				if (vmm_config_set(&cfg, f->key, f->boolean ? "true" : optarg, &err)) {
					fprintf(stderr, "vigil-vmm: %s\n", err.msg);
					vmm_config_free(&cfg);
					return VG_EXIT_USAGE;
				}
				break;
			}
			/* one line (opterr is 0: getopt prints nothing of its own) */
			fprintf(stderr, "vigil-vmm: unknown or incomplete option \"%s\" (try --help)\n",
				argv[optind - 1]);
			vmm_config_free(&cfg);
			return VG_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil-vmm: unexpected argument \"%s\" (try --help)\n", argv[optind]);
		vmm_config_free(&cfg);
		return VG_EXIT_USAGE;
	}
	vg_log_set_level(verbose >= 2 ? VG_LOG_DEBUG : verbose ? VG_LOG_INFO : VG_LOG_WARN);
	if (json && !print && !launch_only) {
		fprintf(stderr, "vigil-vmm: --json goes with --print-measurements or --launch-only\n");
		vmm_config_free(&cfg);
		return VG_EXIT_USAGE;
	}
	if (check) {
		/* No usable /dev/kvm at all is an I/O error (2); a KVM that lacks
		 * what a platform needs is a failed check (1). */
		int kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (kfd < 0) {
			fprintf(stderr, "vigil-vmm: /dev/kvm: %s (no usable KVM on this host)\n", strerror(errno));
			vmm_config_free(&cfg);
			return VG_EXIT_USAGE;
		}
		close(kfd);
		/* With --platform: that platform's probe too (a host without SNP or TDX says why). */
		const struct vmm_platform_ops *plat = vmm_platform_find(cfg.platform ? cfg.platform : "none");
		if (!plat) {
			fprintf(stderr, "vigil-vmm: platform \"%s\" is unknown (known: %s)\n", cfg.platform,
				vmm_platform_names());
			vmm_config_free(&cfg);
			return VG_EXIT_USAGE;
		}
		int rc = vmm_kvm_check(plat, &cfg, &err);
		vmm_config_free(&cfg);
		if (rc) {
			fprintf(stderr, "vigil-vmm: %s\n", err.msg);
			return VG_EXIT_REJECTED;
		}
		printf("/dev/kvm: API version and every needed capability present (platform %s)\n", plat->name);
		return VG_EXIT_OK;
	}
	if (dump_acpi) {
		struct vmm_acpi_opts ao = {.vcpus = cfg.vcpus, .tpm = vtpm || cfg.vtpm || cfg.vtpm_state,
					   .log_addr = VMM_TPM_LOG_ADDR, .log_size = VMM_TPM_LOG_SIZE};
		int rc = vmm_acpi_dump(&ao, dump_acpi, &err);
		vmm_config_free(&cfg);
		if (rc) {
			fprintf(stderr, "vigil-vmm: %s\n", err.msg);
			return VG_EXIT_USAGE;
		}
		return VG_EXIT_OK;
	}
	if (no_sandbox)
		cfg.sandbox = false;
	if (huge)
		cfg.hugepages = true;
	if (vtpm || cfg.vtpm_state)
		cfg.vtpm = true;
	cfg.print_measurements = print;
	cfg.launch_only = launch_only;
	if (launch_only && print) {
		fprintf(stderr, "vigil-vmm: --launch-only and --print-measurements go separately\n");
		vmm_config_free(&cfg);
		return VG_EXIT_USAGE;
	}
	cfg.json = json;
	cfg.event_log_out = event_log;
	if (event_log && (!print || !cfg.vtpm)) {
		fprintf(stderr, "vigil-vmm: --event-log needs --print-measurements and a vTPM\n");
		vmm_config_free(&cfg);
		return VG_EXIT_USAGE;
	}
	if (vmm_config_validate(&cfg, &err)) {
		fprintf(stderr, "vigil-vmm: %s\n", err.msg);
		vmm_config_free(&cfg);
		return VG_EXIT_USAGE;
	}
	struct vmm_result res;
	int rc = vmm_run(&cfg, &res, &err);
	vmm_config_free(&cfg);
	if (rc) {
		fprintf(stderr, "vigil-vmm: %s\n", err.msg);
		return VMM_EXIT_ERROR;
	}
	if (res.status == VMM_EXIT_GUEST_CRASH || res.status == VMM_EXIT_ERROR)
		vg_error("%s", res.reason);
	else
		vg_info("%s", res.reason);
	return res.status;
}
