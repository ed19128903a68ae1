/*
 * hub_suspend.c — suspend and resume: a session gives its GPUs back and
 * keeps everything that lives on disk; waking it brings the workspace
 * back with the same notebooks open.
 *
 *   step                     | state       | what happens
 *   -------------------------+-------------+-------------------------------------
 *   suspend asked            | suspending  | event; a worker reads Jupyter's
 *                            |             | api/sessions (open notebooks, kernel
 *                            |             | names) into the suspend record
 *   record written           | suspending  | processes are asked to end (SIGTERM,
 *                            |             | SIGKILL after runtime.stop_grace_s)
 *   processes gone           | suspended   | GPUs freed in the same transaction;
 *                            |             | session.gpus_reclaimed recorded
 *   resume / wake            | queued      | waits for GPUs like any launch (its
 *                            |             | position and ETA are shown)
 *   admitted, started, ready | running     | a worker creates one Jupyter session
 *                            |             | per recorded notebook (fresh kernels);
 *                            |             | session.resumed says memory was lost
 *
 * The suspend record, <data_dir>/sessions/<id>.suspend.json, is written
 * before anything stops and removed once the notebooks are reopened, so a
 * hub restart in between loses nothing (hub_suspend_load()):
 *
 *   {"suspended_at": ms, "reason": "...", "env": "...", "gpu_milli": 1000,
 *    "notebooks": [{"path": "a.ipynb", "type": "notebook", "name": "a.ipynb",
 *                   "kernel": "python3"}, ...]}
 *
 * Where a process checkpoint works (hub_ckpt.c: CRIU, with cuda-checkpoint
 * for GPU memory), it would keep kernel memory too; it is used only when
 * `criu check` passes, and this fallback runs otherwise.
 */
#include "hub/hub_int.h"
#include "hub/hub_ckpt.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void hub_suspend_record_path(const hub_t *hub, int64_t id, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/sessions/%lld.suspend.json", hub->cfg.data_dir, (long long)id);
}

void hub_suspend_forget(hub_t *hub, int64_t id)
{
	char path[CONFIG_STR + 64];
	hub_suspend_record_path(hub, id, path, sizeof(path));
	unlink(path);
}

static int is_jupyter(const hub_t *hub, const hub_session_t *hs)
{
	const gh_env_t *e = hub_env_find(hub, hs->s.env_name);
	const hub_env_info_t *info = e ? hub_env_spec(hub, e) : NULL;
	return info && strcmp(info->interface, "jupyter") == 0 && info->ready_http &&
	       strcmp(info->ready_path, "api/status") == 0;
}

#define WS_TIMEOUT_MS 10000L
#define WS_BODY_MAX (1024 * 1024)

/* Writes text to path through a temporary file and a rename. */
static int write_file(const char *path, const char *text)
{
	char tmp[CONFIG_STR + 128];
	FILE *f;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")))
		return GH_EIO;
	if (fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		unlink(tmp);
		return GH_EIO;
	}
	fclose(f);
	return rename(tmp, path) == 0 ? 0 : GH_EIO;
}

/* --- suspend --- */

typedef struct {
	int64_t session_id;
	int jupyter;
	char base[GH_TEXT_MAX + 64], auth[64];
	char path[CONFIG_STR + 64];
	json_t *record;                  /* owned until written */
	int notebooks;
	char names[160];
	int rc;
} save_job_t;

