/*
 * api_idle.c — suspend, resume and idle policies over REST:
 *
 *   POST /sessions/{id}/suspend        owner or admin; running → suspending
 *   POST /sessions/{id}/resume         owner or admin; suspended → queued
 *   GET  /environments/{name}/idle     the override and the policy in force
 *   PUT  /environments/{name}/idle     admin; replaces the override
 *   GET  /groups/{name}/idle           admin
 *   PUT  /groups/{name}/idle           admin; replaces the override
 *   POST   /sessions/{id}/kernel-gpus        a kernel launcher asks for GPUs
 *   DELETE /sessions/{id}/kernel-gpus/{pid}  and gives them back
 *                                      (both signed with the workspace token)
 *
 * A policy body is an object of any of gpu_idle_s, gpu_util_percent,
 * full_idle_s, max_lifetime_s, warn_s (integers; 0 turns a rule off; a
 * field left out is inherited from the layer below).
 */
#include "api/api_int.h"
#include "common/err.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void reply(api_req_t *r, int status, json_t *o) { http_send_json(r->req, status, o); }

void api_session_suspend(api_req_t *r)
{
	const hub_session_t *hs = api_session_param(r, 1);
	char why[HUB_WHY] = "", reason[GH_TEXT_MAX];
	int64_t id;
	int rc;
	if (!hs)
		return;
	id = hs->s.id;
	snprintf(reason, sizeof(reason), "suspended by %s", hs->s.user_id == r->user->id ? "its user" : "an administrator");
	if ((rc = hub_session_suspend(r->hub, id, r->user->id, reason, why, sizeof(why)))) {
		api_error_rc(r, rc, why);
		return;
	}
	reply(r, 200, api_session_json(r->hub, hub_session_get(r->hub, id)));
}

void api_session_resume(api_req_t *r)
{
	const hub_session_t *hs = api_session_param(r, 1);
	char why[HUB_WHY] = "";
	int64_t id;
	int rc;
	if (!hs)
		return;
	id = hs->s.id;
	if ((rc = hub_session_resume(r->hub, id, r->user->id, why, sizeof(why)))) {
		api_error_rc(r, rc, why);
		return;
	}
	reply(r, 200, api_session_json(r->hub, hub_session_get(r->hub, id)));
}

/* Reads a policy body; -1 when it answered 400. */
static int policy_body(api_req_t *r, idle_policy_t *p)
{
	static const char *const allowed[] = {"gpu_idle_s", "gpu_util_percent", "full_idle_s", "max_lifetime_s",
	                                      "warn_s", NULL};
	long long v[5] = {-1, -1, -1, -1, -1};
	if (api_only_fields(r, allowed) || api_int(r, "gpu_idle_s", 0, 0, 31536000, &v[0]) < 0 ||
	    api_int(r, "gpu_util_percent", 0, 0, 100, &v[1]) < 0 || api_int(r, "full_idle_s", 0, 0, 31536000, &v[2]) < 0 ||
	    api_int(r, "max_lifetime_s", 0, 0, 31536000, &v[3]) < 0 || api_int(r, "warn_s", 0, 0, 86400, &v[4]) < 0)
		return -1;
	p->gpu_idle_s = (int)v[0];
	p->gpu_util_pct = (int)v[1];
	p->full_idle_s = (int)v[2];
	p->max_lifetime_s = (int)v[3];
	p->warn_s = (int)v[4];
	return 0;
}

/* {"override": {...}, "effective": {...}} for an environment. */
static json_t *env_policy_json(hub_t *hub, const gh_env_t *e)
{
	json_t *spec = json_loads(e->spec, 0, NULL), *over = json_object_get(spec, "idle");
	const gh_config_t *cfg = hub_config(hub);
	idle_policy_t eff = {cfg->idle_gpu_idle_s, cfg->idle_gpu_util_pct, cfg->idle_full_idle_s,
	                     cfg->idle_max_lifetime_s, cfg->idle_warn_s}, o;
	json_t *v, *out;

	idle_policy_unset(&o);
	if (json_is_integer(v = json_object_get(over, "gpu_idle_s")))
		o.gpu_idle_s = (int)json_integer_value(v);
	if (json_is_integer(v = json_object_get(over, "gpu_util_percent")))
		o.gpu_util_pct = (int)json_integer_value(v);
	if (json_is_integer(v = json_object_get(over, "full_idle_s")))
		o.full_idle_s = (int)json_integer_value(v);
	if (json_is_integer(v = json_object_get(over, "max_lifetime_s")))
		o.max_lifetime_s = (int)json_integer_value(v);
	if (json_is_integer(v = json_object_get(over, "warn_s")))
		o.warn_s = (int)json_integer_value(v);
	idle_policy_merge(&eff, &o);
	out = json_pack("{s:s,s:o,s:o}", "environment", e->name, "override", hub_idle_policy_json(&o), "effective",
	                hub_idle_policy_json(&eff));
	json_decref(spec);
	return out;
}

