/*
 * quota.c — users and groups: their limits, what they hold, and whether a
 * request is within quota, may borrow, or must wait.
 *
 * Limits (sched_limit_t) apply to a user and, separately, to their group;
 * a request must pass both. Four kinds, checked in this order so the
 * reason a person reads is the most lasting one:
 *
 *   limit          | when it blocks                           | borrowable
 *   ---------------+------------------------------------------+-----------
 *   sessions       | held sessions + 1 > limit                | no
 *   gpu_hours      | GPU-hours used inside the window >= limit| no
 *   gpu_milli_max  | held + request > hard cap                | no
 *   gpu_milli      | held + request > quota                   | yes, when the
 *                  |                                          | policy allows it
 *                  |                                          | and the class is
 *                  |                                          | preemptible
 *
 * Borrowing (as Kueue cohorts and run:ai over-quota do): a request over its
 * GPU quota may still run on capacity nobody within quota wants, but that
 * allocation is "borrowed" and is reclaimed by preemption when a request
 * within its own quota needs the GPUs. Which running allocations are
 * borrowed is derived, not stored: per user and per group, allocations are
 * taken in start order and the ones whose running total passes the quota
 * are borrowed — the latest arrivals are the ones over quota.
 *
 * Worked example: group "vision" has quota 4 GPUs. It runs a (2 GPUs,
 * started 9:00), b (2 GPUs, 9:10) and c (1 GPU, 9:30, admitted while the
 * cluster had idle GPUs). Running totals 2, 4, 5: c is borrowed. A request
 * of group "nlp" (within its quota) that finds no free GPU may preempt c;
 * it may not touch a or b unless they are idle or of lower priority.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sched/sched_int.h"

void sched_etab_reset(sched_etab_t *t)
{
	t->n = 0;
	if (t->hval)
		memset(t->hval, 0xff, (size_t)t->hcap * sizeof *t->hval);
}

void sched_etab_free(sched_etab_t *t)
{
	free(t->ent);
	free(t->hkey);
	free(t->hval);
	memset(t, 0, sizeof *t);
}

static uint32_t hash64(int64_t k)
{
	uint64_t x = (uint64_t)k;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

static int etab_rehash(sched_etab_t *t, int hcap)
{
	int64_t *hk = malloc((size_t)hcap * sizeof *hk);
	int32_t *hv = malloc((size_t)hcap * sizeof *hv);

	if (!hk || !hv) {
		free(hk);
		free(hv);
		return GH_ENOMEM;
	}
	memset(hv, 0xff, (size_t)hcap * sizeof *hv);
	for (int i = 0; i < t->n; i++) {
		uint32_t h = hash64(t->ent[i].id) & (uint32_t)(hcap - 1);

		while (hv[h] >= 0)
			h = (h + 1) & (uint32_t)(hcap - 1);
		hk[h] = t->ent[i].id;
		hv[h] = i;
	}
	free(t->hkey);
	free(t->hval);
	t->hkey = hk;
	t->hval = hv;
	t->hcap = hcap;
	return 0;
}

int sched_etab_find(const sched_etab_t *t, int64_t id)
{
	if (!t->hcap)
		return -1;
	uint32_t mask = (uint32_t)(t->hcap - 1);

	for (uint32_t h = hash64(id) & mask;; h = (h + 1) & mask) {
		if (t->hval[h] < 0)
			return -1;
		if (t->hkey[h] == id)
			return t->hval[h];
	}
}

int sched_etab_get(sched_etab_t *t, int64_t id, const sched_limit_t *lim, int *idx)
{
	int i = sched_etab_find(t, id);

	if (i >= 0) {
		*idx = i;
		return 0;
	}
	if ((t->n + 1) * 2 > t->hcap) {
		int rc = etab_rehash(t, t->hcap ? t->hcap * 2 : 64);

		if (rc)
			return rc;
	}
	if (t->n == t->cap) {
		int nc = t->cap ? t->cap * 2 : 64;
		sched_ent_t *ne = realloc(t->ent, (size_t)nc * sizeof *ne);

		if (!ne)
			return GH_ENOMEM;
		t->ent = ne;
		t->cap = nc;
	}
	sched_ent_t *e = &t->ent[t->n];

	memset(e, 0, sizeof *e);
	e->id = id;
	e->lim = *lim;
	uint32_t mask = (uint32_t)(t->hcap - 1);
	uint32_t h = hash64(id) & mask;

	while (t->hval[h] >= 0)
		h = (h + 1) & mask;
	t->hkey[h] = id;
	t->hval[h] = t->n;
	*idx = t->n++;
	return 0;
}

const sched_limit_t *sched_limit_lookup(const sched_limit_entry_t *e, int n, int64_t id,
					const sched_limit_t *dflt)
{
	for (int i = 0; i < n; i++)
		if (e[i].id == id)
			return &e[i].limit;
	return dflt;
}

/* Sessions and GPU-hours: limits that borrowing never lifts. */
static int check_hard(const sched_ent_t *e, int is_group, sched_wait_code_t *code,
		      int64_t *a, int64_t *b)
{
	if (e->lim.sessions >= 0 && e->sessions + 1 > e->lim.sessions) {
		*code = is_group ? SCHED_WAIT_GROUP_SESSIONS : SCHED_WAIT_USER_SESSIONS;
		*a = e->sessions;
		*b = e->lim.sessions;
		return -1;
	}
	if (e->lim.gpu_hours >= 0 && e->window_s >= e->lim.gpu_hours * 3600.0) {
		*code = is_group ? SCHED_WAIT_GROUP_HOURS : SCHED_WAIT_USER_HOURS;
		*a = (int64_t)e->window_s;
		*b = (int64_t)(e->lim.gpu_hours * 3600.0);
		return -1;
	}
	return 0;
}

