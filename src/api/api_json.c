/*
 * api_json.c — the JSON views of users, tokens, environments, sessions,
 * events and GPUs (docs/api.md "Objects"). Secrets never appear here.
 */
#include "api/api_int.h"
#include "common/util.h"

#include <string.h>

json_t *api_time(int64_t ms)
{
	char buf[32];
	if (ms <= 0)
		return json_null();
	gh_time_fmt(ms, buf, sizeof(buf));
	return json_string(buf);
}

json_t *api_user_json(const gh_user_t *u)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:o}", "name", u->name, "display_name", u->display_name, "email",
	                 u->email, "role", u->role == GH_ROLE_ADMIN ? "admin" : "user", "group", u->group, "disabled",
	                 u->disabled, "created_at", api_time(u->created_at));
}

json_t *api_token_json(const gh_token_t *t)
{
	return json_pack("{s:I,s:s,s:s,s:o,s:o,s:o}", "id", (json_int_t)t->id, "note", t->note, "prefix", t->prefix,
	                 "created_at", api_time(t->created_at), "expires_at", api_time(t->expires_at), "last_used_at",
	                 api_time(t->last_used_at));
}

json_t *api_env_json(hub_t *hub, const gh_env_t *e)
{
	json_t *o = json_loads(e->spec, 0, NULL);
	const char *why = NULL;
	if (!o)
		o = json_object();
	json_object_set_new(o, "name", json_string(e->name));
	json_object_set_new(o, "available", json_boolean(hub_env_available(hub, e, &why)));
	if (why)
		json_object_set_new(o, "unavailable_reason", json_string(why));
	json_object_set_new(o, "created_at", api_time(e->created_at));
	if (!json_is_string(json_object_get(o, "gpu_mode")))
		json_object_set_new(o, "gpu_mode", json_string("session")); /* created before the field existed */
	return o;
}

json_t *api_session_json(hub_t *hub, const hub_session_t *hs)
{
	const gh_session_t *s = &hs->s;
	const gh_user_t *u = hub_user_by_id(hub, s->user_id);
	json_t *allocs = json_array(), *o, *queue = json_null();
	char url[GH_TEXT_MAX + 64];
	int kmode = hub_session_kernel_mode(hub, hs);
	int waiting = kmode && hs->n_kclaims > 0 && hs->n_allocs == 0 && s->gpu_milli > 0;

	for (int i = 0; i < hs->n_allocs; i++) {
		const gh_alloc_t *a = &hs->allocs[i];
		const char *model = a->gpu_index < hub_gpu_count(hub) ? hub_gpu_at(hub, a->gpu_index)->info.model : "";
		json_array_append_new(allocs, json_pack("{s:i,s:s,s:s,s:i,s:I}", "gpu", a->gpu_index, "uuid", a->gpu_uuid,
		                                        "model", model, "milli", a->milli, "memory_mib",
		                                        (json_int_t)a->memory_mib));
	}
	if (s->state == GH_SESS_QUEUED) {
		queue = json_pack("{s:i,s:s,s:o}", "position", hs->queue_position, "reason", s->reason, "eta_seconds",
		                  hs->eta_s >= 0 ? json_integer(hs->eta_s) : json_null());
	}
	hub_session_url(hub, hs, url, sizeof(url));
	o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:f,s:i,s:o,s:o,s:s}", "id", (json_int_t)s->id, "name", s->name,
	              "user", u ? u->name : "", "env", s->env_name, "state", gh_sess_state_name(s->state), "reason",
	              s->state == GH_SESS_QUEUED || s->state == GH_SESS_FAILED || s->state == GH_SESS_SUSPENDING ||
	                      s->state == GH_SESS_SUSPENDED ? s->reason : "", "gpus",
	              s->gpu_milli / 1000.0, "gpu_milli", s->gpu_milli, "gpu_model",
	              s->gpu_model[0] ? json_string(s->gpu_model) : json_null(), "allocations", allocs, "url", url);
	json_object_set_new(o, "created_at", api_time(s->created_at));
	json_object_set_new(o, "updated_at", api_time(s->updated_at));
	json_object_set_new(o, "started_at", api_time(s->started_at));
	json_object_set_new(o, "stopped_at", api_time(s->stopped_at));
	json_object_set_new(o, "queue", queue);
	json_object_set_new(o, "resuming", json_boolean(hs->resuming));
	json_object_set_new(o, "gpu_mode", json_string(kmode ? "kernel" : "session"));
	/* kernel mode: who holds the GPUs now — no kernel, kernels holding
	 * them, or a kernel waiting in the queue */
	json_object_set_new(o, "kernels_with_gpus",
	                    kmode ? json_pack("{s:i,s:b,s:o,s:o}", "kernels", hs->n_kclaims, "waiting", waiting,
	                                      "position", waiting && hs->queue_position > 0 ?
	                                          json_integer(hs->queue_position) : json_null(),
	                                      "eta_seconds", waiting && hs->eta_s >= 0 ? json_integer(hs->eta_s) : json_null())
	                          : json_null());
	{
		int64_t last = s->last_activity_at > hs->work_user_at ? s->last_activity_at : hs->work_user_at;
		json_object_set_new(o, "idle",
		                    json_pack("{s:b,s:o,s:o,s:o,s:o,s:o}", "warned", s->state == GH_SESS_IDLE_WARNED,
		                              "rule", s->state == GH_SESS_IDLE_WARNED ? json_string(hs->idle_rule) : json_null(),
		                              "action_at", s->state == GH_SESS_IDLE_WARNED ? api_time(hs->idle_action_at) : json_null(),
		                              "last_activity_at", api_time(last), "last_compute_at", api_time(hs->compute_at),
		                              "gpu_util_percent", hs->gpu_util_pct >= 0 && hs->running_since ?
		                                  json_integer(hs->gpu_util_pct) : json_null()));
	}
	return o;
}

