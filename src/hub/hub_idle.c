/*
 * hub_idle.c — activity signals and idle policies: the hub side of
 * monitor/idle.c.
 *
 * Every idle.poll_interval_s each running session's signals are gathered
 * on a worker (nothing here blocks the loop) and the policy decides:
 *
 *   signal                         | from                          | counts as
 *   -------------------------------+-------------------------------+-----------
 *   user traffic through the proxy | proxy.c (polling excluded)    | user
 *   kernel busy                    | Jupyter api/kernels           | compute
 *   kernel / terminal last_activity| Jupyter api/kernels, terminals| user
 *   lastHeartbeat                  | code-server /healthz          | user
 *   GPU utilization of its pids    | gpu source (NVML or sim       | compute, GPU use
 *                                  | reports) ∩ its process tree   |
 *   CPU use of its processes       | runtime usage (/proc)         | compute
 *
 * The hub's own requests to the workspace carry no_track_activity=1, so
 * they never look like activity to Jupyter either. Jupyter's own
 * api/status last_activity is not used: every API request a browser tab
 * makes, polling included, moves it (docs/idle.md).
 *
 * Verdicts (idle.h): WARN moves running → idle-warned with a
 * session.idle_warning event and runs the notification hook; CLEAR moves
 * it back with session.active; ACT suspends (hub_suspend.c).
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "metrics/metrics.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define IDLE_BODY_MAX (256 * 1024)

/* --- policy --- */

void hub_idle_policy(const hub_t *hub, const hub_session_t *hs, idle_policy_t *out)
{
	const gh_env_t *e = hub_env_find(hub, hs->s.env_name);
	const gh_user_t *u = hub_user_by_id(hub, hs->s.user_id);
	const idle_policy_t *group;
	const hub_env_info_t *info;

	out->gpu_idle_s = hub->cfg.idle_gpu_idle_s;
	out->gpu_util_pct = hub->cfg.idle_gpu_util_pct;
	out->full_idle_s = hub->cfg.idle_full_idle_s;
	out->max_lifetime_s = hub->cfg.idle_max_lifetime_s;
	out->warn_s = hub->cfg.idle_warn_s;
	if (u && u->group[0] && (group = hub_group_idle_get(hub, u->group)))
		idle_policy_merge(out, group);
	if ((info = e ? hub_env_spec(hub, e) : NULL))
		idle_policy_merge(out, &info->idle); /* parsed with the spec, not per call */
}

/* --- gathering signals on a worker --- */

/* GET url with the workspace token; the parsed JSON body of a 200, or NULL. */
static json_t *get_json(const char *url, const char *auth)
{
	json_t *o;
	if (hub_ws_request(url, auth, NULL, 2000L, IDLE_BODY_MAX, &o) == 200)
		return o;
	json_decref(o);
	return NULL;
}

/* "2026-11-29T11:20:33.123456Z" (or +00:00) → Unix ms; 0 when unreadable. */
static int64_t iso_ms(const char *s)
{
	struct tm tm;
	double frac = 0;
	int n = 0;
	if (!s)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%d-%d-%dT%d:%d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	           &tm.tm_sec, &n) != 6)
		return 0;
	if (s[n] == '.')
		frac = strtod(s + n, NULL);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + (int64_t)(frac * 1000);
}

typedef struct {
	int64_t session_id;
	gh_rt_t *rt;
	char ref[GH_TEXT_MAX];
	char base[GH_TEXT_MAX + 64];     /* http://127.0.0.1:port/<prefix>/ */
	char auth[64];
	int jupyter, vscode;
	/* results */
	int usage_ok;
	rt_usage_t usage;
	int busy;                        /* a kernel is busy */
	int64_t user_at;                 /* latest kernel/terminal/heartbeat time */
} poll_job_t;

static void poll_run(void *vjob)
{
	poll_job_t *job = vjob;
	char url[GH_TEXT_MAX + 160];
	json_t *a, *v;
	size_t i;

	job->usage_ok = rt_usage(job->rt, job->ref, RT_USAGE_SHARE_MS, &job->usage) == 0;
	if (job->jupyter) {
		snprintf(url, sizeof(url), "%sapi/kernels?no_track_activity=1", job->base);
		if ((a = get_json(url, job->auth))) {
			json_array_foreach(a, i, v) {
				const char *st = json_string_value(json_object_get(v, "execution_state"));
				int64_t t = iso_ms(json_string_value(json_object_get(v, "last_activity")));
				/* "starting" stays until a client talks to the kernel: not compute */
				if (st && strcmp(st, "busy") == 0)
					job->busy = 1;
				if (t > job->user_at)
					job->user_at = t;
			}
			json_decref(a);
		}
		snprintf(url, sizeof(url), "%sapi/terminals?no_track_activity=1", job->base);
		if ((a = get_json(url, job->auth))) {
			json_array_foreach(a, i, v) {
				int64_t t = iso_ms(json_string_value(json_object_get(v, "last_activity")));
				if (t > job->user_at)
					job->user_at = t;
			}
			json_decref(a);
		}
	} else if (job->vscode) {
		snprintf(url, sizeof(url), "%shealthz", job->base);
		if ((a = get_json(url, job->auth))) {
			v = json_object_get(a, "lastHeartbeat");
			if (json_is_integer(v) && json_integer_value(v) > job->user_at)
				job->user_at = json_integer_value(v);
			json_decref(a);
		}
	}
}

