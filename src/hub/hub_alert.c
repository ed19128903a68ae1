/*
 * hub_alert.c — the hub's anomaly rules, XID quarantine, and the delivery
 * of alert notices and user notices through the worker pool.
 *
 * Every alerts.eval_interval_ms the tick runs the rules below over the
 * hub's in-memory state (no I/O but one statvfs), reporting each condition
 * that holds to the alert engine (alert/alert.c), which deduplicates,
 * resolves and decides which sink owes which notice. Notices are sent on
 * a worker thread (a blocking libcurl transfer each, one at a time) and
 * the outcome comes back to the loop in send_done(), which asks for
 * another tick so the next notice goes out at once.
 *
 *   alert             | condition (0 in its key turns it off)              | labels
 *   ------------------+---------------------------------------------------+----------------
 *   GpuXidError       | the GPU is quarantined after an XID                 | gpu, uuid, xid
 *   GpuLost           | the GPU fell off the bus                            | gpu, uuid
 *   GpuIdle           | allocated, 0 % busy for gpu_idle_s                 | gpu, uuid
 *   GpuMemoryIdle     | >= memory_idle_mib used at 0 % for memory_idle_s   | gpu, uuid
 *   GpuThrottling     | >= temperature_c or >= power_w for throttle_s      | gpu, uuid
 *   SessionCrashLoop  | crash_loop_failures failures of one user's sessions | user, environment
 *                     | of one environment within crash_loop_window_s      |
 *   RequestWaiting    | a session queued for longer than queue_wait_s      | user, session
 *   DiskNearlyFull    | the data dir's file system >= disk_used_pct full   | path
 *   RuntimeFailures   | runtime_failures failed sessions within            | runtime
 *                     | runtime_failure_window_s                            |
 *
 * Example: alerts.gpu_idle_s = 3600. Session 7 holds GPU 2 from 09:00 and
 * its processes report util=0 from 09:10. At 10:10 GpuIdle{gpu="2"} fires
 * (one Slack message); at 10:15 util is 40 %: the next round does not
 * observe it, the alert resolves, and Slack gets the resolved notice.
 *
 * Quarantine: an XID event marks the GPU quarantined (hub_gpu_t); the
 * scheduler then treats it as disabled, so no new allocation lands on it,
 * and every session holding it gets a notice. An admin lifts it (API/CLI),
 * which clears the device's fault marks too; the next round resolves the
 * alert. A CLEARED event from the GPU source lifts it as well. Both ends
 * are events in the store (gpu.quarantined / gpu.unquarantined, with the
 * GPU's UUID in their data), replayed at start, so a quarantine survives a
 * restart of the daemon.
 */
#include "hub/hub_int.h"
#include "alert/alert_sink.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <jansson.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#define FAILS_MAX 512                /* failures remembered for the rate rules */
/* Alert notices on the shared worker pool at once: one, so a sink that
 * hangs until its timeout never holds back a workspace start. */
#define SEND_MAX 1

typedef struct {
	int64_t ts;
	int64_t user_id;
	char env[GH_NAME_MAX];
} fail_t;

typedef struct {
	int64_t idle_since, memidle_since, hot_since; /* ms, 0 = condition not holding */
} gpu_watch_t;

struct hub_alerts {
	alert_engine_t *eng;
	alert_sinks_t sinks;
	int64_t next_eval;
	gpu_watch_t *gw;                 /* one per GPU */
	fail_t fails[FAILS_MAX];         /* ring of recent session failures */
	int fail_head, n_fails;
	hub_sub_t *sub;
	int in_flight;                   /* jobs on the worker */
};

typedef struct {
	hub_t *hub;
	alert_notice_t notice;           /* alert_id 0: a user notice */
	char label[96];                  /* for the log: "GpuIdle (fp)" or "notice to alice" */
	alert_msg_t *msg;
} send_job_t;

/* ---- delivery ------------------------------------------------------ */

static void send_run(void *arg)
{
	send_job_t *j = arg;
	alert_msg_send(j->msg);
}