json_t *api_event_json(const gh_event_t *ev)
{
	json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:o,s:o}", "id", (json_int_t)ev->id, "session_id",
	                      ev->session_id ? json_integer(ev->session_id) : json_null(), "type", ev->type, "message",
	                      ev->message, "percent", ev->percent >= 0 ? json_integer(ev->percent) : json_null(), "ts",
	                      api_time(ev->ts));
	json_object_set_new(o, "state", ev->session_id ? json_string(gh_sess_state_name(ev->state)) : json_null());
	return o;
}

json_t *api_gpu_json(hub_t *hub, const hub_gpu_t *g, const gh_user_t *viewer)
{
	json_t *allocs = json_array(), *o, *fault = json_null();
	int admin = viewer->role == GH_ROLE_ADMIN;

	for (int j = 0; j < hub_live_count(hub); j++) { /* ended ones hold none */
		const hub_session_t *hs = hub_live_at(hub, j);
		for (int k = 0; k < hs->n_allocs; k++) {
			const gh_alloc_t *a = &hs->allocs[k];
			json_t *ao;
			if (a->gpu_index != g->info.index)
				continue;
			ao = json_pack("{s:i,s:I}", "milli", a->milli, "memory_mib", (json_int_t)a->memory_mib);
			if (admin || hs->s.user_id == viewer->id) {
				const gh_user_t *u = hub_user_by_id(hub, hs->s.user_id);
				json_object_set_new(ao, "session_id", json_integer(hs->s.id));
				json_object_set_new(ao, "user", json_string(u ? u->name : ""));
			}
			json_array_append_new(allocs, ao);
		}
	}
	if (g->tel.lost)
		fault = json_pack("{s:s}", "type", "lost");
	else if (!g->tel.healthy)
		fault = json_pack("{s:s,s:i}", "type", "xid", "xid", g->tel.last_xid);
	o = json_pack("{s:i,s:s,s:s,s:I,s:i,s:i,s:s,s:b,s:o}", "index", g->info.index, "uuid", g->info.uuid, "model",
	              g->info.model, "memory_mib", (json_int_t)g->info.memory_mib, "capacity_milli",
	              g->info.capacity_milli, "allocated_milli", g->allocated_milli, "sharing",
	              gpu_share_mode_name(g->info.sharing), "healthy", g->tel.healthy && !g->tel.lost, "fault", fault);
	json_object_set_new(o, "util_pct", g->tel.util_pct >= 0 ? json_integer(g->tel.util_pct) : json_null());
	json_object_set_new(o, "memory_used_mib", json_integer(g->tel.memory_used_mib));
	json_object_set_new(o, "temperature_c",
	                    g->tel.temperature_c >= 0 ? json_integer(g->tel.temperature_c) : json_null());
	json_object_set_new(o, "power_w", g->tel.power_w >= 0 ? json_integer(g->tel.power_w) : json_null());
	json_object_set_new(o, "quarantined", json_boolean(g->quarantined));
	json_object_set_new(o, "quarantined_at", api_time(g->quarantined ? g->quarantined_at : 0));
	json_object_set_new(o, "allocations", allocs);
	return o;
}

const char *api_session_view(hub_t *hub, const hub_session_t *hs)
{
	if (!hs->view || hs->view_rev != hs->rev) {
		json_t *o = api_session_json(hub, hs);
		char *s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (!s)
			return NULL;
		hub_session_set_view(hub, hs, s);
	}
	return hs->view;
}