/* GPU utilization of hs's processes on its GPUs (max), -1 = none seen. */
static int session_gpu_util(hub_t *hub, const hub_session_t *hs, const rt_usage_t *u)
{
	gh_gpu_proc_t procs[64];
	int best = -1;
	for (int k = 0; k < hs->n_allocs; k++) {
		int n = 0;
		if (gpu_processes(hub->gpu, hs->allocs[k].gpu_index, procs, 64, &n) != 0)
			continue;
		for (int i = 0; i < n; i++)
			for (int j = 0; j < u->npids; j++)
				if (procs[i].pid == u->pids[j] && procs[i].util_pct > best)
					best = procs[i].util_pct;
	}
	return best;
}

static void poll_done(void *ctx, void *vjob)
{
	hub_t *hub = ctx;
	poll_job_t *job = vjob;
	hub_session_t *hs = hub_session_mut(hub, job->session_id);
	int64_t now = gh_now_ms();
	idle_policy_t p;

	if (!hs) {
		free(job);
		return;
	}
	hs->idle_poll_pending = 0;
	hs->rev++; /* its API view shows the signals */
	hub_idle_policy(hub, hs, &p);
	if (job->user_at > hs->work_user_at && job->user_at <= now + 60000)
		hs->work_user_at = job->user_at;
	if (job->busy)
		hs->compute_at = now;
	if (job->usage_ok) {
		int util = session_gpu_util(hub, hs, &job->usage);
		hs->gpu_util_pct = util;
		if (util >= 0 && util >= p.gpu_util_pct && util > 0) {
			hs->gpu_busy_at = now;
			hs->compute_at = now;
		}
		if (hs->cpu_at && now > hs->cpu_at && job->usage.cpu_usec >= hs->cpu_usec) {
			/* percent of one core = usec / (ms * 10) */
			int64_t pct = (job->usage.cpu_usec - hs->cpu_usec) / ((now - hs->cpu_at) * 10);
			if (pct >= hub->cfg.idle_cpu_pct)
				hs->compute_at = now;
			GH_DEBUG("session %lld: %d processes, CPU %lld%% of a core, kernel busy %d, GPU %d%%",
			         (long long)hs->s.id, job->usage.npids, (long long)pct, job->busy, hs->gpu_util_pct);
		}
		hs->cpu_usec = job->usage.cpu_usec;
		hs->cpu_at = now;
		if (hs->n_kclaims && job->usage.npids < RT_USAGE_PIDS_MAX)
			hub_kgpu_check(hub, hs, job->usage.pids, job->usage.npids);
	}
	free(job);
}

static void poll_submit(hub_t *hub, hub_session_t *hs)
{
	const gh_env_t *e = hub_env_find(hub, hs->s.env_name);
	const hub_env_info_t *info = e ? hub_env_spec(hub, e) : NULL;
	poll_job_t *job = calloc(1, sizeof(*job));

	if (!job)
		return;
	job->session_id = hs->s.id;
	job->rt = hub->rt;
	gh_strlcpy(job->ref, hs->s.runtime_ref, sizeof(job->ref));
	hub_ws_base(hub, hs, job->base, sizeof(job->base), job->auth, sizeof(job->auth));
	job->jupyter = info && strcmp(info->interface, "jupyter") == 0 && info->ready_http &&
	               strcmp(info->ready_path, "api/status") == 0;
	job->vscode = info && strcmp(info->interface, "vscode") == 0;
	if (worker_submit(hub->worker, job, poll_run, poll_done, hub) != 0) {
		free(job);
		return;
	}
	hs->idle_poll_pending = 1;
}

/* --- notification hook --- */

typedef struct {
	char command[CONFIG_STR];
	char url[CONFIG_STR];
	char env[8][GH_TEXT_MAX + 32];
	char json[1024];
} notify_job_t;

