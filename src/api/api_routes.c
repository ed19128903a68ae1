/*
 * api_routes.c — the handlers of docs/api.md and the route table.
 * Each handler: read params/body with the api_* validators (which answer
 * 4xx themselves), call the hub, answer with the JSON view.
 */
#include "api/api_int.h"
#include "auth/auth.h"
#include "common/err.h"
#include "common/util.h"
#include "common/version.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_gpus_to_milli(double gpus, int *milli, char *why, size_t whylen)
{
	if (!(gpus >= 0) || gpus > 64) {
		snprintf(why, whylen, "field 'gpus' must be from 0 to 64");
		return GH_EINVAL;
	}
	if (gpus >= 1 && gpus != floor(gpus)) {
		snprintf(why, whylen, "field 'gpus' must be a whole number of GPUs, or a fraction below 1 such as 0.5");
		return GH_EINVAL;
	}
	if (gpus > 0 && gpus < 1 && (gpus < 0.001 || fabs(gpus * 1000 - floor(gpus * 1000 + 0.5)) > 1e-6)) {
		snprintf(why, whylen, "a GPU fraction must be a multiple of 0.001");
		return GH_EINVAL;
	}
	*milli = (int)floor(gpus * 1000 + 0.5);
	return 0;
}

int api_gpus(api_req_t *r, int *milli)
{
	double gpus = -1;
	char why[HUB_WHY] = "";
	*milli = -1;
	if (api_num(r, "gpus", 0, 0, 64, &gpus) < 0)
		return -1;
	if (gpus >= 0 && api_gpus_to_milli(gpus, milli, why, sizeof(why)) != 0) {
		*milli = -1;
		http_send_error(r->req, 400, "invalid", "gpus", "%s", why);
		return -1;
	}
	return 0;
}

static void reply(api_req_t *r, int status, json_t *o) { http_send_json(r->req, status, o); }

static json_t *items(json_t *arr) { return json_pack("{s:o}", "items", arr); }

/* --- health, openapi, login --- */

static void h_health(api_req_t *r)
{
	reply(r, 200, json_pack("{s:s,s:s,s:b,s:s}", "status", "ok", "version", GH_VERSION, "gpus_simulated",
	                        hub_gpus_simulated(r->hub), "gpu_source", hub_gpu_source(r->hub)));
}

static void h_openapi(api_req_t *r)
{
	if (!r->api->openapi) {
		http_send_error(r->req, 404, "not_found", NULL, "the OpenAPI document is not installed");
		return;
	}
	http_send_text(r->req, 200, "application/json", r->api->openapi, r->api->openapi_len);
}

static void h_login(api_req_t *r)
{
	static const char *const allowed[] = {"username", "password", NULL};
	const char *user, *pw;
	char secret[AUTH_TOKEN_LEN + 1], cookie[256];
	int64_t exp;
	const gh_user_t *u;

	if (api_only_fields(r, allowed) || api_str(r, "username", 1, 63, &user) < 0 ||
	    api_str(r, "password", 1, 1024, &pw) < 0)
		return;
	if (hub_login(r->hub, user, pw, secret, sizeof(secret), &exp, &u) != 0) {
		http_send_error(r->req, 401, "unauthenticated", NULL, "wrong user name or password");
		return;
	}
	snprintf(cookie, sizeof(cookie), "gpuhub_session=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s", secret,
	         hub_config(r->hub)->login_ttl_hours * 3600, hub_config(r->hub)->cookie_secure ? "; Secure" : "");
	http_add_header(r->req, "set-cookie", cookie);
	reply(r, 200, json_pack("{s:o,s:o}", "user", api_user_json(u), "expires_at", api_time(exp)));
}