static int check_gpus(const sched_t *s, const sched_ent_t *e, int is_group, int64_t demand,
		      int preemptible, sched_wait_code_t *code, int64_t *a, int64_t *b)
{
	sched_wait_code_t c = is_group ? SCHED_WAIT_GROUP_GPUS : SCHED_WAIT_USER_GPUS;

	if (e->lim.gpu_milli_max >= 0 && e->held + demand > e->lim.gpu_milli_max) {
		*code = c;
		*a = e->held;
		*b = e->lim.gpu_milli_max;
		return -1;
	}
	if (e->lim.gpu_milli >= 0 && e->held + demand > e->lim.gpu_milli) {
		if (s->pol.borrowing && preemptible)
			return 1;
		*code = c;
		*a = e->held;
		*b = e->lim.gpu_milli;
		return -1;
	}
	return 0;
}

int sched_quota_check(const sched_t *s, const sched_ent_t *u, const sched_ent_t *g,
		      int64_t demand, int preemptible, sched_wait_code_t *code, int64_t *a,
		      int64_t *b)
{
	int over = 0, rc;

	if (check_hard(u, 0, code, a, b) || (g && check_hard(g, 1, code, a, b)))
		return -1;
	rc = check_gpus(s, u, 0, demand, preemptible, code, a, b);
	if (rc < 0)
		return rc;
	over |= rc;
	if (g) {
		rc = check_gpus(s, g, 1, demand, preemptible, code, a, b);
		if (rc < 0)
			return rc;
		over |= rc;
	}
	return over;
}

/* ---- which running allocations are borrowed ---- */

typedef struct {
	int32_t ent;
	int32_t ri;
	int64_t start, id;
} run_key_t;

static int run_key_cmp(const void *pa, const void *pb)
{
	const run_key_t *a = pa, *b = pb;

	if (a->ent != b->ent)
		return a->ent < b->ent ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return 0;
}

static int64_t run_milli(const sched_running_t *r)
{
	int64_t m = 0;

	for (int i = 0; i < r->nslots; i++)
		if (r->slots[i].gpu >= 0)
			m += r->slots[i].milli;
	return m;
}

static void mark_pass(sched_t *s, const sched_input_t *in, run_key_t *k, int n,
		      const sched_etab_t *t)
{
	qsort(k, (size_t)n, sizeof *k, run_key_cmp);
	int64_t cum = 0;

	for (int i = 0; i < n; i++) {
		if (i == 0 || k[i].ent != k[i - 1].ent)
			cum = 0;
		const sched_running_t *r = &in->running[k[i].ri];
		int64_t quota = t->ent[k[i].ent].lim.gpu_milli;

		cum += run_milli(r);
		if (quota >= 0 && cum > quota)
			s->rborrowed[k[i].ri] = 1;
	}
}

int sched_mark_borrowed(sched_t *s, const sched_input_t *in)
{
	int n = in->nrunning, m;

	if (n == 0)
		return 0;
	memset(s->rborrowed, 0, (size_t)n);
	run_key_t *k = malloc((size_t)n * sizeof *k);

	if (!k)
		return GH_ENOMEM;
	m = 0;
	for (int i = 0; i < n; i++) {
		int e = sched_etab_find(&s->users, in->running[i].user);

		if (e < 0)
			continue;
		k[m++] = (run_key_t){ e, i, in->running[i].start_ms, in->running[i].id };
	}
	mark_pass(s, in, k, m, &s->users);
	m = 0;
	for (int i = 0; i < n; i++) {
		if (in->running[i].group == 0)
			continue;
		int e = sched_etab_find(&s->groups, in->running[i].group);

		if (e < 0)
			continue;
		k[m++] = (run_key_t){ e, i, in->running[i].start_ms, in->running[i].id };
	}
	mark_pass(s, in, k, m, &s->groups);
	free(k);
	return 0;
}