static void send_done(void *ctx, void *arg)
{
	send_job_t *j = arg;
	hub_t *hub = ctx;
	struct hub_alerts *A = hub->alerts;
	const char *sink = alert_sink_name(j->notice.sink);

	if (A)
		A->in_flight--;
	hub->work_due = 1; /* the next notice, or a retry, may be due */
	if (j->notice.alert_id == 0) {
		if (j->msg->ok)
			GH_INFO("%s sent by e-mail", j->label);
		else
			GH_WARN("%s could not be sent by e-mail: %s", j->label, j->msg->error);
	} else if (A) {
		int64_t now = gh_now_ms();
		int64_t delay = alert_result(A->eng, &j->notice, j->msg->ok, j->msg->error, now);
		if (j->msg->ok)
			GH_INFO("alert %s: %s notice delivered to %s", j->label, j->notice.resolved ? "resolved" : "firing",
			        sink);
		else if (delay > 0)
			GH_WARN("alert %s: %s notice to %s failed (%s); trying again in %lld ms", j->label,
			        j->notice.resolved ? "resolved" : "firing", sink, j->msg->error, (long long)delay);
		else
			GH_ERROR("alert %s: %s notice to %s failed (%s); giving up after %d attempts", j->label,
			         j->notice.resolved ? "resolved" : "firing", sink, j->msg->error,
			         alert_policy(A->eng)->retry_attempts);
	}
	alert_msg_free(j->msg);
	free(j);
}

/* Hands msg (taken) to the worker pool. */
static void submit(hub_t *hub, const alert_notice_t *n, const char *label, alert_msg_t *msg)
{
	send_job_t *j = calloc(1, sizeof(*j));

	if (!j || !msg) {
		free(j);
		alert_msg_free(msg);
		if (n->alert_id)
			alert_result(hub->alerts->eng, n, 0, "out of memory", gh_now_ms());
		return;
	}
	j->hub = hub;
	j->notice = *n;
	j->msg = msg;
	gh_strlcpy(j->label, label, sizeof(j->label));
	if (worker_submit(hub->worker, j, send_run, send_done, hub) != 0) {
		j->msg->ok = 0;
		gh_strlcpy(j->msg->error, "the worker pool refused the job", sizeof(j->msg->error));
		hub->alerts->in_flight++;
		send_done(hub, j);
		return;
	}
	hub->alerts->in_flight++;
}

static void dispatch(hub_t *hub, int64_t now)
{
	struct hub_alerts *A = hub->alerts;
	alert_notice_t due[SEND_MAX];
	int n, i;

	if (A->in_flight >= SEND_MAX)
		return;
	n = alert_due(A->eng, now, due, SEND_MAX - A->in_flight);
	for (i = 0; i < n; i++) {
		const alert_t *a = alert_find(A->eng, due[i].alert_id);
		char label[96];
		snprintf(label, sizeof(label), "%s (fingerprint %s)", a->spec.name, a->fingerprint);
		submit(hub, &due[i], label, alert_msg_for(&A->sinks, due[i].sink, a, due[i].resolved, now));
	}
}

/* ---- user notices -------------------------------------------------- */

int alert_notify_user(hub_t *hub, int64_t user_id, int64_t session_id, const char *kind, const char *fmt, ...)
{
	const gh_user_t *u = hub_user_by_id(hub, user_id);
	const hub_session_t *hs = session_id ? hub_session_get(hub, session_id) : NULL;
	char msg[GH_TEXT_MAX], type[48], subject[160], label[96];
	va_list ap;
	int rc;

	if (!u || !kind || !kind[0])
		return GH_ENOTFOUND;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(type, sizeof(type), "notice.%s", kind);
	rc = hub_emit(hub, hs ? session_id : 0, user_id, type, hs ? hs->s.state : 0, -1, "%s", msg);
	if (rc)
		return rc;
	GH_INFO("notice %s for user %s%s%s: %s", kind, u->name, hs ? " about session " : "", hs ? hs->s.name : "", msg);
	if (hub->alerts && hub->cfg.alert_email_users && u->email[0] && hub->alerts->sinks.smtp_url[0]) {
		alert_notice_t n = { 0, ALERT_SINK_EMAIL, 0 };
		snprintf(subject, sizeof(subject), "[gpuhub] %s%s%s", hs ? "session " : "notice", hs ? hs->s.name : "",
		         hs ? ": notice" : "");
		snprintf(label, sizeof(label), "notice %s to user %s", kind, u->name);
		submit(hub, &n, label, alert_msg_mail(&hub->alerts->sinks, u->email, subject, msg, gh_now_ms()));
	}
	return 0;
}

