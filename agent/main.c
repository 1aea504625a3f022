/*
 * vigil-agent: the guest's client of vigil-attestd (KBS protocol 0.4.0).
 *
 *   vigil-agent get-resource --url URL REPO/TYPE/TAG [-o FILE]   the whole flow; the secret
 *   vigil-agent attest --url URL                                  the attestation token
 *   vigil-agent evidence --report-data HEX                        the tee-evidence object
 *   vigil-agent init-data digest FILE                             the launch flags binding it
 * Exit: 0 ok, 1 refused (by the service or the platform), 2 usage, I/O or network error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent/agent.h"
#include "attest/attest.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vigil-agent get-resource --url URL REPOSITORY/TYPE/TAG [-o FILE] [options]\n"
		"       vigil-agent attest --url URL [options]\n"
		"       vigil-agent evidence --report-data HEX [options]\n"
		"       vigil-agent init-data digest FILE [--init-data-format toml|json] [--json]\n"
		"\n"
		"The guest's client of vigil-attestd (Trustee KBS protocol 0.4.0): proves what the guest\n"
		"runs with hardware evidence bound to a fresh key pair, and receives a secret wrapped to\n"
		"that key. get-resource runs the whole flow (auth, attest, resource, JWE unwrap) and\n"
		"writes the secret to stdout or to FILE (created mode 0600, never replaced, never partial);\n"
		"attest prints the attestation token (EAR JWT); evidence prints the tee-evidence object\n"
		"{\"primary_evidence\": ..., \"additional_evidence\": \"\"} for a 64-byte REPORT_DATA;\n"
		"init-data digest prints the digest of a Trustee init-data document and the vigil-vmm flag\n"
		"that launches a VM bound to it (--host-data for SNP, --mrconfigid for TDX).\n"
		"\n"
		"service:\n"
		"  --url URL            https://host:port (the certificate is verified), or http:// for\n"
		"                       plain HTTP (loopback, tests)\n"
		"  --cacert FILE        trust these CA certificates (PEM) instead of the system store\n"
		"  --timeout S          per-request timeout in seconds (30)\n"
		"  -o, --output FILE    get-resource: write the secret here instead of stdout\n"
		"  --init-data FILE     send this Trustee init-data document (TOML or JSON) with the\n"
		"                       attestation; its digest must be the evidence's SNP HOST_DATA or\n"
		"                       TDX MRCONFIGID, checked before the attestation is sent\n"
		"  --init-data-format toml|json   the document's format (default: from .toml/.json)\n"
		"  --no-init-data-check send the init-data even when the evidence is not bound to it\n"
		"                       (the service refuses it then; diagnostics)\n"
		"evidence provider:\n"
		"  --tee NAME           tsm | sim-snp | sim-tdx (default: a sim platform named by\n"
		"                       --vm-config, else tsm when configfs-tsm is there)\n"
		"  --tsm-root DIR       configfs-tsm root (/sys/kernel/config/tsm)\n"
		"  --ccel FILE|none     TDX CC event log (/sys/firmware/acpi/tables/data/CCEL when present)\n"
		"  --privlevel N        SNP VMPL written to configfs-tsm privlevel (kernel default)\n"
		"  --vm-config FILE     sim-*: the vm.json of the launch (platform, firmware, memory,\n"
		"                       state_dir, snp.*, tdx.*)\n"
		"  --vmm PATH           sim-*: the VMM binary (vigil-vmm beside this program)\n"
		"  --firmware FILE      sim-*: the attest guest (vm.json firmware, else ../guest/attest.bin)\n"
		"  --state-dir DIR      sim-*: the simulated platform's identity (vm.json state_dir, else\n"
		"                       vigil-vmm's default)\n"
		"  --vmm-timeout S      sim-*: stop the VMM after S seconds (120)\n"
		"  --vmm-arg ARG        sim-*: pass ARG to vigil-vmm (repeatable)\n"
		"other:\n"
		"  --json               attest: {\"token\"}; get-resource (needs -o): {\"resource\", \"bytes\",\n"
		"                       \"sha256\", \"file\"}; init-data digest: {\"format\", \"algorithm\",\n"
		"                       \"digest\", \"host_data\", \"mrconfigid\"}\n"
		"  -v, --verbose        log steps to stderr\n"
		"  --help, --version\n"
		"\n"
		"Exit status: 0 ok, 1 refused by the service (the line carries its explanation),\n"
		"2 usage, I/O, evidence or network error. See docs/agent.md.\n");
}

static int exit_code(int rc)
{
	return rc == -EACCES ? VG_EXIT_REJECTED : VG_EXIT_USAGE;
}

static int fail(const char *cmd, int rc, const struct vg_err *err)
{
	fprintf(stderr, "vigil-agent %s: %s\n", cmd, err->msg[0] ? err->msg : strerror(-rc));
	return exit_code(rc);
}

static int cmd_evidence(const struct ag_provider_opts *p, const char *hex)
{
	struct vg_err err = { 0 };
	uint8_t rd[AG_REPORT_DATA_LEN];
	if (!hex) {
		fprintf(stderr, "vigil-agent evidence: --report-data HEX (128 hex digits) is required\n");
		return VG_EXIT_USAGE;
	}
	if (strlen(hex) != 2 * AG_REPORT_DATA_LEN || vg_hex_decode(hex, rd, sizeof(rd), &err)) {
		fprintf(stderr, "vigil-agent evidence: --report-data: expected 128 hex digits (64 bytes)\n");
		return VG_EXIT_USAGE;
	}
	const char *tee;
	json_t *primary = NULL;
	int rc = ag_evidence_get(p, rd, &tee, &primary, &err);
	if (rc)
		return fail("evidence", rc, &err);
	json_t *o = ag_tee_evidence_json(primary);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s) {
		fprintf(stderr, "vigil-agent evidence: out of memory\n");
		return VG_EXIT_USAGE;
	}
	printf("%s\n", s);
	free(s);
	vg_info("%s evidence for tee \"%s\"", ag_tee_name(p->tee), tee);
	return fflush(stdout) ? VG_EXIT_USAGE : VG_EXIT_OK;
}

static int cmd_attest(const struct ag_client_opts *c, bool json)
{
	struct vg_err err = { 0 };
	struct ag_session *s = NULL;
	int rc = ag_session_attest(c, &s, &err);
	if (rc)
		return fail("attest", rc, &err);
	if (json) {
		json_t *o = json_pack("{s:s}", "token", ag_session_token(s));
		char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
		printf("%s\n", t ? t : "");
		free(t);
		json_decref(o);
	} else {
		printf("%s\n", ag_session_token(s));
	}
	ag_session_free(s);
	return fflush(stdout) ? VG_EXIT_USAGE : VG_EXIT_OK;
}

static int cmd_get_resource(const struct ag_client_opts *c, const char *path, const char *out, bool json)
{
	struct vg_err err = { 0 };
	if (ag_resource_path_check(path, &err)) {
		fprintf(stderr, "vigil-agent get-resource: %s\n", err.msg);
		return VG_EXIT_USAGE;
	}
	if (json && (!out || !strcmp(out, "-"))) {
		fprintf(stderr, "vigil-agent get-resource: --json needs -o FILE (the secret never goes into JSON)\n");
		return VG_EXIT_USAGE;
	}
	if (out && strcmp(out, "-") && !access(out, F_OK)) {
		fprintf(stderr, "vigil-agent get-resource: %s: already exists; not replaced\n", out);
		return VG_EXIT_USAGE;
	}
	struct ag_session *s = NULL;
	int rc = ag_session_attest(c, &s, &err);
	if (rc)
		return fail("get-resource", rc, &err);
	uint8_t *secret = NULL;
	size_t len = 0;
	rc = ag_session_resource(s, path, &secret, &len, &err);
	ag_session_free(s); /* the private key goes first */
	if (rc)
		return fail("get-resource", rc, &err);
	uint8_t md[32];
	unsigned mdl = 0;
	EVP_Digest(secret, len, md, &mdl, EVP_sha256(), NULL);
	rc = ag_write_secret(out ? out : "-", secret, len, &err);
	vg_secure_zero(secret, len);
	free(secret);
	if (rc)
		return fail("get-resource", rc, &err);
	char hex[65];
	vg_hex_encode(md, sizeof(md), hex);
	if (json) {
		json_t *o = json_pack("{s:s, s:I, s:s, s:s}", "resource", path, "bytes", (json_int_t)len, "sha256",
				      hex, "file", out);
		char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
		printf("%s\n", t ? t : "");
		free(t);
		json_decref(o);
	}
	vg_info("resource %s: %zu bytes, SHA-256 %s%s%s", path, len, hex, out ? " -> " : "", out ? out : "");
	return fflush(stdout) ? VG_EXIT_USAGE : VG_EXIT_OK;
}