static void h_logout(api_req_t *r)
{
	char secret[600];
	if (r->token_kind == GH_TOKEN_LOGIN && http_cookie(r->req, "gpuhub_session", secret, sizeof(secret)) == 1)
		hub_logout(r->hub, secret);
	http_add_header(r->req, "set-cookie", "gpuhub_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
	http_send_status(r->req, 204);
}

static void h_me(api_req_t *r) { reply(r, 200, api_user_json(r->user)); }

/* --- environments --- */

static void h_env_list(api_req_t *r)
{
	json_t *arr = json_array();
	for (int i = 0; i < hub_env_count(r->hub); i++)
		json_array_append_new(arr, api_env_json(r->hub, hub_env_at(r->hub, i)));
	reply(r, 200, items(arr));
}

static void h_env_get(api_req_t *r)
{
	const gh_env_t *e = hub_env_find(r->hub, r->params[0]);
	if (!e) {
		http_send_error(r->req, 404, "not_found", NULL, "no environment named '%s'", r->params[0]);
		return;
	}
	reply(r, 200, api_env_json(r->hub, e));
}

/* Checks a launch spec: {"<runtime>":{"command":["...",...]}, ...}. */
static int check_launch(api_req_t *r, json_t *launch)
{
	const char *rt;
	json_t *spec, *cmd, *ready, *v;
	size_t i;

	if (!json_is_object(launch)) {
		http_send_error(r->req, 400, "invalid", "launch", "field 'launch' must be an object keyed by runtime");
		return -1;
	}
	json_object_foreach(launch, rt, spec) {
		if (strcmp(rt, "local") != 0 && strcmp(rt, "kubernetes") != 0 && strcmp(rt, "slurm") != 0) {
			http_send_error(r->req, 400, "invalid", "launch", "unknown runtime '%s' in 'launch'", rt);
			return -1;
		}
		cmd = json_object_get(spec, "command");
		ready = json_object_get(spec, "ready");
		if (!json_is_object(spec) || json_object_size(spec) != 1u + (ready != NULL) || !json_is_array(cmd) ||
		    json_array_size(cmd) == 0 || json_array_size(cmd) > 32) {
			http_send_error(r->req, 400, "invalid", "launch",
			                "launch.%s must be {\"command\":[...], \"ready\"?: \"path\"} with 1 to 32 strings",
			                rt);
			return -1;
		}
		if (ready && (!json_is_string(ready) || json_string_length(ready) > 200 ||
		              strstr(json_string_value(ready), ".."))) {
			http_send_error(r->req, 400, "invalid", "launch",
			                "launch.%s.ready must be a path below the session URL (\"\" = process running)", rt);
			return -1;
		}
		json_array_foreach(cmd, i, v) {
			if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 1024) {
				http_send_error(r->req, 400, "invalid", "launch", "launch.%s.command[%zu] must be a non-empty string",
				                rt, i);
				return -1;
			}
		}
	}
	return 0;
}

