/* vigil-attestd: the remote-attestation service (KBS protocol 0.4.0). */
#include <stdio.h>
#include <string.h>

#include "attestd/attestd.h"

int main(int argc, char **argv)
{
	vg_log_init("vigil-attestd", VG_LOG_INFO);
	if (argc > 1 && !strcmp(argv[1], "audit"))
		return ad_cmd_audit(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "rotate-kek"))
		return ad_cmd_rotate_kek(argc - 1, argv + 1);
	static struct ad_config cfg;
	struct vg_err e = {0};
	int rc = ad_config_parse(argc, argv, &cfg, &e);
	if (rc == 1)
		return VG_EXIT_OK;
	if (rc) {
		fprintf(stderr, "vigil-attestd: %s\n", e.msg);
		return VG_EXIT_USAGE;
	}
	if (cfg.debug)
		vg_log_set_level(VG_LOG_DEBUG);
	static struct ad_service svc;
	if (ad_service_init(&svc, &cfg, &e)) {
		ad_log(VG_LOG_ERROR, "startup_failed", json_pack("{s:s}", "msg", e.msg));
		ad_service_free(&svc);
		return VG_EXIT_USAGE;
	}
	rc = ad_serve(&svc, &e);
	if (rc)
		ad_log(VG_LOG_ERROR, "serve_failed", json_pack("{s:s}", "msg", e.msg));
	ad_service_free(&svc);
	return rc ? VG_EXIT_USAGE : VG_EXIT_OK;
}