static void notify_run(void *vjob)
{
	notify_job_t *job = vjob;
	if (job->command[0]) {
		pid_t pid = fork();
		if (pid == 0) {
			char *envp[10];
			int i;
			for (i = 0; i < 8 && job->env[i][0]; i++)
				envp[i] = job->env[i];
			envp[i++] = (char *)"PATH=/usr/local/bin:/usr/bin:/bin";
			envp[i] = NULL;
			execle("/bin/sh", "sh", "-c", job->command, (char *)NULL, envp);
			_exit(127);
		}
		if (pid > 0) {
			int st, waited = 0;
			while (waitpid(pid, &st, WNOHANG) == 0) {
				if (waited++ > 100) { /* 10 s */
					kill(pid, SIGKILL);
					waitpid(pid, &st, 0);
					break;
				}
				usleep(100000);
			}
		}
	}
	if (job->url[0]) {
		CURL *c = curl_easy_init();
		struct curl_slist *h = NULL;
		if (c) {
			h = curl_slist_append(h, "Content-Type: application/json");
			curl_easy_setopt(c, CURLOPT_URL, job->url);
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, job->json);
			curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
			curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
			if (curl_easy_perform(c) != CURLE_OK)
				GH_WARN("the idle notification to %s failed", job->url);
			curl_slist_free_all(h);
			curl_easy_cleanup(c);
		}
	}
}

static void notify_done(void *ctx, void *vjob)
{
	(void)ctx;
	free(vjob);
}

static void notify(hub_t *hub, const hub_session_t *hs, const char *rule, int64_t action_at, const char *msg)
{
	const gh_user_t *u = hub_user_by_id(hub, hs->s.user_id);
	notify_job_t *job;
	json_t *o;
	char *text;

	if (!hub->cfg.idle_notify_command[0] && !hub->cfg.idle_notify_url[0])
		return;
	if (!(job = calloc(1, sizeof(*job))))
		return;
	gh_strlcpy(job->command, hub->cfg.idle_notify_command, sizeof(job->command));
	gh_strlcpy(job->url, hub->cfg.idle_notify_url, sizeof(job->url));
	snprintf(job->env[0], sizeof(job->env[0]), "GPUHUB_EVENT=session.idle_warning");
	snprintf(job->env[1], sizeof(job->env[0]), "GPUHUB_SESSION_ID=%lld", (long long)hs->s.id);
	snprintf(job->env[2], sizeof(job->env[0]), "GPUHUB_SESSION_NAME=%s", hs->s.name);
	snprintf(job->env[3], sizeof(job->env[0]), "GPUHUB_USER=%s", u ? u->name : "");
	snprintf(job->env[4], sizeof(job->env[0]), "GPUHUB_IDLE_RULE=%s", rule);
	snprintf(job->env[5], sizeof(job->env[0]), "GPUHUB_ACTION_AT=%lld", (long long)(action_at / 1000));
	snprintf(job->env[6], sizeof(job->env[0]), "GPUHUB_MESSAGE=%s", msg);
	o = json_pack("{s:s,s:I,s:s,s:s,s:s,s:I,s:s}", "event", "session.idle_warning", "session_id",
	              (json_int_t)hs->s.id, "session", hs->s.name, "user", u ? u->name : "", "rule", rule, "action_at",
	              (json_int_t)(action_at / 1000), "message", msg);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text)
		gh_strlcpy(job->json, text, sizeof(job->json));
	free(text);
	json_decref(o);
	if (worker_submit(hub->worker, job, notify_run, notify_done, hub) != 0)
		free(job);
}

/* --- decisions --- */

void hub_record_reclaimed(hub_t *hub, const hub_session_t *hs, int gpu_milli, const char *label, const char *reason)
{
	if (gpu_milli <= 0)
		return;
	metrics_reclaimed_add(hub->metrics, label, hub_reclaim_estimate(hub, gpu_milli));
	hub_emit(hub, hs->s.id, hs->s.user_id, "session.gpus_reclaimed", hs->s.state, -1,
	         "%g GPU%s given back by session %s: %s", gpu_milli / 1000.0, gpu_milli == 1000 ? "" : "s", hs->s.name,
	         reason);
}

static const char *rule_words(idle_rule_t r)
{
	switch (r) {
	case IDLE_RULE_GPU:
		return "its GPUs have not been used";
	case IDLE_RULE_FULL:
		return "no activity and no computation";
	case IDLE_RULE_LIFETIME:
		return "it reached its maximum lifetime";
	default:
		return "idle";
	}
}