static void h_env_create(api_req_t *r)
{
	static const char *const allowed[] = {"name", "display_name", "interface", "labels", "launch",
	                                      "default_gpus", "max_gpus", "default_cpu_milli", "max_cpu_milli",
	                                      "default_memory_mib", "max_memory_mib", "python", "requires", "probe",
	                                      "gpu_mode", NULL};
	const char *name, *display = NULL, *iface, *key, *gpu_mode = NULL;
	double dg = 1, mg = 8;
	long long dc = 2000, mc = 64000, dm = 8192, mm = 1048576;
	json_t *labels = json_object_get(r->body, "labels"), *launch = json_object_get(r->body, "launch"), *v, *spec;
	const gh_env_t *e;
	char why[HUB_WHY], *text;
	int rc;

	if (api_only_fields(r, allowed) || api_str(r, "name", 1, 63, &name) < 0 ||
	    api_str(r, "display_name", 0, 128, &display) < 0 || api_str(r, "interface", 1, 15, &iface) < 0 ||
	    api_num(r, "default_gpus", 0, 0, 64, &dg) < 0 || api_num(r, "max_gpus", 0, 0, 64, &mg) < 0 ||
	    api_int(r, "default_cpu_milli", 0, 100, 1024000, &dc) < 0 ||
	    api_int(r, "max_cpu_milli", 0, 100, 1024000, &mc) < 0 ||
	    api_int(r, "default_memory_mib", 0, 64, 16777216, &dm) < 0 ||
	    api_int(r, "max_memory_mib", 0, 64, 16777216, &mm) < 0 || api_str(r, "gpu_mode", 0, 15, &gpu_mode) < 0)
		return;
	if (gpu_mode && strcmp(gpu_mode, "session") != 0 && strcmp(gpu_mode, "kernel") != 0) {
		http_send_error(r->req, 400, "invalid", "gpu_mode", "field 'gpu_mode' must be 'session' or 'kernel'");
		return;
	}
	if (!gh_name_valid(name)) {
		http_send_error(r->req, 400, "invalid", "name", "field 'name' must match [a-z0-9][a-z0-9._-]{0,62}");
		return;
	}
	if (strcmp(iface, "jupyter") != 0 && strcmp(iface, "vscode") != 0) {
		http_send_error(r->req, 400, "invalid", "interface", "field 'interface' must be 'jupyter' or 'vscode'");
		return;
	}
	if (labels && !json_is_object(labels)) {
		http_send_error(r->req, 400, "invalid", "labels", "field 'labels' must be an object of strings");
		return;
	}
	json_object_foreach(labels, key, v) {
		if (!json_is_string(v) || strlen(key) > 63 || json_string_length(v) > 128) {
			http_send_error(r->req, 400, "invalid", "labels", "label '%s' must be a string of at most 128 characters",
			                key);
			return;
		}
	}
	if (launch && check_launch(r, launch))
		return;
	if (dg > mg || dc > mc || dm > mm) {
		http_send_error(r->req, 400, "invalid", dg > mg ? "default_gpus" : dc > mc ? "default_cpu_milli" : "default_memory_mib",
		                "a default is larger than its maximum");
		return;
	}
	if ((dg >= 1 && dg != floor(dg)) || (mg >= 1 && mg != floor(mg))) {
		http_send_error(r->req, 400, "invalid", "default_gpus", "GPU counts of 1 or more must be whole numbers");
		return;
	}
	spec = json_pack("{s:s,s:s,s:s,s:O,s:O*,s:f,s:f,s:I,s:I,s:I,s:I}", "name", name, "display_name",
	                 display ? display : name, "interface", iface, "labels", labels ? labels : json_object(),
	                 "launch", launch, "default_gpus", dg, "max_gpus", mg, "default_cpu_milli", (json_int_t)dc,
	                 "max_cpu_milli", (json_int_t)mc, "default_memory_mib", (json_int_t)dm, "max_memory_mib",
	                 (json_int_t)mm);
	if (!labels)
		json_decref(json_object_get(spec, "labels")); /* the fresh object was O-referenced */
	if (api_env_needs(r, spec)) {
		json_decref(spec);
		return;
	}
	if (gpu_mode && strcmp(gpu_mode, "kernel") == 0 && strcmp(iface, "jupyter") != 0) {
		json_decref(spec);
		http_send_error(r->req, 400, "invalid", "gpu_mode", "gpu_mode 'kernel' needs interface 'jupyter'");
		return;
	}
	json_object_set_new(spec, "gpu_mode", json_string(gpu_mode ? gpu_mode : "session"));
	if (!launch)
		json_object_set_new(spec, "launch", json_pack("{s:{s:o,s:s}}", "local", "command",
		                                              json_loads(hub_env_default_command(), 0, NULL), "ready", ""));
	text = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	why[0] = '\0';
	rc = text ? hub_env_create(r->hub, name, text, r->user->id, &e, why, sizeof(why)) : GH_ENOMEM;
	free(text);
	if (rc) {
		api_error_rc(r, rc, why);
		return;
	}
	reply(r, 201, api_env_json(r->hub, e));
}

static void h_env_delete(api_req_t *r)
{
	char why[HUB_WHY] = "";
	int rc = hub_env_delete(r->hub, r->params[0], r->user->id, why, sizeof(why));
	if (rc)
		api_error_rc(r, rc, why);
	else
		http_send_status(r->req, 204);
}

/* --- sessions --- */

static int query_int(api_req_t *r, const char *key, long lo, long hi, long *out)
{
	char buf[32], *end;
	int rc = http_query(r->req, key, buf, sizeof(buf));
	long v;
	if (rc == 0)
		return 0;
	v = rc > 0 ? strtol(buf, &end, 10) : 0;
	if (rc < 0 || !buf[0] || *end || v < lo || v > hi) {
		http_send_error(r->req, 400, "invalid", key, "query parameter '%s' must be an integer from %ld to %ld", key,
		                lo, hi);
		return -1;
	}
	*out = v;
	return 1;
}