static int cmd_init_data_digest(const char *path, const char *format, bool json)
{
	struct vg_err err = { 0 };
	struct ag_init_data d;
	if (ag_init_data_load(path, format, &d, &err)) {
		fprintf(stderr, "vigil-agent init-data: %s\n", err.msg);
		return VG_EXIT_USAGE;
	}
	static const char *const alg[] = { [32] = "sha256", [48] = "sha384", [64] = "sha512" };
	uint8_t full[ATT_INIT_DATA_DIGEST_MAX];
	char dh[2 * ATT_INIT_DATA_DIGEST_MAX + 1], sh[65], th[97];
	att_init_data_digest(d.format, d.body, d.md_len, full, NULL, &err); /* parsed above: cannot fail */
	vg_hex_encode(full, d.md_len, dh);
	vg_hex_encode(d.snp, sizeof(d.snp), sh);
	vg_hex_encode(d.tdx, sizeof(d.tdx), th);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "format", d.format, "algorithm", alg[d.md_len],
				      "digest", dh, "host_data", sh, "mrconfigid", th);
		char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
		printf("%s\n", t ? t : "");
		free(t);
		json_decref(o);
	} else {
		printf("%s %s (%s)\n", alg[d.md_len], dh, d.format);
		printf("snp: vigil-vmm --host-data %s\n", sh);
		printf("tdx: vigil-vmm --mrconfigid %s\n", th);
	}
	ag_init_data_free(&d);
	return fflush(stdout) ? VG_EXIT_USAGE : VG_EXIT_OK;
}