static void save_run(void *vjob)
{
	save_job_t *job = vjob;
	json_t *list = json_array(), *a = NULL, *v;
	char url[GH_TEXT_MAX + 160], *text;
	size_t i, off = 0;

	if (job->jupyter) {
		snprintf(url, sizeof(url), "%sapi/sessions?no_track_activity=1", job->base);
		if (hub_ws_request(url, job->auth, NULL, WS_TIMEOUT_MS, WS_BODY_MAX, &a) == 200 && json_is_array(a)) {
			json_array_foreach(a, i, v) {
				const char *path = json_string_value(json_object_get(v, "path"));
				const char *type = json_string_value(json_object_get(v, "type"));
				const char *name = json_string_value(json_object_get(v, "name"));
				const char *kernel = json_string_value(json_object_get(json_object_get(v, "kernel"), "name"));
				if (!path)
					continue;
				json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s*}", "path", path, "type",
				                                      type ? type : "notebook", "name", name ? name : path,
				                                      "kernel", kernel));
				if (off < sizeof(job->names))
					off += (size_t)snprintf(job->names + off, sizeof(job->names) - off, "%s%s",
					                        job->notebooks ? ", " : "", path);
				job->notebooks++;
			}
		}
		json_decref(a);
	}
	json_object_set_new(job->record, "notebooks", list);
	text = json_dumps(job->record, JSON_COMPACT);
	job->rc = text ? write_file(job->path, text) : GH_ENOMEM;
	free(text);
}

static void save_done(void *ctx, void *vjob)
{
	hub_t *hub = ctx;
	save_job_t *job = vjob;
	hub_session_t *hs = hub_session_mut(hub, job->session_id);

	json_decref(job->record);
	if (hs && hs->s.state == GH_SESS_SUSPENDING && hs->suspend_pending) {
		hs->suspend_pending = 0;
		if (job->rc)
			GH_WARN("session %lld: its suspend record could not be written (%s); it suspends without it",
			        (long long)hs->s.id, gh_strerror(job->rc));
		else if (job->notebooks)
			hub_emit(hub, hs->s.id, hs->s.user_id, "session.state_saved", GH_SESS_SUSPENDING, 60,
			         "saved: %d open notebook%s (%s) will reopen on resume", job->notebooks,
			         job->notebooks == 1 ? "" : "s", job->names);
		else
			hub_emit(hub, hs->s.id, hs->s.user_id, "session.state_saved", GH_SESS_SUSPENDING, 60,
			         "saved: no open notebooks; the home directory is kept");
		rt_signal_stop(hub->rt, hs->s.runtime_ref, 0);
		hs->probe_deadline = gh_now_ms() + hub->cfg.stop_grace_s * 1000;
		hub->work_due = 1;
	}
	free(job);
}

int hub_session_suspend(hub_t *hub, int64_t id, int64_t actor_id, const char *reason, char *why, size_t whylen)
{
	hub_session_t *hs = hub_session_mut(hub, id);
	save_job_t *job;
	char msg[GH_TEXT_MAX];
	int rc;
	(void)actor_id;

	if (!hs)
		return GH_ENOTFOUND;
	if (hs->s.state == GH_SESS_SUSPENDING || hs->s.state == GH_SESS_SUSPENDED)
		return 0;
	if ((hs->s.state != GH_SESS_RUNNING && hs->s.state != GH_SESS_IDLE_WARNED) || !hs->s.runtime_ref[0]) {
		snprintf(why, whylen, "session '%s' is %s; only a running session can be suspended", hs->s.name,
		         gh_sess_state_name(hs->s.state));
		return GH_ESTATE;
	}
	if (!(job = calloc(1, sizeof(*job))))
		return GH_ENOMEM;
	job->session_id = id;
	job->jupyter = is_jupyter(hub, hs);
	hub_ws_base(hub, hs, job->base, sizeof(job->base), job->auth, sizeof(job->auth));
	hub_suspend_record_path(hub, id, job->path, sizeof(job->path));
	job->record = json_pack("{s:I,s:s,s:s,s:i}", "suspended_at", (json_int_t)gh_now_ms(), "reason", reason, "env",
	                        hs->s.env_name, "gpu_milli", hs->s.gpu_milli);
	gh_strlcpy(hs->s.reason, reason, sizeof(hs->s.reason));
	snprintf(msg, sizeof(msg), "suspending: %s", reason);
	if (!job->record) {
		free(job);
		return GH_ENOMEM;
	}
	if ((rc = hub_session_transition(hub, hs, GH_SESS_SUSPENDING, "session.suspending", 20, msg))) {
		json_decref(job->record);
		free(job);
		return rc;
	}
	hs->warned_at = 0;
	hs->idle_action_at = 0;
	GH_INFO("session %lld (%s) is suspending: %s", (long long)id, hs->s.name, reason);
	if (worker_submit(hub->worker, job, save_run, save_done, hub) != 0) {
		json_decref(job->record);
		free(job);
		rt_signal_stop(hub->rt, hs->s.runtime_ref, 0);
		hs->probe_deadline = gh_now_ms() + hub->cfg.stop_grace_s * 1000;
		return 0;
	}
	hs->suspend_pending = 1;
	hub->work_due = 1;
	return 0;
}