/* ---- quarantine ---------------------------------------------------- */

void hub_gpu_quarantine(hub_t *hub, int index, int xid)
{
	hub_gpu_t *g = &hub->gpus[index];
	int was = g->quarantined;

	g->quarantined = 1;
	g->quarantine_xid = xid;
	if (was)
		return;
	g->quarantined_at = gh_now_ms();
	{
		char data[160];
		snprintf(data, sizeof(data), "{\"gpu\":%d,\"uuid\":\"%s\",\"xid\":%d}", index, g->info.uuid, xid);
		hub_emit_data(hub, 0, "gpu.quarantined", data, "GPU %d (%s) quarantined after XID %d", index,
		              g->info.uuid, xid);
	}
	for (int j = 0; j < hub->n_live; j++) {
		const hub_session_t *hs = hub_live_at(hub, j);
		for (int k = 0; k < hs->n_allocs; k++) {
			if (hs->allocs[k].gpu_index != index)
				continue;
			alert_notify_user(hub, hs->s.user_id, hs->s.id, "gpu_quarantined",
			                  "GPU %d of your session %s reported XID error %d and is quarantined; your work on "
			                  "it may be affected: save it and restart the session to move to a healthy GPU",
			                  index, hs->s.name, xid);
			break;
		}
	}
	if (hub->alerts)
		hub->alerts->next_eval = 0; /* tell admins now, not at the next round */
	hub->work_due = 1;
}

/* Clears the quarantine of GPU index and records who lifted it. */
static void lift(hub_t *hub, int index, int64_t actor_id, const char *who)
{
	hub_gpu_t *g = &hub->gpus[index];
	char data[160];

	g->quarantined = 0;
	g->quarantine_xid = 0;
	g->quarantined_at = 0;
	snprintf(data, sizeof(data), "{\"gpu\":%d,\"uuid\":\"%s\"}", index, g->info.uuid);
	hub_emit_data(hub, actor_id, "gpu.unquarantined", data, "GPU %d (%s) quarantine lifted by %s", index,
	              g->info.uuid, who);
	GH_INFO("GPU %d quarantine lifted by %s", index, who);
	hub->sched_dirty = 1;
	if (hub->alerts)
		hub->alerts->next_eval = 0;
}

void hub_gpu_quarantine_cleared(hub_t *hub, int index)
{
	if (hub->gpus[index].quarantined)
		lift(hub, index, 0, "the GPU source (fault cleared)");
}

typedef struct {
	hub_t *hub;
	int *state;                      /* per GPU: 0 none, else xid (-1: unknown xid) */
	int64_t *since;
} replay_t;

static int replay_event(void *ctx, const gh_event_t *ev)
{
	replay_t *r = ctx;
	int q = strcmp(ev->type, "gpu.quarantined") == 0;
	json_t *d;
	const char *uuid;

	if (!q && strcmp(ev->type, "gpu.unquarantined") != 0)
		return 0;
	d = json_loads(ev->data, 0, NULL);
	uuid = json_string_value(json_object_get(d, "uuid"));
	for (int i = 0; uuid && i < r->hub->n_gpus; i++) {
		if (strcmp(r->hub->gpus[i].info.uuid, uuid) != 0)
			continue;
		r->state[i] = q ? (int)json_integer_value(json_object_get(d, "xid")) : 0;
		if (q && r->state[i] <= 0)
			r->state[i] = -1;
		r->since[i] = ev->ts;
	}
	json_decref(d);
	return 0;
}

