/*
 * sim_replay.c — "gpuhub sim replay": sessions arriving and leaving over
 * time on a cluster, scheduled either by gpuhub's policy (sched.h: queue
 * order by priority and fair share, quotas, preemption of idle sessions
 * first) or by the baseline a plain Kubernetes cluster gives: first come,
 * first served, no preemption, every waiting request retried in arrival
 * order (no head-of-line blocking).
 *
 * The trace (CSV, docs/sim.md) has one session per line: who, when it
 * arrives, what it asks for, and its activity — alternating busy and idle
 * periods ("600b,1800i,300b"). While a session waits for GPUs its
 * activity is paused; while it runs, periods elapse; when the last period
 * ends the session ends and gives its GPUs back. A session suspended
 * while idle (its GPUs taken for someone else) keeps its idle period
 * running and queues again when the period ends (the user came back); a
 * session stopped for priority queues again at once. Either resumes the
 * activity where it stopped.
 *
 * The clock jumps from event to event (arrival, period end, requeue) and
 * also ticks every --tick seconds while anything waits, so aging can
 * reorder the queue. Every event runs one scheduling pass.
 *
 * Reported: GPU utilization (allocated, and busy, as % of capacity over
 * the span from first arrival to last end), allocated-but-idle GPU-hours,
 * waiting time percentiles (every wait, first start and resumes alike),
 * Jain's fairness index across users of x_u = ∫allocated_u / ∫wanted_u
 * (GPU-time a user held over GPU-time the user wanted, whenever the user
 * had any session running or waiting), preemptions and suspensions.
 * Worked example of the index: two users, x = 1.0 and 0.5 →
 * J = (1.5)² / (2 · (1 + 0.25)) = 0.9; x equal for all → J = 1.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"
#include "sched/sched.h"
#include "sim/sim_int.h"

#define PERIODS_MAX 64
#define NAMES_MAX 4096

typedef enum { S_FUTURE = 0, S_QUEUED, S_RUNNING, S_SUSPENDED, S_DONE } sstate_t;

typedef struct {
	int64_t id;
	int user, group;                 /* indexes into the name tables */
	int cls;
	sched_kind_t kind;
	place_request_t shape;
	int64_t submit_ms;
	int nper;
	int64_t per_ms[PERIODS_MAX];     /* lengths */
	char per_busy[PERIODS_MAX];
	/* state */
	sstate_t st;
	int cur;                         /* current period */
	int64_t left_ms;                 /* left of the current period */
	int64_t since_ms;                /* when the current state began */
	int64_t enqueue_ms;
	place_result_t res;              /* held placement while running */
	int gpu_milli;                   /* total milli-GPU it asks for */
} sess_t;

typedef struct {
	char name[GH_NAME_MAX];
} name_t;

typedef struct {
	sess_t *s;
	int n;
	name_t users[NAMES_MAX], groups[NAMES_MAX];
	int nusers, ngroups;
} rtrace_t;

typedef struct {
	double alloc_gpu_s, busy_gpu_s, idle_alloc_gpu_s;
	double *waits;                   /* seconds */
	int nwaits, capwaits;
	int preempted, suspended;
	double *held_u, *want_u;         /* per user, GPU-seconds */
	int64_t first_ms, last_ms;
	int unplaceable;
} rstats_t;

static int name_id(name_t *t, int *n, const char *s)
{
	for (int i = 0; i < *n; i++) {
		if (strcmp(t[i].name, s) == 0)
			return i;
	}
	if (*n >= NAMES_MAX)
		return -1;
	gh_strlcpy(t[*n].name, s, sizeof(t[*n].name));
	return (*n)++;
}

