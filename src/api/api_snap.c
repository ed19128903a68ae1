/*
 * api_snap.c — the snapshot routes of docs/api.md:
 *
 *   POST   /sessions/{id}/snapshots   start one (202; progress on the
 *                                     session's events)
 *   GET    /sessions/{id}/snapshots   those made from that session
 *   GET    /snapshots                 all of the caller's, with usage/quota
 *   POST   /snapshots                 import an archive (raw request body)
 *   GET    /snapshots/{id}            one, with its last restore
 *   DELETE /snapshots/{id}
 *   POST   /snapshots/{id}/restore    into a stopped session or a new one (202)
 *
 * Snapshots are private: another user — an admin too — gets 404.
 */
#include "api/api_int.h"
#include "common/err.h"
#include "common/util.h"
#include "hub/hub_snap.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const snap_state_names[] = {"creating", "ready", "failed"};

json_t *api_snapshot_json(const hub_snap_t *s)
{
	const gh_snapshot_t *sn = &s->sn;
	json_t *paths = json_loads(sn->home_paths, 0, NULL);
	json_t *o = json_pack("{s:I,s:s,s:s,s:o,s:s,s:o}", "id", (json_int_t)sn->id, "state",
	                      snap_state_names[sn->state], "note", sn->note, "home_paths",
	                      paths ? paths : json_array(), "session_name", sn->session_name, "created_at",
	                      api_time(sn->created_at));

	json_object_set_new(o, "session_id", sn->session_id ? json_integer(sn->session_id) : json_null());
	if (sn->state == GH_SNAP_READY) {
		json_object_set_new(o, "size_bytes", json_integer(sn->size_bytes));
		json_object_set_new(o, "files", json_integer(sn->files));
		json_object_set_new(o, "sha256", json_string(sn->sha256));
		json_object_set_new(o, "ready_at", api_time(sn->ready_at));
	}
	if (sn->state == GH_SNAP_CREATING && s->prog)
		json_object_set_new(o, "percent", json_integer(atomic_load(&s->prog->percent) < 0
		                                                   ? 0 : atomic_load(&s->prog->percent)));
	if (sn->state == GH_SNAP_FAILED)
		json_object_set_new(o, "reason", json_string(sn->reason));
	if (s->restore_state[0])
		json_object_set_new(o, "restore", json_pack("{s:s,s:s,s:o}", "state", s->restore_state, "message",
		                                            s->restore_msg, "session_id",
		                                            s->restore_session ? json_integer(s->restore_session)
		                                                               : json_null()));
	return o;
}

static void snap_error(api_req_t *r, int rc, const char *why)
{
	if (rc == GH_ENOCAP)
		http_send_error(r->req, 409, "quota_exceeded", NULL, "%s", why);
	else
		api_error_rc(r, rc, why);
}

static const hub_snap_t *own_snap(api_req_t *r)
{
	int64_t id;
	const hub_snap_t *s;
	if (api_param_id(r, 0, &id))
		return NULL;
	s = hub_snap_get(r->hub, id, r->user->id);
	if (!s)
		http_send_error(r->req, 404, "not_found", NULL, "no snapshot %lld", (long long)id);
	return s;
}

static void list(api_req_t *r, int64_t session_id)
{
	json_t *arr = json_array();
	for (int i = 0; i < hub_snap_count(r->hub); i++) {
		const hub_snap_t *s = hub_snap_at(r->hub, i);
		if (s->sn.user_id == r->user->id && (!session_id || s->sn.session_id == session_id))
			json_array_append_new(arr, api_snapshot_json(s));
	}
	http_send_json(r->req, 200, json_pack("{s:o,s:I,s:I}", "items", arr, "used_bytes",
	                                      (json_int_t)hub_snap_usage(r->hub, r->user->id), "quota_bytes",
	                                      (json_int_t)hub_snap_quota(r->hub)));
}

void api_snap_list(api_req_t *r) { list(r, 0); }

void api_snap_session_list(api_req_t *r)
{
	const hub_session_t *hs = api_session_param(r, 0);
	if (hs)
		list(r, hs->s.id);
}

void api_snap_create(api_req_t *r)
{
	static const char *const allowed[] = {"note", "home_paths", NULL};
	const hub_session_t *hs = api_session_param(r, 0);
	const char *note = "", *paths[SNAP_MAX_HOME_PATHS];
	const hub_snap_t *s;
	json_t *hp, *v;
	char why[HUB_WHY] = "";
	size_t i;
	int n = 0, rc;

	if (!hs || api_only_fields(r, allowed) || api_str(r, "note", 0, GH_TEXT_MAX - 1, &note) < 0)
		return;
	hp = json_object_get(r->body, "home_paths");
	if (hp && (!json_is_array(hp) || json_array_size(hp) > SNAP_MAX_HOME_PATHS)) {
		http_send_error(r->req, 400, "invalid", "home_paths",
		                "field 'home_paths' must be an array of at most %d paths", SNAP_MAX_HOME_PATHS);
		return;
	}
	json_array_foreach(hp, i, v) {
		if (!json_is_string(v) || !snap_rel_path_ok(json_string_value(v))) {
			http_send_error(r->req, 400, "invalid", "home_paths",
			                "home_paths[%zu] must be a path relative to your home, without '.', '..' or "
			                "empty parts", i);
			return;
		}
		paths[n++] = json_string_value(v);
	}
	rc = hub_snap_create(r->hub, r->user, hs->s.id, note, paths, n, &s, why, sizeof(why));
	if (rc == GH_EINVAL)
		http_send_error(r->req, 400, "invalid", "home_paths", "%s", why);
	else if (rc)
		snap_error(r, rc, why);
	else
		http_send_json(r->req, 202, api_snapshot_json(s));
}