void hub_quarantine_restore(hub_t *hub)
{
	replay_t r = { hub, calloc((size_t)hub->n_gpus + 1, sizeof(int)),
	               calloc((size_t)hub->n_gpus + 1, sizeof(int64_t)) };

	if (!r.state || !r.since) {
		GH_ERROR("out of memory restoring GPU quarantines; none restored");
	} else if (hub_events_list(hub, 0, 0, 0, replay_event, &r) != 0) {
		GH_ERROR("cannot read the events that record GPU quarantines; none restored");
	} else {
		for (int i = 0; i < hub->n_gpus; i++) {
			hub_gpu_t *g = &hub->gpus[i];
			if (!r.state[i])
				continue;
			g->quarantined = 1;
			g->quarantine_xid = r.state[i] > 0 ? r.state[i] : 0;
			g->quarantined_at = r.since[i];
			GH_WARN("GPU %d (%s) is still quarantined after XID %d; lift it with 'gpuhub unquarantine %d'", i,
			        g->info.uuid, g->quarantine_xid, i);
		}
	}
	free(r.state);
	free(r.since);
}

int hub_gpu_unquarantine(hub_t *hub, int index, int64_t actor_id, char *why, size_t whylen)
{
	hub_gpu_t *g;
	const gh_user_t *actor = hub_user_by_id(hub, actor_id);
	int rc;

	if (index < 0 || index >= hub->n_gpus)
		return GH_ENOTFOUND;
	g = &hub->gpus[index];
	if (!g->quarantined) {
		snprintf(why, whylen, "GPU %d is not quarantined", index);
		return GH_ESTATE;
	}
	lift(hub, index, actor_id, actor ? actor->name : "the system");
	/* clear the device's own fault marks too (real and simulated GPUs
	 * both accept CLEARED); a lost GPU stays lost until it answers again */
	rc = gpu_inject(hub->gpu, index, GH_GPU_EV_CLEARED, 0);
	if (rc && rc != GH_EUNSUPPORTED)
		GH_WARN("GPU %d: clearing its fault marks failed: %s", index, gh_strerror(rc));
	hub_gpu_poll(hub, gh_now_ms());
	return 0;
}

/* ---- rules --------------------------------------------------------- */

static alert_spec_t spec_new(const char *name, const char *severity)
{
	alert_spec_t s;
	memset(&s, 0, sizeof(s));
	gh_strlcpy(s.name, name, sizeof(s.name));
	gh_strlcpy(s.severity, severity, sizeof(s.severity));
	return s;
}

static void gpu_labels(alert_spec_t *s, const hub_gpu_t *g)
{
	alert_spec_label(s, "gpu", "%d", g->info.index);
	alert_spec_label(s, "uuid", "%s", g->info.uuid);
}

/* Users holding GPU index, "alice, bob" (for descriptions). */
static void holders(const hub_t *hub, int index, char *out, size_t outlen)
{
	size_t l = 0;
	out[0] = '\0';
	for (int j = 0; j < hub->n_live && l + 1 < outlen; j++) {
		const hub_session_t *hs = hub_live_at(hub, j);
		for (int k = 0; k < hs->n_allocs; k++) {
			if (hs->allocs[k].gpu_index == index) {
				const gh_user_t *u = hub_user_by_id(hub, hs->s.user_id);
				l += (size_t)snprintf(out + l, outlen - l, "%s%s/%s", l ? ", " : "", u ? u->name : "?",
				                      hs->s.name);
				break;
			}
		}
	}
	if (l >= outlen)
		out[outlen - 1] = '\0';
}

/* True when cond has held for at least hold_s seconds (tracking since). */
static int held(int cond, int64_t *since, int64_t now, int hold_s)
{
	if (!cond) {
		*since = 0;
		return 0;
	}
	if (!*since)
		*since = now;
	return now - *since >= (int64_t)hold_s * 1000;
}

