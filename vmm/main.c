/* vigil-vmm: starts a guest on KVM. See docs/vmm.md. */
#include "vmm/vmm.h"

#include <getopt.h>
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
		"  --chroot DIR           jail the VMM in DIR before the guest runs\n"
		"  --user USER[:GROUP]    run as USER after setup\n"
		"  --no-sandbox           no seccomp, privileges kept (debugging only)\n"
		"  --print-measurements   print what measured boot records, do not run\n"
		"  --json                 with --print-measurements: JSON output\n"
		"  --event-log FILE       with --print-measurements and a vTPM: write the TCG event log\n"
		"  --check-kvm            check /dev/kvm and its capabilities, then exit\n"
		"  --dump-acpi DIR        write the ACPI tables a Linux guest gets to DIR, then exit\n"
		"  -v, --verbose          log more (repeat for debug)\n"
		"  --help, --version\n\n"
		"Exit status: the value the guest writes to the debug-exit port 0x501, 0 on a\n"
		"clean shutdown or an operator's SIGTERM/SIGINT, 1 when the guest crashed\n"
		"(triple fault), 2 on a usage, configuration or host error.\n",
		VMM_MAX_VCPUS, vmm_platform_names());
}

enum {
	OPT_CONFIG = 256, OPT_NO_SANDBOX, OPT_PRINT, OPT_JSON, OPT_CHECK, OPT_VERSION, OPT_HUGE, OPT_VTPM, OPT_DUMP_ACPI, OPT_EVENT_LOG,
	OPT_SET, /* OPT_SET + index into set_keys */
};

static const char *const set_keys[] = {"vcpus", "memory_mib", "firmware", "kernel", "initrd", "cmdline",
				       "serial", "vtpm_state", "vtpm_key_file", "platform", "chroot", "user"};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, OPT_CONFIG},
		{"vcpus", required_argument, NULL, OPT_SET + 0},
		{"memory-mib", required_argument, NULL, OPT_SET + 1},
		{"firmware", required_argument, NULL, OPT_SET + 2},
		{"kernel", required_argument, NULL, OPT_SET + 3},
		{"initrd", required_argument, NULL, OPT_SET + 4},
		{"cmdline", required_argument, NULL, OPT_SET + 5},
		{"serial", required_argument, NULL, OPT_SET + 6},
		{"vtpm-state", required_argument, NULL, OPT_SET + 7},
		{"vtpm-key-file", required_argument, NULL, OPT_SET + 8},
		{"platform", required_argument, NULL, OPT_SET + 9},
		{"chroot", required_argument, NULL, OPT_SET + 10},
		{"user", required_argument, NULL, OPT_SET + 11},
		{"hugepages", no_argument, NULL, OPT_HUGE},
		{"vtpm", no_argument, NULL, OPT_VTPM},
		{"no-sandbox", no_argument, NULL, OPT_NO_SANDBOX},
		{"print-measurements", no_argument, NULL, OPT_PRINT},
		{"json", no_argument, NULL, OPT_JSON},
		{"check-kvm", no_argument, NULL, OPT_CHECK},
		{"dump-acpi", required_argument, NULL, OPT_DUMP_ACPI},
		{"event-log", required_argument, NULL, OPT_EVENT_LOG},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{0},
	};
	vg_log_init("vigil-vmm", VG_LOG_WARN);
	/* No openssl.cnf: nothing in it concerns the VMM, and loading it costs time and memory. */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	struct vmm_config cfg;
	vmm_config_init(&cfg);
	struct vg_err err = {0};
	const char *config_path = NULL, *dump_acpi = NULL, *event_log = NULL;
	bool check = false, no_sandbox = false, huge = false, vtpm = false, print = false, json = false;
	int verbose = 0, c;
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
	opterr = 1;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG: break;
		case OPT_NO_SANDBOX: no_sandbox = true; break;
		case OPT_PRINT: print = true; break;
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
			if (c >= OPT_SET && c < OPT_SET + (int)VG_ARRAY_SIZE(set_keys)) {
				if (vmm_config_set(&cfg, set_keys[c - OPT_SET], optarg, &err)) {
					fprintf(stderr, "vigil-vmm: %s\n", err.msg);
					vmm_config_free(&cfg);
					return VG_EXIT_USAGE;
				}
				break;
			}
			fprintf(stderr, "vigil-vmm: try --help\n");
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
	if (check) {
		int rc = vmm_kvm_check(&err);
		vmm_config_free(&cfg);
		if (rc) {
			fprintf(stderr, "vigil-vmm: %s\n", err.msg);
			return VG_EXIT_REJECTED;
		}
		printf("/dev/kvm: API version and every needed capability present\n");
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
