/*
 * decide.c — the entry points: sched_decide (setup, order and phases in
 * pass.c, then positions and ETAs here) and sched_decide_one, the fast
 * path for one arrival.
 *
 * Positions count waiting requests only, in queue order. An arrival
 * decided by sched_decide_one gets the position it would have in the next
 * pass: the number of requests of the last pass' waiting list that order
 * before it (binary search over their keys, which aging does not reorder,
 * see fairshare.c) plus the arrivals since that order before it, plus one.
 *
 * ETAs (eta.c): the reservation holder first (its start), then the first
 * policy.plan_depth requests waiting for capacity one by one, then the
 * rest by the aggregate estimate; requests waiting on a release or a
 * preemption get policy.release_ms; quota waits get the time enough of
 * the owner's work ends.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "sched/sched_int.h"

static int64_t to_eta_s(const sched_t *s, int64_t t)
{
	if (t == SCHED_INF)
		return -1;
	if (t <= s->now)
		return 0;
	return (t - s->now + 999) / 1000;
}

static int never_same(const sched_never_t *n, const sched_shape_t *sh, const place_request_t *r)
{
	return n->num_gpu == sh->num_gpu && n->gpu_milli == sh->gpu_milli && n->gang == sh->gang &&
	       n->gpu_mem == sh->gpu_mem && n->mask == sh->mask &&
	       (n->mig[0] != 0) == sh->has_mig &&
	       (!sh->has_mig || strcmp(n->mig, r->mig_profile) == 0);
}

/* Could a request of this shape ever run here (on the empty cluster)? The
 * GPU part is answered by place_fits_empty once per distinct shape (a small
 * hash table, reset each pass); host CPU and memory against the largest
 * node. */
static int never_fits(sched_t *s, const sched_shape_t *sh, const place_request_t *r)
{
	if (sh->cpu > s->max_cpu || sh->mem > s->max_mem)
		return 1;
	if (sh->num_gpu <= 0)
		return 0;
	if (!s->never_live) {
		for (int i = 0; i < SCHED_NEVER_MAX; i++)
			s->never[i].ok = -1;
		s->never_live = 1;
	}
	uint64_t h = (uint64_t)sh->num_gpu * 0x9e3779b97f4a7c15ULL ^
		     (uint64_t)sh->gpu_milli * 0xc2b2ae3d27d4eb4fULL ^
		     (uint64_t)sh->gpu_mem * 0x165667b19e3779f9ULL ^ sh->mask * 0x27d4eb2f165667c5ULL ^
		     (uint64_t)sh->gang;
	sched_never_t *slot = NULL;

	h ^= h >> 29;
	for (int p = 0; p < 8; p++) {
		sched_never_t *n = &s->never[(h + (uint64_t)p) % SCHED_NEVER_MAX];

		if (n->ok < 0) {
			slot = n;
			break;
		}
		if (never_same(n, sh, r))
			return !n->ok;
	}
	place_request_t g = *r;

	g.cpu_milli = 0;
	g.memory_mib = 0;
	int ok = place_fits_empty(&s->v[SCHED_V_BASE].c, &g);

	if (slot) {
		memset(slot, 0, sizeof *slot);
		slot->num_gpu = sh->num_gpu;
		slot->gpu_milli = sh->gpu_milli;
		slot->gang = sh->gang;
		slot->gpu_mem = sh->gpu_mem;
		slot->mask = sh->mask;
		slot->ok = ok;
		memcpy(slot->mig, r->mig_profile, sizeof slot->mig);
	}
	return !ok;
}

/* known: the model mask when already computed, else NULL */
static void fill_shape(sched_t *s, sched_wait_t *w, const sched_req_t *r,
		       const uint64_t *known)
{
	w->req_id = r->id;
	w->num_gpu = r->shape.num_gpu;
	w->gpu_milli = r->shape.gpu_milli;
	w->model_mask = known ? *known : sched_model_mask(s, &r->shape);
}

static int64_t dur_of(const sched_req_t *r)
{
	return r->runtime_limit_ms > 0 ? r->runtime_limit_ms : SCHED_INF;
}

/* Holds the reserved GPUs from the reservation's start, in the plan. */
static int plan_reservation(sched_t *s)
{
	if (s->resv_k < 0 || s->resv_start == SCHED_INF)
		return 0;
	int64_t end = s->resv_dur == SCHED_INF || s->resv_start > SCHED_INF - s->resv_dur
			      ? SCHED_INF
			      : s->resv_start + s->resv_dur;

	for (int gi = 0; gi < s->ngpus; gi++) {
		if (!s->reserved[gi])
			continue;
		int ni = s->gnode[gi];
		place_slot_t sl = { .node = ni, .gpu = gi - s->node_off[ni], .milli = s->resv_milli };
		int rc = sched_plan_hold_slots(s, &sl, 1, s->resv_start, end);

		if (rc)
			return rc;
	}
	return 0;
}