/* "600b,1800i,300b" → periods; "" = busy for dur. */
static int parse_activity(const char *s, int64_t dur_ms, sess_t *x)
{
	x->nper = 0;
	if (!s[0]) {
		x->per_ms[0] = dur_ms;
		x->per_busy[0] = 1;
		x->nper = 1;
		return dur_ms > 0 ? 0 : GH_EINVAL;
	}
	while (*s) {
		char *end;
		double v = strtod(s, &end);

		if (end == s || v <= 0 || (*end != 'b' && *end != 'i') || x->nper >= PERIODS_MAX)
			return GH_EINVAL;
		x->per_ms[x->nper] = (int64_t)(v * 1000);
		x->per_busy[x->nper] = *end == 'b';
		x->nper++;
		s = end + 1;
		if (*s == ',')
			s++;
		else if (*s)
			return GH_EINVAL;
	}
	return 0;
}

static int load_trace(const char *path, const sched_policy_t *pol, rtrace_t *t, char *err,
		      size_t errlen)
{
	static const char *const need[] = {"user", "submit_s", "duration_s", "num_gpu",
					   "gpu_milli"};
	sim_csv_t csv;
	int col[5], cgroup, ccpu, cmem, cspec, ccls, ckind, cact, cid, cap = 0, rc;

	memset(t, 0, sizeof(*t));
	rc = sim_csv_open(&csv, path, err, errlen);
	if (rc)
		return rc;
	for (int i = 0; i < 5; i++) {
		col[i] = sim_csv_col(&csv, need[i]);
		if (col[i] < 0) {
			snprintf(err, errlen, "%s:1: no column \"%s\" in the header", path, need[i]);
			rc = GH_EINVAL;
			goto out;
		}
	}
	cid = sim_csv_col(&csv, "id");
	cgroup = sim_csv_col(&csv, "group");
	ccpu = sim_csv_col(&csv, "cpu_milli");
	cmem = sim_csv_col(&csv, "memory_mib");
	cspec = sim_csv_col(&csv, "gpu_spec");
	ccls = sim_csv_col(&csv, "class");
	ckind = sim_csv_col(&csv, "kind");
	cact = sim_csv_col(&csv, "activity");
	while ((rc = sim_csv_next(&csv, err, errlen)) == 1) {
		int64_t submit, dur, ngpu, milli, v;
		sess_t *x;

		if (t->n == cap) {
			sess_t *ns = realloc(t->s, (size_t)(cap = cap ? cap * 2 : 256) * sizeof(*ns));

			if (!ns) {
				rc = GH_ENOMEM;
				goto out;
			}
			t->s = ns;
		}
		x = &t->s[t->n];
		memset(x, 0, sizeof(*x));
		if ((rc = sim_csv_int(&csv, col[1], &submit, err, errlen)) ||
		    (rc = sim_csv_int(&csv, col[2], &dur, err, errlen)) ||
		    (rc = sim_csv_int(&csv, col[3], &ngpu, err, errlen)) ||
		    (rc = sim_csv_int(&csv, col[4], &milli, err, errlen)))
			goto out;
		x->id = t->n + 1;
		if (cid >= 0 && (rc = sim_csv_int(&csv, cid, &v, err, errlen)) == 0)
			x->id = v;
		else if (cid >= 0)
			goto out;
		x->user = name_id(t->users, &t->nusers, csv.fields[col[0]]);
		x->group = cgroup >= 0 && csv.fields[cgroup][0]
				   ? name_id(t->groups, &t->ngroups, csv.fields[cgroup])
				   : -2;
		if (x->user < 0 || x->group == -1) {
			snprintf(err, errlen, "%s:%d: too many users or groups", path, csv.line);
			rc = GH_ETOOBIG;
			goto out;
		}
		x->submit_ms = submit * 1000;
		x->shape.num_gpu = (int)ngpu;
		x->shape.gpu_milli = ngpu > 0 ? (int)milli : 0;
		x->shape.gang = 1;
		x->shape.cpu_milli = 1000;
		x->shape.memory_mib = 1024;
		if (ccpu >= 0 && (rc = sim_csv_int(&csv, ccpu, &x->shape.cpu_milli, err, errlen)))
			goto out;
		if (cmem >= 0 && (rc = sim_csv_int(&csv, cmem, &x->shape.memory_mib, err, errlen)))
			goto out;
		if (cspec >= 0)
			gh_strlcpy(x->shape.models, csv.fields[cspec], sizeof(x->shape.models));
		x->cls = pol->default_class;
		if (ccls >= 0 && csv.fields[ccls][0] &&
		    sched_policy_class(pol, csv.fields[ccls], &x->cls) != 0) {
			snprintf(err, errlen, "%s:%d: unknown class \"%s\"", path, csv.line,
				 csv.fields[ccls]);
			rc = GH_EINVAL;
			goto out;
		}
		x->kind = SCHED_INTERACTIVE;
		if (ckind >= 0 && strcmp(csv.fields[ckind], "batch") == 0)
			x->kind = SCHED_BATCH;
		else if (ckind >= 0 && csv.fields[ckind][0] &&
			 strcmp(csv.fields[ckind], "interactive") != 0) {
			snprintf(err, errlen, "%s:%d: kind must be interactive or batch", path,
				 csv.line);
			rc = GH_EINVAL;
			goto out;
		}
		if (place_request_check(&x->shape) != 0 ||
		    parse_activity(cact >= 0 ? csv.fields[cact] : "", dur * 1000, x) != 0) {
			snprintf(err, errlen, "%s:%d: bad request or activity", path, csv.line);
			rc = GH_EINVAL;
			goto out;
		}
		x->gpu_milli = x->shape.num_gpu * x->shape.gpu_milli;
		x->cur = 0;
		x->left_ms = x->per_ms[0];
		t->n++;
	}
out:
	sim_csv_close(&csv);
	if (rc < 0) {
		free(t->s);
		t->s = NULL;
		t->n = 0;
	}
	return rc < 0 ? rc : 0;
}

