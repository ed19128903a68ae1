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
 * With a process checkpoint (hub_ckpt.c: CRIU, with cuda-checkpoint for
 * GPU memory; idle.checkpoint auto and `criu check` passing) the steps
 * change where marked:
 *
 *   step                     | with a checkpoint
 *   -------------------------+-------------------------------------------
 *   record written           | the worker dumps the process tree into
 *                            | <data_dir>/sessions/<id>.ckpt/ (the dump
 *                            | ends the processes) and adds "checkpoint"
 *                            | to the record; a failed dump: the normal
 *                            | stop, with session.checkpoint_failed
 *   admitted (starting)      | same GPU indices as at the dump: a worker
 *                            | restores the tree, its leader becomes the
 *                            | runtime handle; other GPUs or a failed
 *                            | restore: the fresh start above, with an
 *                            | event saying why
 *   ready                    | session.resumed says memory was kept; the
 *                            | images and the record are deleted
 *
 *   "checkpoint": {"dir": "...", "ref": "pid:start[:cg]", "gpus": [0],
 *                  "gpu_pids": [1234]}
 */
#include "hub/hub_int.h"
#include "hub/hub_ckpt.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void hub_suspend_record_path(const hub_t *hub, int64_t id, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/sessions/%lld.suspend.json", hub->cfg.data_dir, (long long)id);
}

static void ckpt_dir(const hub_t *hub, int64_t id, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/sessions/%lld.ckpt", hub->cfg.data_dir, (long long)id);
}

void hub_suspend_forget(hub_t *hub, int64_t id)
{
	char path[CONFIG_STR + 64];
	hub_suspend_record_path(hub, id, path, sizeof(path));
	unlink(path);
	ckpt_dir(hub, id, path, sizeof(path));
	hub_ckpt_remove(path);
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
	/* the checkpoint (when ckpt) */
	int ckpt;
	gh_rt_t *rt;
	char criu[CONFIG_STR], cuda[CONFIG_STR];
	char images[CONFIG_STR + 64], ref[GH_TEXT_MAX];
	int gpus[HUB_CKPT_GPUS], n_gpus;
	int gpu_cand[64], n_cand;        /* pids the GPU source saw on its GPUs */
	int gpu_pids[HUB_CKPT_GPUS], n_gpu_pids;
	int ckpt_rc;
	char ckpt_err[256];
	char base[GH_TEXT_MAX + 64], auth[64];
	char path[CONFIG_STR + 64];
	json_t *record;                  /* owned until written */
	int notebooks;
	char names[160];
	int rc;
} save_job_t;