/* First loop: who waits where, planned ETAs; aggregate ones left at -2. */
static int finish_plan(sched_t *s, const sched_input_t *in)
{
	int rc, pos = 0;

	if ((rc = sched_plan_init(s, in)) || (rc = plan_reservation(s)) ||
	    (rc = sched_ends_build(s, in)))
		return rc;
	s->plan_last = 0;
	for (int k = 0; k < in->nqueue; k++) {
		const sched_qhot_t *h = &s->rank[k];
		sched_wait_t *w = &s->qw[k];
		const sched_req_t *r;

		if (s->qdec[k] != SCHED_D_WAIT)
			continue;
		w->position = ++pos;
		w->req_id = h->id;
		w->num_gpu = h->sh.num_gpu;
		w->gpu_milli = h->sh.gpu_milli;
		w->model_mask = ~0ULL;           /* only capacity reasons name models */
		w->eta_s = -1;
		switch (w->code) {
		case SCHED_WAIT_CAPACITY:
		case SCHED_WAIT_RESERVED:
			r = &in->queue[h->qi];
			w->model_mask = h->sh.mask;
			if (w->code == SCHED_WAIT_CAPACITY && never_fits(s, &h->sh, &r->shape)) {
				w->code = SCHED_WAIT_NEVER;
				break;
			}
			if (w->reserved) {
				w->eta_s = to_eta_s(s, s->resv_start);
				break;
			}
			if (s->planned < s->pol.plan_depth) {
				int found;
				int64_t t = sched_plan_earliest(s, &r->shape, w->model_mask, s->now,
								dur_of(r), 1, NULL, &found);

				w->eta_s = to_eta_s(s, t);
				s->planned++;
				s->plan_last = pos;
				s->agg_base += h->demand / 1000.0;
			} else {
				w->eta_s = -2;
			}
			break;
		case SCHED_WAIT_PREEMPTING:
		case SCHED_WAIT_RELEASING:
			w->eta_s = to_eta_s(s, s->now + s->pol.release_ms);
			break;
		case SCHED_WAIT_USER_GPUS:
		case SCHED_WAIT_GROUP_GPUS:
		case SCHED_WAIT_USER_SESSIONS:
		case SCHED_WAIT_GROUP_SESSIONS:
			w->eta_s = to_eta_s(s, sched_quota_eta(s, w, h->ui, h->gi, h->demand));
			break;
		default:
			break;
		}
	}
	if (s->planned < s->pol.plan_depth)
		s->plan_last = pos;
	return 0;
}

/* Second loop: aggregate ETAs, the waits array and the keys for arrivals. */
static int finish_waits(sched_t *s, const sched_input_t *in)
{
	int n = 0, rc;
	double cum = 0;

	if ((rc = sched_plan_agg_build(s)))
		return rc;
	if (SCHED_GROW(s->waits, s->waitcap, in->nqueue) ||
	    SCHED_GROW(s->wkeys, s->wkcap, in->nqueue) ||
	    SCHED_GROW(s->wcum, s->wcumcap, in->nqueue))
		return GH_ENOMEM;
	for (int k = 0; k < in->nqueue; k++) {
		sched_wait_t *w = &s->qw[k];

		if (s->qdec[k] != SCHED_D_WAIT)
			continue;
		if (w->eta_s == -2) {
			cum += s->rank[k].demand / 1000.0;
			w->eta_s = to_eta_s(s, sched_plan_agg_eta(s, cum));
		}
		s->waits[n] = *w;
		s->wkeys[n] = s->ord[k];
		s->wcum[n] = cum;
		n++;
	}
	s->nwaits = n;
	s->nwkeys = n;
	return 0;
}

static void fill_out(sched_t *s, sched_result_t *out)
{
	for (int i = 0; i < s->nadmits; i++)
		s->admits[i].slots = s->slots + s->admoff[i];
	out->admits = s->admits;
	out->nadmits = s->nadmits;
	out->preempts = s->preempts;
	out->npreempts = s->npreempts;
	out->waits = s->waits;
	out->nwaits = s->nwaits;
	out->placements_tried = s->tried;
	out->cache_hits = s->hits;
}

int sched_decide(sched_t *s, const sched_input_t *in, sched_result_t *out)
{
	int rc;

	if (!s || !in || !out)
		return GH_EINVAL;
	memset(out, 0, sizeof *out);
	s->ready = 0;
	if ((rc = sched_pass_run(s, in)) || (rc = finish_plan(s, in)) ||
	    (rc = finish_waits(s, in)))
		return rc;
	s->ready = 1;
	fill_out(s, out);
	return 0;
}