static void decide(hub_t *hub, hub_session_t *hs, int64_t now)
{
	idle_policy_t p;
	idle_signals_t sig;
	idle_verdict_t v;
	char msg[GH_TEXT_MAX], why[HUB_WHY];
	int64_t last;

	hub_idle_policy(hub, hs, &p);
	sig.running_since = hs->running_since;
	sig.user_at = hs->s.last_activity_at > hs->work_user_at ? hs->s.last_activity_at : hs->work_user_at;
	sig.compute_at = hs->compute_at;
	sig.gpu_busy_at = hs->gpu_busy_at;
	sig.holds_gpus = hs->n_allocs > 0;
	last = sig.user_at > sig.compute_at ? sig.user_at : sig.compute_at;
	if (last < hs->running_since)
		last = hs->running_since;
	hs->idle_now = now - last >= 2000L * hub->cfg.idle_poll_s;

	v = idle_decide(&p, &sig, hs->s.state == GH_SESS_IDLE_WARNED ? (hs->warned_at ? hs->warned_at : now) : 0, now);
	switch (v.action) {
	case IDLE_KEEP:
		break;
	case IDLE_CLEAR:
		if (hs->s.state == GH_SESS_IDLE_WARNED &&
		    hub_session_transition(hub, hs, GH_SESS_RUNNING, "session.active", -1,
		                           "in use again; the idle warning is withdrawn") == 0) {
			hs->warned_at = 0;
			hs->idle_action_at = 0;
			hs->idle_rule[0] = '\0';
		}
		break;
	case IDLE_WARN:
	case IDLE_ACT: {
		int64_t at = v.due;
		if (v.action == IDLE_WARN && at < now + (int64_t)p.warn_s * 1000)
			at = now + (int64_t)p.warn_s * 1000;
		if (hs->s.state == GH_SESS_RUNNING) {
			snprintf(msg, sizeof(msg), "idle (%s: %s); it will be suspended in %lld s unless it is used",
			         idle_rule_name(v.rule), rule_words(v.rule), (long long)((at - now + 999) / 1000));
			if (hub_session_transition(hub, hs, GH_SESS_IDLE_WARNED, "session.idle_warning", -1, msg) != 0)
				break;
			hs->warned_at = now;
			hs->idle_action_at = at;
			gh_strlcpy(hs->idle_rule, idle_rule_name(v.rule), sizeof(hs->idle_rule));
			GH_INFO("session %lld (%s) is idle (%s); suspending at %lld", (long long)hs->s.id, hs->s.name,
			        idle_rule_name(v.rule), (long long)at);
			notify(hub, hs, idle_rule_name(v.rule), at, msg);
			/* the user's own notice: an event on their stream, and an
			 * e-mail where alerts.email_users is on (hub_alert.c) */
			alert_notify_user(hub, hs->s.user_id, hs->s.id, "suspend_soon",
			                  "your session %s will be suspended in %lld minute%s unless it is used (%s)",
			                  hs->s.name, (long long)((at - now + 59999) / 60000),
			                  (at - now + 59999) / 60000 == 1 ? "" : "s", rule_words(v.rule));
		}
		if (v.action == IDLE_ACT) {
			snprintf(msg, sizeof(msg), "idle (%s: %s)", idle_rule_name(v.rule), rule_words(v.rule));
			if (hub_session_suspend_for(hub, hs->s.id, 0, v.rule == IDLE_RULE_LIFETIME ? "lifetime" : "idle", msg,
			                            why, sizeof(why)) != 0)
				GH_WARN("session %lld could not be suspended: %s", (long long)hs->s.id, why);
		}
		break;
	}
	}
}

static void idle_work(hub_t *hub, hub_session_t *hs, void *arg)
{
	int64_t now = *(const int64_t *)arg;

	/* leaving running clears running_since (hub_sess.c transition) */
	if (hs->s.state != GH_SESS_RUNNING && hs->s.state != GH_SESS_IDLE_WARNED)
		return;
	if (!hs->running_since) {
		hs->running_since = now;
		hs->gpu_util_pct = -1;
		hs->cpu_at = 0;
		hs->next_idle_poll = now; /* a first look at once */
		if (hs->s.state == GH_SESS_IDLE_WARNED && !hs->warned_at)
			hs->warned_at = now; /* after a restart: the warning period starts again */
	}
	hub_resume_work(hub, hs);
	if (!hs->s.runtime_ref[0])
		return;
	if (now >= hs->next_idle_poll && !hs->idle_poll_pending) {
		poll_submit(hub, hs);
		hs->next_idle_poll = now + (int64_t)hub->cfg.idle_poll_s * 1000;
	}
	if (now >= hs->next_decide) {
		hs->next_decide = now + 250;
		decide(hub, hs, now);
	}
}

void hub_idle_tick(hub_t *hub, int64_t now)
{
	hub_live_each(hub, idle_work, &now); /* sessions suspend on the way */
}
