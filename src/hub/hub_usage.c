/*
 * hub_usage.c — usage accounting in the hub: books what each session holds
 * into the store's usage rows (per UTC day, user, group, environment and
 * GPU model), from allocations.
 *
 * A session that holds an allocation has a mark: the time up to which its
 * hold is booked. The mark is made in the transaction that admits the
 * session (at the admission time), moved on every usage.interval_s by the
 * tick, and removed in the transaction that frees the allocation, which
 * books the last piece up to the moment recorded as the session's stop.
 * Each booking adds to the usage rows and moves the mark in one
 * transaction, so after a crash either both happened or neither did:
 * nothing is counted twice, and what is lost is at most the time since the
 * last tick, which the next booking from the surviving mark recovers as
 * long as the allocation is still recorded (a restart or adoption books the
 * downtime of a workspace that kept its GPUs, because it kept them).
 *
 *   event                       | in the same transaction
 *   ----------------------------+-----------------------------------------
 *   admission (queued→starting) | mark = admission time
 *   tick, every interval        | book [mark, now); mark = now
 *   stop / failure / release    | book [mark, stopped_at); mark deleted
 *   clean shutdown              | book [mark, now); mark = now
 *   the user is deleted         | book [mark, now); mark deleted
 *
 * What one booking writes, for a session holding 2 × A100 (1000 milli
 * each) and 1 × 0.5 T4 over 40 s, all in one UTC day: the A100 row gets
 * 2000 × 40,000 milli-GPU-ms and the session's 40,000 ms; the T4 row gets
 * 500 × 40,000 and no session time (a session's time is booked once, to
 * the model of its first allocation). A session without GPUs books its
 * session time to the model "".
 */
#include "hub/hub_int.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "monitor/usage.h"

#include <string.h>

#define HELD_MODELS 16

typedef struct {
	hub_t *hub;
	gh_usage_row_t base;                 /* user, group, env */
	struct {
		const char *model;
		int64_t milli;
	} held[HELD_MODELS];
	int n;
} book_ctx_t;

static int book_piece(void *vctx, const char *day, int64_t ms)
{
	book_ctx_t *b = vctx;
	int rc;

	for (int i = 0; i < b->n; i++) {
		gh_usage_row_t row = b->base;
		gh_strlcpy(row.day, day, sizeof(row.day));
		gh_strlcpy(row.model, b->held[i].model, sizeof(row.model));
		row.gpu_milli_ms = b->held[i].milli * ms;
		row.session_ms = i == 0 ? ms : 0;
		if ((rc = store_usage_add(b->hub->store, &row)))
			return rc;
	}
	return 0;
}

static const char *alloc_model(const hub_t *hub, const gh_alloc_t *a)
{
	return a->gpu_index >= 0 && a->gpu_index < hub->n_gpus ? hub->gpus[a->gpu_index].info.model : "";
}

int hub_usage_book(hub_t *hub, hub_session_t *hs, int64_t to, int end)
{
	const gh_user_t *u = hub_user_by_id(hub, hs->s.user_id);
	book_ctx_t b;
	int rc;

	if (!hs->usage_mark)
		return 0;
	memset(&b, 0, sizeof(b));
	b.hub = hub;
	gh_strlcpy(b.base.user, u ? u->name : "", sizeof(b.base.user));
	gh_strlcpy(b.base.group, u ? u->group : "", sizeof(b.base.group));
	gh_strlcpy(b.base.env, hs->s.env_name, sizeof(b.base.env));
	for (int i = 0; i < hs->n_allocs; i++) {
		const char *model = alloc_model(hub, &hs->allocs[i]);
		int k;
		for (k = 0; k < b.n && strcmp(b.held[k].model, model) != 0; k++)
			;
		if (k == b.n && b.n < HELD_MODELS)
			b.held[b.n++].model = model;
		else if (k == b.n)
			k = b.n - 1; /* more models than any inventory has: lump the rest */
		b.held[k].milli += hs->allocs[i].milli;
	}
	if (b.n == 0) {
		b.held[0].model = "";
		b.n = 1;
	}
	if (to > hs->usage_mark && (rc = usage_split(hs->usage_mark, to, book_piece, &b)))
		return rc;
	if (end)
		return store_usage_mark_delete(hub->store, hs->s.id);
	return store_usage_mark_put(hub->store, hs->s.id, to > hs->usage_mark ? to : hs->usage_mark);
}

int hub_usage_begin(hub_t *hub, hub_session_t *hs, int64_t at)
{
	return store_usage_mark_put(hub->store, hs->s.id, at);
}

