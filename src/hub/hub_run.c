/*
 * hub_run.c — a session's workspace while it runs: the start on a worker,
 * the readiness probe (an HTTP request on a worker, libcurl), the watch of
 * starting, running and stopping sessions on the hub's tick, and the
 * reconciliation with the runtime after a restart. The transitions
 * themselves are hub_sess.c's.
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <unistd.h>

/* --- runtime work --- */

/* A workspace start, prepared on the loop thread and run on a worker:
 * every string the runtime needs is copied in, so the worker touches no
 * hub state. */
typedef struct {
	int64_t session_id;
	gh_rt_t *rt;
	hub_rtspec_t rs;
	int rc;
	char ref[GH_TEXT_MAX];
	char err[512];
} start_job_t;

static void start_run(void *vjob)
{
	start_job_t *job = vjob;
	job->rc = rt_start(job->rt, &job->rs.spec, job->ref, sizeof(job->ref), job->err, sizeof(job->err));
}

static void start_done(void *ctx, void *vjob)
{
	hub_t *hub = ctx;
	start_job_t *job = vjob;
	hub_session_t *hs = hub_session_mut(hub, job->session_id);

	if (hs)
		hs->start_pending = 0;
	if (job->rc) {
		if (hs && hs->s.state == GH_SESS_STARTING) {
			char reason[GH_TEXT_MAX];
			snprintf(reason, sizeof(reason), "the workspace could not start: %.200s", job->err);
			hub_session_finish(hub, hs, GH_SESS_FAILED, "session.failed", reason);
		}
	} else if (!hs || hs->s.state != GH_SESS_STARTING || hs->s.runtime_ref[0]) {
		/* stopped or deleted while it was starting: no orphan */
		rt_signal_stop(hub->rt, job->ref, 1);
	} else if (hub_txn_begin(hub) == 0) {
		gh_strlcpy(hs->s.runtime_ref, job->ref, sizeof(hs->s.runtime_ref));
		if (store_session_put(hub->store, &hs->s) == 0 &&
		    hub_emit(hub, hs->s.id, hs->s.user_id, "session.process_started", GH_SESS_STARTING, 60,
		             "workspace process started; waiting for it to be ready") == 0)
			hub_txn_commit(hub);
		else
			hub_txn_rollback(hub);
		hs->probe_deadline = gh_now_ms() + 120000;
		hub->work_due = 1;
	}
	free(job);
}

static void start_workspace(hub_t *hub, hub_session_t *hs)
{
	start_job_t *job;
	char why[HUB_WHY];

	if (hs->ckpt && hub_ckpt_resume_start(hub, hs))
		return; /* restored from its checkpoint instead (hub_suspend.c) */
	job = calloc(1, sizeof(*job));
	if (!job)
		return; /* retried at the next tick */
	if (hub_rtspec_fill(hub, hs, &job->rs, why, sizeof(why)) != 0) {
		free(job);
		hub_session_finish(hub, hs, GH_SESS_FAILED, "session.failed", why);
		return;
	}
	job->session_id = hs->s.id;
	job->rt = hub->rt;
	if (worker_submit(hub->worker, job, start_run, start_done, hub) != 0) {
		free(job);
		return;
	}
	hs->start_pending = 1;
}

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
	(void)p;
	(void)u;
	return sz * n;
}

/* --- readiness: an HTTP probe on a worker (libcurl, 1 s timeout) --- */

typedef struct {
	int64_t session_id;
	char url[GH_TEXT_MAX + 300];
	char auth[64];
	long status;
} probe_job_t;