static void h_session_list(api_req_t *r)
{
	char state[32] = "", env[64] = "", user[64] = "", all[8] = "";
	long limit = 50, offset = 0;
	gh_sess_state_t st = GH_SESS_QUEUED;
	const gh_user_t *filter_user = r->user;
	const char **page;
	char *buf;
	size_t len = 0, off;
	int i, total = 0, npage = 0, admin = r->user->role == GH_ROLE_ADMIN, live;

	if (query_int(r, "limit", 1, 1000, &limit) < 0 || query_int(r, "offset", 0, 1000000000, &offset) < 0)
		return;
	if (http_query(r->req, "state", state, sizeof(state)) < 0 || http_query(r->req, "env", env, sizeof(env)) < 0 ||
	    http_query(r->req, "user", user, sizeof(user)) < 0 || http_query(r->req, "all", all, sizeof(all)) < 0) {
		http_send_error(r->req, 400, "invalid", NULL, "a query parameter is too long or badly encoded");
		return;
	}
	if (state[0] && gh_sess_state_parse(state, &st) != 0) {
		http_send_error(r->req, 400, "invalid", "state", "unknown state '%s'", state);
		return;
	}
	if (all[0] && strcmp(all, "true") != 0 && strcmp(all, "false") != 0) {
		http_send_error(r->req, 400, "invalid", "all", "query parameter 'all' must be true or false");
		return;
	}
	if ((user[0] || strcmp(all, "true") == 0) && !admin) {
		http_send_error(r->req, 403, "forbidden", user[0] ? "user" : "all",
		                "only an admin may list other users' sessions");
		return;
	}
	if (user[0]) {
		filter_user = hub_user_find(r->hub, user);
		if (!filter_user) {
			http_send_error(r->req, 404, "not_found", "user", "no user named '%s'", user);
			return;
		}
	} else if (strcmp(all, "true") == 0) {
		filter_user = NULL;
	}
	/* pass 1: pick the page; pass 2: one buffer, no JSON tree */
	page = h2o_mem_alloc_pool(&r->req->pool, sizeof(*page) * (size_t)limit);
	/* a live state is looked up among the live sessions only */
	live = state[0] && !gh_sess_state_ended(st);
	for (i = 0; i < (live ? hub_live_count(r->hub) : hub_session_count(r->hub)); i++) {
		const hub_session_t *hs = live ? hub_live_at(r->hub, i) : hub_session_at(r->hub, i);
		if (filter_user && hs->s.user_id != filter_user->id)
			continue;
		if (state[0] && hs->s.state != st)
			continue;
		if (env[0] && strcmp(hs->s.env_name, env) != 0)
			continue;
		if (total >= offset && total < offset + limit) {
			page[npage] = api_session_view(r->hub, hs);
			if (!page[npage]) {
				api_error_rc(r, GH_ENOMEM, NULL);
				return;
			}
			len += strlen(page[npage]) + 1;
			npage++;
		}
		total++;
	}
	buf = h2o_mem_alloc_pool(&r->req->pool, len + 128);
	off = (size_t)sprintf(buf, "{\"items\":[");
	for (i = 0; i < npage; i++) {
		size_t l = strlen(page[i]);
		if (i)
			buf[off++] = ',';
		memcpy(buf + off, page[i], l);
		off += l;
	}
	off += (size_t)sprintf(buf + off, "],\"total\":%d,\"limit\":%ld,\"offset\":%ld}", total, limit, offset);
	http_send_text(r->req, 200, "application/json", buf, off);
}