void api_snap_import(api_req_t *r)
{
	h2o_req_t *req = r->req;
	char note[GH_TEXT_MAX] = "", why[HUB_WHY] = "";
	const hub_snap_t *s;
	size_t ctl;
	const char *ct = http_header(req, "content-type", &ctl);
	int rc;

	if (!ct || !((ctl >= 24 && strncasecmp(ct, "application/octet-stream", 24) == 0) ||
	             (ctl >= 17 && strncasecmp(ct, "application/x-tar", 17) == 0) ||
	             (ctl >= 16 && strncasecmp(ct, "application/zstd", 16) == 0) ||
	             (ctl >= 16 && strncasecmp(ct, "application/gzip", 16) == 0))) {
		http_send_error(req, 415, "unsupported_media_type", NULL,
		                "send the archive as application/x-tar, application/zstd, application/gzip or "
		                "application/octet-stream");
		return;
	}
	if (!req->entity.base || req->entity.len == 0) {
		http_send_error(req, 400, "invalid", NULL, "the request body must be a tar archive");
		return;
	}
	if (req->entity.len > http_server_max_body(r->api->srv)) {
		http_send_error(req, 413, "too_large", NULL,
		                "the archive of %zu bytes exceeds http.max_body_bytes (%zu bytes)", req->entity.len,
		                http_server_max_body(r->api->srv));
		return;
	}
	if (http_query(req, "note", note, sizeof(note)) < 0) {
		http_send_error(req, 400, "invalid", "note", "query parameter 'note' is too long");
		return;
	}
	rc = hub_snap_import(r->hub, r->user, req->entity.base, req->entity.len, note, &s, why, sizeof(why));
	if (rc == GH_EINVAL)
		http_send_error(req, 400, "invalid_archive", NULL, "%s", why);
	else if (rc)
		snap_error(r, rc, why);
	else
		http_send_json(req, 201, api_snapshot_json(s));
}

void api_snap_get(api_req_t *r)
{
	const hub_snap_t *s = own_snap(r);
	if (s)
		http_send_json(r->req, 200, api_snapshot_json(s));
}

void api_snap_delete(api_req_t *r)
{
	int64_t id;
	char why[HUB_WHY] = "";
	int rc;
	if (api_param_id(r, 0, &id))
		return;
	if ((rc = hub_snap_delete(r->hub, r->user, id, why, sizeof(why))))
		api_error_rc(r, rc, why);
	else
		http_send_status(r->req, 204);
}

void api_snap_restore(api_req_t *r)
{
	static const char *const allowed[] = {"session_id", "env", "name", "gpus", "gpu_model", NULL};
	const hub_snap_t *s = own_snap(r), *out;
	const char *env = NULL, *name = NULL, *model = NULL;
	long long into = 0;
	int milli, rc;
	hub_launch_t l = {0};
	char why[HUB_WHY] = "";

	if (!s || api_only_fields(r, allowed) || api_int(r, "session_id", 0, 1, INT64_MAX, &into) < 0 ||
	    api_str(r, "env", 0, 63, &env) < 0 || api_str(r, "name", 0, 63, &name) < 0 ||
	    api_gpus(r, &milli) < 0 || api_str(r, "gpu_model", 0, GH_MODEL_MAX - 1, &model) < 0)
		return;
	if (into && (env || name || milli >= 0 || model)) {
		http_send_error(r->req, 400, "invalid", "session_id",
		                "give either 'session_id' (an existing session) or 'env' and 'name' (a new one), not both");
		return;
	}
	if (!into && (!env || !name)) {
		http_send_error(r->req, 400, "invalid", env ? "name" : "env",
		                "give 'session_id' (an existing session) or 'env' and 'name' (a new session)");
		return;
	}
	l.env = env;
	l.name = name;
	l.gpu_milli = milli;
	l.gpu_model = model;
	rc = hub_snap_restore(r->hub, r->user, s->sn.id, into, &l, &out, why, sizeof(why));
	if (rc == GH_ENOTFOUND && !into)
		http_send_error(r->req, 400, "invalid", "env", "%s", why);
	else if (rc == GH_EINVAL)
		http_send_error(r->req, 400, "invalid", "name", "%s", why);
	else if (rc)
		api_error_rc(r, rc, why);
	else
		http_send_json(r->req, 202, api_snapshot_json(out));
}