/* On the worker: dumps the tree, then notes the checkpoint in the record. */
static void save_checkpoint(save_job_t *job)
{
	hub_ckpt_tools_t tools = {job->criu, job->cuda};
	rt_usage_t *u = calloc(1, sizeof(*u));
	json_t *ck, *gpus = json_array(), *pids = json_array();
	int leader = atoi(job->ref);
	char *text;

	/* the session's own processes among those on its GPUs */
	if (u && rt_usage(job->rt, job->ref, 0, u) == 0)
		for (int i = 0; i < job->n_cand; i++)
			for (int j = 0; j < u->npids && job->n_gpu_pids < HUB_CKPT_GPUS; j++)
				if (u->pids[j] == job->gpu_cand[i]) {
					job->gpu_pids[job->n_gpu_pids++] = u->pids[j];
					break;
				}
	free(u);
	job->ckpt_rc = leader > 1 ? hub_ckpt_dump(&tools, job->images, leader, job->gpu_pids, job->n_gpu_pids,
	                                          job->ckpt_err, sizeof(job->ckpt_err))
	                          : GH_EINVAL;
	if (job->ckpt_rc == 0) {
		for (int i = 0; i < job->n_gpus; i++)
			json_array_append_new(gpus, json_integer(job->gpus[i]));
		for (int i = 0; i < job->n_gpu_pids; i++)
			json_array_append_new(pids, json_integer(job->gpu_pids[i]));
		ck = json_pack("{s:s,s:s,s:O,s:O}", "dir", job->images, "ref", job->ref, "gpus", gpus, "gpu_pids", pids);
		json_object_set_new(job->record, "checkpoint", ck);
		text = json_dumps(job->record, JSON_COMPACT);
		if (!text || write_file(job->path, text) != 0) {
			job->ckpt_rc = GH_EIO;
			snprintf(job->ckpt_err, sizeof(job->ckpt_err), "the suspend record could not be rewritten");
		}
		free(text);
	} else if (!job->ckpt_err[0]) {
		snprintf(job->ckpt_err, sizeof(job->ckpt_err), "%s", gh_strerror(job->ckpt_rc));
	}
	if (job->ckpt_rc)
		hub_ckpt_remove(job->images);
	json_decref(gpus);
	json_decref(pids);
}

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
	if (job->ckpt && job->rc == 0)
		save_checkpoint(job);
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
		if (job->ckpt && job->rc == 0 && job->ckpt_rc == 0) {
			char g[96];
			hs->ckpt = 1;
			memcpy(hs->ckpt_gpus, job->gpus, sizeof(job->gpus));
			hs->n_ckpt_gpus = job->n_gpus;
			memcpy(hs->ckpt_gpu_pids, job->gpu_pids, sizeof(job->gpu_pids));
			hs->n_ckpt_gpu_pids = job->n_gpu_pids;
			gh_strlcpy(hs->ckpt_ref, job->ref, sizeof(hs->ckpt_ref));
			hub_ckpt_gpus_text(job->gpus, job->n_gpus, g, sizeof(g));
			GH_INFO("session %lld: its processes were checkpointed into %s (GPUs %s)", (long long)hs->s.id,
			        job->images, g);
			hub_emit(hub, hs->s.id, hs->s.user_id, "session.checkpointed", GH_SESS_SUSPENDING, 80,
			         "checkpoint: the workspace's processes, kernel memory included, were saved (GPUs %s); "
			         "resuming on the same GPUs restores them", g);
			/* the dump ended the processes; a straggler is stopped after the grace */
			hs->probe_deadline = gh_now_ms() + hub->cfg.stop_grace_s * 1000;
			hub->work_due = 1;
			free(job);
			return;
		}
		if (job->ckpt) {
			GH_WARN("session %lld: the process checkpoint failed (%s); it is stopped instead",
			        (long long)hs->s.id, job->ckpt_err);
			hub_emit(hub, hs->s.id, hs->s.user_id, "session.checkpoint_failed", GH_SESS_SUSPENDING, 70,
			         "the process checkpoint failed (%.200s); the workspace is stopped instead and its "
			         "notebooks reopen with fresh kernels", job->ckpt_err);
		}
		rt_signal_stop(hub->rt, hs->s.runtime_ref, 0);
		hs->probe_deadline = gh_now_ms() + hub->cfg.stop_grace_s * 1000;
		hub->work_due = 1;
	}
	free(job);
}

int hub_session_suspend(hub_t *hub, int64_t id, int64_t actor_id, const char *reason, char *why, size_t whylen)
{
	return hub_session_suspend_for(hub, id, actor_id, "stopped", reason, why, whylen);
}

int hub_session_suspend_for(hub_t *hub, int64_t id, int64_t actor_id, const char *reclaim, const char *reason,
                            char *why, size_t whylen)
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
	if (hub->ckpt_ok) {
		job->ckpt = 1;
		job->rt = hub->rt;
		gh_strlcpy(job->criu, hub->cfg.idle_criu, sizeof(job->criu));
		gh_strlcpy(job->cuda, hub->cfg.idle_cuda_checkpoint, sizeof(job->cuda));
		ckpt_dir(hub, id, job->images, sizeof(job->images));
		gh_strlcpy(job->ref, hs->s.runtime_ref, sizeof(job->ref));
		for (int k = 0; k < hs->n_allocs && job->n_gpus < HUB_CKPT_GPUS; k++) {
			gh_gpu_proc_t procs[64];
			int n = 0, dup = 0;
			for (int j = 0; j < job->n_gpus; j++)
				dup |= job->gpus[j] == hs->allocs[k].gpu_index;
			if (dup)
				continue;
			job->gpus[job->n_gpus++] = hs->allocs[k].gpu_index;
			if (gpu_processes(hub->gpu, hs->allocs[k].gpu_index, procs, 64, &n) != 0)
				continue;
			for (int i = 0; i < n && job->n_cand < 64; i++)
				job->gpu_cand[job->n_cand++] = procs[i].pid;
		}
	}
	job->record = json_pack("{s:I,s:s,s:s,s:s,s:i}", "suspended_at", (json_int_t)gh_now_ms(), "reason", reason,
	                        "reclaim", reclaim, "env", hs->s.env_name, "gpu_milli", hs->s.gpu_milli);
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
	hs->reclaim = metrics_reason_label(reclaim);
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
	                       hs->ckpt ? "suspended: GPUs released, files and a checkpoint of its processes kept; "
	                                  "resume to continue"
	                                : "suspended: GPUs released, files kept; resume to continue") != 0)
		return;
	gh_strlcpy(hs->s.reason, reason, sizeof(hs->s.reason));
	/* hs->reclaim is set wherever a session becomes suspending: at the
	 * start of its suspension, or from its record at start-up */
	hub_record_reclaimed(hub, hs, milli, hs->reclaim, reason);
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
	if (hs->ckpt) {
		char g[96], msg[GH_TEXT_MAX + 256];
		hub_ckpt_gpus_text(hs->ckpt_gpus, hs->n_ckpt_gpus, g, sizeof(g));
		snprintf(msg, sizeof(msg), "waking up: waiting for GPUs; its processes and kernel memory come back from "
		         "the checkpoint if it gets the same GPUs (%s), else open notebooks reopen with fresh kernels", g);
		rc = hub_session_transition(hub, hs, GH_SESS_QUEUED, "session.resuming", 0, msg);
	} else {
		rc = hub_session_transition(hub, hs, GH_SESS_QUEUED, "session.resuming", 0,
		                            "waking up: waiting for GPUs; open notebooks will reopen with fresh kernels "
		                            "(kernel memory was not kept)");
	}
	if (rc)
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
	char images[CONFIG_STR + 64];
	int restored;                    /* from the checkpoint: nothing to reopen */
	int reopened, failed;
	char names[160];
} reopen_job_t;