static void h_session_create(api_req_t *r)
{
	static const char *const allowed[] = {"env", "name", "gpus", "gpu_model", NULL};
	const char *env, *name, *model = NULL;
	int milli;
	hub_launch_t req;
	const hub_session_t *hs;
	char why[HUB_WHY] = "";
	int rc;

	if (api_only_fields(r, allowed) || api_str(r, "env", 1, 63, &env) < 0 || api_str(r, "name", 1, 63, &name) < 0)
		return;
	if (!gh_name_valid(name)) {
		http_send_error(r->req, 400, "invalid", "name", "field 'name' must match [a-z0-9][a-z0-9._-]{0,62}");
		return;
	}
	if (api_gpus(r, &milli) < 0 || api_str(r, "gpu_model", 0, GH_MODEL_MAX - 1, &model) < 0)
		return;
	req.env = env;
	req.name = name;
	req.gpu_milli = milli;
	req.gpu_model = model;
	rc = hub_session_create(r->hub, r->user, &req, &hs, why, sizeof(why));
	if (rc) {
		if (rc == GH_EINVAL)
			http_send_error(r->req, 400, "invalid", strstr(why, "model") ? "gpu_model" : "gpus", "%s", why);
		else if (rc == GH_ENOTFOUND)
			http_send_error(r->req, 400, "invalid", "env", "%s", why);
		else
			api_error_rc(r, rc, why);
		return;
	}
	reply(r, 201, api_session_json(r->hub, hs));
}

static void h_session_get(api_req_t *r)
{
	const hub_session_t *hs = api_session_param(r, 1);
	const char *view = hs ? api_session_view(r->hub, hs) : NULL;
	if (view)
		http_send_text(r->req, 200, "application/json", view, strlen(view));
	else if (hs)
		api_error_rc(r, GH_ENOMEM, NULL);
}

static void h_session_stop(api_req_t *r)
{
	const hub_session_t *hs = api_session_param(r, 1);
	int64_t id;
	int rc;
	if (!hs)
		return;
	id = hs->s.id;
	rc = hub_session_stop(r->hub, id, r->user->id, "stopped by its user");
	if (rc) {
		api_error_rc(r, rc, NULL);
		return;
	}
	reply(r, 200, api_session_json(r->hub, hub_session_get(r->hub, id)));
}

static void h_session_delete(api_req_t *r)
{
	const hub_session_t *hs = api_session_param(r, 1);
	char force[8] = "", why[HUB_WHY] = "";
	int rc;
	if (!hs)
		return;
	if (http_query(r->req, "force", force, sizeof(force)) < 0 ||
	    (force[0] && strcmp(force, "true") != 0 && strcmp(force, "false") != 0)) {
		http_send_error(r->req, 400, "invalid", "force", "query parameter 'force' must be true or false");
		return;
	}
	rc = hub_session_delete(r->hub, hs->s.id, strcmp(force, "true") == 0, r->user->id, why, sizeof(why));
	if (rc)
		api_error_rc(r, rc, why);
	else
		http_send_status(r->req, 204);
}

static void h_session_events(api_req_t *r)
{
	if (api_session_param(r, 1))
		api_session_events(r);
}

static void h_session_logs(api_req_t *r)
{
	const hub_session_t *hs = api_session_param(r, 1);
	char path[CONFIG_STR + 80], *buf;
	long tail = 200, size, from;
	size_t n, lines = 0, start;
	FILE *f;

	if (!hs || query_int(r, "tail", 1, 10000, &tail) < 0)
		return;
	hub_session_log_path(r->hub, hs->s.id, path, sizeof(path));
	f = fopen(path, "r");
	if (!f) {
		http_send_text(r->req, 200, "text/plain; charset=utf-8", "", 0);
		return;
	}
	/* read at most 1 MiB from the end, then keep the last `tail` lines */
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	from = size > (1 << 20) ? size - (1 << 20) : 0;
	fseek(f, from, SEEK_SET);
	buf = h2o_mem_alloc_pool(&r->req->pool, (size_t)(size - from) + 1);
	n = fread(buf, 1, (size_t)(size - from), f);
	fclose(f);
	start = n;
	if (start > 0 && buf[start - 1] == '\n')
		start--;
	while (start > 0) {
		if (buf[start - 1] == '\n' && ++lines == (size_t)tail)
			break;
		start--;
	}
	http_send_text(r->req, 200, "text/plain; charset=utf-8", buf + start, n - start);
}

/* --- GPUs --- */

static void h_gpu_list(api_req_t *r)
{
	json_t *arr = json_array();
	for (int i = 0; i < hub_gpu_count(r->hub); i++)
		json_array_append_new(arr, api_gpu_json(r->hub, hub_gpu_at(r->hub, i), r->user));
	reply(r, 200, json_pack("{s:s,s:b,s:o}", "source", hub_gpu_source(r->hub), "simulated",
	                        hub_gpus_simulated(r->hub), "items", arr));
}

