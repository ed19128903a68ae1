/*
 * eta.c — when will a waiting request start? A plan of every GPU's
 * holdings over time, used for ETAs and to pick the reservation.
 *
 * Each GPU has a list of holdings [start, end) with the milli they take:
 * running work (end = its expected end, or unknown = never for planning
 * purposes; sessions being suspended end after policy.release_ms), this
 * pass' admissions (end = now + runtime limit, or unknown) and promises to
 * requests waiting on a release. Waiting requests are then planned one by
 * one in queue order (the first policy.plan_depth of them): each gets the
 * earliest time some node can give it its GPUs, and holds them from then
 * on, so the next one plans around it — a small version of what Slurm's
 * backfill scheduler does.
 *
 *   whole GPU (or exclusive): free from the end of its last holding
 *   fraction m:               the earliest t in {now, each holding's end}
 *                             where capacity − Σ holdings overlapping
 *                             [t, t + duration) >= m
 *   gang of n GPUs:           per node, the n-th earliest of its GPUs;
 *                             the ETA is the best node's
 *
 * Worked example: node n1 has 4 GPUs; a holds g0,g1 until 10:30, b holds
 * g2 until 11:00, g3 is free; now 10:00. A 2-GPU gang request gets
 * max(g3 10:00, g0 10:30) = 10:30 (ETA 30 min) and then holds g3 and g0
 * from 10:30. The next 2-GPU request gets max(g1 10:30, g2 11:00) = 11:00.
 *
 * Past the plan depth an aggregate estimate is used: the time by which
 * the work with known ends will have released as many GPUs as the
 * requests ahead (and this one) ask for. It ignores fragmentation, so it
 * is optimistic; the reason text says "about".
 *
 * Quota waits get the time at which enough of the user's (or group's)
 * work with a known end will have ended. GPU-hour windows: unknown.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sched/sched_int.h"

static int64_t add_sat(int64_t a, int64_t b)
{
	if (a == SCHED_INF || b == SCHED_INF || a > SCHED_INF - b)
		return SCHED_INF;
	return a + b;
}

static int hold_one(sched_t *s, int gi, int64_t start, int64_t end, int milli)
{
	if (SCHED_GROW(s->holds, s->holdcap, s->nholds + 1))
		return GH_ENOMEM;
	sched_hold_t *h = &s->holds[s->nholds];

	h->start = start;
	h->end = end;
	h->milli = milli;
	h->next = s->ghead[gi];
	s->ghead[gi] = s->nholds++;
	if (end > s->gfree[gi])
		s->gfree[gi] = end;
	return 0;
}

int sched_plan_hold_slots(sched_t *s, const place_slot_t *sl, int n, int64_t start,
			  int64_t end)
{
	for (int k = 0; k < n; k++) {
		if (sl[k].gpu < 0)
			continue;
		int rc = hold_one(s, sched_flat(s, sl[k].node, sl[k].gpu), start, end, sl[k].milli);

		if (rc)
			return rc;
	}
	return 0;
}

int sched_plan_init(sched_t *s, const sched_input_t *in)
{
	const place_cluster_t *c = &s->v[SCHED_V_BASE].c;
	int64_t now = s->now, rel = now + s->pol.release_ms;
	int rc;

	if (SCHED_GROW(s->ghead, s->gheadcap, s->ngpus) ||
	    SCHED_GROW(s->gfree, s->gfreecap, s->ngpus))
		return GH_ENOMEM;
	s->nholds = 0;
	s->planned = 0;
	s->agg_base = 0;
	for (int i = 0; i < s->ngpus; i++) {
		s->ghead[i] = -1;
		s->gfree[i] = now;
	}
	for (int ni = 0; ni < c->nnodes; ni++)
		for (int k = 0; k < c->nodes[ni].ngpus; k++) {
			const place_gpu_t *g = &c->nodes[ni].gpus[k];

			if (g->disabled || c->nodes[ni].disabled) {
				rc = hold_one(s, sched_flat(s, ni, k), now, SCHED_INF,
					      g->capacity_milli);
				if (rc)
					return rc;
			}
		}
	for (int i = 0; i < in->nrunning; i++) {
		const sched_running_t *r = &in->running[i];
		int64_t end;

		if (r->releasing || s->rvictim[i])
			end = rel;
		else if (r->end_ms > 0)
			end = r->end_ms > now ? r->end_ms : now;
		else
			end = SCHED_INF;
		rc = sched_plan_hold_slots(s, r->slots, r->nslots, r->start_ms, end);
		if (rc)
			return rc;
	}
	for (int i = 0; i < s->nadmits; i++) {
		rc = sched_plan_hold_slots(s, s->slots + s->admoff[i], s->admits[i].nslots, now,
					   s->admend[i]);
		if (rc)
			return rc;
	}
	for (int i = 0; i < s->nclaims; i++) {
		const sched_req_t *r = &in->queue[s->rank[s->claims[i].k].qi];

		rc = sched_plan_hold_slots(s, s->slots + s->claims[i].off, s->claims[i].n, rel,
					   add_sat(rel, r->runtime_limit_ms > 0
								? r->runtime_limit_ms
								: SCHED_INF));
		if (rc)
			return rc;
	}
	return 0;
}

static int gpu_eligible(const place_cluster_t *c, const place_node_t *n, const place_gpu_t *g,
			const place_request_t *req, uint64_t mask)
{
	if (g->disabled || n->disabled)
		return 0;
	if (!((mask >> g->model) & 1))
		return 0;
	if (req->gpu_memory_mib > g->memory_mib)
		return 0;
	(void)c;
	return 1;
}

/* Earliest t >= t0 at which GPU gi has m milli for dur. */
static int64_t gpu_earliest(const sched_t *s, int gi, int cap, int m, int64_t t0, int64_t dur)
{
	if (m >= cap)
		return s->gfree[gi] > t0 ? s->gfree[gi] : t0;
	int64_t cand[33];
	int nc = 0;

	cand[nc++] = t0;
	for (int h = s->ghead[gi]; h >= 0; h = s->holds[h].next) {
		int64_t e = s->holds[h].end;

		if (e > t0 && e != SCHED_INF) {
			if (nc == 33)
				return s->gfree[gi] > t0 ? s->gfree[gi] : t0;
			cand[nc++] = e;
		}
	}
	for (int i = 1; i < nc; i++) {
		int64_t x = cand[i];
		int j = i - 1;

		while (j >= 0 && cand[j] > x) {
			cand[j + 1] = cand[j];
			j--;
		}
		cand[j + 1] = x;
	}
	for (int i = 0; i < nc; i++) {
		int64_t t = cand[i], tend = add_sat(t, dur);
		int used = 0;

		for (int h = s->ghead[gi]; h >= 0; h = s->holds[h].next)
			if (s->holds[h].start < tend && s->holds[h].end > t)
				used += s->holds[h].milli;
		if (cap - used >= m)
			return t;
	}
	return SCHED_INF;
}

