/*
 * api_idle.c — suspend, resume and idle policies over REST:
 *
 *   POST /sessions/{id}/suspend        owner or admin; running → suspending
 *   POST /sessions/{id}/resume         owner or admin; suspended → queued
 *   GET  /environments/{name}/idle     the override and the policy in force
 *   PUT  /environments/{name}/idle     admin; replaces the override
 *   GET  /groups/{name}/idle           admin
 *   PUT  /groups/{name}/idle           admin; replaces the override
 *
 * A policy body is an object of any of gpu_idle_s, gpu_util_percent,
 * full_idle_s, max_lifetime_s, warn_s (integers; 0 turns a rule off; a
 * field left out is inherited from the layer below).
 */
#include "api/api_int.h"
#include "common/err.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>

static void reply(api_req_t *r, int status, json_t *o) { http_send_json(r->req, status, o); }

static const hub_session_t *own_session(api_req_t *r)
{
	int64_t id;
	const hub_session_t *hs;
	if (api_param_id(r, 0, &id))
		return NULL;
	hs = hub_session_get(r->hub, id);
	if (!hs || (hs->s.user_id != r->user->id && r->user->role != GH_ROLE_ADMIN)) {
		http_send_error(r->req, 404, "not_found", NULL, "no session %lld", (long long)id);
		return NULL;
	}
	return hs;
}

void api_session_suspend(api_req_t *r)
{
	const hub_session_t *hs = own_session(r);
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
	const hub_session_t *hs = own_session(r);
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