static void reopen_run(void *vjob)
{
	reopen_job_t *job = vjob;
	json_t *rec = json_load_file(job->path, 0, NULL), *v;
	char url[GH_TEXT_MAX + 160];
	size_t i, off = 0;

	if (job->jupyter && !job->restored) {
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
	hub_ckpt_remove(job->images);
}

static void reopen_done(void *ctx, void *vjob)
{
	hub_t *hub = ctx;
	reopen_job_t *job = vjob;
	hub_session_t *hs = hub_session_mut(hub, job->session_id);

	if (hs) {
		hs->reopen_pending = 0;
		hs->resuming = 0;
		if (job->restored)
			hub_emit(hub, hs->s.id, hs->s.user_id, "session.resumed", hs->s.state, 100,
			         "resumed from its checkpoint: processes and kernel memory (variables, running cells) "
			         "were kept");
		else if (job->reopened)
			hub_emit(hub, hs->s.id, hs->s.user_id, "session.resumed", hs->s.state, 100,
			         "resumed: reopened %d notebook%s (%s) with fresh kernels; kernel memory (variables, "
			         "running cells) was not kept, rerun your cells",
			         job->reopened, job->reopened == 1 ? "" : "s", job->names);
		else
			hub_emit(hub, hs->s.id, hs->s.user_id, "session.resumed", hs->s.state, 100,
			         "resumed: your files are as you left them; processes and kernel memory were not kept");
		if (job->failed)
			GH_WARN("session %lld: %d notebooks could not be reopened", (long long)hs->s.id, job->failed);
		hs->ckpt_restored = 0;
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
	ckpt_dir(hub, hs->s.id, job->images, sizeof(job->images));
	job->restored = hs->ckpt_restored;
	hs->ckpt = 0;
	if (worker_submit(hub->worker, job, reopen_run, reopen_done, hub) != 0) {
		free(job);
		return;
	}
	hs->reopen_pending = 1;
}

/* --- resume from a checkpoint --- */

typedef struct {
	int64_t session_id;
	char criu[CONFIG_STR], cuda[CONFIG_STR];
	char images[CONFIG_STR + 64], old_ref[GH_TEXT_MAX];
	int gpu_pids[HUB_CKPT_GPUS], n_gpu_pids;
	gh_rt_t *rt;
	rt_spec_t limits;                /* the cgroup it goes back into */
	int rc;
	char ref[GH_TEXT_MAX], err[256];
} restore_job_t;

static void restore_run(void *vjob)
{
	restore_job_t *job = vjob;
	hub_ckpt_tools_t tools = {job->criu, job->cuda};
	unsigned long long start = 0;
	int pid = 0;

	if (access(job->images, F_OK) != 0) {
		snprintf(job->err, sizeof(job->err), "its images in %.200s are missing", job->images);
		job->rc = GH_ENOTFOUND;
		return;
	}
	job->rc = hub_ckpt_restore(&tools, job->images, job->gpu_pids, job->n_gpu_pids, &pid, job->err,
	                           sizeof(job->err));
	if (job->rc == 0 && (job->rc = hub_ckpt_proc_start(pid, &start)) != 0)
		snprintf(job->err, sizeof(job->err), "the restored process %d is not running", pid);
	if (job->rc == 0) {
		/* back under its limits, as a start would put it; an engine that
		 * keeps no such state takes the old handle with the new pid */
		int rc = rt_rejoin(job->rt, &job->limits, pid, job->ref, sizeof(job->ref));
		if (rc == GH_EUNSUPPORTED)
			rc = hub_ckpt_adopt_ref(job->old_ref, pid, start, job->ref, sizeof(job->ref));
		if ((job->rc = rc) != 0)
			snprintf(job->err, sizeof(job->err), "no runtime handle for the restored process %d: %s", pid,
			         gh_strerror(rc));
	}
	if (job->rc && !job->err[0])
		snprintf(job->err, sizeof(job->err), "%s", gh_strerror(job->rc));
	if (job->rc && pid > 1 && start)
		kill(-pid, SIGKILL); /* half restored: nothing may stay behind */
}

/* Drops the checkpoint of hs: it starts fresh. */
static void ckpt_drop(hub_t *hub, hub_session_t *hs, const char *type, const char *why)
{
	GH_WARN("session %lld: not resumed from its checkpoint: %s; it starts fresh", (long long)hs->s.id, why);
	hub_emit(hub, hs->s.id, hs->s.user_id, type, hs->s.state, 30,
	         "not resumed from the checkpoint: %.200s; the workspace starts fresh and its notebooks reopen with "
	         "fresh kernels (kernel memory was not kept)", why);
	hs->ckpt = 0;
	hs->ckpt_restored = 0;
}

static void restore_done(void *ctx, void *vjob)
{
	hub_t *hub = ctx;
	restore_job_t *job = vjob;
	hub_session_t *hs = hub_session_mut(hub, job->session_id);

	if (hs)
		hs->start_pending = 0;
	if (job->rc == 0 && (!hs || hs->s.state != GH_SESS_STARTING || hs->s.runtime_ref[0])) {
		rt_signal_stop(hub->rt, job->ref, 1); /* stopped or deleted meanwhile: no orphan */
	} else if (hs && job->rc) {
		char why[GH_TEXT_MAX];
		snprintf(why, sizeof(why), "the restore failed (%.200s)", job->err);
		ckpt_drop(hub, hs, "session.checkpoint_failed", why);
		hub->work_due = 1;
	} else if (hs && hub_txn_begin(hub) == 0) {
		gh_strlcpy(hs->s.runtime_ref, job->ref, sizeof(hs->s.runtime_ref));
		if (store_session_put(hub->store, &hs->s) == 0 &&
		    hub_emit(hub, hs->s.id, hs->s.user_id, "session.process_started", GH_SESS_STARTING, 60,
		             "workspace restored from its checkpoint (process %d); waiting for it to be ready",
		             atoi(job->ref)) == 0)
			hub_txn_commit(hub);
		else
			hub_txn_rollback(hub);
		GH_INFO("session %lld: restored from its checkpoint as %s", (long long)hs->s.id, job->ref);
		hs->ckpt = 0;
		hs->ckpt_restored = 1;
		hs->probe_deadline = gh_now_ms() + 120000;
		hub->work_due = 1;
	}
	free(job);
}

int hub_ckpt_resume_start(hub_t *hub, hub_session_t *hs)
{
	int now[HUB_CKPT_GPUS], n = 0;
	char had_t[96], now_t[96], why[400];
	restore_job_t *job;

	if (!hs->ckpt)
		return 0;
	for (int k = 0; k < hs->n_allocs; k++) {
		int dup = 0;
		for (int j = 0; j < n; j++)
			dup |= now[j] == hs->allocs[k].gpu_index;
		if (!dup && n < HUB_CKPT_GPUS)
			now[n++] = hs->allocs[k].gpu_index;
	}
	hub_ckpt_gpus_text(hs->ckpt_gpus, hs->n_ckpt_gpus, had_t, sizeof(had_t));
	hub_ckpt_gpus_text(now, n, now_t, sizeof(now_t));
	if (!hub->ckpt_ok) {
		ckpt_drop(hub, hs, "session.checkpoint_unused", "process checkpoint is not available on this hub now");
		return 0;
	}
	if (!hub_ckpt_same_gpus(hs->ckpt_gpus, hs->n_ckpt_gpus, now, n)) {
		snprintf(why, sizeof(why), "it was taken on GPUs %s but the session got GPUs %s, and CUDA state is tied "
		         "to its devices", had_t, now_t);
		ckpt_drop(hub, hs, "session.checkpoint_unused", why);
		return 0;
	}
	if (!(job = calloc(1, sizeof(*job))))
		return 1; /* retried at the next tick */
	job->session_id = hs->s.id;
	gh_strlcpy(job->criu, hub->cfg.idle_criu, sizeof(job->criu));
	gh_strlcpy(job->cuda, hub->cfg.idle_cuda_checkpoint, sizeof(job->cuda));
	ckpt_dir(hub, hs->s.id, job->images, sizeof(job->images));
	gh_strlcpy(job->old_ref, hs->ckpt_ref, sizeof(job->old_ref));
	memcpy(job->gpu_pids, hs->ckpt_gpu_pids, sizeof(job->gpu_pids));
	job->n_gpu_pids = hs->n_ckpt_gpu_pids;
	job->rt = hub->rt;
	hub_rtspec_limits(hub, hs, &job->limits);
	if (worker_submit(hub->worker, job, restore_run, restore_done, hub) != 0) {
		free(job);
		return 1;
	}
	GH_INFO("session %lld: restoring its checkpoint on GPUs %s", (long long)hs->s.id, now_t);
	hub_emit(hub, hs->s.id, hs->s.user_id, "session.restoring", GH_SESS_STARTING, 40,
	         "restoring its processes from the checkpoint (same GPUs: %s)", now_t);
	hs->start_pending = 1;
	return 1;
}

/* Reads the checkpoint noted in the suspend record at path into hs. */
static void ckpt_load(hub_session_t *hs, const char *path)
{
	json_t *rec = json_load_file(path, 0, NULL), *ck = json_object_get(rec, "checkpoint"), *v;
	const char *ref = json_string_value(json_object_get(ck, "ref"));
	size_t i;

	if (json_is_object(ck) && ref) {
		hs->ckpt = 1;
		gh_strlcpy(hs->ckpt_ref, ref, sizeof(hs->ckpt_ref));
		hs->n_ckpt_gpus = hs->n_ckpt_gpu_pids = 0;
		json_array_foreach(json_object_get(ck, "gpus"), i, v)
			if (json_is_integer(v) && hs->n_ckpt_gpus < HUB_CKPT_GPUS)
				hs->ckpt_gpus[hs->n_ckpt_gpus++] = (int)json_integer_value(v);
		json_array_foreach(json_object_get(ck, "gpu_pids"), i, v)
			if (json_is_integer(v) && hs->n_ckpt_gpu_pids < HUB_CKPT_GPUS)
				hs->ckpt_gpu_pids[hs->n_ckpt_gpu_pids++] = (int)json_integer_value(v);
	}
	json_decref(rec);
}

void hub_suspend_load(hub_t *hub)
{
	char path[CONFIG_STR + 64];
	hub_ckpt_tools_t tools = {hub->cfg.idle_criu, hub->cfg.idle_cuda_checkpoint};

	if (strcmp(hub->cfg.idle_checkpoint, "off") == 0) {
		hub->ckpt_ok = 0;
		GH_INFO("process checkpoint is off (idle.checkpoint: off); suspend reopens notebooks with fresh kernels");
	} else {
		hub->ckpt_ok = hub_ckpt_available(&tools);
	}
	for (int i = 0; i < hub->n_sessions; i++) {
		hub_session_t *hs = &hub->sessions[i];
		hub_suspend_record_path(hub, hs->s.id, path, sizeof(path));
		if (hs->s.state == GH_SESS_SUSPENDED ||
		    ((hs->s.state == GH_SESS_QUEUED || hs->s.state == GH_SESS_STARTING) && !hs->s.runtime_ref[0]))
			ckpt_load(hs, path);
		switch (hs->s.state) {
		case GH_SESS_QUEUED:
		case GH_SESS_STARTING:
		case GH_SESS_RUNNING:
		case GH_SESS_IDLE_WARNED:
			hs->resuming = access(path, F_OK) == 0;
			break;
		case GH_SESS_SUSPENDING: {
			/* the record was written (or not) before the hub stopped:
			 * reconcile stops what still runs */
			json_t *rec = json_load_file(path, 0, NULL);
			hs->reclaim = metrics_reason_label(json_string_value(json_object_get(rec, "reclaim")));
			json_decref(rec);
			if (hs->s.runtime_ref[0])
				rt_signal_stop(hub->rt, hs->s.runtime_ref, 0);
			break;
		}
		default:
			break;
		}
	}
}