static void rules_gpu(hub_t *hub, int64_t now)
{
	const gh_config_t *c = &hub->cfg;
	struct hub_alerts *A = hub->alerts;
	char who[192];

	for (int i = 0; i < hub->n_gpus; i++) {
		const hub_gpu_t *g = &hub->gpus[i];
		gpu_watch_t *w = &A->gw[i];
		const gh_gpu_telemetry_t *t = &g->tel;
		alert_spec_t s;
		int idle = !t->lost && t->util_pct == 0;

		if (g->quarantined) {
			s = spec_new("GpuXidError", "critical");
			gpu_labels(&s, g);
			alert_spec_label(&s, "xid", "%d", g->quarantine_xid);
			holders(hub, i, who, sizeof(who));
			snprintf(s.summary, sizeof(s.summary), "GPU %d (%s) reported XID error %d and is quarantined", i,
			         g->info.model, g->quarantine_xid);
			snprintf(s.description, sizeof(s.description),
			         "No new session is placed on it. Sessions on it: %s. After checking the GPU, lift the "
			         "quarantine with: gpuhub unquarantine %d",
			         who[0] ? who : "none", i);
			alert_observe(A->eng, &s, now);
		}
		if (t->lost) {
			s = spec_new("GpuLost", "critical");
			gpu_labels(&s, g);
			snprintf(s.summary, sizeof(s.summary), "GPU %d (%s) is lost: it fell off the bus or stopped answering",
			         i, g->info.model);
			snprintf(s.description, sizeof(s.description),
			         "Its sessions cannot use it and no new session is placed on it. The machine may need a "
			         "reset of the device or a reboot.");
			alert_observe(A->eng, &s, now);
		}
		if (c->alert_gpu_idle_s > 0 && held(idle && g->allocated_milli > 0, &w->idle_since, now, c->alert_gpu_idle_s)) {
			s = spec_new("GpuIdle", "warning");
			gpu_labels(&s, g);
			holders(hub, i, who, sizeof(who));
			snprintf(s.summary, sizeof(s.summary), "GPU %d is allocated but has been idle for %lld minutes", i,
			         (long long)((now - w->idle_since) / 60000));
			snprintf(s.description, sizeof(s.description), "Held by %s at 0 %% utilization since then.",
			         who[0] ? who : "nobody");
			alert_observe(A->eng, &s, now);
		}
		if (c->alert_memory_idle_s > 0 &&
		    held(idle && t->memory_used_mib >= c->alert_memory_idle_mib, &w->memidle_since, now, c->alert_memory_idle_s)) {
			s = spec_new("GpuMemoryIdle", "warning");
			gpu_labels(&s, g);
			holders(hub, i, who, sizeof(who));
			snprintf(s.summary, sizeof(s.summary), "GPU %d holds %lld MiB of memory at 0 %% utilization", i,
			         (long long)t->memory_used_mib);
			snprintf(s.description, sizeof(s.description), "For %lld minutes; allocated to %s.",
			         (long long)((now - w->memidle_since) / 60000), who[0] ? who : "nobody");
			alert_observe(A->eng, &s, now);
		}
		{
			int hot = c->alert_temperature_c > 0 && t->temperature_c >= c->alert_temperature_c;
			int power = c->alert_power_w > 0 && t->power_w >= c->alert_power_w;
			if ((c->alert_temperature_c > 0 || c->alert_power_w > 0) && !t->lost &&
			    held(hot || power, &w->hot_since, now, c->alert_throttle_s)) {
				s = spec_new("GpuThrottling", "warning");
				gpu_labels(&s, g);
				snprintf(s.summary, sizeof(s.summary), "GPU %d is running at %d C and %d W: it may be throttling",
				         i, t->temperature_c, t->power_w);
				snprintf(s.description, sizeof(s.description),
				         "Limits: %d C, %d W (0 = not checked); check the cooling and the power cap.",
				         c->alert_temperature_c, c->alert_power_w);
				alert_observe(A->eng, &s, now);
			}
		}
	}
}

static void on_event(void *ctx, const gh_event_t *ev)
{
	hub_t *hub = ctx;
	struct hub_alerts *A = hub->alerts;
	const hub_session_t *hs;
	fail_t *f;

	if (!A || strcmp(ev->type, "session.failed") != 0)
		return;
	hs = hub_session_get(hub, ev->session_id);
	f = &A->fails[A->fail_head];
	A->fail_head = (A->fail_head + 1) % FAILS_MAX;
	if (A->n_fails < FAILS_MAX)
		A->n_fails++;
	f->ts = ev->ts;
	f->user_id = hs ? hs->s.user_id : ev->user_id;
	gh_strlcpy(f->env, hs ? hs->s.env_name : "", sizeof(f->env));
	A->next_eval = 0;
}