static int seconds(const char *opt, const char *arg, uint64_t *v)
{
	if (vg_parse_u64(arg, 3600, v, NULL) || !*v) {
		fprintf(stderr, "vigil-agent: %s: 1..3600 seconds\n", opt);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_URL = 256, O_CACERT, O_TIMEOUT, O_TEE, O_TSM, O_CCEL, O_PRIV, O_VMCFG, O_VMM, O_FW, O_STATE,
	       O_VMMTO, O_VMMARG, O_RD, O_JSON, O_HELP, O_VERSION, O_INITDATA, O_INITFMT, O_NOINITCHK };
	static const struct option opts[] = {
		{"url", required_argument, NULL, O_URL},          {"cacert", required_argument, NULL, O_CACERT},
		{"timeout", required_argument, NULL, O_TIMEOUT},  {"output", required_argument, NULL, 'o'},
		{"tee", required_argument, NULL, O_TEE},          {"tsm-root", required_argument, NULL, O_TSM},
		{"ccel", required_argument, NULL, O_CCEL},        {"privlevel", required_argument, NULL, O_PRIV},
		{"vm-config", required_argument, NULL, O_VMCFG},  {"vmm", required_argument, NULL, O_VMM},
		{"firmware", required_argument, NULL, O_FW},      {"state-dir", required_argument, NULL, O_STATE},
		{"vmm-timeout", required_argument, NULL, O_VMMTO}, {"vmm-arg", required_argument, NULL, O_VMMARG},
		{"report-data", required_argument, NULL, O_RD},   {"json", no_argument, NULL, O_JSON},
		{"verbose", no_argument, NULL, 'v'},              {"help", no_argument, NULL, O_HELP},
		{"version", no_argument, NULL, O_VERSION},        {"init-data", required_argument, NULL, O_INITDATA},
		{"init-data-format", required_argument, NULL, O_INITFMT},
		{"no-init-data-check", no_argument, NULL, O_NOINITCHK}, {NULL, 0, NULL, 0},
	};
	/* The session key and the secret stay out of core dumps. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	struct rlimit nocore = { 0, 0 };
	setrlimit(RLIMIT_CORE, &nocore);
	vg_log_init("vigil-agent", VG_LOG_WARN);

	struct ag_provider_opts p = { .privlevel = -1 };
	struct ag_client_opts c = { .provider = &p };
	const char *out = NULL, *rd = NULL, *init_path = NULL, *init_fmt = NULL;
	bool json = false;
	struct vg_err err = { 0 };
	uint64_t v;
	int ch;
	/* GNU getopt permutes: options may come before or after the command. */
	while ((ch = getopt_long(argc, argv, "o:v", opts, NULL)) != -1) {
		switch (ch) {
		case O_URL: c.url = optarg; break;
		case O_CACERT: c.cacert = optarg; break;
		case O_TIMEOUT:
			if (seconds("--timeout", optarg, &v))
				return VG_EXIT_USAGE;
			c.timeout_s = (long)v;
			break;
		case 'o': out = optarg; break;
		case O_TEE:
			if (ag_tee_parse(optarg, &p.tee, &err)) {
				fprintf(stderr, "vigil-agent: %s\n", err.msg);
				return VG_EXIT_USAGE;
			}
			break;
		case O_TSM: p.tsm_root = optarg; break;
		case O_CCEL: p.ccel_path = optarg; break;
		case O_PRIV:
			if (vg_parse_u64(optarg, 3, &v, &err)) {
				fprintf(stderr, "vigil-agent: --privlevel: 0..3\n");
				return VG_EXIT_USAGE;
			}
			p.privlevel = (int)v;
			break;
		case O_VMCFG: p.vm_config = optarg; break;
		case O_VMM: p.vmm_path = optarg; break;
		case O_FW: p.firmware = optarg; break;
		case O_STATE: p.state_dir = optarg; break;
		case O_VMMTO:
			if (seconds("--vmm-timeout", optarg, &v))
				return VG_EXIT_USAGE;
			p.timeout_s = (unsigned)v;
			break;
		case O_VMMARG:
			if (p.n_vmm_args == AG_VMM_ARGS_MAX) {
				fprintf(stderr, "vigil-agent: more than %d --vmm-arg\n", AG_VMM_ARGS_MAX);
				return VG_EXIT_USAGE;
			}
			p.vmm_args[p.n_vmm_args++] = optarg;
			break;
		case O_RD: rd = optarg; break;
		case O_INITDATA: init_path = optarg; break;
		case O_INITFMT: init_fmt = optarg; break;
		case O_NOINITCHK: c.no_init_data_check = true; break;
		case O_JSON: json = true; break;
		case 'v': vg_log_set_level(VG_LOG_DEBUG); break;
		case O_HELP: usage(stdout); return VG_EXIT_OK;
		case O_VERSION: printf("vigil-agent %s\n", VG_VERSION); return VG_EXIT_OK;
		default: usage(stderr); return VG_EXIT_USAGE;
		}
	}
	/* Positional arguments: the command, then (get-resource) the resource path. */
	const char *pos[3] = { 0 };
	int npos = 0;
	for (int i = optind; i < argc; i++) {
		if (npos == 3) {
			fprintf(stderr, "vigil-agent: unexpected argument \"%s\"\n", argv[i]);
			return VG_EXIT_USAGE;
		}
		pos[npos++] = argv[i];
	}
	if (!npos) {
		usage(stderr);
		return VG_EXIT_USAGE;
	}
	const char *cmd = pos[0];
	if (init_path && (!strcmp(cmd, "init-data") || !strcmp(cmd, "evidence"))) {
		fprintf(stderr, "vigil-agent %s: --init-data goes with attest and get-resource\n", cmd);
		return VG_EXIT_USAGE;
	}
	if (!strcmp(cmd, "init-data")) {
		if (npos != 3 || strcmp(pos[1], "digest")) {
			fprintf(stderr, "vigil-agent init-data: usage: vigil-agent init-data digest FILE\n");
			return VG_EXIT_USAGE;
		}
		return cmd_init_data_digest(pos[2], init_fmt, json);
	}
	if (!strcmp(cmd, "evidence")) {
		if (npos != 1) {
			fprintf(stderr, "vigil-agent evidence: unexpected argument \"%s\"\n", pos[1]);
			return VG_EXIT_USAGE;
		}
		return cmd_evidence(&p, rd);
	}
	if (strcmp(cmd, "attest") && strcmp(cmd, "get-resource")) {
		fprintf(stderr, "vigil-agent: unknown command \"%s\" (get-resource, attest, evidence, init-data)\n",
			cmd);
		return VG_EXIT_USAGE;
	}
	if (!c.url) {
		fprintf(stderr, "vigil-agent %s: --url URL is required\n", cmd);
		return VG_EXIT_USAGE;
	}
	/* init-data is read and checked (format, algorithm) before anything runs. */
	struct ag_init_data idata;
	if (init_path) {
		if (ag_init_data_load(init_path, init_fmt, &idata, &err)) {
			fprintf(stderr, "vigil-agent %s: %s\n", cmd, err.msg);
			return VG_EXIT_USAGE;
		}
		c.init_data = &idata;
		vg_info("init-data %s (%s): HOST_DATA would be %02x%02x..., MRCONFIGID %02x%02x...", init_path,
			idata.format, idata.snp[0], idata.snp[1], idata.tdx[0], idata.tdx[1]);
	} else if (init_fmt || c.no_init_data_check) {
		fprintf(stderr, "vigil-agent %s: --init-data-format and --no-init-data-check need --init-data FILE\n",
			cmd);
		return VG_EXIT_USAGE;
	}
	int rc;
	if (!strcmp(cmd, "attest")) {
		if (npos != 1) {
			fprintf(stderr, "vigil-agent attest: unexpected argument \"%s\"\n", pos[1]);
			rc = VG_EXIT_USAGE;
			goto out;
		}
		rc = cmd_attest(&c, json);
	} else if (npos != 2) {
		fprintf(stderr, "vigil-agent get-resource: exactly one REPOSITORY/TYPE/TAG is required\n");
		rc = VG_EXIT_USAGE;
	} else {
		rc = cmd_get_resource(&c, pos[1], out, json);
	}
out:
	if (init_path)
		ag_init_data_free(&idata);
	return rc;
}
