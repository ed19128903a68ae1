/*
 * hub_sess.c — sessions: create, admit, queue, stop, delete, and the
 * transactions of their lifecycle. Starting and watching the workspace,
 * and reconciliation after a restart, are hub_run.c's; GPU telemetry and
 * faults hub_gpu.c's.
 *
 * Each arrow of the lifecycle (common/model.h) is one store transaction
 * that also records its event; the side effect (start a process, signal
 * it) happens after the commit. GPUs are freed in the same transaction that
 * records stopped/failed, so a crash can never leak or double-book one.
 *
 * Progress of a launch, as the event stream shows it:
 *   session.queued          0%   waiting for GPUs (with the reason)
 *   session.gpus_allocated 30%   devices chosen
 *   session.process_started 60%  workspace process running
 *   session.running        100%  ready
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- lookups --- */

/* Marks hs changed so cached views of it are rebuilt. */
static void touch(hub_session_t *hs) { hs->rev++; }

void hub_session_set_view(hub_t *hub, const hub_session_t *chs, char *json)
{
	hub_session_t *hs = hub_session_mut(hub, chs->s.id);
	if (!hs) {
		free(json);
		return;
	}
	free(hs->view);
	hs->view = json;
	hs->view_rev = hs->rev;
}

int hub_session_count(const hub_t *hub) { return hub->n_sessions; }
const hub_session_t *hub_session_at(const hub_t *hub, int i) { return &hub->sessions[i]; }