void hub_suspend_finish(hub_t *hub, hub_session_t *hs)
{
	int milli = 0;
	char reason[GH_TEXT_MAX];

	for (int i = 0; i < hs->n_allocs; i++)
		milli += hs->allocs[i].milli;
	gh_strlcpy(reason, hs->s.reason[0] ? hs->s.reason : "suspended", sizeof(reason));
	if (hub_session_finish(hub, hs, GH_SESS_SUSPENDED, "session.suspended",
	                       "suspended: GPUs released, files kept; resume to continue") != 0)
		return;
	gh_strlcpy(hs->s.reason, reason, sizeof(hs->s.reason));
	hub_record_reclaimed(hub, hs, milli, reason);
}

/* --- resume --- */

int hub_session_resume(hub_t *hub, int64_t id, int64_t actor_id, char *why, size_t whylen)
{
	hub_session_t *hs = hub_session_mut(hub, id);
	int rc;
	(void)actor_id;

	if (!hs)
		return GH_ENOTFOUND;
	switch (hs->s.state) {
	case GH_SESS_SUSPENDED:
		break;
	case GH_SESS_QUEUED:
	case GH_SESS_STARTING:
	case GH_SESS_RUNNING:
	case GH_SESS_IDLE_WARNED:
		return 0; /* already awake or waking */
	default:
		snprintf(why, whylen, "session '%s' is %s; only a suspended session can be resumed", hs->s.name,
		         gh_sess_state_name(hs->s.state));
		return GH_ESTATE;
	}
	hs->s.runtime_ref[0] = '\0';
	hs->s.port = 0;
	hs->s.reason[0] = '\0';
	hs->s.last_activity_at = gh_now_ms();
	if ((rc = hub_session_transition(hub, hs, GH_SESS_QUEUED, "session.resuming", 0,
	                                 "waking up: waiting for GPUs; open notebooks will reopen with fresh kernels "
	                                 "(kernel memory was not kept)")))
		return rc;
	hs->resuming = 1;
	hs->rev++;
	hs->told_position = 0;
	hs->work_user_at = hs->compute_at = hs->gpu_busy_at = 0;
	GH_INFO("session %lld (%s) is waking up", (long long)id, hs->s.name);
	hub_schedule(hub, gh_now_ms());
	return 0;
}

typedef struct {
	int64_t session_id;
	int jupyter;
	char base[GH_TEXT_MAX + 64], auth[64];
	char path[CONFIG_STR + 64];
	int reopened, failed;
	char names[160];
} reopen_job_t;