typedef struct {
	int64_t t;
	int gi;
} cand_t;

static int cand_less(const cand_t *a, const cand_t *b)
{
	return a->t != b->t ? a->t < b->t : a->gi < b->gi;
}

/* Keeps the n best (smallest) candidates in best[0..*nb) (unsorted). */
static void keep_best(cand_t *best, int *nb, int n, cand_t x)
{
	if (*nb < n) {
		best[(*nb)++] = x;
		return;
	}
	int w = 0;

	for (int i = 1; i < *nb; i++)
		if (cand_less(&best[w], &best[i]))
			w = i;
	if (cand_less(&x, &best[w]))
		best[w] = x;
}

static int64_t set_max(const cand_t *b, int n, int *finite)
{
	int64_t t = 0;

	*finite = 0;
	for (int i = 0; i < n; i++) {
		if (b[i].t > t)
			t = b[i].t;
		if (b[i].t != SCHED_INF)
			(*finite)++;
	}
	return t;
}

int64_t sched_plan_earliest(sched_t *s, const place_request_t *req, uint64_t mask,
			    int64_t t0, int64_t dur, int claim, int *gpus_out, int *found)
{
	const place_cluster_t *c = &s->v[SCHED_V_BASE].c;
	int ng = req->num_gpu, gang = req->gang || ng <= 1;
	cand_t best[PLACE_REQ_SLOTS_MAX], cur[PLACE_REQ_SLOTS_MAX];
	int nbest = 0, best_fin = -1;
	int64_t best_t = SCHED_INF;

	*found = 0;
	if (ng <= 0)
		return t0;
	if (ng > PLACE_REQ_SLOTS_MAX)
		return SCHED_INF;
	for (int ni = 0; ni < c->nnodes; ni++) {
		const place_node_t *n = &c->nodes[ni];
		int ncur = 0;

		if (n->disabled || n->cpu_milli < req->cpu_milli || n->memory_mib < req->memory_mib)
			continue;
		if (gang && n->ngpus < ng)
			continue;
		for (int k = 0; k < n->ngpus; k++) {
			const place_gpu_t *g = &n->gpus[k];

			if (!gpu_eligible(c, n, g, req, mask))
				continue;
			int m = g->share == PLACE_SHARE_EXCLUSIVE ? g->capacity_milli
								  : req->gpu_milli;
			int gi = sched_flat(s, ni, k);
			cand_t x = { gpu_earliest(s, gi, g->capacity_milli, m, t0, dur), gi };

			keep_best(gang ? cur : best, gang ? &ncur : &nbest, ng, x);
		}
		if (gang && ncur == ng) {
			int fin;
			int64_t t = set_max(cur, ncur, &fin);

			/* earliest node; among unknown ones, the one with most GPUs known */
			if (best_fin < 0 || t < best_t || (t == best_t && t == SCHED_INF &&
							   fin > best_fin)) {
				best_t = t;
				best_fin = fin;
				memcpy(best, cur, sizeof(cand_t) * (size_t)ncur);
				nbest = ncur;
			}
		}
	}
	if (nbest < ng)
		return SCHED_INF;
	if (!gang) {
		int fin;

		best_t = set_max(best, nbest, &fin);
	}
	*found = nbest;
	for (int i = 0; i < nbest && gpus_out; i++)
		gpus_out[i] = best[i].gi;
	if (claim && best_t != SCHED_INF) {
		for (int i = 0; i < nbest; i++) {
			int gi = best[i].gi;
			const place_gpu_t *g =
				&c->nodes[s->gnode[gi]].gpus[gi - s->node_off[s->gnode[gi]]];
			int m = g->share == PLACE_SHARE_EXCLUSIVE ? g->capacity_milli
								  : req->gpu_milli;

			if (hold_one(s, gi, best_t, add_sat(best_t, dur), m))
				return SCHED_INF;
		}
	}
	return best_t;
}