void api_env_idle_get(api_req_t *r)
{
	const gh_env_t *e = hub_env_find(r->hub, r->params[0]);
	if (!e) {
		http_send_error(r->req, 404, "not_found", NULL, "no environment named '%s'", r->params[0]);
		return;
	}
	reply(r, 200, env_policy_json(r->hub, e));
}

void api_env_idle_put(api_req_t *r)
{
	idle_policy_t p;
	char why[HUB_WHY] = "";
	int rc;
	if (policy_body(r, &p))
		return;
	if ((rc = hub_env_idle_set(r->hub, r->params[0], &p, r->user->id, why, sizeof(why)))) {
		api_error_rc(r, rc, why);
		return;
	}
	reply(r, 200, env_policy_json(r->hub, hub_env_find(r->hub, r->params[0])));
}

static json_t *group_policy_json(hub_t *hub, const char *group)
{
	const idle_policy_t *p = hub_group_idle_get(hub, group);
	idle_policy_t none;
	idle_policy_unset(&none);
	return json_pack("{s:s,s:o}", "group", group, "override", hub_idle_policy_json(p ? p : &none));
}

void api_group_idle_get(api_req_t *r)
{
	if (!gh_name_valid(r->params[0])) {
		http_send_error(r->req, 400, "invalid", "name", "group name must match [a-z0-9][a-z0-9._-]{0,62}");
		return;
	}
	reply(r, 200, group_policy_json(r->hub, r->params[0]));
}

void api_group_idle_put(api_req_t *r)
{
	idle_policy_t p;
	char why[HUB_WHY] = "";
	int rc;
	if (policy_body(r, &p))
		return;
	if ((rc = hub_group_idle_set(r->hub, r->params[0], &p, r->user->id, why, sizeof(why)))) {
		api_error_rc(r, rc, why);
		return;
	}
	reply(r, 200, group_policy_json(r->hub, r->params[0]));
}

/* --- GPUs that follow the kernel: the launcher's calls (workspace token) --- */

/* The workspace token of "Authorization: token <hex>", or NULL (answered 401). */
static const char *workspace_token(api_req_t *r, char *out, size_t outlen)
{
	size_t len;
	const char *h = http_header(r->req, "authorization", &len);
	if (!h || len <= 6 || strncasecmp(h, "token ", 6) != 0 || len - 6 >= outlen) {
		http_send_error(r->req, 401, "unauthenticated", NULL,
		                "this call is for a session's own kernel launcher: send 'Authorization: token <workspace token>'");
		return NULL;
	}
	memcpy(out, h + 6, len - 6);
	out[len - 6] = '\0';
	return out;
}

void api_kernel_gpus_claim(api_req_t *r)
{
	static const char *const allowed[] = {"pid", NULL};
	char tok[64], why[HUB_WHY] = "";
	long long pid;
	int64_t id;
	hub_kgpu_answer_t a;
	int rc;

	if (api_param_id(r, 0, &id) || !workspace_token(r, tok, sizeof(tok)) || api_only_fields(r, allowed) ||
	    api_int(r, "pid", 1, 2, 4194304, &pid) < 0)
		return;
	rc = hub_kgpu_claim(r->hub, id, (int)pid, tok, &a, why, sizeof(why));
	if (rc == GH_EAUTH) {
		http_send_error(r->req, 401, "unauthenticated", NULL, "not the workspace token of session %lld", (long long)id);
		return;
	}
	if (rc) {
		api_error_rc(r, rc, why);
		return;
	}
	if (a.granted)
		reply(r, 200, json_pack("{s:s,s:s}", "state", "granted", "cuda_visible_devices", a.devices));
	else
		reply(r, 202, json_pack("{s:s,s:i,s:o}", "state", "queued", "position", a.position, "eta_seconds",
		                        a.eta_s >= 0 ? json_integer(a.eta_s) : json_null()));
}

void api_kernel_gpus_release(api_req_t *r)
{
	char tok[64], *end;
	int64_t id;
	long pid;
	int rc;

	if (api_param_id(r, 0, &id) || !workspace_token(r, tok, sizeof(tok)))
		return;
	pid = strtol(r->params[1], &end, 10);
	if (*end || pid < 2 || pid > 4194304) {
		http_send_error(r->req, 400, "invalid", "pid", "the process id must be a number from 2 to 4194304");
		return;
	}
	rc = hub_kgpu_release(r->hub, id, (int)pid, tok);
	if (rc == GH_EAUTH)
		http_send_error(r->req, 401, "unauthenticated", NULL, "not the workspace token of session %lld", (long long)id);
	else if (rc == GH_ENOTFOUND)
		http_send_error(r->req, 404, "not_found", NULL, "process %ld holds no GPUs of session %lld", pid, (long long)id);
	else if (rc)
		api_error_rc(r, rc, NULL);
	else
		http_send_status(r->req, 204);
}