static void rules_failures(hub_t *hub, int64_t now)
{
	const gh_config_t *c = &hub->cfg;
	struct hub_alerts *A = hub->alerts;
	int i, j, total = 0;
	alert_spec_t s;

	for (i = 0; i < A->n_fails; i++) {
		const fail_t *f = &A->fails[(A->fail_head - 1 - i + FAILS_MAX) % FAILS_MAX];
		if (now - f->ts <= (int64_t)c->alert_rt_window_s * 1000)
			total++;
	}
	if (c->alert_rt_failures > 0 && total >= c->alert_rt_failures) {
		s = spec_new("RuntimeFailures", "critical");
		alert_spec_label(&s, "runtime", "%s", c->runtime);
		snprintf(s.summary, sizeof(s.summary), "%d sessions failed in the last %d minutes", total,
		         c->alert_rt_window_s / 60);
		snprintf(s.description, sizeof(s.description),
		         "The %s runtime is failing more than alerts.runtime_failures (%d) allows; see the sessions' "
		         "reasons (gpuhub ls) and the daemon log.", c->runtime, c->alert_rt_failures);
		alert_observe(A->eng, &s, now);
	}
	if (c->alert_crash_failures <= 0)
		return;
	/* per (user, environment): a quadratic pass over at most FAILS_MAX */
	for (i = 0; i < A->n_fails; i++) {
		const fail_t *f = &A->fails[(A->fail_head - 1 - i + FAILS_MAX) % FAILS_MAX];
		int n = 0, first = 1;
		if (now - f->ts > (int64_t)c->alert_crash_window_s * 1000)
			continue;
		for (j = 0; j < A->n_fails; j++) {
			const fail_t *o = &A->fails[(A->fail_head - 1 - j + FAILS_MAX) % FAILS_MAX];
			if (o->user_id != f->user_id || strcmp(o->env, f->env) != 0 ||
			    now - o->ts > (int64_t)c->alert_crash_window_s * 1000)
				continue;
			if (j < i)
				first = 0; /* counted at its newest failure already */
			n++;
		}
		if (first && n >= c->alert_crash_failures) {
			const gh_user_t *u = hub_user_by_id(hub, f->user_id);
			s = spec_new("SessionCrashLoop", "warning");
			alert_spec_label(&s, "user", "%s", u ? u->name : "?");
			alert_spec_label(&s, "environment", "%s", f->env);
			snprintf(s.summary, sizeof(s.summary), "Sessions of %s in environment %s failed %d times in %d minutes",
			         u ? u->name : "?", f->env, n, c->alert_crash_window_s / 60);
			snprintf(s.description, sizeof(s.description),
			         "A crash loop: check the environment's command and the sessions' logs (gpuhub logs).");
			alert_observe(A->eng, &s, now);
		}
	}
}

static void rules_queue(hub_t *hub, int64_t now)
{
	const gh_config_t *c = &hub->cfg;
	alert_spec_t s;

	if (c->alert_queue_wait_s <= 0)
		return;
	for (int j = 0; j < hub->n_live; j++) {
		const hub_session_t *hs = hub_live_at(hub, j);
		const gh_user_t *u;
		int64_t waited = now - hs->s.updated_at; /* updated_at moves on transitions only */
		if (hs->s.state != GH_SESS_QUEUED || waited < (int64_t)c->alert_queue_wait_s * 1000)
			continue;
		u = hub_user_by_id(hub, hs->s.user_id);
		s = spec_new("RequestWaiting", "warning");
		alert_spec_label(&s, "user", "%s", u ? u->name : "?");
		alert_spec_label(&s, "session", "%s", hs->s.name);
		snprintf(s.summary, sizeof(s.summary), "Session %s of %s has waited %lld minutes for GPUs", hs->s.name,
		         u ? u->name : "?", (long long)(waited / 60000));
		snprintf(s.description, sizeof(s.description), "Queue position %d: %s", hs->queue_position,
		         hs->s.reason[0] ? hs->s.reason : "no reason given");
		alert_observe(hub->alerts->eng, &s, now);
	}
}