static int session_index(const hub_t *hub, int64_t id)
{
	int lo = 0, hi = hub->n_sessions - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (hub->sessions[mid].s.id == id)
			return mid;
		if (hub->sessions[mid].s.id < id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

hub_session_t *hub_session_mut(hub_t *hub, int64_t id)
{
	int i = session_index(hub, id);
	return i < 0 ? NULL : &hub->sessions[i];
}

const hub_session_t *hub_session_get(const hub_t *hub, int64_t id)
{
	int i = session_index(hub, id);
	return i < 0 ? NULL : &hub->sessions[i];
}

void hub_session_activity(hub_t *hub, int64_t id, int64_t now_ms)
{
	hub_session_t *hs = hub_session_mut(hub, id);
	if (hs)
		hs->s.last_activity_at = now_ms;
}

/* code-server has no base-path option: its proxy strips the prefix. */
static int env_strips_prefix(const hub_t *hub, const char *env_name)
{
	const gh_env_t *e = hub_env_find(hub, env_name);
	const hub_env_info_t *info = e ? hub_env_spec(hub, e) : NULL;
	return info && strcmp(info->interface, "vscode") == 0;
}

/* A free loopback port for a workspace (the kernel picks; the workspace
 * binds it moments later). 0 when none could be had. */
static int pick_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;
	if (fd < 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

void hub_session_log_path(const hub_t *hub, int64_t id, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/sessions/%lld.log", hub->cfg.data_dir, (long long)id);
}

void hub_session_url(const hub_t *hub, const hub_session_t *hs, char *out, size_t outlen)
{
	const gh_user_t *u = hub_user_by_id(hub, hs->s.user_id);
	snprintf(out, outlen, "/user/%s/%s/", u ? u->name : "unknown", hs->s.name);
}

/* --- loading --- */

static int on_session(void *ctx, const gh_session_t *s)
{
	hub_t *hub = ctx;
	hub_session_t *hs;
	if (gh_grow((void **)&hub->sessions, &hub->cap_sessions, hub->n_sessions + 1, sizeof(*hs)) ||
	    hub_index_reserve(hub, hub->cap_sessions))
		return GH_ENOMEM;
	hs = &hub->sessions[hub->n_sessions++];
	memset(hs, 0, sizeof(*hs));
	hs->s = *s;
	hs->eta_s = -1;
	hs->gpu_util_pct = -1;
	hs->attr_util_pct = -1;
	hs->rev = 1;
	hs->strip_prefix = env_strips_prefix(hub, s->env_name);
	hub_kgpu_mode(hub, hs);
	hub_index_add(hub, hs);
	return 0;
}

static int alloc_add(hub_t *hub, hub_session_t *hs, const gh_alloc_t *a)
{
	gh_alloc_t *n = realloc(hs->allocs, (size_t)(hs->n_allocs + 1) * sizeof(*n));
	if (!n)
		return GH_ENOMEM;
	hs->allocs = n;
	hs->allocs[hs->n_allocs++] = *a;
	touch(hs);
	if (a->gpu_index >= 0 && a->gpu_index < hub->n_gpus) {
		hub->gpus[a->gpu_index].allocated_milli += a->milli;
		hub->gpus[a->gpu_index].allocated_mib += a->memory_mib;
	}
	return 0;
}

static void allocs_release(hub_t *hub, hub_session_t *hs)
{
	for (int i = 0; i < hs->n_allocs; i++) {
		const gh_alloc_t *a = &hs->allocs[i];
		if (a->gpu_index >= 0 && a->gpu_index < hub->n_gpus) {
			hub->gpus[a->gpu_index].allocated_milli -= a->milli;
			hub->gpus[a->gpu_index].allocated_mib -= a->memory_mib;
		}
	}
	free(hs->allocs);
	hs->allocs = NULL;
	hs->n_allocs = 0;
	touch(hs);
	hub->sched_dirty = 1;
}

int hub_alloc_add(hub_t *hub, hub_session_t *hs, const gh_alloc_t *a) { return alloc_add(hub, hs, a); }

void hub_allocs_release(hub_t *hub, hub_session_t *hs) { allocs_release(hub, hs); }

static int on_alloc(void *ctx, const gh_alloc_t *a)
{
	hub_t *hub = ctx;
	hub_session_t *hs = hub_session_mut(hub, a->session_id);
	return hs ? alloc_add(hub, hs, a) : 0;
}

int hub_session_load_state(hub_t *hub)
{
	int rc = store_session_load(hub->store, on_session, hub);
	return rc ? rc : store_alloc_load(hub->store, on_alloc, hub);
}

/* --- transitions --- */

/* Moves hs to `to` inside the open transaction, with its event. */
static int transition(hub_t *hub, hub_session_t *hs, gh_sess_state_t to, const char *type, int percent,
                      const char *msg)
{
	gh_session_t s = hs->s;
	int rc;

	if (s.state != to && !gh_sess_transition_ok(s.state, to)) {
		GH_ERROR("session %lld: refused transition %s -> %s", (long long)s.id, gh_sess_state_name(s.state),
		         gh_sess_state_name(to));
		return GH_EINTERNAL;
	}
	s.state = to;
	s.updated_at = gh_now_ms();
	if (to == GH_SESS_RUNNING && !s.started_at)
		s.started_at = s.updated_at;
	if (gh_sess_state_ended(to))
		s.stopped_at = s.updated_at;
	if ((rc = store_session_put(hub->store, &s)))
		return rc;
	if ((rc = hub_emit(hub, s.id, s.user_id, type, to, percent, "%s", msg)))
		return rc;
	if (hs->s.state != to)
		metrics_session_transition(hub->metrics, to);
	{
		gh_sess_state_t from = hs->s.state;
		hs->s = s;
		hub_index_state(hub, hs, from);
		if ((from == GH_SESS_RUNNING || from == GH_SESS_IDLE_WARNED) && to != GH_SESS_RUNNING &&
		    to != GH_SESS_IDLE_WARNED) {
			/* claims and idle watch belong to one run: kernels claim
			 * only while it runs (hub_kgpu_claim), and the idle tick
			 * starts its watch afresh when it runs again */
			hub_kgpu_forget(hs);
			hs->running_since = 0;
			hs->idle_now = 0;
		}
	}
	touch(hs);
	return 0;
}

int hub_session_transition(hub_t *hub, hub_session_t *hs, gh_sess_state_t to, const char *type, int percent,
                           const char *msg)
{
	int rc;
	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = transition(hub, hs, to, type, percent, msg))) {
		hub_txn_rollback(hub);
		return rc;
	}
	return hub_txn_commit(hub);
}

int hub_session_finish(hub_t *hub, hub_session_t *hs, gh_sess_state_t to, const char *type, const char *reason)
{
	int rc;
	char msg[GH_TEXT_MAX];

	if ((rc = hub_txn_begin(hub)))
		return rc;
	if (to == GH_SESS_FAILED)
		gh_strlcpy(hs->s.reason, reason, sizeof(hs->s.reason));
	snprintf(msg, sizeof(msg), "%s", reason);
	/* the last piece of usage is booked up to the stop it records */
	if ((rc = store_alloc_delete_session(hub->store, hs->s.id)) ||
	    (rc = transition(hub, hs, to, type, to == GH_SESS_STOPPED ? 100 : -1, msg)) ||
	    (rc = hub_usage_book(hub, hs, hs->s.updated_at, 1))) {
		hub_txn_rollback(hub);
		return rc;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	if (to == GH_SESS_FAILED)
		hub_reclaim_session(hub, hs, "failed");
	hs->usage_mark = 0;
	allocs_release(hub, hs);
	hs->queue_position = 0;
	GH_INFO("session %lld (%s) is %s: %s", (long long)hs->s.id, hs->s.name, gh_sess_state_name(to), reason);
	return 0;
}

/* --- create --- */

static int active_count(const hub_t *hub, int64_t user_id)
{
	int n = 0;
	for (int j = 0; j < hub_live_count(hub); j++) {
		const hub_session_t *hs = hub_live_at(hub, j);
		n += hs->s.user_id == user_id && gh_sess_state_active(hs->s.state);
	}
	return n;
}

static int model_exists(const hub_t *hub, const char *model)
{
	for (int i = 0; i < hub->n_gpus; i++)
		if (strcmp(hub->gpus[i].info.model, model) == 0)
			return 1;
	return 0;
}

int hub_session_create(hub_t *hub, const gh_user_t *u, const hub_launch_t *req, const hub_session_t **out,
                       char *why, size_t whylen)
{
	const gh_env_t *e = hub_env_find(hub, req->env);
	const hub_env_info_t *info;
	gh_session_t s;
	hub_session_t *hs;
	int rc, milli;

	if (!e) {
		snprintf(why, whylen, "no environment named '%s'", req->env);
		return GH_ENOTFOUND;
	}
	if (!gh_name_valid(req->name)) {
		snprintf(why, whylen, "name must match [a-z0-9][a-z0-9._-]{0,62}");
		return GH_EINVAL;
	}
	if (hub_session_find(hub, u->id, req->name)) {
		snprintf(why, whylen, "you already have a session named '%s' (delete it to reuse the name)", req->name);
		return GH_EEXIST;
	}
	if (!(info = hub_env_spec(hub, e))) {
		snprintf(why, whylen, "environment '%s' cannot run on the %s runtime", e->name, rt_name(hub->rt));
		return GH_EUNSUPPORTED;
	}
	if (!info->available) {
		snprintf(why, whylen, "environment '%s' is not available on this machine: %s", e->name, info->unavailable);
		return GH_ESTATE;
	}
	milli = req->gpu_milli >= 0 ? req->gpu_milli : info->default_milli;
	if (milli > info->max_milli) {
		snprintf(why, whylen, "environment '%s' allows at most %g GPUs", e->name, info->max_milli / 1000.0);
		return GH_EINVAL;
	}
	if (milli > hub->n_gpus * 1000) {
		snprintf(why, whylen, "asked for %g GPUs but this hub has %d", milli / 1000.0, hub->n_gpus);
		return GH_EINVAL;
	}
	if (req->gpu_model && req->gpu_model[0] && !model_exists(hub, req->gpu_model)) {
		snprintf(why, whylen, "no GPU of model '%s' here", req->gpu_model);
		return GH_EINVAL;
	}
	if (active_count(hub, u->id) >= hub->cfg.max_sessions_per_user) {
		snprintf(why, whylen, "you already have %d active sessions, the most allowed; stop one first",
		         hub->cfg.max_sessions_per_user);
		return GH_ENOCAP;
	}
	if (gh_grow((void **)&hub->sessions, &hub->cap_sessions, hub->n_sessions + 1, sizeof(*hs)) ||
	    hub_index_reserve(hub, hub->cap_sessions))
		return GH_ENOMEM;

	memset(&s, 0, sizeof(s));
	s.user_id = u->id;
	s.env_id = e->id;
	gh_strlcpy(s.name, req->name, sizeof(s.name));
	gh_strlcpy(s.env_name, e->name, sizeof(s.env_name));
	s.state = GH_SESS_QUEUED;
	s.gpu_milli = milli;
	gh_strlcpy(s.gpu_model, req->gpu_model ? req->gpu_model : "", sizeof(s.gpu_model));
	s.cpu_milli = info->cpu_milli;
	s.memory_mib = info->memory_mib;
	gh_strlcpy(s.runtime, rt_name(hub->rt), sizeof(s.runtime));
	s.created_at = s.updated_at = s.last_activity_at = gh_now_ms();

	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = store_session_put(hub->store, &s)) ||
	    (rc = hub_emit(hub, s.id, u->id, "session.queued", GH_SESS_QUEUED, 0, "queued: asking for %g GPU%s",
	                   milli / 1000.0, milli == 1000 ? "" : "s"))) {
		hub_txn_rollback(hub);
		return rc;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	hs = &hub->sessions[hub->n_sessions++];
	memset(hs, 0, sizeof(*hs));
	hs->s = s;
	hs->eta_s = -1;
	hs->gpu_util_pct = -1;
	hs->attr_util_pct = -1;
	metrics_session_transition(hub->metrics, GH_SESS_QUEUED);
	hs->rev = 1;
	hs->strip_prefix = env_strips_prefix(hub, s.env_name);
	hub_kgpu_mode(hub, hs);
	hub_index_add(hub, hs);
	GH_INFO("session %lld (%s) of user %s queued for %d milli-GPU", (long long)s.id, s.name, u->name, milli);
	/* decide at once so the answer already carries the allocation */
	hub_schedule(hub, s.created_at);
	*out = hub_session_mut(hub, s.id);
	return 0;
}

/* --- admission and queue (decisions come from hub_sched.c) --- */

int hub_admit(hub_t *hub, hub_session_t *hs, const int *picks, const int *millis, int n)
{
	char msg[GH_TEXT_MAX];
	size_t off = 0;
	gh_alloc_t *allocs = NULL;
	int i, rc;

	if (n > 0 && !(allocs = calloc((size_t)n, sizeof(*allocs))))
		return GH_ENOMEM;
	off += (size_t)snprintf(msg, sizeof(msg), "%s",
	                        n ? "GPUs allocated:"
	                        : hs->s.gpu_milli > 0 && hub_kgpu_mode(hub, hs) == 2
	                            ? "starting with no GPU: its kernels get the GPUs while they run"
	                            : "no GPU asked; starting");
	if ((rc = hub_txn_begin(hub))) {
		free(allocs);
		return rc;
	}
	for (i = 0; i < n; i++) {
		const hub_gpu_t *g = &hub->gpus[picks[i]];
		allocs[i].session_id = hs->s.id;
		allocs[i].gpu_index = picks[i];
		gh_strlcpy(allocs[i].gpu_uuid, g->info.uuid, sizeof(allocs[i].gpu_uuid));
		allocs[i].milli = millis[i];
		allocs[i].memory_mib = g->info.memory_mib * millis[i] / 1000;
		allocs[i].created_at = gh_now_ms();
		if ((rc = store_alloc_put(hub->store, &allocs[i])))
			goto fail;
		if (off < sizeof(msg))
			off += (size_t)snprintf(msg + off, sizeof(msg) - off, " %s#%d (%d milli)", g->info.model, picks[i],
			                        millis[i]);
	}
	hs->s.reason[0] = '\0';
	hs->s.port = pick_port();
	if ((rc = transition(hub, hs, GH_SESS_STARTING, "session.gpus_allocated", 30, msg)) ||
	    (rc = hub_usage_begin(hub, hs, hs->s.updated_at)))
		goto fail;
	if ((rc = hub_txn_commit(hub))) {
		free(allocs);
		return rc;
	}
	hs->usage_mark = hs->s.updated_at;
	for (i = 0; i < n; i++)
		alloc_add(hub, hs, &allocs[i]);
	free(allocs);
	hs->queue_position = 0;
	hs->eta_s = -1;
	hub->work_due = 1;
	return 0;
fail:
	hub_txn_rollback(hub);
	free(allocs);
	return rc;
}

/* The stream tells a waiting session where it stands without flooding:
 * an event when the reason changes, and when its position has at least
 * halved since the last one it was told (so at most log2(n) position
 * events while it moves up from n); the API always has the live position. */
void hub_queue_update(hub_t *hub, hub_session_t *hs, int position, int64_t eta_s, const char *why)
{
	int changed = strcmp(hs->s.reason, why) != 0;
	int tell = changed || hs->told_position == 0 || position * 2 <= hs->told_position ||
	           (position == 1 && hs->told_position != 1);

	if (hs->queue_position != position || changed || hs->eta_s != eta_s)
		touch(hs);
	hs->queue_position = position;
	hs->eta_s = eta_s;
	if (changed)
		gh_strlcpy(hs->s.reason, why, sizeof(hs->s.reason));
	if (!tell)
		return;
	hs->told_position = position;
	if (eta_s >= 0)
		hub_emit(hub, hs->s.id, hs->s.user_id, "session.waiting", GH_SESS_QUEUED, 0,
		         "position %d in the queue, expected to start in about %lld min: %s", position,
		         (long long)((eta_s + 59) / 60), why);
	else
		hub_emit(hub, hs->s.id, hs->s.user_id, "session.waiting", GH_SESS_QUEUED, 0, "position %d in the queue: %s",
		         position, why);
}

/* --- stop and delete --- */

int hub_session_stop(hub_t *hub, int64_t id, int64_t actor_id, const char *reason)
{
	(void)actor_id;
	return hub_session_stop_for(hub, id, reason, "stopped");
}

int hub_session_stop_for(hub_t *hub, int64_t id, const char *reason, const char *reclaim)
{
	hub_session_t *hs = hub_session_mut(hub, id);
	double gpu_seconds;
	int rc;

	if (!hs)
		return GH_ENOTFOUND;
	switch (hs->s.state) {
	case GH_SESS_STOPPED:
	case GH_SESS_FAILED:
	case GH_SESS_STOPPING:
		return 0;
	case GH_SESS_QUEUED:
	case GH_SESS_SUSPENDED:
		return hub_session_finish(hub, hs, GH_SESS_STOPPED, "session.stopped", reason);
	default:
		break;
	}
	gpu_seconds = hub_reclaim_estimate(hub, hub_session_milli(hs));
	if (!hs->s.runtime_ref[0]) {
		if ((rc = hub_session_finish(hub, hs, GH_SESS_STOPPED, "session.stopped", reason)) == 0)
			metrics_reclaimed_add(hub->metrics, reclaim, gpu_seconds);
		return rc;
	}
	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = transition(hub, hs, GH_SESS_STOPPING, "session.stopping", 50, reason))) {
		hub_txn_rollback(hub);
		return rc;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	metrics_reclaimed_add(hub->metrics, reclaim, gpu_seconds);
	rt_signal_stop(hub->rt, hs->s.runtime_ref, 0);
	hs->probe_deadline = gh_now_ms() + hub->cfg.stop_grace_s * 1000;
	/* the tick sees it gone (polling every few ms while anything stops)
	 * and records stopped with its GPUs freed; the loop never waits */
	hub->work_due = 1;
	return 0;
}