/* ---- one arrival ---- */

static int lower_bound(const sched_ord_t *a, int n, const sched_ord_t *x)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (sched_ord_cmp(&a[mid], x) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int arrival_wait(sched_t *s, const sched_req_t *r, sched_wait_t *w, int ui, int gi,
			double key)
{
	sched_ord_t e = { key, r->enqueue_ms, r->id, -1 };
	int lw = lower_bound(s->wkeys, s->nwkeys, &e);
	int la = lower_bound(s->arr, s->narr, &e);
	int64_t demand = sched_req_demand(r);

	if (SCHED_GROW(s->arr, s->arrcap, s->narr + 1) ||
	    SCHED_GROW(s->waits, s->waitcap, 1))
		return GH_ENOMEM;
	memmove(s->arr + la + 1, s->arr + la, (size_t)(s->narr - la) * sizeof *s->arr);
	s->arr[la] = e;
	s->narr++;
	w->position = lw + la + 1;
	w->eta_s = -1;
	switch (w->code) {
	case SCHED_WAIT_CAPACITY:
		if (lw < s->plan_last) {
			int found;

			w->eta_s = to_eta_s(s, sched_plan_earliest(s, &r->shape, w->model_mask,
								   s->now, dur_of(r), 1, NULL,
								   &found));
		} else {
			double ahead = lw > 0 ? s->wcum[lw - 1] : 0;

			w->eta_s = to_eta_s(s, sched_plan_agg_eta(s, ahead + demand / 1000.0));
		}
		break;
	case SCHED_WAIT_USER_GPUS:
	case SCHED_WAIT_GROUP_GPUS:
	case SCHED_WAIT_USER_SESSIONS:
	case SCHED_WAIT_GROUP_SESSIONS:
		w->eta_s = to_eta_s(s, sched_quota_eta(s, w, ui, gi, demand));
		break;
	default:
		break;
	}
	s->users.ent[ui].pending_gpus += demand / 1000.0;
	s->waits[0] = *w;
	s->nwaits = 1;
	return 0;
}

int sched_decide_one(sched_t *s, const sched_req_t *r, int64_t now_ms, sched_result_t *out)
{
	sched_wait_t w;
	int ui, gi, rc;

	if (!s || !r || !out)
		return GH_EINVAL;
	memset(out, 0, sizeof *out);
	if (!s->ready)
		return GH_ESTATE;
	s->nadmits = s->npreempts = s->nwaits = s->nslots = 0;
	s->tried = s->hits = 0;
	s->now = now_ms;
	sched_shape_t sh;

	memset(&w, 0, sizeof w);
	sched_shape_of(s, &r->shape, &sh);
	fill_shape(s, &w, r, &sh.mask);
	if (!sched_pass_valid(s, r)) {
		if (SCHED_GROW(s->waits, s->waitcap, 1))
			return GH_ENOMEM;
		w.code = SCHED_WAIT_INVALID;
		w.position = s->nwkeys + s->narr + 1;
		w.eta_s = -1;
		s->waits[0] = w;
		s->nwaits = 1;
		fill_out(s, out);
		return 0;
	}
	if ((rc = sched_pass_ent(s, r, &ui, &gi)))
		return rc;
	sched_ent_t *u = &s->users.ent[ui];
	sched_ent_t *g = gi >= 0 ? &s->groups.ent[gi] : NULL;
	double key = sched_fs_key(s, r->cls, r->enqueue_ms, u, g);
	int64_t a = 0, b = 0;
	sched_wait_code_t code = 0;
	int q = sched_quota_check(s, u, g, sched_req_demand(r),
				  s->pol.classes[r->cls].preemptible, &code, &a, &b);

	if (q >= 0) {
		int vi = sched_view_for(s, r->runtime_limit_ms, now_ms);

		rc = sched_view_fits(s, vi, &r->shape, &sh, s->res);
		if (rc == 0) {
			if ((rc = sched_admit_rec(s, r, ui, gi, s->res, q > 0)))
				return rc;
			rc = sched_plan_hold_slots(s, s->res->slots, s->res->nslots, now_ms,
						   s->admend[0]);
			if (rc)
				return rc;
			fill_out(s, out);
			return 0;
		}
		if (rc != GH_ENOCAP && rc != GH_EINVAL)
			return rc;
		code = rc == GH_EINVAL ? SCHED_WAIT_INVALID
		       : never_fits(s, &sh, &r->shape) ? SCHED_WAIT_NEVER
								 : SCHED_WAIT_CAPACITY;
	}
	w.code = code;
	w.a = a;
	w.b = b;
	if ((rc = arrival_wait(s, r, &w, ui, gi, key)))
		return rc;
	fill_out(s, out);
	return 0;
}