static void h_gpu_fault(api_req_t *r)
{
	static const char *const allowed[] = {"type", "xid", NULL};
	const char *type;
	long long xid = 79;
	char *end;
	long idx = strtol(r->params[0], &end, 10);
	gh_gpu_event_type_t t;
	int rc;

	if (*end || r->params[0][0] < '0' || r->params[0][0] > '9' || idx >= hub_gpu_count(r->hub)) {
		http_send_error(r->req, 404, "not_found", NULL, "no GPU with index '%s'", r->params[0]);
		return;
	}
	if (api_only_fields(r, allowed) || api_str(r, "type", 1, 16, &type) < 0 ||
	    api_int(r, "xid", 0, 1, 1000, &xid) < 0)
		return;
	if (strcmp(type, "xid") == 0)
		t = GH_GPU_EV_XID;
	else if (strcmp(type, "lost") == 0)
		t = GH_GPU_EV_LOST;
	else if (strcmp(type, "clear") == 0)
		t = GH_GPU_EV_CLEARED;
	else {
		http_send_error(r->req, 400, "invalid", "type", "field 'type' must be 'xid', 'lost' or 'clear'");
		return;
	}
	rc = hub_gpu_fault(r->hub, (int)idx, t, (int)xid, r->user->id);
	if (rc == GH_EUNSUPPORTED) {
		http_send_error(r->req, 409, "conflict", NULL, "fault injection needs simulated GPUs");
		return;
	}
	if (rc) {
		api_error_rc(r, rc, NULL);
		return;
	}
	reply(r, 200, api_gpu_json(r->hub, hub_gpu_at(r->hub, (int)idx), r->user));
}

/* --- users --- */

static void h_user_list(api_req_t *r)
{
	json_t *arr = json_array();
	for (int i = 0; i < hub_user_count(r->hub); i++)
		json_array_append_new(arr, api_user_json(hub_user_at(r->hub, i)));
	reply(r, 200, items(arr));
}

static int read_role(api_req_t *r, gh_role_t *role)
{
	const char *s;
	int rc = api_str(r, "role", 0, 16, &s);
	if (rc <= 0)
		return rc;
	if (strcmp(s, "admin") == 0)
		*role = GH_ROLE_ADMIN;
	else if (strcmp(s, "user") == 0)
		*role = GH_ROLE_USER;
	else {
		http_send_error(r->req, 400, "invalid", "role", "field 'role' must be 'admin' or 'user'");
		return -1;
	}
	return 1;
}

/* Reads the editable user fields into u; -1 answered. */
static int read_user_fields(api_req_t *r, gh_user_t *u, const char **password)
{
	const char *dn = NULL, *email = NULL, *group = NULL;
	int dis = u->disabled;
	if (api_str(r, "password", 0, 1024, password) < 0 || api_str(r, "display_name", 0, 128, &dn) < 0 ||
	    api_str(r, "email", 0, 254, &email) < 0 || api_str(r, "group", 0, 63, &group) < 0 || read_role(r, &u->role) < 0 ||
	    api_bool(r, "disabled", 0, &dis) < 0)
		return -1;
	if (group && group[0] && !gh_name_valid(group)) {
		http_send_error(r->req, 400, "invalid", "group", "field 'group' must match [a-z0-9][a-z0-9._-]{0,62}");
		return -1;
	}
	if (email && email[0] && !strchr(email, '@')) {
		http_send_error(r->req, 400, "invalid", "email", "field 'email' must be an e-mail address");
		return -1;
	}
	if (dn)
		gh_strlcpy(u->display_name, dn, sizeof(u->display_name));
	if (email)
		gh_strlcpy(u->email, email, sizeof(u->email));
	if (group)
		gh_strlcpy(u->group, group, sizeof(u->group));
	u->disabled = dis;
	return 0;
}