/* ---- aggregate estimate ---- */

typedef struct {
	int64_t t;
	double g;
} relv_t;

static int relv_cmp(const void *pa, const void *pb)
{
	const relv_t *a = pa, *b = pb;

	return a->t < b->t ? -1 : a->t > b->t;
}

int sched_plan_agg_build(sched_t *s)
{
	int n = 0;
	relv_t *v;

	s->nrel = 0;
	if (s->nholds == 0)
		return 0;
	v = malloc((size_t)s->nholds * sizeof *v);
	if (!v)
		return GH_ENOMEM;
	for (int i = 0; i < s->nholds; i++)
		if (s->holds[i].end != SCHED_INF && s->holds[i].end > s->now)
			v[n++] = (relv_t){ s->holds[i].end, s->holds[i].milli / 1000.0 };
	qsort(v, (size_t)n, sizeof *v, relv_cmp);
	if (SCHED_GROW(s->rel_t, s->reltcap, n) || SCHED_GROW(s->rel_cum, s->relccap, n)) {
		free(v);
		return GH_ENOMEM;
	}
	double cum = 0;

	for (int i = 0; i < n; i++) {
		cum += v[i].g;
		s->rel_t[i] = v[i].t;
		s->rel_cum[i] = cum;
	}
	s->nrel = n;
	free(v);
	return 0;
}

int64_t sched_plan_agg_eta(const sched_t *s, double cum_gpus)
{
	double need = s->agg_base + cum_gpus - 1e-9;
	int lo = 0, hi = s->nrel;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (s->rel_cum[mid] >= need)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < s->nrel ? s->rel_t[lo] : SCHED_INF;
}

/* ---- quota ETAs ---- */

static int end_cmp(const void *pa, const void *pb)
{
	const sched_end_t *a = pa, *b = pb;

	if (a->ent != b->ent)
		return a->ent < b->ent ? -1 : 1;
	return a->end < b->end ? -1 : a->end > b->end;
}