static void probe_run(void *vjob)
{
	probe_job_t *job = vjob;
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;

	job->status = 0;
	if (!c)
		return;
	h = curl_slist_append(h, job->auth);
	curl_easy_setopt(c, CURLOPT_URL, job->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &job->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

static void mark_running(hub_t *hub, hub_session_t *hs)
{
	hub_session_transition(hub, hs, GH_SESS_RUNNING, "session.running", 100, "workspace is ready");
}

static void probe_done(void *ctx, void *vjob)
{
	hub_t *hub = ctx;
	probe_job_t *job = vjob;
	hub_session_t *hs = hub_session_mut(hub, job->session_id);

	if (hs) {
		hs->start_pending = 0;
		if (hs->s.state == GH_SESS_STARTING && job->status == 200)
			mark_running(hub, hs);
	}
	free(job);
}

static void probe_submit(hub_t *hub, hub_session_t *hs, const hub_env_info_t *info)
{
	probe_job_t *job = calloc(1, sizeof(*job));
	char base[GH_TEXT_MAX], tok[33];

	if (!job)
		return;
	job->session_id = hs->s.id;
	if (hs->strip_prefix)
		snprintf(base, sizeof(base), "/");
	else
		hub_session_url(hub, hs, base, sizeof(base));
	snprintf(job->url, sizeof(job->url), "http://127.0.0.1:%d%s%s", hs->s.port, base, info->ready_path);
	hub_workspace_token(hub, hs->s.id, tok);
	snprintf(job->auth, sizeof(job->auth), "Authorization: token %s", tok);
	if (worker_submit(hub->worker, job, probe_run, probe_done, hub) != 0) {
		free(job);
		return;
	}
	hs->start_pending = 1;
}

/* The last lines of a session's workspace log, on one line, for a reason. */
static void log_tail(const hub_t *hub, int64_t id, char *out, size_t outlen)
{
	char path[CONFIG_STR + 80], buf[512];
	FILE *f;
	long size;
	size_t n, i;

	out[0] = '\0';
	hub_session_log_path(hub, id, path, sizeof(path));
	if (!(f = fopen(path, "r")))
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	for (i = 0; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')
			buf[i] = ' ';
	gh_strlcpy(out, n > 150 ? buf + n - 150 : buf, outlen);
}

static void starting_work(hub_t *hub, hub_session_t *hs, int64_t now)
{
	const gh_env_t *e = hub_env_find(hub, hs->s.env_name);
	const hub_env_info_t *info;
	rt_status_t st;

	if (!hs->s.runtime_ref[0]) {
		if (!hs->start_pending)
			start_workspace(hub, hs);
		return;
	}
	st = rt_probe(hub->rt, hs->s.runtime_ref);
	if (st == RT_GONE) {
		char tail[200], reason[GH_TEXT_MAX];
		log_tail(hub, hs->s.id, tail, sizeof(tail));
		snprintf(reason, sizeof(reason), "the workspace process exited while starting%s%s", tail[0] ? ": " : "",
		         tail);
		hub_session_finish(hub, hs, GH_SESS_FAILED, "session.failed", reason);
		return;
	}
	if (hs->probe_deadline && now > hs->probe_deadline) {
		char tail[200], reason[GH_TEXT_MAX];
		log_tail(hub, hs->s.id, tail, sizeof(tail));
		rt_signal_stop(hub->rt, hs->s.runtime_ref, 1);
		snprintf(reason, sizeof(reason), "the workspace did not become ready in time%s%s", tail[0] ? "; log: " : "",
		         tail);
		hub_session_finish(hub, hs, GH_SESS_FAILED, "session.failed", reason);
		return;
	}
	if (!e || !(info = hub_env_spec(hub, e)) || !info->ready_http) {
		mark_running(hub, hs); /* readiness is "the process runs" */
		return;
	}
	if (!hs->start_pending)
		probe_submit(hub, hs, info);
	hub->probe_soon = 1; /* probe again in a few ms while it starts */
}

static void stop_progress(hub_t *hub, hub_session_t *hs, int64_t now)
{
	if (hs->s.state == GH_SESS_SUSPENDING && hs->suspend_pending)
		return; /* still reading its open notebooks */
	if (!hs->s.runtime_ref[0] || rt_probe(hub->rt, hs->s.runtime_ref) == RT_GONE) {
		if (hs->s.state == GH_SESS_SUSPENDING)
			hub_suspend_finish(hub, hs);
		else
			hub_session_finish(hub, hs, GH_SESS_STOPPED, "session.stopped", "stopped; GPUs released");
		return;
	}
	hub->probe_soon = 1;
	if (now >= hs->probe_deadline) {
		GH_WARN("session %lld did not stop within %d s; killing it", (long long)hs->s.id, hub->cfg.stop_grace_s);
		rt_signal_stop(hub->rt, hs->s.runtime_ref, 1);
		hs->probe_deadline = now + 5000;
	}
}

static void session_work(hub_t *hub, hub_session_t *hs, void *arg)
{
	int64_t now = *(const int64_t *)arg;
	switch (hs->s.state) {
	case GH_SESS_STARTING:
		starting_work(hub, hs, now);
		break;
	case GH_SESS_RUNNING:
	case GH_SESS_IDLE_WARNED:
		if (rt_probe(hub->rt, hs->s.runtime_ref) == RT_GONE)
			hub_session_finish(hub, hs, GH_SESS_FAILED, "session.failed", "the workspace process ended on its own");
		break;
	case GH_SESS_STOPPING:
	case GH_SESS_SUSPENDING:
		stop_progress(hub, hs, now);
		break;
	default:
		break;
	}
}

void hub_sessions_work(hub_t *hub, int64_t now)
{
	hub_live_each(hub, session_work, &now); /* states change on the way */
}

void hub_reconcile(hub_t *hub)
{
	int adopted = 0, lost = 0;
	for (int i = 0; i < hub->n_sessions; i++) {
		hub_session_t *hs = &hub->sessions[i];
		int bad_gpu = 0;
		for (int k = 0; k < hs->n_allocs; k++)
			bad_gpu |= hs->allocs[k].gpu_index >= hub->n_gpus;
		switch (hs->s.state) {
		case GH_SESS_STARTING:
		case GH_SESS_RUNNING:
		case GH_SESS_IDLE_WARNED:
		case GH_SESS_STOPPING:
		case GH_SESS_SUSPENDING:
			if (bad_gpu) {
				rt_signal_stop(hub->rt, hs->s.runtime_ref, 1);
				hub_session_finish(hub, hs, GH_SESS_FAILED, "session.failed",
				                   "its GPU is no longer in the inventory");
				lost++;
			} else if (hs->s.runtime_ref[0] && rt_probe(hub->rt, hs->s.runtime_ref) != RT_GONE) {
				adopted++;
				hs->probe_deadline = gh_now_ms() + hub->cfg.stop_grace_s * 1000;
			} else if (hs->s.state == GH_SESS_SUSPENDING) {
				hub_suspend_finish(hub, hs);
			} else if (hs->s.state == GH_SESS_STOPPING) {
				hub_session_finish(hub, hs, GH_SESS_STOPPED, "session.stopped", "stopped while the hub was down");
			} else if (hs->s.state == GH_SESS_STARTING && !hs->s.runtime_ref[0]) {
				hub->work_due = 1; /* GPUs were chosen, the process not yet started */
			} else {
				hub_session_finish(hub, hs, GH_SESS_FAILED, "session.failed",
				                   "the workspace ended while the hub was down");
				lost++;
			}
			break;
		default:
			break;
		}
	}
	if (adopted || lost)
		GH_INFO("reconciled with the %s runtime: %d workspaces adopted, %d found gone", rt_name(hub->rt), adopted,
		        lost);
}