/* States in which a session holds (or is acquiring) its allocation. */
static int holds(gh_sess_state_t st)
{
	return st == GH_SESS_STARTING || st == GH_SESS_RUNNING || st == GH_SESS_IDLE_WARNED ||
	       st == GH_SESS_SUSPENDING || st == GH_SESS_STOPPING;
}

static int on_mark(void *ctx, int64_t session_id, int64_t until)
{
	hub_session_t *hs = hub_session_mut(ctx, session_id);
	if (hs)
		hs->usage_mark = until;
	return 0;
}

int hub_usage_load(hub_t *hub)
{
	int64_t now = gh_now_ms();
	int rc, started = 0;

	if ((rc = store_usage_mark_load(hub->store, on_mark, hub)))
		return rc;
	/* a hold without a mark (a file from before usage accounting) is
	 * booked from now on */
	if ((rc = hub_txn_begin(hub)))
		return rc;
	for (int i = 0; i < hub->n_sessions; i++) {
		hub_session_t *hs = &hub->sessions[i];
		if (holds(hs->s.state) && !hs->usage_mark) {
			if ((rc = hub_usage_begin(hub, hs, now))) {
				hub_txn_rollback(hub);
				return rc;
			}
			started++;
		}
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	for (int i = 0; started && i < hub->n_sessions; i++)
		if (holds(hub->sessions[i].s.state) && !hub->sessions[i].usage_mark)
			hub->sessions[i].usage_mark = now;
	if (started)
		GH_INFO("usage accounting starts now for %d sessions that held GPUs without a usage mark", started);
	hub->next_usage = now + (int64_t)hub->cfg.usage_interval_s * 1000;
	hub->in_use_usage = 1;
	return 0;
}

/* Books every held session up to now, and prunes rows past retention. */
static int book_all(hub_t *hub, int64_t now, int prune)
{
	char cutoff[USAGE_DAY_LEN];
	int rc;

	if ((rc = hub_txn_begin(hub)))
		return rc;
	for (int i = 0; i < hub->n_sessions; i++) {
		hub_session_t *hs = &hub->sessions[i];
		if (!hs->usage_mark || now <= hs->usage_mark)
			continue;
		if ((rc = hub_usage_book(hub, hs, now, 0)))
			goto fail;
	}
	if (prune) {
		usage_day(now - (int64_t)hub->cfg.usage_retention_days * USAGE_MS_PER_DAY, cutoff);
		if ((rc = store_usage_prune(hub->store, cutoff)))
			goto fail;
	}
	if ((rc = hub_txn_commit(hub)))
		return rc;
	for (int i = 0; i < hub->n_sessions; i++)
		if (hub->sessions[i].usage_mark && hub->sessions[i].usage_mark < now)
			hub->sessions[i].usage_mark = now;
	return 0;
fail:
	hub_txn_rollback(hub);
	return rc;
}

void hub_usage_tick(hub_t *hub, int64_t now)
{
	int rc;

	if (now < hub->next_usage)
		return;
	hub->next_usage = now + (int64_t)hub->cfg.usage_interval_s * 1000;
	if ((rc = book_all(hub, now, 1)))
		GH_ERROR("usage accounting could not book running sessions: %s; it retries at the next interval",
		         gh_strerror(rc));
}

void hub_usage_flush(hub_t *hub)
{
	int rc;

	if (!hub->store || !hub->in_use_usage)
		return;
	if ((rc = book_all(hub, gh_now_ms(), 0)))
		GH_ERROR("usage accounting could not book running sessions at shutdown: %s; the next start books them",
		         gh_strerror(rc));
}

void hub_usage_book_user(hub_t *hub, int64_t user_id)
{
	int64_t now = gh_now_ms();
	int rc;

	if ((rc = hub_txn_begin(hub)))
		goto fail;
	for (int i = 0; i < hub->n_sessions; i++) {
		hub_session_t *hs = &hub->sessions[i];
		if (hs->s.user_id == user_id && hs->usage_mark && (rc = hub_usage_book(hub, hs, now, 1))) {
			hub_txn_rollback(hub);
			goto fail;
		}
	}
	if ((rc = hub_txn_commit(hub)))
		goto fail;
	for (int i = 0; i < hub->n_sessions; i++)
		if (hub->sessions[i].s.user_id == user_id)
			hub->sessions[i].usage_mark = 0;
	return;
fail:
	GH_ERROR("usage accounting could not book the sessions of user %lld before deleting them: %s",
	         (long long)user_id, gh_strerror(rc));
}

int hub_usage_query(hub_t *hub, const char *from_day, const char *to_day, const char *user, unsigned by,
                    store_usage_cb cb, void *ctx)
{
	return store_usage_query(hub->store, from_day, to_day, user, by, cb, ctx);
}
