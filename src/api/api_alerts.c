/*
 * api_alerts.c — GET /alerts (admins: active and recent alerts, with each
 * sink's delivery state and counters) and POST /gpus/{index}/unquarantine.
 */
#include "api/api_int.h"
#include "alert/alert.h"
#include "common/err.h"

#include <stdlib.h>
#include <string.h>

static json_t *delivery_json(const alert_t *a, int k)
{
	const alert_dlv_t *d = &a->dlv[k];
	const char *state;

	if (d->in_flight)
		state = "sending";
	else if (!a->firing && d->resolved_sent)
		state = "resolved_sent";
	else if (d->attempts > 0)
		state = "retrying";
	else if (d->last_sent)
		state = "sent";
	else
		state = "pending";
	return json_pack("{s:s,s:i,s:o,s:o,s:s?}", "state", state, "attempts", d->attempts, "last_sent_at",
	                 api_time(d->last_sent), "next_try_at", api_time(d->attempts ? d->next_try : 0), "last_error",
	                 d->last_error[0] ? d->last_error : NULL);
}

static json_t *alert_json(const alert_engine_t *e, const alert_t *a)
{
	json_t *labels = json_object(), *dlv = json_object();
	unsigned sinks = alert_policy(e)->sinks;

	for (int i = 0; i < a->spec.n_labels; i++)
		json_object_set_new(labels, a->spec.label_key[i], json_string(a->spec.label_val[i]));
	for (int k = 0; k < ALERT_SINK__COUNT; k++)
		if (sinks & (1u << k))
			json_object_set_new(dlv, alert_sink_name((alert_sink_kind_t)k), delivery_json(a, k));
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:o,s:o}", "id", (json_int_t)a->id, "name",
	                 a->spec.name, "fingerprint", a->fingerprint, "state", a->firing ? "firing" : "resolved",
	                 "severity", a->spec.severity, "summary", a->spec.summary, "labels", labels, "description",
	                 a->spec.description, "starts_at", api_time(a->starts_at), "ends_at", api_time(a->ends_at),
	                 "deliveries", dlv);
}

void api_h_alert_list(api_req_t *r)
{
	const alert_engine_t *e = hub_alerts(r->hub);
	const char *state = NULL;
	json_t *items = json_array(), *sinks = json_array();
	char want[16];
	int rc = http_query(r->req, "state", want, sizeof(want));

	if (rc != 0) {
		if (rc == 1 && strcmp(want, "firing") == 0)
			state = "firing";
		else if (rc == 1 && strcmp(want, "resolved") == 0)
			state = "resolved";
		else {
			json_decref(items);
			json_decref(sinks);
			http_send_error(r->req, 400, "invalid", "state", "query parameter 'state' must be 'firing' or 'resolved'");
			return;
		}
	}
	if (e) {
		const alert_stats_t *st = alert_stats(e);
		for (int i = alert_count(e) - 1; i >= 0; i--) { /* newest first */
			const alert_t *a = alert_at(e, i);
			if (state && strcmp(state, a->firing ? "firing" : "resolved") != 0)
				continue;
			json_array_append_new(items, alert_json(e, a));
		}
		for (int k = 0; k < ALERT_SINK__COUNT; k++)
			if (alert_policy(e)->sinks & (1u << k))
				json_array_append_new(sinks, json_pack("{s:s,s:I,s:I,s:I}", "name",
				                                       alert_sink_name((alert_sink_kind_t)k), "sent",
				                                       (json_int_t)st->sent[k], "failed",
				                                       (json_int_t)st->failed[k], "dropped",
				                                       (json_int_t)st->dropped[k]));
	}
	http_send_json(r->req, 200, json_pack("{s:b,s:o,s:o}", "enabled", e != NULL, "items", items, "sinks", sinks));
}

void api_h_gpu_unquarantine(api_req_t *r)
{
	char *end, why[HUB_WHY] = "";
	long idx = strtol(r->params[0], &end, 10);
	int rc;

	if (*end || r->params[0][0] < '0' || r->params[0][0] > '9' || idx >= hub_gpu_count(r->hub)) {
		http_send_error(r->req, 404, "not_found", NULL, "no GPU with index '%s'", r->params[0]);
		return;
	}
	rc = hub_gpu_unquarantine(r->hub, (int)idx, r->user->id, why, sizeof(why));
	if (rc == GH_ESTATE) {
		http_send_error(r->req, 409, "conflict", NULL, "%s", why);
		return;
	}
	if (rc) {
		api_error_rc(r, rc, why);
		return;
	}
	http_send_json(r->req, 200, api_gpu_json(r->hub, hub_gpu_at(r->hub, (int)idx), r->user));
}