static void rules_disk(hub_t *hub, int64_t now)
{
	const gh_config_t *c = &hub->cfg;
	struct statvfs v;
	alert_spec_t s;
	int used;

	if (c->alert_disk_used_pct <= 0 || statvfs(c->data_dir, &v) != 0 || v.f_blocks == 0)
		return;
	used = (int)(100 - (uint64_t)v.f_bavail * 100 / v.f_blocks);
	if (used < c->alert_disk_used_pct)
		return;
	s = spec_new("DiskNearlyFull", used >= 98 ? "critical" : "warning");
	alert_spec_label(&s, "path", "%s", c->data_dir);
	snprintf(s.summary, sizeof(s.summary), "The file system of the data dir is %d %% full", used);
	snprintf(s.description, sizeof(s.description),
	         "%llu MiB left for gpuhub's store, session logs and users' homes; the limit is %d %%.",
	         (unsigned long long)((uint64_t)v.f_bavail * v.f_frsize / (1024 * 1024)), c->alert_disk_used_pct);
	alert_observe(hub->alerts->eng, &s, now);
}

/* ---- life cycle and tick ------------------------------------------- */

int hub_alert_open(hub_t *hub, char *errmsg, size_t errlen)
{
	const gh_config_t *c = &hub->cfg;
	struct hub_alerts *A;
	alert_policy_t p;
	int rc;

	if (!c->alerts_enabled)
		return 0;
	A = calloc(1, sizeof(*A));
	if (!A)
		return GH_ENOMEM;
	A->gw = calloc((size_t)hub->n_gpus + 1, sizeof(*A->gw));
	if (!A->gw) {
		rc = GH_ENOMEM;
		goto fail;
	}
	if ((rc = alert_sinks_load(&A->sinks, c, errmsg, errlen)))
		goto fail;
	memset(&p, 0, sizeof(p));
	p.sinks = alert_sinks_mask(&A->sinks);
	p.repeat_ms = (int64_t)c->alert_repeat_s * 1000;
	p.am_resend_ms = 60000;
	p.retry_base_ms = c->alert_retry_initial_ms;
	p.retry_max_ms = c->alert_retry_max_ms;
	p.retry_attempts = c->alert_retry_attempts;
	p.keep_resolved = 100;
	if ((rc = alert_engine_create(&A->eng, &p))) {
		snprintf(errmsg, errlen, "cannot create the alert engine: %s", gh_strerror(rc));
		goto fail;
	}
	hub->alerts = A;
	A->sub = hub_subscribe(hub, 0, on_event, hub);
	if (!A->sub) {
		hub->alerts = NULL;
		rc = GH_ENOMEM;
		goto fail;
	}
	{
		char list[96] = "";
		size_t l = 0;
		for (int k = 0; k < ALERT_SINK__COUNT; k++)
			if (p.sinks & (1u << k))
				l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : "",
				                      alert_sink_name((alert_sink_kind_t)k));
		GH_INFO("alerts: rules every %d ms; sinks: %s", c->alert_eval_ms, l ? list : "none (listed by the API only)");
	}
	return 0;
fail:
	if (A->eng)
		alert_engine_destroy(A->eng);
	alert_sinks_clear(&A->sinks);
	free(A->gw);
	free(A);
	return rc;
}

void hub_alert_close(hub_t *hub)
{
	struct hub_alerts *A = hub->alerts;
	if (!A)
		return;
	if (A->sub)
		hub_unsubscribe(hub, A->sub);
	hub->alerts = NULL;
	alert_engine_destroy(A->eng);
	alert_sinks_clear(&A->sinks);
	free(A->gw);
	free(A);
}

int hub_alert_tick(hub_t *hub, int64_t now)
{
	struct hub_alerts *A = hub->alerts;
	int64_t next, d;

	if (!A)
		return 1000;
	if (now >= A->next_eval) {
		alert_round_begin(A->eng);
		rules_gpu(hub, now);
		rules_failures(hub, now);
		rules_queue(hub, now);
		rules_disk(hub, now);
		alert_round_end(A->eng, now);
		A->next_eval = now + hub->cfg.alert_eval_ms;
	}
	dispatch(hub, now);
	next = A->next_eval - now;
	d = A->in_flight >= SEND_MAX ? -1 : alert_next_due(A->eng, now);
	if (d >= 0 && d < next)
		next = d;
	return next < 0 ? 0 : next > 1000 ? 1000 : (int)next;
}

const alert_engine_t *hub_alerts(const hub_t *hub) { return hub->alerts ? hub->alerts->eng : NULL; }