static void h_user_create(api_req_t *r)
{
	static const char *const allowed[] = {"name", "password", "role", "display_name", "email", "group", NULL};
	const char *name, *pw = NULL;
	gh_user_t u;
	const gh_user_t *out;
	char why[HUB_WHY] = "";
	int rc;

	memset(&u, 0, sizeof(u));
	if (api_only_fields(r, allowed) || api_str(r, "name", 1, 63, &name) < 0 || read_user_fields(r, &u, &pw))
		return;
	if (!gh_name_valid(name)) {
		http_send_error(r->req, 400, "invalid", "name", "field 'name' must match [a-z0-9][a-z0-9._-]{0,62}");
		return;
	}
	gh_strlcpy(u.name, name, sizeof(u.name));
	rc = hub_user_create(r->hub, &u, pw, r->user->id, &out, why, sizeof(why));
	if (rc == GH_EINVAL)
		http_send_error(r->req, 400, "invalid", "password", "%s", why);
	else if (rc)
		api_error_rc(r, rc, why);
	else
		reply(r, 201, api_user_json(out));
}

static void h_user_get(api_req_t *r)
{
	const gh_user_t *u = hub_user_find(r->hub, r->params[0]);
	if (!u || (r->user->role != GH_ROLE_ADMIN && u->id != r->user->id)) {
		http_send_error(r->req, 404, "not_found", NULL, "no user named '%s'", r->params[0]);
		return;
	}
	reply(r, 200, api_user_json(u));
}

static void h_user_patch(api_req_t *r)
{
	static const char *const allowed[] = {"password", "role", "display_name", "email", "group", "disabled", NULL};
	const gh_user_t *cur = hub_user_find(r->hub, r->params[0]), *out;
	const char *pw = NULL;
	gh_user_t u;
	char why[HUB_WHY] = "";
	int rc;

	if (!cur) {
		http_send_error(r->req, 404, "not_found", NULL, "no user named '%s'", r->params[0]);
		return;
	}
	u = *cur;
	if (api_only_fields(r, allowed) || read_user_fields(r, &u, &pw))
		return;
	rc = hub_user_update(r->hub, &u, pw, r->user->id, &out, why, sizeof(why));
	if (rc == GH_EINVAL)
		http_send_error(r->req, 400, "invalid", "password", "%s", why);
	else if (rc)
		api_error_rc(r, rc, why);
	else
		reply(r, 200, api_user_json(out));
}

static void h_user_delete(api_req_t *r)
{
	char why[HUB_WHY] = "";
	int rc = hub_user_delete(r->hub, r->params[0], r->user->id, why, sizeof(why));
	if (rc)
		api_error_rc(r, rc, why);
	else
		http_send_status(r->req, 204);
}

/* --- tokens --- */

static void h_token_list(api_req_t *r)
{
	json_t *arr = json_array();
	for (int i = 0; i < hub_token_count(r->hub); i++) {
		const gh_token_t *t = hub_token_at(r->hub, i);
		if (t->user_id == r->user->id && t->kind == GH_TOKEN_API)
			json_array_append_new(arr, api_token_json(t));
	}
	reply(r, 200, items(arr));
}

static void h_token_create(api_req_t *r)
{
	static const char *const allowed[] = {"note", "expires_in_days", NULL};
	const char *note = "";
	long long days = hub_config(r->hub)->token_ttl_days;
	char secret[AUTH_TOKEN_LEN + 1];
	const gh_token_t *t;
	json_t *o;
	int rc;

	/* an empty body means all defaults */
	if (api_only_fields(r, allowed) || api_str(r, "note", 0, 200, &note) < 0 ||
	    api_int(r, "expires_in_days", 0, 0, 3650, &days) < 0)
		return;
	rc = hub_token_create(r->hub, r->user->id, note, (int)days, secret, sizeof(secret), &t);
	if (rc) {
		api_error_rc(r, rc, NULL);
		return;
	}
	o = api_token_json(t);
	json_object_set_new(o, "token", json_string(secret));
	reply(r, 201, o);
}

static void h_token_delete(api_req_t *r)
{
	int64_t id;
	if (api_param_id(r, 0, &id))
		return;
	if (hub_token_revoke(r->hub, r->user->id, id) != 0) {
		http_send_error(r->req, 404, "not_found", NULL, "no token %lld", (long long)id);
		return;
	}
	http_send_status(r->req, 204);
}

