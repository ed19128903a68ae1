/*
 * api_envcheck.c — what an environment needs and what it finds:
 *
 *   field / route                     | meaning
 *   ----------------------------------+-------------------------------------------
 *   Environment.python                | its interpreter ("python3" when absent)
 *   Environment.requires              | Python modules it cannot work without;
 *                                     | one missing = "available": false
 *   Environment.probe                 | the `env check` command (1..16 strings)
 *   POST /environments/{name}/check   | runs the probe (hub_envcheck.c) and
 *                                     | answers its report when it has finished
 *
 * The check answers later, from a worker's result: the request is held, and
 * a guard in its memory pool tells the callback when the client has gone.
 */
#include "api/api_int.h"
#include "common/err.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

static int module_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '.' || s[n - 1] == '.' || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '.'))
			return 0;
	return 1;
}

int api_env_needs(api_req_t *r, json_t *spec)
{
	json_t *python = json_object_get(r->body, "python"), *req = json_object_get(r->body, "requires");
	json_t *probe = json_object_get(r->body, "probe"), *v;
	size_t i;

	if (python && (!json_is_string(python) || json_string_length(python) == 0 || json_string_length(python) > 120)) {
		http_send_error(r->req, 400, "invalid", "python", "field 'python' must be a command of 1 to 120 characters");
		return -1;
	}
	if (req && (!json_is_array(req) || json_array_size(req) > 8)) {
		http_send_error(r->req, 400, "invalid", "requires", "field 'requires' must be a list of at most 8 module names");
		return -1;
	}
	json_array_foreach(req, i, v) {
		if (!json_is_string(v) || !module_name_ok(json_string_value(v))) {
			http_send_error(r->req, 400, "invalid", "requires", "requires[%zu] must be a Python module name", i);
			return -1;
		}
	}
	if (probe && (!json_is_array(probe) || json_array_size(probe) == 0 || json_array_size(probe) > 16)) {
		http_send_error(r->req, 400, "invalid", "probe", "field 'probe' must be a command of 1 to 16 strings");
		return -1;
	}
	json_array_foreach(probe, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 1024) {
			http_send_error(r->req, 400, "invalid", "probe", "probe[%zu] must be a non-empty string", i);
			return -1;
		}
	}
	if (python)
		json_object_set(spec, "python", python);
	if (req)
		json_object_set(spec, "requires", req);
	if (probe)
		json_object_set(spec, "probe", probe);
	return 0;
}

/* --- POST /environments/{name}/check --- */

typedef struct {
	h2o_req_t *req;                  /* NULL once the client has gone */
	void **guard;                    /* in req's pool: points back here */
} pending_t;

static void on_req_gone(void *guard)
{
	pending_t *p = *(pending_t **)guard;
	if (p)
		p->req = NULL;
}

static void on_checked(void *ctx, int rc, const char *why, const char *report)
{
	pending_t *p = ctx;

	if (p->req) {
		*p->guard = NULL;
		if (rc == 0)
			http_send_text(p->req, 200, "application/json", report, strlen(report));
		else
			http_send_error(p->req, gh_err_http(rc), gh_errcode(rc), NULL, "%s", why && why[0] ? why : gh_strerror(rc));
	}
	free(p);
}

void api_env_check(api_req_t *r)
{
	static const char *const allowed[] = {"gpus", NULL};
	int milli, rc;
	char why[HUB_WHY] = "";
	pending_t *p;

	if (api_only_fields(r, allowed) || api_gpus(r, &milli) < 0)
		return;
	if (!(p = calloc(1, sizeof(*p)))) {
		api_error_rc(r, GH_ENOMEM, NULL);
		return;
	}
	p->req = r->req;
	p->guard = h2o_mem_alloc_shared(&r->req->pool, sizeof(void *), on_req_gone);
	*p->guard = p;
	if ((rc = hub_env_check(r->hub, r->params[0], r->user, milli, on_checked, p, why, sizeof(why))) != 0) {
		*p->guard = NULL;
		free(p);
		api_error_rc(r, rc, why);
	}
}