static void prefix(sched_end_t *e, int n)
{
	for (int i = 0; i < n; i++) {
		int first = i == 0 || e[i].ent != e[i - 1].ent;

		e[i].cum_milli = (first ? 0 : e[i - 1].cum_milli) + e[i].milli;
		e[i].cum_n = (first ? 0 : e[i - 1].cum_n) + 1;
	}
}

static int offsets(const sched_end_t *e, int n, int nent, int32_t **off, int *cap)
{
	if (sched_grow((void **)off, cap, nent + 1, sizeof **off))
		return GH_ENOMEM;
	int i = 0;

	for (int ent = 0; ent <= nent; ent++) {
		while (i < n && e[i].ent < ent)
			i++;
		(*off)[ent] = i;
	}
	return 0;
}

int sched_ends_build(sched_t *s, const sched_input_t *in)
{
	int64_t rel = s->now + s->pol.release_ms;

	s->nuends = s->ngends = 0;
	if (SCHED_GROW(s->uends, s->uendcap, in->nrunning) ||
	    SCHED_GROW(s->gends, s->gendcap, in->nrunning))
		return GH_ENOMEM;
	for (int i = 0; i < in->nrunning; i++) {
		const sched_running_t *r = &in->running[i];
		int64_t end = (r->releasing || s->rvictim[i]) ? rel : r->end_ms;
		int milli = 0;

		if (end <= 0)
			continue;
		if (end < s->now)
			end = s->now;
		for (int k = 0; k < r->nslots; k++)
			if (r->slots[k].gpu >= 0)
				milli += r->slots[k].milli;
		int u = sched_etab_find(&s->users, r->user);
		int g = r->group ? sched_etab_find(&s->groups, r->group) : -1;

		if (u >= 0)
			s->uends[s->nuends++] = (sched_end_t){ u, milli, end, 0, 0 };
		if (g >= 0)
			s->gends[s->ngends++] = (sched_end_t){ g, milli, end, 0, 0 };
	}
	qsort(s->uends, (size_t)s->nuends, sizeof *s->uends, end_cmp);
	qsort(s->gends, (size_t)s->ngends, sizeof *s->gends, end_cmp);
	prefix(s->uends, s->nuends);
	prefix(s->gends, s->ngends);
	if (offsets(s->uends, s->nuends, s->users.n, &s->uoff, &s->uoffcap) ||
	    offsets(s->gends, s->ngends, s->groups.n, &s->goff, &s->goffcap))
		return GH_ENOMEM;
	s->nuoff = s->users.n;
	s->ngoff = s->groups.n;
	return 0;
}

/* When will entity ent have released `need` milli (count = 0) or `need`
 * allocations (count = 1)? Its ends are e[off[ent] .. off[ent + 1]). */
static int64_t ends_until(const sched_end_t *e, const int32_t *off, int noff, int ent,
			  int64_t need, int count)
{
	if (need <= 0)
		return 0;
	if (ent >= noff)
		return SCHED_INF;   /* an entity new since the pass: nothing running */
	int lo = off[ent], hi = off[ent + 1], end = hi;

	while (lo < hi) {   /* the first whose running total reaches need */
		int mid = (lo + hi) / 2;

		if ((count ? e[mid].cum_n : e[mid].cum_milli) < need)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < end ? e[lo].end : SCHED_INF;
}

int64_t sched_quota_eta(const sched_t *s, const sched_wait_t *w, int ui, int gi,
			int64_t demand)
{
	const sched_ent_t *u = &s->users.ent[ui];
	const sched_ent_t *g = gi >= 0 ? &s->groups.ent[gi] : NULL;

	switch (w->code) {
	case SCHED_WAIT_USER_GPUS:
		return ends_until(s->uends, s->uoff, s->nuoff, ui, u->held + demand - w->b, 0);
	case SCHED_WAIT_GROUP_GPUS:
		return g ? ends_until(s->gends, s->goff, s->ngoff, gi, g->held + demand - w->b, 0)
			 : SCHED_INF;
	case SCHED_WAIT_USER_SESSIONS:
		return ends_until(s->uends, s->uoff, s->nuoff, ui, u->sessions + 1 - w->b, 1);
	case SCHED_WAIT_GROUP_SESSIONS:
		return g ? ends_until(s->gends, s->goff, s->ngoff, gi, g->sessions + 1 - w->b, 1)
			 : SCHED_INF;
	default:
		return SCHED_INF;
	}
}