const api_route_t api_routes[] = {
	{"GET", "/health", AUTH_NONE, 0, h_health},
	{"GET", "/openapi.json", AUTH_NONE, 0, h_openapi},
	{"GET", "/metrics", AUTH_NONE, 0, api_metrics},
	{"POST", "/login", AUTH_NONE, 1, h_login},
	{"POST", "/logout", AUTH_USER, 0, h_logout},
	{"GET", "/me", AUTH_USER, 0, h_me},
	{"GET", "/environments", AUTH_USER, 0, h_env_list},
	{"POST", "/environments", AUTH_ADMIN, 1, h_env_create},
	{"GET", "/environments/{name}", AUTH_USER, 0, h_env_get},
	{"DELETE", "/environments/{name}", AUTH_ADMIN, 0, h_env_delete},
	{"POST", "/environments/{name}/check", AUTH_USER, 2, api_env_check},
	{"GET", "/environments/{name}/idle", AUTH_USER, 0, api_env_idle_get},
	{"PUT", "/environments/{name}/idle", AUTH_ADMIN, 1, api_env_idle_put},
	{"GET", "/groups/{name}/idle", AUTH_ADMIN, 0, api_group_idle_get},
	{"PUT", "/groups/{name}/idle", AUTH_ADMIN, 1, api_group_idle_put},
	{"GET", "/sessions", AUTH_USER, 0, h_session_list},
	{"POST", "/sessions", AUTH_USER, 1, h_session_create},
	{"GET", "/sessions/{id}", AUTH_USER, 0, h_session_get},
	{"DELETE", "/sessions/{id}", AUTH_USER, 0, h_session_delete},
	{"POST", "/sessions/{id}/stop", AUTH_USER, 0, h_session_stop},
	{"POST", "/sessions/{id}/suspend", AUTH_USER, 0, api_session_suspend},
	{"POST", "/sessions/{id}/resume", AUTH_USER, 0, api_session_resume},
	{"POST", "/sessions/{id}/kernel-gpus", AUTH_NONE, 1, api_kernel_gpus_claim},
	{"DELETE", "/sessions/{id}/kernel-gpus/{pid}", AUTH_NONE, 0, api_kernel_gpus_release},
	{"GET", "/sessions/{id}/events", AUTH_USER, 0, h_session_events},
	{"GET", "/sessions/{id}/logs", AUTH_USER, 0, h_session_logs},
	{"GET", "/sessions/{id}/snapshots", AUTH_USER, 0, api_snap_session_list},
	{"POST", "/sessions/{id}/snapshots", AUTH_USER, 1, api_snap_create},
	{"GET", "/snapshots", AUTH_USER, 0, api_snap_list},
	{"POST", "/snapshots", AUTH_USER, API_BODY_RAW, api_snap_import},
	{"GET", "/snapshots/{id}", AUTH_USER, 0, api_snap_get},
	{"DELETE", "/snapshots/{id}", AUTH_USER, 0, api_snap_delete},
	{"POST", "/snapshots/{id}/restore", AUTH_USER, 1, api_snap_restore},
	{"GET", "/sessions/{id}/shell", AUTH_USER, 0, api_session_shell},
	{"GET", "/gpus", AUTH_USER, 0, h_gpu_list},
	{"POST", "/gpus/{index}/fault", AUTH_ADMIN, 1, h_gpu_fault},
	{"POST", "/gpus/{index}/unquarantine", AUTH_ADMIN, 0, api_h_gpu_unquarantine},
	{"GET", "/alerts", AUTH_ADMIN, 0, api_h_alert_list},
	{"GET", "/users", AUTH_ADMIN, 0, h_user_list},
	{"POST", "/users", AUTH_ADMIN, 1, h_user_create},
	{"GET", "/users/{name}", AUTH_USER, 0, h_user_get},
	{"PATCH", "/users/{name}", AUTH_ADMIN, 1, h_user_patch},
	{"DELETE", "/users/{name}", AUTH_ADMIN, 0, h_user_delete},
	{"GET", "/tokens", AUTH_USER, 0, h_token_list},
	{"POST", "/tokens", AUTH_USER, 2, h_token_create},
	{"DELETE", "/tokens/{id}", AUTH_USER, 0, h_token_delete},
	{"GET", "/usage", AUTH_USER, 0, api_usage},
	{NULL, NULL, 0, 0, NULL},
};