static int add_wait(rstats_t *st, double secs)
{
	if (st->nwaits == st->capwaits) {
		int ncap = st->capwaits ? st->capwaits * 2 : 256;
		double *nw = realloc(st->waits, (size_t)ncap * sizeof(*nw));

		if (!nw)
			return GH_ENOMEM;
		st->waits = nw;
		st->capwaits = ncap;
	}
	st->waits[st->nwaits++] = secs;
	return 0;
}

/* Accounts [from, to) for every session. */
static void account(const rtrace_t *t, rstats_t *st, int64_t from, int64_t to)
{
	double dt = (double)(to - from) / 1000.0;

	if (dt <= 0)
		return;
	for (int i = 0; i < t->n; i++) {
		const sess_t *x = &t->s[i];
		double g = x->gpu_milli / 1000.0;

		if (x->st == S_RUNNING) {
			st->alloc_gpu_s += g * dt;
			st->held_u[x->user] += g * dt;
			st->want_u[x->user] += g * dt;
			if (x->per_busy[x->cur])
				st->busy_gpu_s += g * dt;
			else
				st->idle_alloc_gpu_s += g * dt;
		} else if (x->st == S_QUEUED) {
			st->want_u[x->user] += g * dt;
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p)
{
	if (n == 0)
		return 0;
	int k = (int)ceil(p / 100.0 * n) - 1;

	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

/* Starts x on r; GH_EINVAL (nothing changed) when r no longer fits. */
static int start(place_cluster_t *c, sess_t *x, const place_result_t *r, int64_t now,
		 rstats_t *st)
{
	int rc = place_apply(c, r);

	if (rc)
		return rc;
	x->res = *r;
	x->st = S_RUNNING;
	x->since_ms = now;
	return add_wait(st, (double)(now - x->enqueue_ms) / 1000.0);
}

/* Takes x off its GPUs at `now`; the current period keeps what is left. */
static void stop(place_cluster_t *c, sess_t *x, sstate_t to, int64_t now)
{
	int rc = place_release(c, &x->res);

	if (rc != 0)
		abort(); /* what start() applied must go back */
	memset(&x->res, 0, sizeof(x->res));
	x->left_ms -= now - x->since_ms;
	x->st = to;
	x->since_ms = now;
	if (to == S_QUEUED)
		x->enqueue_ms = now;
}

/* The baseline: arrival order, place what fits, never preempt. */
static int pass_fifo(place_cluster_t *c, rtrace_t *t, place_policy_t placement, uint64_t *rng,
		     int64_t now, rstats_t *st)
{
	char *tried = calloc((size_t)t->n + 1, 1);
	int rc = 0;

	if (!tried)
		return GH_ENOMEM;
	for (;;) {
		int best = -1;
		place_result_t r;

		for (int i = 0; i < t->n; i++) {
			const sess_t *x = &t->s[i];

			if (x->st != S_QUEUED || tried[i])
				continue;
			if (best < 0 || x->enqueue_ms < t->s[best].enqueue_ms ||
			    (x->enqueue_ms == t->s[best].enqueue_ms && x->id < t->s[best].id))
				best = i;
		}
		if (best < 0)
			break;
		tried[best] = 1;
		rc = place_choose(placement, c, NULL, &t->s[best].shape, rng, &r);
		if (rc == GH_ENOCAP) {
			rc = 0;
			continue;
		}
		if (rc == 0)
			rc = start(c, &t->s[best], &r, now, st);
		if (rc)
			break;
	}
	free(tried);
	return rc;
}

static int pass_gpuhub(sched_t *sc, const sched_policy_t *pol, place_cluster_t *c, rtrace_t *t,
		       int64_t now, rstats_t *st)
{
	sched_req_t *q = calloc((size_t)t->n + 1, sizeof(*q));
	sched_running_t *run = calloc((size_t)t->n + 1, sizeof(*run));
	int *qi = calloc((size_t)t->n + 1, sizeof(*qi)), *ri = calloc((size_t)t->n + 1, sizeof(*ri));
	int nq = 0, nr = 0, rc = GH_ENOMEM;
	sched_input_t in;
	sched_result_t res;

	if (!q || !run || !qi || !ri)
		goto out;
	for (int i = 0; i < t->n; i++) {
		sess_t *x = &t->s[i];

		if (x->st == S_QUEUED) {
			sched_req_init(&q[nq]);
			q[nq].id = x->id;
			q[nq].user = x->user + 1;
			q[nq].group = x->group + 1 > 0 ? x->group + 1 : 0;
			q[nq].cls = x->cls;
			q[nq].kind = x->kind;
			q[nq].shape = x->shape;
			q[nq].enqueue_ms = x->enqueue_ms;
			if (x->kind == SCHED_BATCH) {
				int64_t left = x->left_ms;

				for (int k = x->cur + 1; k < x->nper; k++)
					left += x->per_ms[k];
				q[nq].runtime_limit_ms = left;
			}
			qi[nq++] = i;
		} else if (x->st == S_RUNNING) {
			run[nr].id = x->id;
			run[nr].user = x->user + 1;
			run[nr].group = x->group + 1 > 0 ? x->group + 1 : 0;
			run[nr].cls = x->cls;
			run[nr].kind = x->kind;
			run[nr].idle = !x->per_busy[x->cur];
			run[nr].start_ms = x->since_ms;
			run[nr].slots = x->res.slots;
			run[nr].nslots = x->res.nslots;
			ri[nr++] = i;
		}
	}
	memset(&in, 0, sizeof(in));
	in.cluster = c;
	in.queue = q;
	in.nqueue = nq;
	in.running = run;
	in.nrunning = nr;
	in.policy = pol;
	in.now_ms = now;
	rc = sched_decide(sc, &in, &res);
	if (rc)
		goto out;
	/* Preemptions first: they make the room admissions may count on. */
	for (int k = 0; k < res.npreempts; k++) {
		for (int j = 0; j < nr; j++) {
			sess_t *x = &t->s[ri[j]];

			if (x->id != res.preempts[k].alloc_id || x->st != S_RUNNING)
				continue;
			if (res.preempts[k].suspend && !x->per_busy[x->cur]) {
				stop(c, x, S_SUSPENDED, now);
				st->suspended++;
			} else {
				stop(c, x, S_QUEUED, now);
				st->preempted++;
			}
		}
	}
	for (int k = 0; k < res.nadmits; k++) {
		for (int j = 0; j < nq; j++) {
			sess_t *x = &t->s[qi[j]];
			place_result_t r;

			if (x->id != res.admits[k].req_id || x->st != S_QUEUED)
				continue;
			memset(&r, 0, sizeof(r));
			r.nslots = res.admits[k].nslots;
			memcpy(r.slots, res.admits[k].slots, (size_t)r.nslots * sizeof(r.slots[0]));
			/* An admission that counts on GPUs still being released
			 * simply waits for the next pass. */
			rc = start(c, x, &r, now, st);
			if (rc == GH_EINVAL)
				continue;
			if (rc)
				goto out;
		}
	}
	rc = 0;
out:
	free(q);
	free(run);
	free(qi);
	free(ri);
	return rc;
}

typedef struct {
	int gpuhub;                      /* 0 = fifo baseline */
	place_policy_t placement;
	int64_t tick_ms;
	uint64_t seed;
} ropts_t;

/* Runs the whole replay; fills st. */
static int replay(const place_cluster_t *c0, rtrace_t *t, const ropts_t *o, rstats_t *st)
{
	place_cluster_t c;
	sched_t *sc = NULL;
	sched_policy_t pol;
	uint64_t rng = o->seed;
	int64_t now = INT64_MAX;
	int rc, left = t->n;

	memset(st, 0, sizeof(*st));
	st->held_u = calloc((size_t)t->nusers + 1, sizeof(double));
	st->want_u = calloc((size_t)t->nusers + 1, sizeof(double));
	if (!st->held_u || !st->want_u)
		return GH_ENOMEM;
	rc = place_cluster_copy(&c, c0);
	if (rc)
		return rc;
	sched_policy_default(&pol);
	pol.placement = o->placement;
	pol.seed = o->seed;
	if (o->gpuhub && (rc = sched_create(&sc)) != 0)
		goto out;
	for (int i = 0; i < t->n; i++) {
		t->s[i].st = S_FUTURE;
		if (t->s[i].submit_ms < now)
			now = t->s[i].submit_ms;
		if (!place_fits_empty(&c, &t->s[i].shape)) {
			t->s[i].st = S_DONE; /* could never run: reported, not replayed */
			st->unplaceable++;
			left--;
		}
	}
	st->first_ms = now;
	while (left > 0) {
		int64_t next = INT64_MAX;
		int queued = 0;

		/* Events at `now`: arrivals, period ends, wake-ups. */
		for (int i = 0; i < t->n; i++) {
			sess_t *x = &t->s[i];

			if (x->st == S_FUTURE && x->submit_ms <= now) {
				x->st = S_QUEUED;
				x->enqueue_ms = x->since_ms = x->submit_ms;
			}
			while ((x->st == S_RUNNING || x->st == S_SUSPENDED) &&
			       x->since_ms + x->left_ms <= now) {
				int64_t at = x->since_ms + x->left_ms;

				x->cur++;
				if (x->cur >= x->nper) {
					if (x->st == S_RUNNING)
						stop(&c, x, S_DONE, at);
					x->st = S_DONE;
					left--;
					break;
				}
				x->left_ms = x->per_ms[x->cur];
				x->since_ms = at;
				if (x->st == S_SUSPENDED && x->per_busy[x->cur]) {
					x->st = S_QUEUED; /* the user is back */
					x->enqueue_ms = at;
				}
			}
		}
		if (left == 0)
			break;
		rc = o->gpuhub ? pass_gpuhub(sc, &pol, &c, t, now, st)
			       : pass_fifo(&c, t, o->placement, &rng, now, st);
		if (rc)
			goto out;
		/* Next event: an arrival, a period end; a tick while anyone waits. */
		for (int i = 0; i < t->n; i++) {
			const sess_t *x = &t->s[i];

			if (x->st == S_FUTURE && x->submit_ms < next)
				next = x->submit_ms;
			if ((x->st == S_RUNNING || x->st == S_SUSPENDED) &&
			    x->since_ms + x->left_ms < next)
				next = x->since_ms + x->left_ms;
			queued |= x->st == S_QUEUED;
		}
		if (next == INT64_MAX) {
			/* Waiting on an empty cluster with nothing left to come:
			 * the policy will never start them. */
			rc = GH_EINTERNAL;
			goto out;
		}
		if (queued && now + o->tick_ms < next)
			next = now + o->tick_ms;
		account(t, st, now, next);
		now = next;
	}
	st->last_ms = now;
	rc = 0;
out:
	sched_destroy(sc);
	place_cluster_destroy(&c);
	return rc;
}

/* Summarises st into out. */
static void summarise(const rtrace_t *t, rstats_t *st, double cap_gpus, sim_replay_result_t *out)
{
	double span = (double)(st->last_ms - st->first_ms) / 1000.0, s = 0, s2 = 0, mean = 0;
	int nu = 0;

	memset(out, 0, sizeof(*out));
	qsort(st->waits, (size_t)st->nwaits, sizeof(double), cmp_double);
	for (int u = 0; u < t->nusers; u++) {
		double x;

		if (st->want_u[u] <= 0)
			continue;
		x = st->held_u[u] / st->want_u[u];
		s += x;
		s2 += x * x;
		nu++;
	}
	for (int i = 0; i < st->nwaits; i++)
		mean += st->waits[i] / st->nwaits;
	out->sessions = t->n;
	out->unplaceable = st->unplaceable;
	out->preempted = st->preempted;
	out->suspended = st->suspended;
	out->nwaits = st->nwaits;
	out->span_h = span / 3600;
	out->util_pct = span > 0 ? 100 * st->alloc_gpu_s / (cap_gpus * span) : 0;
	out->busy_pct = span > 0 ? 100 * st->busy_gpu_s / (cap_gpus * span) : 0;
	out->idle_gpu_h = st->idle_alloc_gpu_s / 3600;
	out->wait_p50 = pct(st->waits, st->nwaits, 50);
	out->wait_p95 = pct(st->waits, st->nwaits, 95);
	out->wait_p99 = pct(st->waits, st->nwaits, 99);
	out->wait_mean = mean;
	out->jain = nu && s2 > 0 ? s * s / (nu * s2) : 1;
}

int sim_replay_run(const place_cluster_t *c, const char *trace_path, int gpuhub,
		   place_policy_t placement, double tick_s, uint64_t seed,
		   sim_replay_result_t *out, char *err, size_t errlen)
{
	ropts_t o = {.gpuhub = gpuhub, .placement = placement,
		     .tick_ms = (int64_t)(tick_s * 1000), .seed = seed};
	sched_policy_t pol;
	rtrace_t t;
	rstats_t st;
	int64_t cap;
	int rc;

	if (o.tick_ms <= 0)
		return GH_EINVAL;
	sched_policy_default(&pol);
	rc = load_trace(trace_path, &pol, &t, err, errlen);
	if (rc)
		return rc;
	rc = replay(c, &t, &o, &st);
	if (rc == 0) {
		place_cluster_gpu_totals(c, &cap, NULL);
		summarise(&t, &st, (double)cap / PLACE_MILLI, out);
	} else {
		snprintf(err, errlen, "%s: replay failed: %s", trace_path, gh_strerror(rc));
	}
	free(st.waits);
	free(st.held_u);
	free(st.want_u);
	free(t.s);
	return rc;
}

static void report(const char *name, const sim_replay_result_t *r, int json)
{
	if (json) {
		printf("  {\"policy\": \"%s\", \"sessions\": %d, \"span_h\": %.3f, "
		       "\"utilization_pct\": %.2f, \"busy_utilization_pct\": %.2f, "
		       "\"idle_allocated_gpu_h\": %.3f, \"wait_s\": {\"p50\": %.1f, \"p95\": %.1f, "
		       "\"p99\": %.1f, \"mean\": %.1f, \"n\": %d}, \"jain_fairness\": %.4f, "
		       "\"preemptions\": %d, \"suspensions\": %d, \"unplaceable\": %d}",
		       name, r->sessions, r->span_h, r->util_pct, r->busy_pct, r->idle_gpu_h,
		       r->wait_p50, r->wait_p95, r->wait_p99, r->wait_mean, r->nwaits, r->jain,
		       r->preempted, r->suspended, r->unplaceable);
		return;
	}
	printf("%-8s %6.1f%% %6.1f%% %10.1f %8.0f %8.0f %8.0f %7.3f %7d %7d\n", name, r->util_pct,
	       r->busy_pct, r->idle_gpu_h, r->wait_p50, r->wait_p95, r->wait_p99, r->jain,
	       r->preempted, r->suspended);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: gpuhub sim replay --trace FILE [--nodes FILE] [--policy fifo,gpuhub]\n"
		   "                         [--placement NAME] [--tick SECONDS] [--seed N] [-o json]\n"
		   "trace format: docs/sim.md; nodes: sn,cpu_milli,memory_mib,gpu,model\n"
		   "idle culling: gpuhub sim replay --cull all --activity FILE (gpuhub sim replay --cull all --help)\n");
}

int sim_replay_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"trace", required_argument, NULL, 't'}, {"nodes", required_argument, NULL, 'n'},
		{"policy", required_argument, NULL, 'P'}, {"placement", required_argument, NULL, 'p'},
		{"tick", required_argument, NULL, 'k'},  {"seed", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *trace = NULL, *nodes = "bench/fgd_replay_nodes.csv", *pols = "fifo,gpuhub";
	const char *fmt = "table";
	char err[SIM_ERR_MAX], buf[64], *save = NULL;
	ropts_t o = {.placement = PLACE_GPUHUB, .tick_ms = 60000, .seed = 42};
	place_cluster_t c;
	int ch, rc = 0, first = 1, json;
	int64_t cap;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't': trace = optarg; break;
		case 'n': nodes = optarg; break;
		case 'P': pols = optarg; break;
		case 'p':
			if (place_policy_parse(optarg, &o.placement) != 0) {
				fprintf(stderr, "gpuhub sim replay: unknown placement \"%s\"\n", optarg);
				return 2;
			}
			break;
		case 'k': o.tick_ms = (int64_t)(atof(optarg) * 1000); break;
		case 's': o.seed = strtoull(optarg, NULL, 10); break;
		case 'o': fmt = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	json = strcmp(fmt, "json") == 0;
	if (!trace || optind < argc || o.tick_ms <= 0 || (!json && strcmp(fmt, "table")) ||
	    strlen(pols) >= sizeof(buf)) {
		usage(stderr);
		return 2;
	}
	if (place_cluster_init(&c) != 0)
		return 1;
	rc = sim_load_nodes(nodes, &c, err, sizeof err);
	if (rc) {
		fprintf(stderr, "gpuhub sim replay: %s\n", err);
		place_cluster_destroy(&c);
		return 1;
	}
	place_cluster_gpu_totals(&c, &cap, NULL);
	strcpy(buf, pols);
	if (json)
		printf("[\n");
	else
		printf("%-8s %7s %7s %10s %8s %8s %8s %7s %7s %7s\n", "policy", "util", "busy",
		       "idle GPU-h", "wait p50", "p95", "p99", "Jain", "preempt", "suspend");
	for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		sim_replay_result_t r;

		if (strcmp(p, "fifo") != 0 && strcmp(p, "gpuhub") != 0) {
			fprintf(stderr, "gpuhub sim replay: policy must be fifo or gpuhub\n");
			rc = GH_EINVAL;
			break;
		}
		rc = sim_replay_run(&c, trace, strcmp(p, "gpuhub") == 0, o.placement,
				    (double)o.tick_ms / 1000, o.seed, &r, err, sizeof err);
		if (rc) {
			fprintf(stderr, "gpuhub sim replay: %s\n", err);
			break;
		}
		if (json && !first)
			printf(",\n");
		report(p, &r, json);
		first = 0;
	}
	if (json)
		printf("\n]\n");
	place_cluster_destroy(&c);
	return rc ? 1 : 0;
}
