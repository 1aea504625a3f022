/* Untrusted JSON to one object (jansson), the parse every body, token payload and
 * document reader starts with. */
#include "common/common.h"

#include <jansson.h>

int vg_json_parse_object(const void *buf, size_t len, const char *what, json_t **out, struct vg_err *err)
{
	*out = NULL;
	if (!buf || !len)
		return vg_err_set(err, EINVAL, "%s: empty", what);
	json_error_t je;
	json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!v)
		return vg_err_set(err, EINVAL, "%s: not valid JSON (%s at offset %d)", what, je.text, je.position);
	if (!json_is_object(v)) {
		json_decref(v);
		return vg_err_set(err, EINVAL, "%s: not a JSON object", what);
	}
	*out = v;
	return 0;
}