static void reopen_run(void *vjob)
{
	reopen_job_t *job = vjob;
	json_t *rec = json_load_file(job->path, 0, NULL), *v;
	char url[GH_TEXT_MAX + 160];
	size_t i, off = 0;

	if (job->jupyter) {
		snprintf(url, sizeof(url), "%sapi/sessions", job->base);
		json_array_foreach(json_object_get(rec, "notebooks"), i, v) {
			const char *path = json_string_value(json_object_get(v, "path"));
			const char *kernel = json_string_value(json_object_get(v, "kernel"));
			json_t *body = json_pack("{s:s,s:s,s:s}", "path", path ? path : "", "type",
			                         json_string_value(json_object_get(v, "type")) ?
			                             json_string_value(json_object_get(v, "type")) : "notebook",
			                         "name", json_string_value(json_object_get(v, "name")) ?
			                             json_string_value(json_object_get(v, "name")) : "");
			char *text;
			long st;
			if (!body || !path)
				continue;
			if (kernel)
				json_object_set_new(body, "kernel", json_pack("{s:s}", "name", kernel));
			text = json_dumps(body, JSON_COMPACT);
			json_decref(body);
			st = text ? hub_ws_request(url, job->auth, text, WS_TIMEOUT_MS, WS_BODY_MAX, NULL) : 0;
			free(text);
			if (st == 201 || st == 200) {
				if (off < sizeof(job->names))
					off += (size_t)snprintf(job->names + off, sizeof(job->names) - off, "%s%s",
					                        job->reopened ? ", " : "", path);
				job->reopened++;
			} else {
				job->failed++;
			}
		}
	}
	json_decref(rec);
	unlink(job->path);
}

static void reopen_done(void *ctx, void *vjob)
{
	hub_t *hub = ctx;
	reopen_job_t *job = vjob;
	hub_session_t *hs = hub_session_mut(hub, job->session_id);

	if (hs) {
		hs->reopen_pending = 0;
		hs->resuming = 0;
		if (job->reopened)
			hub_emit(hub, hs->s.id, hs->s.user_id, "session.resumed", hs->s.state, 100,
			         "resumed: reopened %d notebook%s (%s) with fresh kernels; kernel memory (variables, "
			         "running cells) was not kept, rerun your cells",
			         job->reopened, job->reopened == 1 ? "" : "s", job->names);
		else
			hub_emit(hub, hs->s.id, hs->s.user_id, "session.resumed", hs->s.state, 100,
			         "resumed: your files are as you left them; processes and kernel memory were not kept");
		if (job->failed)
			GH_WARN("session %lld: %d notebooks could not be reopened", (long long)hs->s.id, job->failed);
		hs->rev++;
	}
	free(job);
}

void hub_resume_work(hub_t *hub, hub_session_t *hs)
{
	reopen_job_t *job;
	if (!hs->resuming || hs->reopen_pending || hs->s.state != GH_SESS_RUNNING)
		return;
	if (!(job = calloc(1, sizeof(*job))))
		return;
	job->session_id = hs->s.id;
	job->jupyter = is_jupyter(hub, hs);
	hub_ws_base(hub, hs, job->base, sizeof(job->base), job->auth, sizeof(job->auth));
	hub_suspend_record_path(hub, hs->s.id, job->path, sizeof(job->path));
	if (worker_submit(hub->worker, job, reopen_run, reopen_done, hub) != 0) {
		free(job);
		return;
	}
	hs->reopen_pending = 1;
}

void hub_suspend_load(hub_t *hub)
{
	char path[CONFIG_STR + 64];
	hub->ckpt_ok = hub_ckpt_available();
	for (int i = 0; i < hub->n_sessions; i++) {
		hub_session_t *hs = &hub->sessions[i];
		switch (hs->s.state) {
		case GH_SESS_QUEUED:
		case GH_SESS_STARTING:
		case GH_SESS_RUNNING:
		case GH_SESS_IDLE_WARNED:
			hub_suspend_record_path(hub, hs->s.id, path, sizeof(path));
			hs->resuming = access(path, F_OK) == 0;
			break;
		case GH_SESS_SUSPENDING:
			/* the record was written (or not) before the hub stopped:
			 * reconcile stops what still runs */
			if (hs->s.runtime_ref[0])
				rt_signal_stop(hub->rt, hs->s.runtime_ref, 0);
			break;
		default:
			break;
		}
	}
}