static void session_remove_at(hub_t *hub, int idx)
{
	hub_index_remove(hub, &hub->sessions[idx]);
	free(hub->sessions[idx].allocs);
	free(hub->sessions[idx].view);
	memmove(&hub->sessions[idx], &hub->sessions[idx + 1],
	        (size_t)(hub->n_sessions - idx - 1) * sizeof(hub_session_t));
	hub->n_sessions--;
}

int hub_session_delete(hub_t *hub, int64_t id, int force, int64_t actor_id, char *why, size_t whylen)
{
	hub_session_t *hs = hub_session_mut(hub, id);
	int rc;

	if (!hs)
		return GH_ENOTFOUND;
	if (!gh_sess_state_ended(hs->s.state)) {
		if (!force) {
			snprintf(why, whylen, "session '%s' is %s; stop it first or delete with force=true", hs->s.name,
			         gh_sess_state_name(hs->s.state));
			return GH_ESTATE;
		}
		if (hs->s.runtime_ref[0])
			rt_signal_stop(hub->rt, hs->s.runtime_ref, 1);
		if ((rc = hub_session_finish(hub, hs, hs->s.state == GH_SESS_STOPPING ? GH_SESS_STOPPED : GH_SESS_FAILED,
		                             "session.stopped", "killed by a forced delete")))
			return rc;
	}
	if ((rc = hub_txn_begin(hub)))
		return rc;
	if ((rc = store_session_delete(hub->store, id)) ||
	    (rc = hub_emit(hub, id, actor_id, "session.deleted", hs->s.state, -1, "session %s deleted", hs->s.name))) {
		hub_txn_rollback(hub);
		return rc;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	hub_suspend_forget(hub, id);
	session_remove_at(hub, session_index(hub, id));
	return 0;
}

void hub_sessions_drop_user(hub_t *hub, int64_t user_id)
{
	hub_usage_book_user(hub, user_id);
	for (int i = hub->n_sessions - 1; i >= 0; i--) {
		hub_session_t *hs = &hub->sessions[i];
		if (hs->s.user_id != user_id)
			continue;
		if (gh_sess_state_active(hs->s.state) && hs->s.runtime_ref[0])
			rt_signal_stop(hub->rt, hs->s.runtime_ref, 1);
		allocs_release(hub, hs);
		session_remove_at(hub, i); /* rows go with the user (ON DELETE CASCADE) */
	}
}
